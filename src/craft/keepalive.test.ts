// HTTP keep-alive through the splicer (issue 5): several requests on one client
// connection, routed one by one by Host; a request the rules send to another back end is
// re-spliced to it (new connection, new offsets) and every response arrives byte-exact.
// Seeds are printed; replay with CRAFT_SEED=<seed>; more seeds with CRAFT_SEEDS=N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../util/rng.js';
import { BACKEND_IP, SERVICE_IP, runSpliceScenario } from './testing/scenario.js';
import { concatChunks, flowKey } from './testing/wire-checker.js';
import { parseIpv4, formatIpv4 } from '../wire/addr.js';
import type { RouteConfig } from './routes.js';
import { trimPayload } from './keepalive.js';
import { internetChecksum } from '../wire/checksum.js';
import { emitIpv4Packet, parseIpv4Packet } from '../wire/ipv4.js';
import { emitTcpSegment, parseTcpSegment, tcpFlags } from '../wire/tcp.js';

const req = (host: string, n: number, extra = ''): string => `GET /bytes/${n} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
const routes: RouteConfig = {
  pools: { a: [{ id: 'b0', ip: BACKEND_IP(0), port: 80 }], b: [{ id: 'b1', ip: BACKEND_IP(1), port: 80 }] },
  rules: [{ host: 'a.test', pool: 'a' }, { host: 'b.test', pool: 'b' }],
};

function seedList(): number[] {
  if (process.env.CRAFT_SEED) return [Number(process.env.CRAFT_SEED)];
  return Array.from({ length: Number(process.env.CRAFT_SEEDS ?? 4) }, (_, i) => 8100 + i);
}

test('keep-alive: requests alternating between two back ends on one connection are re-spliced, byte-exact', () => {
  for (const seed of seedList()) {
    console.log(`# keepalive seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/keepalive)`);
    const rng = new SeededRng(seed);
    const conns = Array.from({ length: 3 }, (_, c) => {
      const hosts = Array.from({ length: 5 + rng.nextInt(3) }, (_, i) => ((i + c) % 2 === 0 ? 'a.test' : 'b.test'));
      if (rng.nextInt(2) === 0) hosts.splice(2, 0, hosts[1]!);          // twice in a row on the same back end
      return hosts.map((h) => ({ host: h, size: rng.nextInt(3) === 0 ? rng.nextInt(2000) : 20_000 + rng.nextInt(300_000) }));
    });
    const r = runSpliceScenario({
      seed, backends: 2, routes, limitUs: 120_000_000,
      downloads: conns.map((reqs, i) => ({ startUs: 1000 + i * 3000, request: req(reqs[0]!.host, reqs[0]!.size), then: reqs.slice(1).map((x) => req(x.host, x.size)) })),
      clientFaults: [{ kind: 'loss', rate: 0.02 }, { kind: 'reorder', rate: 0.02, delayUs: 300 }],
      backendFaults: [{ kind: 'loss', rate: 0.01 }],
    });
    const label = `seed ${seed}`;
    assert.ok(r.finished, `${label}: finished`);
    r.results.forEach((x, i) => {
      const want = conns[i]!;
      assert.equal(x.responses!.length, want.length, `${label} conn ${i}: responses`);
      x.responses!.forEach((resp, j) => {
        assert.equal(resp.status, 200, `${label} conn ${i} req ${j}`);
        assert.equal(resp.backend, want[j]!.host === 'a.test' ? 'b0' : 'b1', `${label} conn ${i} req ${j}: served by the routed back end`);
        assert.ok(resp.bodyOk && resp.complete && resp.bodyBytes === want[j]!.size, `${label} conn ${i} req ${j}: body ${resp.bodyBytes}/${want[j]!.size}`);
      });
      assert.ok(x.complete && x.bodyOk, `${label} conn ${i}`);
      assert.equal(x.close, 'closed', `${label} conn ${i}: close`);
    });
    assert.equal(r.clientRsts, 0, `${label}: RST at the client`);
    assert.equal(r.splices.length, conns.length, `${label}: one splice per client connection`);
    const switches = conns.reduce((a, reqs) => a + reqs.slice(1).filter((x, j) => x.host !== reqs[j]!.host).length, 0);
    const c = r.splicer.counters();
    assert.equal(c['keepalive-switch'], switches, `${label}: one re-splice per change of back end (${JSON.stringify(c)})`);
    // On the client's side it is one connection: every byte at its offset, every ACK/SACK/TSecr consistent.
    const svc = parseIpv4(SERVICE_IP)!;
    for (const sp of r.splices) {
      const i = r.results.findIndex((x) => x.connId?.split('>')[0] === `${formatIpv4(sp.client.ip)}:${sp.client.port}`);
      const sent = new TextEncoder().encode(conns[i]!.map((x) => req(x.host, x.size)).join(''));
      const cReq = flowKey(sp.client.ip, sp.client.port, svc, sp.client.localPort);
      const cResp = flowKey(svc, sp.client.localPort, sp.client.ip, sp.client.port);
      const problems = [...r.clientWire.checkStream(cResp, concatChunks(r.results[i]!.received), cReq, true), ...r.clientWire.checkStream(cReq, sent, cResp, true)];
      assert.deepEqual(problems.slice(0, 3), [], `${label} conn ${i}: client-side wire`);
    }
    assert.equal(r.clientWire.badChecksums + r.backendWire.badChecksums, 0, `${label}: bad checksums`);
    console.log(`# ${label}: ${switches} re-splices, stays ${c['keepalive-stay-same'] ?? 0}`);
    r.sim.runUntil(r.sim.nowUs + 20_000_000);
    assert.equal(r.splicer.spliceCount(), 0, `${label}: no state left`);
  }
});

