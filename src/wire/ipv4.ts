// IPv4 packets (RFC 791): header codec with checksum. Options are skipped on parse
// (the payload starts after IHL*4) and never emitted. Fragments are 'unsupported'
// with detail 'fragment' so the host counts and drops them. Routing is in src/stack/.
import { fail, ok, type ParseResult } from './result.js';
import { internetChecksum } from './checksum.js';
import { placePayload, readU16, readU32, writeU16, writeU32 } from './bytes.js';

export const IP_PROTOCOL = { icmp: 1, tcp: 6, udp: 17 } as const;
export const IPV4_HEADER_LEN = 20;
/** Offset of the header checksum inside the IPv4 header (for RFC 1624 patching). */
export const IPV4_CHECKSUM_OFFSET = 10;
export const IPV4_SRC_OFFSET = 12;
export const IPV4_DST_OFFSET = 16;

export interface Ipv4Repr {
  dscp: number;            // 6 bits (RFC 2474)
  ecn: number;             // 2 bits (RFC 3168)
  identification: number;  // 16 bits
  dontFragment: boolean;
  ttl: number;
  protocol: number;        // IP_PROTOCOL.* or any other 8-bit value
  src: number;             // u32
  dst: number;             // u32
  /** The bytes after the header, cut to Total Length (link padding removed); a view. */
  payload: Uint8Array;
}

/** Detail string of the 'unsupported' error returned for fragments (MF set or offset ≠ 0). */
export const FRAGMENT_DETAIL = 'fragment';

export function parseIpv4Packet(bytes: Uint8Array): ParseResult<Ipv4Repr> {
  if (bytes.length < IPV4_HEADER_LEN) return fail('truncated', 'ipv4', `packet ${bytes.length} < 20 bytes`);
  const version = bytes[0]! >>> 4;
  if (version !== 4) return fail('malformed', 'ipv4', `version ${version}`);
  const headerLen = (bytes[0]! & 0x0f) * 4;
  if (headerLen < IPV4_HEADER_LEN) return fail('malformed', 'ipv4', `IHL ${headerLen / 4} < 5`);
  const totalLen = readU16(bytes, 2);
  if (totalLen < headerLen) return fail('malformed', 'ipv4', `total length ${totalLen} < header ${headerLen}`);
  if (headerLen > bytes.length) return fail('truncated', 'ipv4', `header ${headerLen} > ${bytes.length} bytes`);
  if (totalLen > bytes.length) return fail('truncated', 'ipv4', `total length ${totalLen} > ${bytes.length} bytes`);
  // RFC 791 §3.1 / RFC 1122 §3.2.1.2: a datagram with a bad header checksum is discarded.
  if (internetChecksum(bytes, 0, headerLen) !== 0) return fail('bad-checksum', 'ipv4', 'header checksum');
  const flagsFrag = readU16(bytes, 6);
  if ((flagsFrag & 0x8000) !== 0) return fail('malformed', 'ipv4', 'reserved flag set');
  // MF (0x2000) or a non-zero fragment offset: we do not reassemble.
  if ((flagsFrag & 0x3fff) !== 0) return fail('unsupported', 'ipv4', FRAGMENT_DETAIL);
  return ok({
    dscp: bytes[1]! >>> 2,
    ecn: bytes[1]! & 3,
    identification: readU16(bytes, 4),
    dontFragment: (flagsFrag & 0x4000) !== 0,
    ttl: bytes[8]!,
    protocol: bytes[9]!,
    src: readU32(bytes, 12),
    dst: readU32(bytes, 16),
    payload: bytes.subarray(headerLen, totalLen),
  });
}

export function ipv4PacketLen(repr: Ipv4Repr): number {
  return IPV4_HEADER_LEN + repr.payload.length;
}

/** Writes a 20-byte header (no options, checksum computed) and the payload; returns bytes written. */
export function emitIpv4Packet(repr: Ipv4Repr, buf: Uint8Array, offset = 0): number {
  emitIpv4Header(repr, repr.payload.length, buf, offset);
  placePayload(repr.payload, buf, offset + IPV4_HEADER_LEN);
  return IPV4_HEADER_LEN + repr.payload.length;
}

/**
 * Writes only the 20-byte header for a payload of `payloadLen` bytes that the caller has
 * placed (or will place) right after it; `repr.payload` is ignored. The send fast path.
 */
export function emitIpv4Header(repr: Omit<Ipv4Repr, 'payload'>, payloadLen: number, buf: Uint8Array, offset = 0): void {
  const total = IPV4_HEADER_LEN + payloadLen;
  if (total > 0xffff) throw new RangeError(`IPv4 packet of ${total} bytes`);
  buf[offset] = 0x45;
  buf[offset + 1] = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 3);
  writeU16(buf, offset + 2, total);
  writeU16(buf, offset + 4, repr.identification);
  writeU16(buf, offset + 6, repr.dontFragment ? 0x4000 : 0);
  buf[offset + 8] = repr.ttl;
  buf[offset + 9] = repr.protocol;
  writeU16(buf, offset + IPV4_CHECKSUM_OFFSET, 0);
  writeU32(buf, offset + 12, repr.src);
  writeU32(buf, offset + 16, repr.dst);
  writeU16(buf, offset + IPV4_CHECKSUM_OFFSET, internetChecksum(buf, offset, IPV4_HEADER_LEN));
}
