// The splicer pair's control channel is authenticated (HMAC + replay window), and an
// active splicer cut off from its peer fences itself (stops sending as the service
// address) before the peer may take over, so two boxes never send for one connection.
// A standby that crashes costs the active a pause (fenced until soloAfterUs), not a
// connection. Seeds are printed; replay with CRAFT_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../util/rng.js';
import { runSpliceScenario, SERVICE_IP } from './testing/scenario.js';
import { openControl, ReplayGuard, sealControl } from './control-auth.js';
import { parseIpv4 } from '../wire/addr.js';

const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;
const key = new TextEncoder().encode('k'.repeat(32));

function seedList(n: number): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  return Array.from({ length: Number(process.env.CRAFT_SEEDS ?? n) }, (_, i) => 9500 + i);
}

/** UDP to or from the control port (7701). */
function isControl(f: Uint8Array): boolean {
  if (f.length < 42 || f[12] !== 8 || f[13] !== 0 || f[23] !== 17) return false;
  const u = 14 + (f[14]! & 15) * 4;
  return ((f[u]! << 8) | f[u + 1]!) === 7701 || ((f[u + 2]! << 8) | f[u + 3]!) === 7701;
}

test('control datagrams: sealed, tamper and wrong key rejected, replays rejected, a new epoch resets', () => {
  const body = new TextEncoder().encode('{"t":"hb"}');
  const d = sealControl(body, key, { sender: 1, epoch: 3, seq: 7n });
  const o = openControl(d, key);
  assert.ok(o.ok);
  assert.deepEqual([o.value.sender, o.value.epoch, o.value.seq, [...o.value.body]], [1, 3, 7n, [...body]]);
  for (let i = 0; i < d.length; i++) {
    const bad = d.slice();
    bad[i]! ^= 0x40;
    assert.equal(openControl(bad, key).ok, false, `byte ${i} flipped`);
  }
  assert.equal(openControl(d, new TextEncoder().encode('x'.repeat(32))).ok, false);
  assert.equal(openControl(d.subarray(0, 20), key).ok, false);
  const g = new ReplayGuard();
  assert.ok(g.accept({ sender: 1, epoch: 3, seq: 7n }));
  assert.equal(g.accept({ sender: 1, epoch: 3, seq: 7n }), false, 'replay');
  assert.ok(g.accept({ sender: 1, epoch: 3, seq: 5n }), 'late but unseen, inside the window');
  assert.equal(g.accept({ sender: 1, epoch: 2, seq: 100n }), false, 'an older epoch');
  assert.ok(g.accept({ sender: 1, epoch: 4, seq: 0n }), 'a restarted sender');
  assert.ok(g.accept({ sender: 2, epoch: 0, seq: 0n }), 'another sender has its own window');
});

test('a box with another key is not a peer: nothing of it is installed, and it never takes over', () => {
  const r = runSpliceScenario({
    seed: 9400, backends: 1, limitUs: 30_000_000,
    downloads: [{ startUs: 300_000, request: get(300_000) }],
    pair: { keyB: new TextEncoder().encode('another key, same length as it..') },
  });
  assert.ok(r.finished && r.results[0]!.complete && r.results[0]!.bodyOk);
  const b = r.nodes!.b;
  assert.ok((b.counters()['control-auth-failed'] ?? 0) > 0);
  assert.equal(b.splicer.counters()['replica-installed'], undefined);
  assert.equal(b.isActive(), false);
  assert.equal(r.nodes!.a.splicer.counters()['replication-hold-timeout'], undefined, 'a lone active box does not wait for a peer');
});

test('control channel cut mid-transfer: the active fences itself before the standby takes over; never two senders; byte-exact', () => {
  const svc = parseIpv4(SERVICE_IP)!;
  for (const seed of seedList(3)) {
    console.log(`# control-partition seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/fencing)`);
    const rng = new SeededRng(seed);
    const cutUs = 320_000 + rng.nextInt(30_000);
    const sizes = Array.from({ length: 4 }, () => 2_000_000 + rng.nextInt(1_000_000));
    const sent: Record<'a' | 'b', number[]> = { a: [], b: [] };
    const r = runSpliceScenario({
      seed, backends: 2, limitUs: 120_000_000,
      downloads: sizes.map((n, i) => ({ startUs: 300_000 + i * 1000, request: get(n) })),
      pair: { controlFaults: [{ kind: 'loss', rate: 1, match: isControl, fromUs: cutUs }] },
      link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
      onStart: (sim) => {
        for (const n of ['a', 'b'] as const) {
          sim.tapPort(`splicer-${n}`, 0, { record: (t, f) => {
            // IPv4 from the service address (forwarded segments, our stack's segments).
            if (f.length >= 34 && f[12] === 8 && f[13] === 0 && (((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0) === svc) sent[n].push(t);
          } }, 'tx');
        }
      },
    });
    const label = `seed ${seed} cut at ${cutUs} µs`;
    assert.ok(r.finished, `${label}: finished`);
    r.results.forEach((x, i) => assert.ok(x.status === 200 && x.bodyOk && x.complete && x.bodyBytes === sizes[i], `${label} #${i}`));
    assert.equal(r.clientRsts, 0, `${label}: RST at the client`);
    const ev = (node: string, kind: string): number | undefined => r.nodeEvents.find((e) => e.node === node && e.kind === kind)?.tUs;
    const fenced = ev('splicer-a', 'fenced');
    const takeover = ev('splicer-b', 'takeover');
    assert.ok(fenced !== undefined && takeover !== undefined && fenced < takeover, `${label}: fenced ${fenced} before takeover ${takeover}`);
    assert.ok(ev('splicer-a', 'demoted') !== undefined, `${label}: the cut-off box saw the claim and stood down`);
    const lastA = Math.max(...sent.a);
    const firstB = Math.min(...sent.b);
    assert.ok(lastA < firstB, `${label}: the service address sent from a until ${lastA} µs and from b from ${firstB} µs`);
    console.log(`# ${label}: a fenced at ${fenced}, b took over at ${takeover}, a's last frame ${lastA}, b's first ${firstB}`);
  }
});

test('standby crash: the active box fences itself, sees no takeover, serves alone; every download completes, no RST', () => {
  for (const seed of seedList(2)) {
    const rng = new SeededRng(seed + 7);
    const sizes = Array.from({ length: 3 }, () => 1_000_000 + rng.nextInt(1_000_000));
    const r = runSpliceScenario({
      seed, backends: 2, limitUs: 120_000_000,
      downloads: sizes.map((n, i) => ({ startUs: 300_000 + i * 1000, request: get(n) })),
      pair: { crashStandbyAtUs: 310_000 + rng.nextInt(20_000) },
      link: { latencyUs: 100, bandwidthBps: 100_000_000, queueFrames: 1024, mtuBytes: 1500 },
    });
    const label = `seed ${seed}`;
    assert.ok(r.finished, `${label}: finished`);
    r.results.forEach((x, i) => assert.ok(x.status === 200 && x.bodyOk && x.complete && x.bodyBytes === sizes[i], `${label} #${i}`));
    assert.equal(r.clientRsts, 0, `${label}: RST`);
    const kinds = r.nodeEvents.filter((e) => e.node === 'splicer-a').map((e) => e.kind);
    assert.ok(kinds.includes('fenced') && kinds.includes('solo'), `${label}: ${kinds.join(',')}`);
    assert.ok(r.nodes!.a.isActive() && !r.nodes!.a.isFenced());
  }
});
