// Test helper: fast-check generators of valid Repr values for every wire format,
// used by round-trip and fuzz tests here and in src/stack. Not used at runtime.
import fc from 'fast-check';
import type { EthernetRepr } from './ethernet.js';
import type { ArpRepr } from './arp.js';
import type { Ipv4Repr } from './ipv4.js';
import type { IcmpRepr } from './icmp.js';
import type { UdpRepr } from './udp.js';
import type { TcpOptions, TcpRepr } from './tcp.js';

const u8 = fc.nat(255);
const u16 = fc.nat(0xffff);
const u32 = fc.nat(0xffffffff);
export const arbMac = fc.uint8Array({ minLength: 6, maxLength: 6 });
export const arbIp = u32;
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

export const arbEthernet: fc.Arbitrary<EthernetRepr> = fc.record({
  dst: arbMac, src: arbMac, ethertype: fc.constantFrom(0x0800 as const, 0x0806 as const), payload: bytes(200),
});

export const arbArp: fc.Arbitrary<ArpRepr> = fc.record({
  operation: fc.constantFrom('request' as const, 'reply' as const),
  senderMac: arbMac, senderIp: u32, targetMac: arbMac, targetIp: u32,
});

export const arbIpv4: fc.Arbitrary<Ipv4Repr> = fc.record({
  dscp: fc.nat(63), ecn: fc.nat(3), identification: u16, dontFragment: fc.boolean(), ttl: u8,
  protocol: u8, src: u32, dst: u32, payload: bytes(300),
});

export const arbIcmp: fc.Arbitrary<IcmpRepr> = fc.oneof(
  fc.record({ kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const), identifier: u16, sequence: u16, data: bytes(100) }),
  fc.record({ kind: fc.constant('other' as const), type: u8, code: u8, rest: u32, data: bytes(100) })
    .filter((r) => !(r.code === 0 && (r.type === 0 || r.type === 8))),
);

export const arbUdp: fc.Arbitrary<UdpRepr> = fc.record({ srcPort: u16, dstPort: u16, payload: bytes(300) });

export const arbTcpFlags = fc.record({
  fin: fc.boolean(), syn: fc.boolean(), rst: fc.boolean(), psh: fc.boolean(),
  ack: fc.boolean(), urg: fc.boolean(), ece: fc.boolean(), cwr: fc.boolean(),
});

const arbSack = fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 4 });
const arbUnknown = fc.array(fc.record({
  kind: fc.integer({ min: 6, max: 255 }).filter((k) => k !== 8),
  data: fc.uint8Array({ maxLength: 6 }),
}), { minLength: 1, maxLength: 2 });

/** Options that fit in 40 bytes as emitted, so they round-trip exactly. */
export const arbTcpOptions: fc.Arbitrary<TcpOptions> = fc.record({
  mss: u16, windowScale: fc.nat(14), sackPermitted: fc.constant(true), sack: arbSack,
  timestamp: fc.record({ value: u32, echo: u32 }), unknown: arbUnknown,
}, { requiredKeys: [] }).filter((o) => {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.timestamp !== undefined) n += 12; else if (o.sackPermitted) n += 4;
  if (o.windowScale !== undefined) n += 4;
  for (const u of o.unknown ?? []) n += 2 + u.data.length;
  if (o.sack) n += 4 + 8 * o.sack.length;
  return n <= 40;
});

export const arbTcp: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: arbTcpFlags, window: u16, urgentPointer: u16,
  options: arbTcpOptions, payload: bytes(300),
});
