// Host without TCP engine: ARP resolution, timeouts and bounded queues, gratuitous ARP,
// ICMP echo, UDP, routing via the gateway, RSTs, and bad frames that never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Host, type HostConfig } from './host.js';
import { Pump } from './test-pump.js';
import { SeededRng } from '../util/rng.js';
import { parseIpv4, formatMac } from '../wire/addr.js';
import { parseEthernetFrame, emitEthernetFrame, ETHERTYPE } from '../wire/ethernet.js';
import { parseIpv4Packet, emitIpv4Packet } from '../wire/ipv4.js';
import { emitArpPacket, parseArpPacket } from '../wire/arp.js';
import { parseTcpSegment, emitTcpSegment, tcpSegmentLen, tcpFlags, type TcpRepr } from '../wire/tcp.js';
import { checkProperty } from '../wire/prop.js';

const FILE = 'src/stack/host.test.ts';

function host(n: number, extra: Partial<HostConfig> = {}): Host {
  return new Host({ name: `h${n}`, mac: `02:00:00:00:00:0${n}`, ip: `10.0.0.${n}`, prefixLen: 24, rng: new SeededRng(n), ...extra });
}
const te = new TextEncoder();

test('ARP resolves on first use, then ping gets its reply', () => {
  const a = host(1), b = host(2);
  const p = new Pump([a, b]);
  const replies: string[] = [];
  a.onEchoReply((src, id, seq, data) => replies.push(`${src} ${id} ${seq} ${new TextDecoder().decode(data)}`));
  a.ping('10.0.0.2', 7, 1, te.encode('hello'), 0);
  assert.ok(p.runUntil(() => replies.length === 1, 1_000_000));
  assert.deepEqual(replies, ['10.0.0.2 7 1 hello']);
  assert.ok(a.arpKnows('10.0.0.2') && b.arpKnows('10.0.0.1'));
  // First frame on the wire is the broadcast ARP request, then B's unicast reply.
  const first = parseEthernetFrame(p.sent[0]!.frame);
  assert.ok(first.ok && first.value.ethertype === ETHERTYPE.arp && formatMac(first.value.dst) === 'ff:ff:ff:ff:ff:ff');
  assert.equal(a.counters()['arp-request-out'], 1);
  assert.equal(b.counters()['arp-request-out'] ?? 0, 0, 'B learned A from the request');
  a.ping('10.0.0.2', 7, 2, new Uint8Array(0), p.nowUs);
  assert.ok(p.runUntil(() => replies.length === 2, 1_000_000));
  assert.equal(a.counters()['arp-request-out'], 1, 'second ping uses the cache');
});

test('UDP between two hosts, unbound port counted', () => {
  const a = host(1), b = host(2);
  const p = new Pump([a, b]);
  const got: string[] = [];
  b.udpBind(5000, (src, sport, data) => got.push(`${src}:${sport} ${new TextDecoder().decode(data)}`));
  for (let i = 0; i < 5; i++) a.udpSend('10.0.0.2', 5000, 4000, te.encode(`m${i}`), p.nowUs);
  a.udpSend('10.0.0.2', 5001, 4000, te.encode('nobody'), p.nowUs);
  p.run(100_000);
  assert.deepEqual(got, [0, 1, 2, 3, 4].map((i) => `10.0.0.1:4000 m${i}`), 'frames queued during ARP keep their order');
  assert.equal(b.counters()['drop-udp-no-port'], 1);
  assert.equal(b.counters()['icmp-port-unreachable-out'], 1);
  assert.equal(a.counters()['icmp-other-in'], 1, 'RFC 1122 §4.1.3.1 port unreachable came back');
  a.udpSend('10.0.0.2', 5000, 4000, new Uint8Array(1473), p.nowUs);
  assert.equal(a.counters()['drop-udp-too-big'], 1, 'no fragmentation: 1473 + 28 > 1500');
});

test('pending queue is bounded (drop-oldest), ARP retries are bounded, then the queue is dropped', () => {
  const a = host(1, { arp: { maxPendingPerDest: 8, maxRetries: 3, retryUs: 1_000_000 } });
  const p = new Pump([a]);
  for (let i = 0; i < 20; i++) a.udpSend('10.0.0.99', 9, 9, new Uint8Array([i]), 0);
  p.run(10_000_000);
  const c = a.counters();
  assert.equal(c['drop-arp-pending-full'], 12);
  assert.equal(c['arp-request-out'], 3);
  assert.equal(c['drop-arp-unresolved'], 8);
  assert.equal(a.pollDeadline(), undefined, 'nothing left to retry');
});

