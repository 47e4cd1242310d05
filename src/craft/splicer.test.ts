// Splicer in the simulator: client Host → splicer → back-end Hosts serving pattern
// downloads. Byte-exact bodies, sequence/ACK/SACK consistency and checksums on both
// sides of the splice (wire checker, tshark when installed), faults on either side,
// malformed requests, routing and back-end failure before the splice, many concurrent
// splices, and state cleanup. Seeds are printed; replay with CRAFT_SEED=<seed>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSpliceScenario, SERVICE_IP, BACKEND_IP, type SpliceScenarioResult, type Download } from './testing/scenario.js';
import { concatChunks, flowKey } from './testing/wire-checker.js';
import { parseIpv4, formatIpv4 } from '../wire/addr.js';
import { tsharkCheck, tsharkSkipReason } from '../sim/tshark.js';
import type { FaultSpec } from '../sim/faults.js';
import type { Host } from '../stack/host.js';
import type { TcpConnection } from '../tcp/connection.js';

const enc = new TextEncoder();
const get = (path: string, host = 'www.example.test', extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
const seeds = (n: number): number[] => (process.env.CRAFT_SEED ? [Number(process.env.CRAFT_SEED)] : Array.from({ length: n }, (_, i) => 1000 + i));

/** Every splice's four flows are consistent with the bytes the client received and the request it sent. */
function checkWire(r: SpliceScenarioResult, requests: string[]): string[] {
  const problems: string[] = [];
  const svc = parseIpv4(SERVICE_IP)!;
  for (const sp of r.splices) {
    const idx = r.results.findIndex((x) => x.connId?.split('>')[0] === `${formatIpv4(sp.client.ip)}:${sp.client.port}`);
    if (idx < 0) { problems.push(`splice #${sp.id}: no client`); continue; }
    const resp = concatChunks(r.results[idx]!.received);
    const req = enc.encode(requests[idx]!);
    const cReq = flowKey(sp.client.ip, sp.client.port, svc, sp.client.localPort);
    const cResp = flowKey(svc, sp.client.localPort, sp.client.ip, sp.client.port);
    const bReq = flowKey(svc, sp.backend.localPort, sp.backend.ip, sp.backend.port);
    const bResp = flowKey(sp.backend.ip, sp.backend.port, svc, sp.backend.localPort);
    problems.push(...r.clientWire.checkStream(cResp, resp, cReq, true));
    problems.push(...r.clientWire.checkStream(cReq, req, cResp, true));
    problems.push(...r.backendWire.checkStream(bResp, resp, bReq, true));
    problems.push(...r.backendWire.checkStream(bReq, req, bResp, true));
  }
  if (r.clientWire.badChecksums + r.backendWire.badChecksums > 0) problems.push(`bad checksums: ${r.clientWire.badChecksums} client side, ${r.backendWire.badChecksums} back-end side`);
  return problems;
}

/** Runs on to idle and checks that no splice, session or host connection is left. */
function checkCleanup(r: SpliceScenarioResult): void {
  r.sim.runUntilIdle(r.sim.nowUs + 600_000_000);
  assert.equal(r.splicer.spliceCount(), 0, 'splice state left');
  assert.equal(r.splicer.sessionCount(), 0, 'sessions left');
  assert.deepEqual(r.splicer.host.tcpConnections().map((c) => c.state), [], 'host connections left');
}

function downloads(sizes: number[], gapUs = 1000): Download[] {
  return sizes.map((n, i) => ({ startUs: 1000 + i * gapUs, request: get(`/bytes/${n}`) }));
}

function assertAllOk(r: SpliceScenarioResult, sizes: number[], label: string): void {
  assert.ok(r.finished, `${label}: not finished by the time limit`);
  r.results.forEach((x, i) => {
    assert.equal(x.status, 200, `${label} #${i}: status`);
    assert.equal(x.bodyBytes, sizes[i], `${label} #${i}: body bytes`);
    assert.ok(x.bodyOk && x.complete, `${label} #${i}: body differs`);
    assert.equal(x.close, 'closed', `${label} #${i}: close reason`);
  });
}

const SIZES = [0, 1, 1460, 1461, 100_000, 1_000_000];

test('downloads of various sizes are spliced and byte-exact; both sides consistent; state cleaned', () => {
  const dl = downloads(SIZES);
  const r = runSpliceScenario({ seed: 1, backends: 2, downloads: dl });
  assertAllOk(r, SIZES, 'clean');
  assert.equal(r.splices.length, SIZES.length);
  assert.equal(r.splicer.counters()['spliced'], SIZES.length);
  // Requests alternate between the two back ends (weights equal).
  assert.deepEqual(r.results.map((x) => x.headers['x-backend']), ['b0', 'b1', 'b0', 'b1', 'b0', 'b1']);
  // The options were negotiated (our stacks offer all): the splice translates timestamps and windows.
  assert.ok(r.splices.every((sp) => sp.tsC2B !== undefined && sp.sackToBackend));
  assert.deepEqual(checkWire(r, dl.map((d) => d.request)), []);
  checkCleanup(r);
  assert.ok((r.splicer.counters()['splice-removed-fin'] ?? 0) === SIZES.length);
});

test('the splice is byte-exact with window scaling, SACK and timestamps off at the client', () => {
  const sizes = [50_000, 300_000];
  const dl = downloads(sizes);
  const r = runSpliceScenario({ seed: 2, backends: 1, downloads: dl, clientTcp: { windowScale: false, sack: false, timestamps: false } });
  assertAllOk(r, sizes, 'no-options');
  assert.ok(r.splices.every((sp) => sp.tsC2B === undefined && !sp.sackToBackend && sp.winB2C.outShift === 0));
  assert.deepEqual(checkWire(r, dl.map((d) => d.request)), []);
  checkCleanup(r);
});

const lossy = (rate: number): FaultSpec[] => [{ kind: 'loss', rate }, { kind: 'reorder', rate: rate * 2, delayUs: 3_000 }];

for (const side of ['client', 'backend'] as const) {
  test(`loss and reordering on the ${side} side: byte-exact, consistent sequence numbers on both sides`, () => {
    for (const seed of seeds(3)) {
      console.log(`# ${side}-faults seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/splicer)`);
      const sizes = [0, 2000, 150_000, 600_000];
      const dl = downloads(sizes, 5000);
      const r = runSpliceScenario({
        seed, backends: 2, downloads: dl, limitUs: 300_000_000,
        ...(side === 'client' ? { clientFaults: lossy(0.03) } : { backendFaults: lossy(0.03) }),
      });
      assertAllOk(r, sizes, `seed ${seed}`);
      assert.deepEqual(checkWire(r, dl.map((d) => d.request)), [], `seed ${seed}`);
      checkCleanup(r);
    }
  });
}

test('damaged frames on both sides (bit flips past the Ethernet header): still byte-exact, no bad frame forwarded as good', () => {
  const sizes = [300_000, 700_000];
  const dl = downloads(sizes, 3000);
  const corrupt: FaultSpec[] = [{ kind: 'corrupt', rate: 0.02, minOffset: 14 }];
  const r = runSpliceScenario({ seed: 12, backends: 1, downloads: dl, clientFaults: corrupt, backendFaults: corrupt, limitUs: 300_000_000 });
  assertAllOk(r, sizes, 'corrupt');
  const c = r.splicer.counters();
  assert.ok((c['drop-bad-ip-checksum'] ?? 0) + (c['drop-c2b-bad-checksum'] ?? 0) > 0, JSON.stringify(c));
  checkCleanup(r);
});

test('malformed requests get 400/431/501/505 and a close; nothing is spliced', () => {
  const cases: Array<[string, number]> = [
    ['GET /bytes/1 HTTP/1.1\r\n\r\n', 400],                                   // no Host
    ['GET  /bytes/1 HTTP/1.1\r\nHost: a\r\n\r\n', 400],                       // double space
    ['GET /bytes/1 HTTP/1.1\r\nHost : a\r\n\r\n', 400],                       // space before colon
    [`GET /${'x'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 431],          // head too large
    ['POST /bytes/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n', 501],
    ['GET /bytes/1 HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    ['GET /bytes/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
  ];
  const r = runSpliceScenario({ seed: 3, backends: 1, downloads: cases.map(([req], i) => ({ startUs: 1000 + i * 1000, request: req })) });
  assert.ok(r.finished);
  r.results.forEach((x, i) => {
    assert.equal(x.status, cases[i]![1], `case ${i}`);
    assert.equal(x.headers['connection'], 'close');
    assert.ok(x.peerEnded, `case ${i}: the splicer closes`);
  });
  assert.equal(r.splices.length, 0);
  checkCleanup(r);
});

test('routing by Host and path prefix with weights; a down back end is skipped before the splice', () => {
  const routes = {
    pools: {
      api: [{ id: 'b0', ip: BACKEND_IP(0), port: 80 }],
      img: [{ id: 'b1', ip: BACKEND_IP(1), port: 80, weight: 3 }, { id: 'b2', ip: BACKEND_IP(2), port: 80, weight: 1 }],
      rest: [{ id: 'dead', ip: BACKEND_IP(9), port: 80 }, { id: 'b2', ip: BACKEND_IP(2), port: 80 }],
    },
    rules: [{ host: 'api.example.test', pool: 'api' }, { pathPrefix: '/bytes', host: '*.img.test', pool: 'img' }, { pool: 'rest' }],
  };
  const reqs = [
    get('/bytes/10', 'api.example.test'),
    ...Array.from({ length: 8 }, () => get('/bytes/10', 'cdn.img.test:8080')),
    get('/bytes/10', 'other.test'),     // 'dead' is tried first (no host at that address), then b2
    get('/bytes/10', 'other.test'),     // 'dead' is marked down now: straight to b2
  ];
  const r = runSpliceScenario({ seed: 4, backends: 3, routes, downloads: reqs.map((q, i) => ({ startUs: 1000 + i * 20_000, request: q })), limitUs: 60_000_000 });
  assert.ok(r.finished);
  const who = r.results.map((x) => x.headers['x-backend']);
  assert.equal(who[0], 'b0');
  const img = who.slice(1, 9);
  assert.equal(img.filter((w) => w === 'b1').length, 6);
  assert.equal(img.filter((w) => w === 'b2').length, 2);
  assert.deepEqual(who.slice(9), ['b2', 'b2']);
  assert.ok(r.results.every((x) => x.bodyOk && x.complete));
  assert.equal(r.splicer.counters()['backend-failed'], 1);
  checkCleanup(r);
});

test('no healthy back end: 503', () => {
  const routes = { pools: { web: [{ id: 'dead', ip: BACKEND_IP(9), port: 80 }] }, rules: [{ pool: 'web' }] };
  const r = runSpliceScenario({ seed: 5, backends: 1, routes, downloads: [{ startUs: 1000, request: get('/bytes/1') }], limitUs: 60_000_000 });
  assert.equal(r.results[0]!.status, 503);
  checkCleanup(r);
});

test('many concurrent splices: all byte-exact, per-connection state removed after close', () => {
  const n = 60;
  const sizes = Array.from({ length: n }, (_, i) => 20_000 + i * 997);
  const dl = sizes.map((s, i) => ({ startUs: 1000 + i * 50, request: get(`/bytes/${s}`) }));
  const r = runSpliceScenario({ seed: 6, backends: 3, downloads: dl, clientFaults: [{ kind: 'loss', rate: 0.01 }] });
  assertAllOk(r, sizes, 'concurrent');
  assert.equal(r.splices.length, n);
  assert.deepEqual(checkWire(r, dl.map((d) => d.request)), []);
  checkCleanup(r);
});

test('a half-dead splice (client vanished) is removed after the idle timeout; the back end then gets a RST', () => {
  const r = runSpliceScenario({
    seed: 7, backends: 1, downloads: [{ startUs: 1000, request: get('/bytes/5000000') }],
    splicer: { idleTimeoutUs: 5_000_000 }, limitUs: 20_000,
  });
  // Spliced and streaming; now the client disappears from the network.
  assert.equal(r.splicer.spliceCount(), 1);
  r.sim.partition({ node: 'client', ifIndex: 0 });
  const cut = r.sim.nowUs;
  r.sim.runUntil(cut + 4_000_000);
  assert.equal(r.splicer.spliceCount(), 1, 'kept while within the idle timeout');
  r.sim.runUntil(cut + 30_000_000);
  assert.equal(r.splicer.spliceCount(), 0);
  assert.equal(r.splicer.counters()['splice-removed-idle'], 1);
  // The back end's next retransmission meets our host, which answers RST (RFC 9293 §3.10.7.1): its connection ends.
  r.sim.runUntil(r.sim.nowUs + 120_000_000);
  const b0 = r.sim.node('b0').as<Host<TcpConnection>>();
  assert.deepEqual(b0.tcpConnections().map((c) => c.state), []);
  assert.ok((b0.counters()['tcp-closed-reset'] ?? 0) === 1, JSON.stringify(b0.counters()));
});

test('tshark: no bad checksums or malformed packets on either side of the splice', (t) => {
  const skip = tsharkSkipReason();
  if (skip !== undefined) { t.skip(skip); return; }
  const r = runSpliceScenario({ seed: 8, backends: 1, downloads: downloads([70_000, 1]), capture: true, clientFaults: [{ kind: 'loss', rate: 0.02 }] });
  assertAllOk(r, [70_000, 1], 'tshark');
  const dir = mkdtempSync(join(tmpdir(), 'craft-'));
  try {
    for (const [name, pcap] of [['client', r.clientPcap!], ['backend', r.backendPcap!]] as const) {
      const path = join(dir, `${name}.pcap`);
      writeFileSync(path, pcap.bytes());
      const rep = tsharkCheck(path);
      assert.ok(rep.frames > 50, `${name}: ${rep.frames} frames`);
      assert.deepEqual(rep.errors, [], `${name} side`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
