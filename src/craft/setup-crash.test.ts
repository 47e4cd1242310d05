// Crashes during splice setup (issue 5): the active splicer and/or a back end crash at
// seeded random points while clients are in the handshake, sending their request, or
// waiting for the back-end connection — and while other downloads stream. The setup record
// (the client's SYN and our ISN) reaches the peer before our SYN-ACK leaves, and no request
// byte is acknowledged before the splice is replicated, so the peer rebuilds every such
// connection and reads the request again. Every download byte-exact, no RST at the client.
// Seeds are printed; replay with CRAFT_SEED=<seed>; more seeds with CRAFT_SEEDS=N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../util/rng.js';
import { runSpliceScenario } from './testing/scenario.js';
import { encodeControl, parseControl } from './replication.js';

const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  return Array.from({ length: Number(process.env.CRAFT_SEEDS ?? 8) }, (_, i) => 9100 + i);
}

test('splicer and/or back-end crash at random points including splice setup: byte-exact, no RST', () => {
  const restored: number[] = [];
  for (const seed of seedList()) {
    const rng = new SeededRng(seed);
    const mode = (['splicer', 'backend', 'both'] as const)[seed % 3]!;
    console.log(`# setup-crash seed ${seed} mode ${mode} (replay: CRAFT_SEED=${seed} npm test -- src/craft/setup-crash)`);
    // Clients arrive over 4 ms; each setup takes about 1 ms, so the crash finds some in the
    // handshake, some reading the request, some connecting to the back end, some spliced.
    const starts = Array.from({ length: 14 }, () => 300_000 + rng.nextInt(4_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 1000 + rng.nextInt(400_000));
    const splicerCrashUs = 300_000 + rng.nextInt(4_500);
    const backendCrashUs = 300_000 + rng.nextInt(6_000);
    const r = runSpliceScenario({
      seed, backends: 3, limitUs: 120_000_000,
      downloads: starts.map((t, i) => ({ startUs: t, request: get(sizes[i]!) })),
      pair: mode === 'backend' ? {} : { crashActiveAtUs: splicerCrashUs },
      splicer: { healthIntervalUs: 20_000, healthTimeoutUs: 60_000 },
      clientFaults: [{ kind: 'loss', rate: 0.01 }],
      onStart: (sim) => { if (mode !== 'splicer') sim.at(backendCrashUs, () => sim.crash('b0')); },
    });
    const label = `seed ${seed} (${mode}: splicer at ${mode === 'backend' ? '-' : splicerCrashUs} µs, b0 at ${mode === 'splicer' ? '-' : backendCrashUs} µs)`;
    assert.ok(r.finished, `${label}: finished`);
    r.results.forEach((x, i) => {
      assert.equal(x.status, 200, `${label} #${i} (start ${starts[i]})`);
      assert.ok(x.bodyOk && x.complete && x.bodyBytes === sizes[i], `${label} #${i}: body ${x.bodyBytes}/${sizes[i]}`);
      assert.equal(x.close, 'closed', `${label} #${i}: close`);
    });
    assert.equal(r.clientRsts, 0, `${label}: RST at the client`);
    const a = r.nodes!.a.splicer.counters();
    const b = r.nodes!.b.splicer.counters();
    if (mode !== 'backend') {
      assert.ok(r.nodes!.b.isActive(), `${label}: takeover`);
      restored.push(b['setup-restored'] ?? 0);
    }
    console.log(`# ${label}: spliced by a ${a['spliced'] ?? 0}, by b ${b['spliced'] ?? 0}; setups rebuilt by b ${b['setup-restored'] ?? 0}; re-spliced ${(a['resplice'] ?? 0) + (b['resplice'] ?? 0)}; retried before the splice ${(a['backend-failed'] ?? 0) + (b['backend-failed'] ?? 0)}`);
  }
  // The crash points must actually hit setups in progress (else this test would prove nothing).
  if (!process.env.CRAFT_SEED) assert.ok(restored.some((n) => n > 0), `some crash hit a setup in progress: ${restored.join(',')}`);
});

test('without setup replication, a splicer crash during setup loses those connections (the test above can fail)', () => {
  // The same kind of run with replicateSetup off: clients whose setup was in progress never finish.
  let lost = 0;
  for (const seed of [9100, 9103]) {
    const rng = new SeededRng(seed);
    const starts = Array.from({ length: 14 }, () => 300_000 + rng.nextInt(4_000)).sort((a, b) => a - b);
    const sizes = starts.map(() => 1000 + rng.nextInt(400_000));
    const r = runSpliceScenario({
      seed, backends: 3, limitUs: 10_000_000,
      downloads: starts.map((t, i) => ({ startUs: t, request: get(sizes[i]!) })),
      pair: { crashActiveAtUs: 300_000 + rng.nextInt(4_500), replicateSetup: false },
    });
    lost += r.results.filter((x) => !(x.complete && x.bodyOk)).length;
  }
  assert.ok(lost > 0, 'some connection in setup was lost without setup replication');
});

test('setup records: round trip and typed errors', () => {
  const r = { id: 7, clientIp: 0x0a070001, clientPort: 40000, localPort: 80, irs: 1, iss: 0xfffffff0, window: 65535, mss: 1460, ws: 7, sack: true, tsVal: 123 };
  const back = parseControl(encodeControl({ t: 'setup', node: 1, r }));
  assert.ok(back.ok);
  assert.deepEqual(back.value, { t: 'setup', node: 1, r });
  const noOpts = { ...r, mss: undefined, ws: undefined, tsVal: undefined, sack: false };
  const b2 = parseControl(encodeControl({ t: 'setup', node: 1, r: noOpts }));
  assert.ok(b2.ok && b2.value.t === 'setup' && b2.value.r.mss === undefined);
  for (const bad of [{ ...r, ws: 15 }, { ...r, clientPort: 0 }, { ...r, window: 70000 }, { ...r, sack: 1 }]) {
    assert.equal(parseControl(encodeControl({ t: 'setup', node: 1, r: bad as typeof r })).ok, false, JSON.stringify(bad));
  }
});