test('pending destinations are bounded', () => {
  const a = host(1, { arp: { maxPendingDests: 4 } });
  for (let i = 0; i < 10; i++) a.udpSend(`10.0.0.${100 + i}`, 9, 9, new Uint8Array(1), 0);
  assert.equal(a.counters()['drop-arp-pending-dests-full'], 6);
});

test('an expired entry is refreshed while still in use, and forgotten when the peer is gone', () => {
  const a = host(1, { arpTimeoutUs: 5_000_000, arp: { retryUs: 1_000_000, maxRetries: 3 } });
  const b = host(2);
  const p = new Pump([a, b]);
  let replies = 0;
  a.onEchoReply(() => replies++);
  a.ping('10.0.0.2', 1, 1, new Uint8Array(0), 0);
  p.run(1_000_000);
  assert.equal(replies, 1);
  p.run(5_000_000);                                       // past the timeout
  a.ping('10.0.0.2', 1, 2, new Uint8Array(0), p.nowUs);
  p.run(100_000);
  assert.equal(replies, 2, 'the stale entry still carried the ping');
  assert.equal(a.counters()['arp-refresh'], 1);
  assert.equal(a.counters()['arp-request-out'], 2);
  // B disappears: after timeout + grace the entry is forgotten and A asks again.
  p.hosts.pop();
  p.run(20_000_000);
  a.ping('10.0.0.2', 1, 3, new Uint8Array(0), p.nowUs);
  assert.equal(a.counters()['arp-expired'], 1);
});

test('gratuitous ARP moves an address to a new MAC (takeover)', () => {
  const client = host(1);
  const primary = host(2);
  const backup = new Host({ name: 'backup', mac: '02:00:00:00:00:0b', ip: '10.0.0.2', prefixLen: 24, rng: new SeededRng(9) });
  const p = new Pump([client, primary]);
  const from: string[] = [];
  client.onEchoReply((src, id, seq) => from.push(`${seq}`));
  client.ping('10.0.0.2', 1, 1, new Uint8Array(0), 0);
  p.run(1_000_000);
  // Primary crashes; the backup, holding the same IP, announces itself.
  p.hosts[1] = backup;
  backup.announce(p.nowUs);
  p.run(1_000_000);
  assert.equal(client.counters()['arp-gratuitous'], 1);
  client.ping('10.0.0.2', 1, 2, new Uint8Array(0), p.nowUs);
  p.run(1_000_000);
  assert.deepEqual(from, ['1', '2']);
  assert.equal(backup.counters()['icmp-echo-request-in'], 1);
  assert.equal(client.counters()['arp-request-out'], 1, 'no new resolution was needed');
  // The old primary comes back and hears the announcement: it learns it lost the address.
  const conflicts: string[] = [];
  const revived = new Host({ name: 'p2', mac: '02:00:00:00:00:02', ip: '10.0.0.2', prefixLen: 24, rng: new SeededRng(2),
    onAddressConflict: (ip, mac) => conflicts.push(`${ip} at ${mac}`) });
  p.hosts[0] = revived;
  backup.announce(p.nowUs);
  p.run(1_000_000);
  assert.deepEqual(conflicts, ['10.0.0.2 at 02:00:00:00:00:0b']);
});

test('off-subnet traffic goes to the gateway MAC; no gateway → no-route drop', () => {
  const a = host(1, { gateway: '10.0.0.254' });
  const gw = new Host({ name: 'gw', mac: '02:00:00:00:00:fe', ip: '10.0.0.254', prefixLen: 24, rng: new SeededRng(3) });
  const p = new Pump([a, gw]);
  a.udpSend('192.0.2.7', 53, 1000, te.encode('q'), 0);
  p.run(1_000_000);
  const udpFrames = p.sent.map((s) => parseEthernetFrame(s.frame)).filter((e) => e.ok && e.value.ethertype === ETHERTYPE.ipv4);
  assert.equal(udpFrames.length, 1);
  const eth = udpFrames[0]!;
  assert.ok(eth.ok);
  assert.equal(formatMac(eth.value.dst), '02:00:00:00:00:fe');
  const ip = parseIpv4Packet(eth.value.payload);
  assert.ok(ip.ok && ip.value.dst === parseIpv4('192.0.2.7'));
  assert.equal(gw.counters()['drop-ipv4-not-for-us'], 1);
  const lone = host(3);
  lone.udpSend('192.0.2.7', 53, 1000, te.encode('q'), 0);
  assert.equal(lone.counters()['drop-ipv4-no-route'], 1);
});

