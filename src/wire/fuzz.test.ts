// Random bytes and mutated valid frames through every parser: each returns ok or a
// typed error, never throws, and never hands back a view that runs past its input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkProperty } from './prop.js';
import { arbArp, arbIcmp, arbIpv4, arbTcp, arbUdp, arbMac } from './arbitraries.js';
import { emitEthernetFrame, parseEthernetFrame, ETHERTYPE } from './ethernet.js';
import { emitArpPacket, parseArpPacket } from './arp.js';
import { emitIpv4Packet, parseIpv4Packet, IP_PROTOCOL } from './ipv4.js';
import { emitIcmpMessage, icmpMessageLen, parseIcmpMessage } from './icmp.js';
import { emitUdpDatagram, parseUdpDatagram, udpDatagramLen } from './udp.js';
import { emitTcpSegment, parseTcpSegment, tcpSegmentLen } from './tcp.js';
import type { ParseResult } from './result.js';

const FILE = 'src/wire/fuzz.test.ts';
const CODES = new Set(['truncated', 'bad-checksum', 'malformed', 'unsupported']);

function typed<T>(r: ParseResult<T>): ParseResult<T> {
  if (!r.ok) {
    assert.ok(CODES.has(r.error.code), `untyped error ${JSON.stringify(r.error)}`);
    assert.equal(typeof r.error.layer, 'string');
  }
  return r;
}

/** Parses a frame down every layer it claims to carry; returns the deepest layer reached. */
function parseAll(frame: Uint8Array): string {
  const eth = typed(parseEthernetFrame(frame));
  if (!eth.ok) return 'ethernet';
  if (eth.value.ethertype === ETHERTYPE.arp) return typed(parseArpPacket(eth.value.payload)).ok ? 'arp' : 'arp-error';
  const ip = typed(parseIpv4Packet(eth.value.payload));
  if (!ip.ok) return 'ipv4';
  const p = ip.value.payload;
  assert.ok(p.byteOffset + p.length <= frame.byteOffset + frame.length);
  switch (ip.value.protocol) {
    case IP_PROTOCOL.tcp: {
      const t = typed(parseTcpSegment(p, ip.value.src, ip.value.dst));
      if (t.ok) assert.ok(t.value.payload.byteOffset + t.value.payload.length <= p.byteOffset + p.length);
      return t.ok ? 'tcp' : 'tcp-error';
    }
    case IP_PROTOCOL.udp: return typed(parseUdpDatagram(p, ip.value.src, ip.value.dst)).ok ? 'udp' : 'udp-error';
    case IP_PROTOCOL.icmp: return typed(parseIcmpMessage(p)).ok ? 'icmp' : 'icmp-error';
    default: return 'ip-other';
  }
}

/** A valid frame of any kind, built from the arbitraries. */
const arbFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  arbArp.map((a) => ({ kind: 'arp' as const, a })),
  fc.tuple(arbIpv4, fc.oneof(
    arbTcp.map((t) => ({ p: 6, len: tcpSegmentLen(t), emit: (b: Uint8Array, o: number, s: number, d: number) => emitTcpSegment(t, b, o, s, d) })),
    arbUdp.map((u) => ({ p: 17, len: udpDatagramLen(u), emit: (b: Uint8Array, o: number, s: number, d: number) => emitUdpDatagram(u, b, o, s, d) })),
    arbIcmp.map((m) => ({ p: 1, len: icmpMessageLen(m), emit: (b: Uint8Array, o: number) => emitIcmpMessage(m, b, o) })),
  )).map(([ip, l4]) => ({ kind: 'ip' as const, ip, l4 })),
).chain((spec) => arbMac.map((mac) => {
  if (spec.kind === 'arp') {
    const f = new Uint8Array(14 + 28);
    emitArpPacket(spec.a, f, 14);
    emitEthernetFrame({ dst: mac, src: mac, ethertype: ETHERTYPE.arp, payload: f.subarray(14) }, f);
    return f;
  }
  const f = new Uint8Array(34 + spec.l4.len);
  spec.l4.emit(f, 34, spec.ip.src, spec.ip.dst);
  emitIpv4Packet({ ...spec.ip, protocol: spec.l4.p, payload: f.subarray(34) }, f, 14);
  emitEthernetFrame({ dst: mac, src: mac, ethertype: ETHERTYPE.ipv4, payload: f.subarray(14) }, f);
  return f;
}));

test('valid frames of every kind parse all the way down', () => {
  checkProperty('valid-frames', FILE, fc.property(arbFrame, (f) => {
    assert.ok(['arp', 'tcp', 'udp', 'icmp'].includes(parseAll(f)), parseAll(f));
  }), 300);
});

test('random bytes never throw in any parser', () => {
  checkProperty('random-bytes', FILE, fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(0xffffffff), fc.nat(0xffffffff), (b, s, d) => {
    parseAll(b);
    typed(parseArpPacket(b)); typed(parseIpv4Packet(b)); typed(parseIcmpMessage(b));
    typed(parseUdpDatagram(b, s, d)); typed(parseTcpSegment(b, s, d)); typed(parseTcpSegment(b, s, d, false));
  }), 2000);
});

test('random bytes behind a valid Ethernet/IPv4 header never throw', () => {
  // Random L4 bytes with checksum verification off reach the option parser.
  checkProperty('random-l4', FILE, fc.property(fc.uint8Array({ minLength: 20, maxLength: 80 }), fc.nat(15), (b, off) => {
    const seg = Uint8Array.from(b);
    seg[12] = (off << 4) | (seg[12]! & 15);
    typed(parseTcpSegment(seg, 1, 2, false));
  }), 3000);
});

const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: fc.nat(255) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 30 }) }),
);

test('mutated valid frames (bit flips, byte sets, truncation, extension) never throw', () => {
  checkProperty('mutated-frames', FILE, fc.property(arbFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (f0, muts) => {
    let f = Uint8Array.from(f0);
    for (const m of muts) {
      if (m.op === 'flip') f[m.at % f.length]! ^= 1 << m.bit;
      else if (m.op === 'set') f[m.at % f.length] = m.v;
      else if (m.op === 'cut') f = f.subarray(0, m.at % (f.length + 1));
      else { const g = new Uint8Array(f.length + m.extra.length); g.set(f); g.set(m.extra, f.length); f = g; }
      if (f.length === 0) break;
    }
    parseAll(f);
  }), 2000);
});
