// Fixed vectors: frames built byte by byte (checksums computed independently) in the
// shape Linux sends them, parsed field by field and re-emitted byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEthernetFrame, emitEthernetFrame } from './ethernet.js';
import { parseIpv4Packet, emitIpv4Packet, FRAGMENT_DETAIL } from './ipv4.js';
import { parseTcpSegment, emitTcpSegment, tcpSegmentLen } from './tcp.js';
import { parseUdpDatagram, emitUdpDatagram } from './udp.js';
import { parseIcmpMessage, emitIcmpMessage } from './icmp.js';
import { parseArpPacket, emitArpPacket } from './arp.js';
import { formatIpv4, formatMac, parseIpv4, parseMac } from './addr.js';
import type { ParseResult } from './result.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
function value<T>(r: ParseResult<T>): T {
  if (!r.ok) assert.fail(`${r.error.code} ${r.error.layer} ${r.error.detail}`);
  return r.value;
}
const errCode = (r: ParseResult<unknown>): string => (r.ok ? 'ok' : `${r.error.code}:${r.error.detail}`);

// 192.168.0.104:54321 → 192.168.0.1:80 SYN, MSS 1460, SACK-permitted, TS, WS 7 (Linux layout).
const SYN = hex(`
  525400123502 02000000000a 0800
  4500 003c 1c46 4000 4006 9cbc c0a80068 c0a80001
  d431 0050 12345678 00000000 a002 faf0 72f1 0000
  020405b4 0402080a 000a1b2c 00000000 01030307`);
const A = parseIpv4('192.168.0.104')!;
const B = parseIpv4('192.168.0.1')!;

test('a Linux-style SYN parses field by field', () => {
  const eth = value(parseEthernetFrame(SYN));
  assert.equal(formatMac(eth.dst), '52:54:00:12:35:02');
  assert.equal(formatMac(eth.src), '02:00:00:00:00:0a');
  assert.equal(eth.ethertype, 0x0800);
  const ip = value(parseIpv4Packet(eth.payload));
  assert.deepEqual([formatIpv4(ip.src), formatIpv4(ip.dst), ip.ttl, ip.protocol, ip.identification, ip.dontFragment],
    ['192.168.0.104', '192.168.0.1', 64, 6, 0x1c46, true]);
  const tcp = value(parseTcpSegment(ip.payload, ip.src, ip.dst));
  assert.equal(tcp.srcPort, 54321);
  assert.equal(tcp.dstPort, 80);
  assert.equal(tcp.seq, 0x12345678);
  assert.equal(tcp.window, 64240);
  assert.ok(tcp.flags.syn && !tcp.flags.ack && !tcp.flags.fin);
  assert.deepEqual(tcp.options, { mss: 1460, sackPermitted: true, timestamp: { value: 0x000a1b2c, echo: 0 }, windowScale: 7 });
  assert.equal(tcp.payload.length, 0);
});

test('the SYN re-emits byte-identical, checksums included', () => {
  const eth = value(parseEthernetFrame(SYN));
  const ip = value(parseIpv4Packet(eth.payload));
  const tcp = value(parseTcpSegment(ip.payload, ip.src, ip.dst));
  const out = new Uint8Array(SYN.length).fill(0xee);
  assert.equal(tcpSegmentLen(tcp), 40);
  emitTcpSegment(tcp, out, 34, A, B);
  emitIpv4Packet({ ...ip, payload: out.subarray(34) }, out, 14);
  emitEthernetFrame({ ...eth, payload: out.subarray(14) }, out, 0);
  assert.deepEqual(out, SYN);
});

test('a flipped bit anywhere in the SYN is caught by a checksum or a header check', () => {
  for (let bit = 14 * 8; bit < SYN.length * 8; bit++) {
    const f = Uint8Array.from(SYN);
    f[bit >> 3]! ^= 0x80 >> (bit & 7);
    const ip = parseIpv4Packet(f.subarray(14));
    if (!ip.ok) continue;
    // The IPv4 header checksum covers the addresses; a flip there fails before TCP.
    const tcp = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
    assert.equal(tcp.ok, false, `bit ${bit} went unnoticed`);
  }
});