/** Builds an Ethernet/IPv4/TCP frame from A (10.0.0.1) to B (10.0.0.2). */
function tcpFrame(seg: TcpRepr, srcIp = 0x0a000001, dstIp = 0x0a000002): Uint8Array {
  const f = new Uint8Array(34 + tcpSegmentLen(seg));
  emitTcpSegment(seg, f, 34, srcIp, dstIp);
  emitIpv4Packet({ dscp: 0, ecn: 0, identification: 1, dontFragment: true, ttl: 64, protocol: 6, src: srcIp, dst: dstIp, payload: f.subarray(34) }, f, 14);
  emitEthernetFrame({ dst: new Uint8Array([2, 0, 0, 0, 0, 2]), src: new Uint8Array([2, 0, 0, 0, 0, 1]), ethertype: ETHERTYPE.ipv4, payload: f.subarray(14) }, f, 0);
  return f;
}

function seg(p: Partial<TcpRepr>): TcpRepr {
  return { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: tcpFlags({}), window: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0), ...p };
}

function rstReply(b: Host, frame: Uint8Array): TcpRepr | undefined {
  b.handleFrame(0, frame, 1);
  for (let f = b.pollTransmit(); f !== undefined; f = b.pollTransmit()) {
    const e = parseEthernetFrame(f.frame);
    if (!e.ok || e.value.ethertype !== ETHERTYPE.ipv4) continue;
    const ip = parseIpv4Packet(e.value.payload);
    assert.ok(ip.ok);
    const t = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    assert.ok(t.ok);
    return t.value;
  }
  return undefined;
}

test('RFC 9293 §3.10.7.1: a segment for no connection gets the right RST (queued behind ARP)', () => {
  const b = host(2);
  // SYN without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
  b.handleFrame(0, tcpFrame(seg({ flags: tcpFlags({ syn: true }), options: { mss: 1460 } })), 0);
  const arpOut = b.pollTransmit();
  assert.ok(arpOut !== undefined);
  const arp = parseEthernetFrame(arpOut.frame);
  assert.ok(arp.ok && arp.value.ethertype === ETHERTYPE.arp && parseArpPacket(arp.value.payload).ok);
  assert.equal(b.pollTransmit(), undefined, 'the RST waits for ARP');
  const c = new Host({ name: 'b2', mac: '02:00:00:00:00:02', ip: '10.0.0.2', prefixLen: 24, rng: new SeededRng(2) });
  // Teach c A's MAC with a ping from A first.
  const a = host(1);
  const p = new Pump([a, c]);
  a.ping('10.0.0.2', 1, 1, new Uint8Array(0), 0);
  p.run(1_000_000);
  const r1 = rstReply(c, tcpFrame(seg({ flags: tcpFlags({ syn: true }) })));
  assert.deepEqual(r1 && [r1.seq, r1.ack, r1.flags.rst, r1.flags.ack, r1.srcPort, r1.dstPort], [0, 1001, true, true, 80, 40000]);
  // Data + FIN without ACK: ACK = SEG.SEQ + len + 1.
  const r2 = rstReply(c, tcpFrame(seg({ flags: tcpFlags({ fin: true }), payload: new Uint8Array(10) })));
  assert.deepEqual(r2 && [r2.seq, r2.ack, r2.flags.rst, r2.flags.ack], [0, 1011, true, true]);
  // With ACK: <SEQ=SEG.ACK><CTL=RST>.
  const r3 = rstReply(c, tcpFrame(seg({ flags: tcpFlags({ ack: true }), ack: 0xfffffff0 })));
  assert.deepEqual(r3 && [r3.seq, r3.flags.rst, r3.flags.ack], [0xfffffff0, true, false]);
  // A RST is never answered.
  assert.equal(rstReply(c, tcpFrame(seg({ flags: tcpFlags({ rst: true }) }))), undefined);
  assert.equal(c.counters()['drop-tcp-rst-no-connection'], 1);
});

