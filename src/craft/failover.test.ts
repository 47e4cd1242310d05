// Splicer failure (CRAFT addition 1) in the simulator: an active/standby splicer pair.
// Splice state reaches the standby before the splice carries data; the active box is
// crashed (sim.crash) mid-transfer at seeded times; the standby takes the service
// address over (gratuitous ARP) and every download completes byte-exact, no RST.
// Seeds are printed; replay with CRAFT_SEED=<seed>. More seeds: CRAFT_SEEDS=N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../util/rng.js';
import { runSpliceScenario } from './testing/scenario.js';
import { ALIVE_PER_MESSAGE, CONTROL_MAX_BYTES, encodeControl, parseControl } from './replication.js';
import { runCraftDemo } from './demo.js';

const enc = new TextEncoder();
const get = (n: number): string => `GET /bytes/${n} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  const n = Number(process.env.CRAFT_SEEDS ?? 4);
  return Array.from({ length: n }, (_, i) => 3000 + i);
}

test('no crash: splices are replicated before data flows; the standby holds them and drops them after close', () => {
  const sizes = [10_000, 200_000];
  const r = runSpliceScenario({ seed: 11, backends: 2, downloads: sizes.map((n, i) => ({ startUs: 300_000 + i * 1000, request: get(n) })), pair: {} });
  assert.ok(r.finished);
  r.results.forEach((x, i) => assert.ok(x.status === 200 && x.bodyOk && x.complete && x.bodyBytes === sizes[i]));
  const a = r.nodes!.a.splicer.counters();
  const b = r.nodes!.b.splicer.counters();
  assert.equal(b['replica-installed'], 2);
  assert.equal(b['replica-updated'], 4, 'the response framing, then the splice\'s end, followed each splice');
  assert.equal(a['replication-hold-timeout'], undefined, 'every splice was acknowledged by the peer');
  r.sim.runUntil(r.sim.nowUs + 20_000_000);
  assert.equal(r.nodes!.a.splicer.spliceCount(), 0);
  assert.equal(r.nodes!.b.splicer.spliceCount(), 0, 'removal reached the standby');
  assert.equal(r.clientRsts, 0);
});

test('splicer crash mid-transfer: the standby takes over and every spliced download completes byte-exact, no RST', () => {
  for (const seed of seedList()) {
    console.log(`# splicer-crash seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/failover)`);
    const rng = new SeededRng(seed);
    const sizes = Array.from({ length: 6 }, () => 1_000_000 + rng.nextInt(1_500_000));
    // The crash comes a seeded time after the last download was spliced and its state reached
    // the standby (≥ 1 ms: the replication round trip is ~0.4 ms), while its data flows (a lost
    // SYN can delay the last splice until the others have finished). A crash inside the
    // replication window loses that connection: splice setup is not replicated (documented).
    const delayUs = 1000 + rng.nextInt(1_000);
    const r = runSpliceScenario({
      seed, backends: 3, limitUs: 300_000_000,
      downloads: sizes.map((n, i) => ({ startUs: 300_000 + i * 5000, request: get(n) })),
      pair: { crashAfterSplices: { count: sizes.length, delayUs } },
      clientFaults: [{ kind: 'loss', rate: 0.01 }],
    });
    const crashUs = r.crashUs;
    const label = `seed ${seed} crash ${delayUs} µs after the last splice`;
    assert.ok(crashUs !== undefined, `${label}: the active box crashed`);
    console.log(`# ${label}: takeover ${r.nodes!.b.takeoverUs! - crashUs} µs after the crash, client pause ${r.pauseUs} µs`);
    assert.ok(r.finished, `${label}: not finished`);
    assert.equal(r.splices.length, sizes.length, `${label}: all spliced before the crash`);
    r.results.forEach((x, i) => {
      assert.equal(x.status, 200, `${label} #${i}`);
      assert.equal(x.bodyBytes, sizes[i], `${label} #${i}: body bytes`);
      assert.ok(x.bodyOk && x.complete, `${label} #${i}: body`);
      assert.equal(x.close, 'closed', `${label} #${i}: close`);
    });
    assert.equal(r.clientRsts, 0, `${label}: client got RST`);
    const b = r.nodes!.b;
    assert.ok(b.isActive() && b.takeoverUs !== undefined && b.takeoverUs > crashUs, `${label}: takeover`);
    assert.ok((b.splicer.counters()['forward-b2c'] ?? 0) > 0, `${label}: the standby forwarded the existing splices`);
    // A new connection after the takeover is served by the new active box.
    const more = runSpliceScenario({ seed, backends: 1, limitUs: 60_000_000, downloads: [{ startUs: 300_000, request: get(1000) }, { startUs: 900_000, request: get(5000) }], pair: { crashActiveAtUs: 500_000 } });
    assert.ok(more.results.every((x) => x.status === 200 && x.bodyOk && x.complete), `${label}: post-takeover connection`);
    assert.equal(more.nodes!.b.splicer.counters()['spliced'], 1);
  }
});

test('splicer crash, then a back-end crash mid-response: the standby re-splices with the replicated response framing (demo)', () => {
  for (const seed of [42, ...seedList().slice(0, 2)]) {
    const lines: string[] = [];
    const code = runCraftDemo({ seed, json: true, outDir: undefined }, (l) => lines.push(l));
    const out = JSON.parse(lines[0]!) as { ok: boolean; standbySplicer: Record<string, number>; downloads: Array<{ byteExact: boolean }> };
    assert.equal(code, 0, `seed ${seed}: ${lines[0]}`);
    assert.ok(out.ok && out.downloads.every((d) => d.byteExact));
    assert.ok((out.standbySplicer['resplice'] ?? 0) >= 1, `seed ${seed}: the standby re-spliced after taking over`);
  }
});