test('UDP, ICMP echo and ARP vectors', () => {
  const udpBytes = hex('9c40 0035 000d 9dd2 68656c6c6f');
  const udp = value(parseUdpDatagram(udpBytes, A, B));
  assert.deepEqual([udp.srcPort, udp.dstPort, Buffer.from(udp.payload).toString()], [40000, 53, 'hello']);
  const u2 = new Uint8Array(13);
  emitUdpDatagram(udp, u2, 0, A, B);
  assert.deepEqual(u2, udpBytes);
  const zero = Uint8Array.from(udpBytes); zero[6] = 0; zero[7] = 0;
  assert.ok(parseUdpDatagram(zero, A, B).ok, 'zero checksum = none (RFC 768)');
  assert.equal(errCode(parseUdpDatagram(udpBytes.subarray(0, 12), A, B)), 'truncated:length field 13 > 12 bytes');

  const icmpBytes = hex('0800 2104 1234 0001 61626364');
  const icmp = value(parseIcmpMessage(icmpBytes));
  assert.ok(icmp.kind === 'echo-request');
  assert.deepEqual([icmp.identifier, icmp.sequence], [0x1234, 1]);
  const i2 = new Uint8Array(12);
  emitIcmpMessage(icmp, i2);
  assert.deepEqual(i2, icmpBytes);

  const arpBytes = hex('0001 0800 06 04 0001 02000000000a c0a80068 000000000000 c0a80001');
  const arp = value(parseArpPacket(arpBytes));
  assert.deepEqual([arp.operation, formatMac(arp.senderMac), formatIpv4(arp.senderIp), formatIpv4(arp.targetIp)],
    ['request', '02:00:00:00:00:0a', '192.168.0.104', '192.168.0.1']);
  const a2 = new Uint8Array(28);
  emitArpPacket(arp, a2);
  assert.deepEqual(a2, arpBytes);
});