test('frames for other MACs, other IPs, other interfaces, fragments and bad checksums are counted', () => {
  const b = host(2);
  const good = tcpFrame(seg({ flags: tcpFlags({ rst: true }) }));
  const otherMac = Uint8Array.from(good); otherMac[5] = 9;
  b.handleFrame(0, otherMac, 0);
  b.handleFrame(1, good, 0);
  const otherIp = tcpFrame(seg({ flags: tcpFlags({ rst: true }) }), 0x0a000001, 0x0a000003);
  b.handleFrame(0, otherIp, 0);
  const badSum = Uint8Array.from(good); badSum[good.length - 1]! ^= 1; badSum[40]! ^= 0x10;
  b.handleFrame(0, badSum, 0);
  const frag = Uint8Array.from(good); frag[20] = 0x20; frag[24] = 0; frag[25] = 0;
  // Recompute the IPv4 header checksum so only the fragment bit is "wrong".
  let s = 0; for (let i = 14; i < 34; i += 2) s += (frag[i]! << 8) | frag[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  frag[24] = (~s >>> 8) & 255; frag[25] = ~s & 255;
  b.handleFrame(0, frag, 0);
  const c = b.counters();
  assert.equal(c['drop-ethernet-not-for-us'], 1);
  assert.equal(c['drop-rx-bad-interface'], 1);
  assert.equal(c['drop-ipv4-not-for-us'], 1);
  assert.equal(c['drop-tcp-bad-checksum'], 1);
  assert.equal(c['drop-ipv4-fragment'], 1);
  assert.equal(c['rx-frames'], 5);
});

test('random and mutated frames never throw and leave ping working', () => {
  const a = host(1), b = host(2);
  const p = new Pump([a, b]);
  const seqs: number[] = [];
  a.onEchoReply((_src, _id, seq) => seqs.push(seq));
  b.udpBind(7, () => {});
  a.ping('10.0.0.2', 1, 0, new Uint8Array(0), 0);
  p.run(1_000_000);
  // ARP carries no checksum: a corrupted ARP frame is indistinguishable from a real
  // (re)announcement and may legitimately repoint a cache entry; on a real link the
  // FCS drops it first. So only checksummed IPv4 frames are mutated here; mutated ARP
  // frames get their own never-throw property below.
  const isArp = (f: Uint8Array): boolean => f[12] === 0x08 && f[13] === 0x06;
  const valid = p.sent.map((s) => s.frame).filter((f) => !isArp(f));
  assert.ok(valid.length >= 2);
  checkProperty('host-bad-frames', FILE, fc.property(
    fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat(255)).map(([f, at, v]) => { const g = Uint8Array.from(f); g[at % g.length] = v; return g; }),
      fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([f, n]) => f.subarray(0, n % f.length)),
    ),
    (frame) => {
      b.handleFrame(0, frame, p.nowUs);
      a.handleFrame(0, frame, p.nowUs);
      p.drain();
    }), 1000);
  p.run(5_000_000);                                          // frames the bad ones provoked settle
  seqs.length = 0;
  a.ping('10.0.0.2', 1, 99, new Uint8Array(0), p.nowUs);
  p.run(5_000_000);
  assert.deepEqual(seqs, [99]);
});

test('mutated ARP frames never throw', () => {
  const a = host(1), b = host(2);
  const p = new Pump([a, b]);
  a.ping('10.0.0.2', 1, 0, new Uint8Array(0), 0);
  b.announce(0);
  p.run(1_000_000);
  const arps = p.sent.map((s) => s.frame).filter((f) => f[12] === 0x08 && f[13] === 0x06);
  assert.ok(arps.length >= 3);
  checkProperty('host-bad-arp', FILE, fc.property(fc.constantFrom(...arps), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), (f0, edits) => {
    const f = Uint8Array.from(f0);
    for (const [at, v] of edits) f[at % f.length] = v;
    a.handleFrame(0, f, p.nowUs);
    b.handleFrame(0, f, p.nowUs);
    p.drain();
  }), 1000);
  p.run(10_000_000);
});

