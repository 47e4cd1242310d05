// Round-trip properties for every wire format: parse(emit(x)) deep-equals x, emit
// writes every byte (junk-filled buffers) and layers nest in one buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkProperty } from './prop.js';
import { arbArp, arbEthernet, arbIcmp, arbIp, arbIpv4, arbTcp, arbUdp } from './arbitraries.js';
import { emitEthernetFrame, emitEthernetHeader, ethernetFrameLen, parseEthernetFrame } from './ethernet.js';
import { arpPacketLen, emitArpPacket, parseArpPacket } from './arp.js';
import { emitIpv4Header, emitIpv4Packet, ipv4PacketLen, parseIpv4Packet } from './ipv4.js';
import { emitIcmpMessage, icmpMessageLen, parseIcmpMessage } from './icmp.js';
import { emitUdpDatagram, parseUdpDatagram, udpDatagramLen } from './udp.js';
import { emitTcpSegment, parseTcpSegment, tcpSegmentLen } from './tcp.js';
import type { ParseResult } from './result.js';

const FILE = 'src/wire/codecs.test.ts';

/** A buffer pre-filled with junk (smoltcp habit) so a field emit forgets shows up. */
function junk(len: number, at = 3): Uint8Array {
  return new Uint8Array(len + at + 2).fill(0xa5);
}

function value<T>(r: ParseResult<T>): T {
  if (!r.ok) assert.fail(`parse failed: ${r.error.code} ${r.error.layer} ${r.error.detail}`);
  return r.value;
}

/** Compares with Uint8Array views normalised to plain arrays (views carry offsets). */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return Array.from(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

test('ethernet: parse(emit(x)) = x', () => {
  checkProperty('ethernet-roundtrip', FILE, fc.property(arbEthernet, (x) => {
    const b = junk(ethernetFrameLen(x));
    const n = emitEthernetFrame(x, b, 3);
    assert.equal(n, ethernetFrameLen(x));
    assert.deepEqual(plain(value(parseEthernetFrame(b.subarray(3, 3 + n)))), plain(x));
  }));
});

test('arp: parse(emit(x)) = x', () => {
  checkProperty('arp-roundtrip', FILE, fc.property(arbArp, (x) => {
    const b = junk(arpPacketLen(x));
    const n = emitArpPacket(x, b, 3);
    assert.deepEqual(plain(value(parseArpPacket(b.subarray(3, 3 + n)))), plain(x));
  }));
});

test('ipv4: parse(emit(x)) = x, and trailing link padding is cut off by Total Length', () => {
  checkProperty('ipv4-roundtrip', FILE, fc.property(arbIpv4, fc.nat(20), (x, pad) => {
    const b = junk(ipv4PacketLen(x) + pad);
    const n = emitIpv4Packet(x, b, 3);
    assert.equal(n, ipv4PacketLen(x));
    assert.deepEqual(plain(value(parseIpv4Packet(b.subarray(3, 3 + n + pad)))), plain(x));
  }));
});

test('icmp: parse(emit(x)) = x', () => {
  checkProperty('icmp-roundtrip', FILE, fc.property(arbIcmp, (x) => {
    const b = junk(icmpMessageLen(x));
    const n = emitIcmpMessage(x, b, 3);
    assert.deepEqual(plain(value(parseIcmpMessage(b.subarray(3, 3 + n)))), plain(x));
  }));
});

test('udp: parse(emit(x)) = x with the pseudo-header checksum; wrong addresses fail it', () => {
  checkProperty('udp-roundtrip', FILE, fc.property(arbUdp, arbIp, arbIp, (x, s, d) => {
    const b = junk(udpDatagramLen(x));
    const n = emitUdpDatagram(x, b, 3, s, d);
    const seg = b.subarray(3, 3 + n);
    assert.notEqual(seg[6]! | seg[7]!, 0, 'an emitted checksum is never 0');
    assert.deepEqual(plain(value(parseUdpDatagram(seg, s, d))), plain(x));
    const other = parseUdpDatagram(seg, (s ^ 0x00010000) >>> 0, d);
    assert.equal(other.ok ? 'ok' : other.error.code, 'bad-checksum');
  }));
});

test('tcp: parse(emit(x)) = x for every option combination; wrong addresses fail the checksum', () => {
  checkProperty('tcp-roundtrip', FILE, fc.property(arbTcp, arbIp, arbIp, (x, s, d) => {
    const len = tcpSegmentLen(x);
    assert.equal(len % 4, x.payload.length % 4, 'header is a multiple of 4');
    const b = junk(len);
    const n = emitTcpSegment(x, b, 3, s, d);
    assert.equal(n, len);
    const seg = b.subarray(3, 3 + n);
    assert.deepEqual(plain(value(parseTcpSegment(seg, s, d))), plain(x));
    const other = parseTcpSegment(seg, s, (d ^ 0x00000100) >>> 0);
    assert.equal(other.ok ? 'ok' : other.error.code, 'bad-checksum');
  }), 500);
});

test('layers nest in one buffer without copying payloads (inside-out build)', () => {
  checkProperty('nested-build', FILE, fc.property(arbTcp, arbIp, arbIp, (x, s, d) => {
    const tcpLen = tcpSegmentLen(x);
    const frame = new Uint8Array(14 + 20 + tcpLen);
    emitTcpSegment(x, frame, 34, s, d);
    emitIpv4Packet({ dscp: 0, ecn: 0, identification: 7, dontFragment: true, ttl: 64, protocol: 6, src: s, dst: d, payload: frame.subarray(34) }, frame, 14);
    emitEthernetFrame({ dst: new Uint8Array(6).fill(2), src: new Uint8Array(6).fill(4), ethertype: 0x0800, payload: frame.subarray(14) }, frame, 0);
    const eth = value(parseEthernetFrame(frame));
    const ip = value(parseIpv4Packet(eth.payload));
    assert.equal(ip.src, s);
    assert.deepEqual(plain(value(parseTcpSegment(ip.payload, ip.src, ip.dst))), plain(x));
  }), 200);
});

test('header-only emitters write the same bytes as the Repr emitters', () => {
  checkProperty('header-only', FILE, fc.property(arbIpv4, arbEthernet, (ip, eth) => {
    const a = new Uint8Array(14 + ipv4PacketLen(ip)).fill(0x5a);
    emitIpv4Packet(ip, a, 14);
    emitEthernetFrame({ ...eth, payload: a.subarray(14) }, a, 0);
    const b = new Uint8Array(a.length).fill(0xa5);
    b.set(ip.payload, 34);
    emitIpv4Header(ip, ip.payload.length, b, 14);
    emitEthernetHeader(eth.dst, eth.src, eth.ethertype, b, 0);
    assert.deepEqual(b, a);
  }));
});