test('IPv4 error cases: fragments, options, lengths, version', () => {
  const ipHdr = SYN.subarray(14);
  const fix = (b: Uint8Array): Uint8Array => {      // recompute the header checksum after an edit
    b[10] = 0; b[11] = 0;
    let s = 0; const hl = (b[0]! & 15) * 4;
    for (let i = 0; i < hl; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    b[10] = (~s >>> 8) & 255; b[11] = ~s & 255;
    return b;
  };
  const mf = fix(Uint8Array.from(ipHdr)); mf[6] = 0x20; fix(mf);
  assert.equal(errCode(parseIpv4Packet(mf)), `unsupported:${FRAGMENT_DETAIL}`);
  const off = Uint8Array.from(ipHdr); off[6] = 0x40; off[7] = 0x01; fix(off);
  assert.equal(errCode(parseIpv4Packet(off)), `unsupported:${FRAGMENT_DETAIL}`);
  const v6 = Uint8Array.from(ipHdr); v6[0] = 0x65; fix(v6);
  assert.equal(parseIpv4Packet(v6).ok ? '' : (parseIpv4Packet(v6) as { error: { code: string } }).error.code, 'malformed');
  const short = Uint8Array.from(ipHdr); short[3] = 0x10; fix(short);  // total length 16 < IHL 20
  assert.equal(errCode(parseIpv4Packet(short)).split(':')[0], 'malformed');
  assert.equal(errCode(parseIpv4Packet(ipHdr.subarray(0, 50))).split(':')[0], 'truncated');
  const bad = Uint8Array.from(ipHdr); bad[8] = 63;
  assert.equal(errCode(parseIpv4Packet(bad)).split(':')[0], 'bad-checksum');
  // A header with 4 bytes of options (IHL 6): skipped, the payload starts after them.
  const withOpts = new Uint8Array(ipHdr.length + 4);
  withOpts.set(ipHdr.subarray(0, 20)); withOpts.set([1, 1, 1, 0], 20); withOpts.set(ipHdr.subarray(20), 24);
  withOpts[0] = 0x46; withOpts[3] = withOpts[3]! + 4; fix(withOpts);
  const p = value(parseIpv4Packet(withOpts));
  assert.deepEqual(p.payload, ipHdr.subarray(20));
});

test('TCP option errors: bad lengths, missing length byte, option past the header; unknown kept', () => {
  const base = value(parseTcpSegment(SYN.subarray(34), A, B));
  const seg = (opts: number[]): Uint8Array => {
    const hl = 20 + opts.length;
    const b = new Uint8Array(hl);
    emitTcpSegment({ ...base, options: {} }, b, 0, A, B);
    b.set(opts, 20);
    b[12] = (hl / 4) << 4;
    b[16] = 0; b[17] = 0;
    let s = (A >>> 16) + (A & 0xffff) + (B >>> 16) + (B & 0xffff) + 6 + hl;
    for (let i = 0; i < hl; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    b[16] = (~s >>> 8) & 255; b[17] = ~s & 255;
    return b;
  };
  assert.equal(errCode(parseTcpSegment(seg([2, 3, 5, 0]), A, B)), 'malformed:MSS length 3');
  assert.equal(errCode(parseTcpSegment(seg([1, 1, 1, 2]), A, B)), 'malformed:option 2 has no length byte');
  assert.equal(errCode(parseTcpSegment(seg([8, 12, 0, 0]), A, B)), 'malformed:option 8 length 12 runs past the header');
  assert.equal(errCode(parseTcpSegment(seg([30, 0, 0, 0]), A, B)), 'malformed:option 30 length 0');
  assert.equal(errCode(parseTcpSegment(seg([5, 6, 0, 0, 0, 0, 0, 0]), A, B)), 'malformed:SACK length 6');
  const u = value(parseTcpSegment(seg([30, 4, 9, 9, 0, 77, 77, 77]), A, B));
  assert.deepEqual(u.options.unknown?.map((o) => [o.kind, Array.from(o.data)]), [[30, [9, 9]]], 'bytes after EOL are padding');
  const low = seg([]); low[12] = 0x40;
  assert.equal(errCode(parseTcpSegment(low, A, B)).split(':')[0], 'malformed');
  const high = seg([]); high[12] = 0xf0;
  assert.equal(errCode(parseTcpSegment(high, A, B)).split(':')[0], 'truncated');
});

test('SACK blocks are trimmed to what fits beside the timestamp (RFC 2018 §3)', () => {
  const blocks = [1, 2, 3, 4].map((i) => ({ left: i * 100, right: i * 100 + 50 }));
  const repr = { ...value(parseTcpSegment(SYN.subarray(34), A, B)), options: { timestamp: { value: 1, echo: 2 }, sack: blocks } };
  const b = new Uint8Array(tcpSegmentLen(repr));
  assert.equal(b.length, 20 + 12 + 4 + 24);
  emitTcpSegment(repr, b, 0, A, B);
  assert.deepEqual(value(parseTcpSegment(b, A, B)).options.sack, blocks.slice(0, 3));
});

test('address text forms', () => {
  assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '', '1..2.3']) assert.equal(parseIpv4(bad), undefined, bad);
  assert.equal(formatIpv4(0xc0a80001), '192.168.0.1');
  assert.deepEqual(parseMac('02:00:00:00:00:01'), new Uint8Array([2, 0, 0, 0, 0, 1]));
  assert.equal(parseMac('02:00:00:00:00'), undefined);
  assert.equal(parseMac('02:00:00:00:00:zz'), undefined);
  assert.equal(formatMac(parseMac('AA-bb-0c-00-00-01')!), 'aa:bb:0c:00:00:01');
});