test('control messages: round trip, and bad datagrams are typed errors', () => {
  const s = {
    id: 5, serviceIp: 1, backendId: 'b', seqC2B: 2, seqB2C: 3, tsC2B: undefined, tsB2C: undefined,
    client: { ip: 4, port: 5, mac: new Uint8Array([1, 2, 3, 4, 5, 6]), localPort: 80 },
    backend: { ip: 6, port: 7, mac: new Uint8Array([6, 5, 4, 3, 2, 1]), localPort: 50000 },
    winC2B: { inShift: 1, outShift: 2 }, winB2C: { inShift: 0, outShift: 0 }, sackToBackend: false,
    finClient: undefined, finBackend: 9, finClientAcked: false, finBackendAcked: true, rst: false,
    lastC2BUs: 1, lastB2CUs: 2, expiresUs: undefined, packetsC2B: 3, packetsB2C: 4,
    clientAcked: 10, clientNxt: 11, b2cNxt: 14, clientTsVal: 12, tsToClient: undefined, respStart: 13, respHeadLen: 100, respBodyLen: undefined,
    request: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', clientOpts: { mss: 1460, ws: true, sack: false, ts: true }, resplicing: false,
  };
  const back = parseControl(encodeControl({ t: 'splice', node: 1, s }));
  assert.ok(back.ok);
  assert.deepEqual(back.value, { t: 'splice', node: 1, s });
  // Shared splicers number each send of a splice's state; the ack names the one it acknowledges.
  assert.deepEqual(parseControl(encodeControl({ t: 'splice', node: 1, s, v: 7 })), { ok: true, value: { t: 'splice', node: 1, s, v: 7 } });
  assert.deepEqual(parseControl(encodeControl({ t: 'ack', node: 2, id: 5, v: 7 })), { ok: true, value: { t: 'ack', node: 2, id: 5, v: 7 } });
  // 'alive': the splices a box carries, by client side; the most one message may name still fits.
  const most = Array.from({ length: ALIVE_PER_MESSAGE }, () => [0xffffffff, 65535, 65535]).flat();
  assert.ok(encodeControl({ t: 'alive', node: 3, c: most }).length <= CONTROL_MAX_BYTES);
  assert.deepEqual(parseControl(encodeControl({ t: 'alive', node: 3, c: most })), { ok: true, value: { t: 'alive', node: 3, c: most } });
  for (const bad of ['', '{', '[]', '{"t":"hb","node":1}', '{"t":"x","node":1}', '{"t":"ack","node":1,"id":-1}', '{"t":"ack","node":1,"id":5,"v":-1}',
    '{"t":"alive","node":1,"c":[1,2]}', '{"t":"alive","node":1,"c":[1,2,0]}', '{"t":"alive","node":1,"c":"x"}', JSON.stringify({ t: 'alive', node: 1, c: [...most, 1, 2, 3] }),
    JSON.stringify({ t: 'splice', node: 1, s, v: 'x' }),
    JSON.stringify({ t: 'splice', node: 1, s: { ...s, client: { ...s.client, mac: [1, 2] } } })]) {
    const r = parseControl(enc.encode(bad));
    assert.equal(r.ok, false, bad);
  }
});

test('takeover probe: the TSval it carries is not older than the last one the client saw (RFC 7323 PAWS; Linux drops an old one silently)', () => {
  const seed = 3101;
  console.log(`# probe-tsval seed ${seed} (replay: npm test -- src/craft/failover)`);
  // The replica is taken at the splice's setup; the crash comes 300 ms of transfer later.
  let lastTs: number | undefined;
  let crashed = false;
  const probes: Array<{ ts: number; before: number }> = [];
  const r = runSpliceScenario({
    seed, backends: 1, limitUs: 60_000_000,
    downloads: [{ startUs: 300_000, request: get(20_000_000) }],
    link: { latencyUs: 100, bandwidthBps: 200_000_000, queueFrames: 1024, mtuBytes: 1500 },
    pair: { crashActiveAtUs: 600_000 },
    onStart: (sim) => {
      sim.at(600_000, () => { crashed = true; });
      sim.tapPort('client', 0, { record: (_t, f) => {
        if (!(f.length > 54 && f[12] === 8 && f[13] === 0 && f[23] === 6)) return;
        const t = 14 + ((f[14]! & 15) * 4);
        const total = (f[16]! << 8) | f[17]!;
        const doff = (f[t + 12]! >>> 4) * 4;
        const payload = 14 + total - t - doff;
        let ts: number | undefined;
        for (let i = t + 20; i < t + doff;) {
          const k = f[i]!;
          if (k === 0) break;
          if (k === 1) { i++; continue; }
          if (k === 8) { ts = ((f[i + 2]! << 24) | (f[i + 3]! << 16) | (f[i + 4]! << 8) | f[i + 5]!) >>> 0; break; }
          i += f[i + 1]!;
        }
        if (ts === undefined) return;
        if (crashed && payload === 0 && (f[t + 13]! & 0x17) === 0x10 && probes.length === 0 && lastTs !== undefined) probes.push({ ts, before: lastTs });
        if (payload > 0 && (lastTs === undefined || ((ts - lastTs) | 0) > 0)) lastTs = ts;
      } }, 'rx');
    },
  });
  assert.ok(r.finished && r.results[0]!.bodyOk && r.results[0]!.complete, 'download byte-exact');
  assert.equal(probes.length, 1, 'the standby probed the client');
  const p = probes[0]!;
  assert.ok(((p.ts - p.before) | 0) >= 0, `probe TSval ${p.ts} older than the client's latest ${p.before}`);
});