test('keep-alive: an empty response body still ends the request; with per-request routing off the connection stays', () => {
  const r = runSpliceScenario({
    seed: 77, backends: 2, routes,
    downloads: [{ startUs: 1000, request: req('a.test', 5000), then: [req('b.test', 7000), req('a.test', 0), req('b.test', 3000)] }],
  });
  assert.ok(r.finished);
  const x = r.results[0]!;
  assert.deepEqual(x.responses!.map((y) => y.backend), ['b0', 'b1', 'b0', 'b1']);
  assert.ok(x.complete && x.bodyOk);
  assert.equal(r.splicer.counters()['keepalive-switch'], 3);
  // Per-request routing off: the whole connection stays on the first back end.
  const off = runSpliceScenario({
    seed: 78, backends: 2, routes, splicer: { perRequestRouting: false },
    downloads: [{ startUs: 1000, request: req('a.test', 5000), then: [req('b.test', 7000)] }],
  });
  assert.deepEqual(off.results[0]!.responses!.map((y) => y.backend), ['b0', 'b0']);
});

test('keep-alive with a splicer crash at a random point of the request sequence: the standby continues, byte-exact, no RST', () => {
  for (const seed of seedList()) {
    console.log(`# keepalive-crash seed ${seed} (replay: CRAFT_SEED=${seed} npm test -- src/craft/keepalive)`);
    const rng = new SeededRng(seed + 50);
    const conns = Array.from({ length: 3 }, (_, c) => Array.from({ length: 6 }, (_, i) => ({ host: (i + c) % 2 === 0 ? 'a.test' : 'b.test', size: 10_000 + rng.nextInt(200_000) })));
    const delayUs = rng.nextInt(40_000);
    const r = runSpliceScenario({
      seed, backends: 2, routes, limitUs: 120_000_000,
      downloads: conns.map((reqs, i) => ({ startUs: 300_000 + i * 2000, request: req(reqs[0]!.host, reqs[0]!.size), then: reqs.slice(1).map((x) => req(x.host, x.size)) })),
      pair: { crashAfterSplices: { count: conns.length, delayUs } },
      clientFaults: [{ kind: 'loss', rate: 0.01 }],
    });
    const label = `seed ${seed} crash ${delayUs} µs after the last splice`;
    assert.ok(r.finished && r.crashUs !== undefined, `${label}: finished`);
    r.results.forEach((x, i) => {
      x.responses!.forEach((resp, j) => {
        assert.equal(resp.backend, conns[i]![j]!.host === 'a.test' ? 'b0' : 'b1', `${label} conn ${i} req ${j}`);
        assert.ok(resp.bodyOk && resp.complete && resp.bodyBytes === conns[i]![j]!.size, `${label} conn ${i} req ${j}: body`);
      });
      assert.equal(x.responses!.length, 6, `${label} conn ${i}`);
      assert.equal(x.close, 'closed', `${label} conn ${i}: close`);
    });
    assert.equal(r.clientRsts, 0, `${label}: RST at the client`);
    const b = r.nodes!.b.splicer.counters();
    console.log(`# ${label}: standby re-spliced ${b['keepalive-switch'] ?? 0} requests after taking over, active ${r.nodes!.a.splicer.counters()['keepalive-switch'] ?? 0} before`);
  }
});

test('trimPayload: a cut segment keeps valid IP and TCP checksums', () => {
  const f = new Uint8Array(14 + 20 + 32 + 100);
  const seg = {
    srcPort: 40000, dstPort: 80, seq: 1000, ack: 2000, window: 500, urgentPointer: 0, flags: tcpFlags({ ack: true, psh: true, fin: true }),
    options: { timestamp: { value: 1, echo: 2 } }, payload: new Uint8Array(100).map((_, i) => i * 7),
  };
  emitTcpSegment(seg, f, 34, 0x0a070001, 0x0a070050);
  emitIpv4Packet({ dscp: 0, ecn: 0, identification: 1, dontFragment: true, ttl: 64, protocol: 6, src: 0x0a070001, dst: 0x0a070050, payload: f.subarray(34) }, f, 14);
  for (const keep of [0, 1, 3, 99, 100]) {
    const c = trimPayload(f, { key: '', srcIp: 0, ipOff: 14, tcpOff: 34, tcpEnd: f.length }, keep);
    assert.equal(internetChecksum(c.frame, 14, 20), 0, `keep ${keep}: IP checksum`);
    const ip = parseIpv4Packet(c.frame.subarray(14));
    assert.ok(ip.ok);
    const t = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    assert.ok(t.ok, `keep ${keep}: TCP checksum`);
    assert.equal(t.value.payload.length, keep);
    assert.equal(t.value.flags.fin, keep === 100, `keep ${keep}: FIN only on the whole segment`);
  }
});
