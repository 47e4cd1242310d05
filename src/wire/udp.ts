// UDP datagrams (RFC 768) with the IPv4 pseudo-header checksum. A zero checksum
// means "none" and is accepted; an emitted checksum of 0 is sent as 0xffff.
import { fail, ok, type ParseResult } from './result.js';
import { foldChecksum, onesSum, pseudoHeaderSum } from './checksum.js';
import { placePayload, readU16, writeU16 } from './bytes.js';
import { IP_PROTOCOL } from './ipv4.js';

export const UDP_HEADER_LEN = 8;

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** A view of the datagram's data, cut to the UDP length field. */
  payload: Uint8Array;
}

/** Parses a UDP datagram carried from srcIp to dstIp (u32), verifying a non-zero checksum. */
export function parseUdpDatagram(bytes: Uint8Array, srcIp: number, dstIp: number): ParseResult<UdpRepr> {
  if (bytes.length < UDP_HEADER_LEN) return fail('truncated', 'udp', `datagram ${bytes.length} < 8 bytes`);
  const len = readU16(bytes, 4);
  if (len < UDP_HEADER_LEN) return fail('malformed', 'udp', `length field ${len} < 8`);
  if (len > bytes.length) return fail('truncated', 'udp', `length field ${len} > ${bytes.length} bytes`);
  // RFC 768: an all-zero checksum field means the sender computed none.
  if (readU16(bytes, 6) !== 0) {
    const sum = onesSum(bytes, 0, len, pseudoHeaderSum(srcIp, dstIp, IP_PROTOCOL.udp, len));
    if (foldChecksum(sum) !== 0) return fail('bad-checksum', 'udp', 'checksum');
  }
  return ok({ srcPort: readU16(bytes, 0), dstPort: readU16(bytes, 2), payload: bytes.subarray(UDP_HEADER_LEN, len) });
}

export function udpDatagramLen(repr: UdpRepr): number {
  return UDP_HEADER_LEN + repr.payload.length;
}

export function emitUdpDatagram(repr: UdpRepr, buf: Uint8Array, offset: number, srcIp: number, dstIp: number): number {
  const len = UDP_HEADER_LEN + repr.payload.length;
  if (len > 0xffff) throw new RangeError(`UDP datagram of ${len} bytes`);
  writeU16(buf, offset, repr.srcPort);
  writeU16(buf, offset + 2, repr.dstPort);
  writeU16(buf, offset + 4, len);
  writeU16(buf, offset + 6, 0);
  placePayload(repr.payload, buf, offset + UDP_HEADER_LEN);
  const c = foldChecksum(onesSum(buf, offset, len, pseudoHeaderSum(srcIp, dstIp, IP_PROTOCOL.udp, len)));
  // RFC 768: a computed checksum of zero is transmitted as all ones.
  writeU16(buf, offset + 6, c === 0 ? 0xffff : c);
  return len;
}