test('ICMP port unreachable quotes the datagram and is rate-limited', () => {
  const a = host(1), b = host(2, { icmpErrorsPerSecond: 10 });
  const p = new Pump([a, b]);
  for (let i = 0; i < 30; i++) a.udpSend('10.0.0.2', 9, 1000 + i, te.encode('x'), 0);
  p.run(100_000);
  assert.equal(b.counters()['icmp-port-unreachable-out'], 10);
  assert.equal(b.counters()['icmp-error-rate-limited'], 20);
  const icmp = p.sent.filter((s) => s.from === 1 && s.frame[23] === 1).map((s) => s.frame);
  assert.equal(icmp.length, 10);
  // type 3 code 3, then the quoted IPv4 header (20) + UDP header (8) of the first datagram.
  const m = icmp[0]!.subarray(34);
  assert.deepEqual([m[0], m[1], m.length], [3, 3, 8 + 28]);
  assert.equal((m[8 + 20]! << 8) | m[8 + 21]!, 1000, 'quoted UDP source port');
  p.run(1_000_000);                                           // tokens refill over time
  a.udpSend('10.0.0.2', 9, 2000, te.encode('x'), p.nowUs);
  p.run(100_000);
  assert.equal(b.counters()['icmp-port-unreachable-out'], 11);
});

test('a packet claiming our own address as source is dropped', () => {
  const b = host(2);
  const f = tcpFrame(seg({ flags: tcpFlags({ syn: true }) }), 0x0a000002, 0x0a000002);
  b.handleFrame(0, f, 0);
  assert.equal(b.counters()['drop-ipv4-bad-source'], 1);
  assert.equal(b.pollTransmit(), undefined);
});

test('RFC 5227 probes: an address we own is defended, others ignored, nothing cached', () => {
  const b = host(2, { aliases: ['10.0.0.20'] });
  const probe = (target: number): Uint8Array => {
    const f = new Uint8Array(42);
    emitArpPacket({ operation: 'request', senderMac: new Uint8Array([2, 0, 0, 0, 0, 0x0c]), senderIp: 0, targetMac: new Uint8Array(6), targetIp: target }, f, 14);
    emitEthernetFrame({ dst: new Uint8Array(6).fill(0xff), src: new Uint8Array([2, 0, 0, 0, 0, 0x0c]), ethertype: ETHERTYPE.arp, payload: f.subarray(14) }, f, 0);
    return f;
  };
  b.handleFrame(0, probe(0x0a000014), 0);
  const out = b.pollTransmit();
  assert.ok(out !== undefined);
  const r = parseArpPacket(out.frame.subarray(14));
  assert.ok(r.ok && r.value.operation === 'reply' && r.value.senderIp === 0x0a000014 && r.value.targetIp === 0);
  b.handleFrame(0, probe(0x0a000063), 0);
  assert.equal(b.pollTransmit(), undefined);
  assert.deepEqual([b.counters()['arp-probe-defended'], b.counters()['arp-probe-ignored']], [1, 1]);
  assert.equal(b.arpKnows(0), false);
});

test('learnNeighbor releases frames waiting for ARP and spares the next resolution', () => {
  const a = host(1);
  a.udpSend('10.0.0.2', 9, 9, te.encode('q'), 0);
  const req = a.pollTransmit();
  assert.ok(req !== undefined && req.frame[12] === 0x08 && req.frame[13] === 0x06, 'ARP request first');
  assert.equal(a.pollTransmit(), undefined);
  a.learnNeighbor('10.0.0.2', new Uint8Array([2, 0, 0, 0, 0, 2]), 10);
  const out = a.pollTransmit();
  assert.ok(out !== undefined);
  assert.equal(formatMac(out.frame.subarray(0, 6)), '02:00:00:00:00:02');
  a.learnNeighbor('10.0.1.5', new Uint8Array([2, 0, 0, 0, 0, 5]), 10);
  assert.equal(a.arpKnows('10.0.1.5'), false, 'off-subnet neighbours are ignored');
  a.udpSend('10.0.0.2', 9, 9, te.encode('r'), 20);
  assert.equal(a.counters()['arp-request-out'], 1);
});
