// A client that reuses the port of a spliced connection. The splicer never forwards the
// client's SYN on a splice's tuple to the back end (whose listener or TIME-WAIT would take
// it for a new connection and serve it behind the splicer's back): on a splice that has
// ended (its linger time, the analogue of TIME-WAIT) the SYN opens a new connection at the
// splicer; on a splice still open it gets a challenge ACK (RFC 5961 §4), and the RST of a
// client that has moved on ends the splice, so that its next SYN opens a new connection.
// Found in the lab: after wrk's connection-per-request run the kernel client reused ports
// of splices still lingering, and two curl downloads were served by nginx directly until
// the stale splices expired and our stack reset them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSpliceScenario, SERVICE_IP, CLIENT_IP, type SpliceScenarioResult } from './testing/scenario.js';
import { parseIpv4, parseMac } from '../wire/addr.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE, emitEthernetFrame } from '../wire/ethernet.js';
import { IPV4_HEADER_LEN, emitIpv4Packet } from '../wire/ipv4.js';
import { emitTcpSegment, tcpFlags, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';
import type { Host } from '../stack/host.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { SpliceState } from './splice.js';

const CLIENT_MAC = '02:00:00:07:00:01';
const SERVICE_MAC = '02:00:00:07:00:50';
const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: www.example.test\r\n\r\n`;

/** A segment from the client's address and `port` to the service, as the kernel client would send it. */
function clientSegment(port: number, seq: number, flags: Parameters<typeof tcpFlags>[0], ack = 0): Uint8Array {
  const seg: TcpRepr = {
    srcPort: port, dstPort: 80, seq, ack, flags: tcpFlags(flags), window: 64240, urgentPointer: 0,
    payload: new Uint8Array(0), options: flags.syn === true ? { mss: 1460 } : {},
  };
  const src = parseIpv4(CLIENT_IP)!;
  const dst = parseIpv4(SERVICE_IP)!;
  const ipOff = ETHERNET_HEADER_LEN;
  const f = new Uint8Array(ipOff + IPV4_HEADER_LEN + tcpSegmentLen(seg));
  emitTcpSegment(seg, f, ipOff + IPV4_HEADER_LEN, src, dst);
  emitIpv4Packet({ dscp: 0, ecn: 0, identification: 1, dontFragment: true, ttl: 64, protocol: 6, src, dst, payload: f.subarray(ipOff + IPV4_HEADER_LEN) }, f, ipOff);
  emitEthernetFrame({ dst: parseMac(SERVICE_MAC)!, src: parseMac(CLIENT_MAC)!, ethertype: ETHERTYPE.ipv4, payload: f.subarray(ipOff) }, f, 0);
  return f;
}

interface Seen { tUs: number; srcPort: number; dstPort: number; flags: number; seq: number; ack: number }

/** TCP headers of the frames a port receives (or sends), from now on. */
function watch(r: SpliceScenarioResult, node: string, which: 'rx' | 'tx' = 'rx'): Seen[] {
  const seen: Seen[] = [];
  r.sim.tapPort(node, 0, { record: (tUs, f) => {
    if (!(f.length >= 54 && f[12] === 8 && f[13] === 0 && f[23] === 6)) return;
    const t = 14 + (f[14]! & 15) * 4;
    const u32 = (o: number): number => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
    seen.push({ tUs, srcPort: (f[t]! << 8) | f[t + 1]!, dstPort: (f[t + 2]! << 8) | f[t + 3]!, flags: f[t + 13]!, seq: u32(t + 4), ack: u32(t + 8) });
  } }, which);
  return seen;
}

const SYN = 0x02;
const ACK = 0x10;

function inject(r: SpliceScenarioResult, frame: Uint8Array): void {
  r.sim.act('splicer', (ep, now) => ep.handleFrame(0, frame, now));
}

test('a SYN on the tuple of a splice that has ended opens a new connection at the splicer; the back end never sees it', () => {
  const r = runSpliceScenario({ seed: 31, backends: 1, downloads: [{ startUs: 1000, request: get('/bytes/20000') }] });
  assert.ok(r.finished && r.results[0]!.complete && r.results[0]!.bodyOk, 'the first download');
  r.sim.runFor(20_000);                                      // the last ACKs pass
  const [sp] = r.splicer.splices() as SpliceState[];
  assert.ok(sp !== undefined && sp.expiresUs !== undefined, 'the splice lingers after both FINs');
  const backend = watch(r, 'b0');
  const client = watch(r, 'client');
  inject(r, clientSegment(sp.client.port, (sp.clientNxt + 1_000_000) >>> 0, { syn: true }));
  r.sim.runFor(50_000);
  assert.equal(r.splicer.spliceCount(), 0, 'the old splice went');
  assert.ok(client.some((s) => s.dstPort === sp.client.port && (s.flags & (SYN | ACK)) === (SYN | ACK)), 'our stack answered the SYN with a SYN-ACK');
  assert.deepEqual(backend.filter((s) => (s.flags & SYN) !== 0), [], 'no SYN reached the back end');
});

test('a SYN on an open splice gets a challenge ACK (rate-limited), is not forwarded, and the download goes on byte-exact', () => {
  const r = runSpliceScenario({ seed: 32, backends: 1, downloads: [{ startUs: 1000, request: get('/bytes/3000000') }], limitUs: 20_000 });
  assert.equal(r.splicer.spliceCount(), 1, 'spliced and streaming');
  const sp = (r.splicer.splices() as SpliceState[])[0]!;
  const backend = watch(r, 'b0');
  const client = watch(r, 'client');
  const syn = clientSegment(sp.client.port, (sp.clientNxt + 5_000_000) >>> 0, { syn: true });
  const at = r.sim.nowUs;
  const want = { seq: sp.b2cNxt, ack: sp.clientNxt };
  inject(r, syn);
  inject(r, syn);                                            // again at once: rate-limited
  const c = r.splicer.counters();
  assert.equal(c['syn-challenge-ack'], 1);
  assert.equal(c['syn-challenge-limited'], 1);
  r.sim.runWhile(() => r.results[0]!.close === undefined, 120_000_000);
  const challenge = client.find((s) => s.tUs >= at && s.dstPort === sp.client.port && s.flags === ACK && s.seq === want.seq && s.ack === want.ack);
  assert.ok(challenge !== undefined, `a challenge ACK <SEQ=${want.seq}><ACK=${want.ack}> reached the client`);
  assert.deepEqual(backend.filter((s) => (s.flags & SYN) !== 0), [], 'no SYN reached the back end');
  const d = r.results[0]!;
  assert.ok(d.complete && d.bodyOk && d.status === 200, 'the download is whole');
  assert.equal(r.clientRsts, 0);
});

test('the RST of a client that moved on ends the open splice on both sides; its next SYN opens a new connection', () => {
  const r = runSpliceScenario({ seed: 33, backends: 1, downloads: [{ startUs: 1000, request: get('/bytes/3000000') }], limitUs: 20_000 });
  const sp = (r.splicer.splices() as SpliceState[])[0]!;
  // The client's old connection is gone (it would not reuse the port otherwise): only the
  // segments below come from its address, and what the splicer sends it is read at the splicer.
  r.sim.partition({ node: 'client', ifIndex: 0 });
  const backend = watch(r, 'b0');
  const toClient = watch(r, 'splicer', 'tx');
  const isn = (sp.clientNxt + 5_000_000) >>> 0;
  inject(r, clientSegment(sp.client.port, isn, { syn: true }));
  r.sim.runFor(1000);
  const challenge = toClient.find((s) => s.dstPort === sp.client.port && s.flags === ACK);
  assert.ok(challenge !== undefined && challenge.ack === sp.clientNxt, 'the challenge ACK');
  // A client in SYN-SENT answers the unacceptable ACK with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.3).
  inject(r, clientSegment(sp.client.port, challenge.ack, { rst: true }));
  r.sim.runFor(100_000);
  const b0 = r.sim.node('b0').as<Host<TcpConnection>>();
  assert.equal(b0.counters()['tcp-closed-reset'], 1, 'the back end took the RST (it was at its RCV.NXT)');
  assert.deepEqual(b0.tcpConnections().map((c) => c.state), []);
  r.sim.runFor(1_100_000);                                   // the client's SYN retransmission, a second later
  inject(r, clientSegment(sp.client.port, isn, { syn: true }));
  r.sim.runFor(50_000);
  const c = r.splicer.counters();
  assert.equal((c['splice-removed-rst'] ?? 0) + (c['splice-removed-port-reused'] ?? 0), 1, JSON.stringify(c));
  assert.equal(r.splicer.spliceCount(), 0);
  const synAck = toClient.find((s) => s.dstPort === sp.client.port && (s.flags & (SYN | ACK)) === (SYN | ACK));
  assert.ok(synAck !== undefined && synAck.ack === ((isn + 1) >>> 0), 'the retransmitted SYN was answered by our stack');
  assert.deepEqual(backend.filter((s) => (s.flags & SYN) !== 0), [], 'no SYN reached the back end');
});
