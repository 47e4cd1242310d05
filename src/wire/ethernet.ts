// Ethernet II frames (IEEE 802.3 with an EtherType ≥ 0x0600): header codec only.
// The payload is a view into the frame; upper layers parse it. No FCS (drivers strip it).
import { fail, ok, type ParseResult } from './result.js';
import { placePayload, readU16, writeU16 } from './bytes.js';

export const ETHERTYPE = { ipv4: 0x0800, arp: 0x0806 } as const;
export type EtherType = (typeof ETHERTYPE)[keyof typeof ETHERTYPE];

export const ETHERNET_HEADER_LEN = 14;

export interface EthernetRepr {
  dst: Uint8Array;   // 6 bytes
  src: Uint8Array;   // 6 bytes
  ethertype: EtherType;
  /** Everything after the header (may include link padding); a view, not a copy. */
  payload: Uint8Array;
}

/** Parses an Ethernet II frame. IPv4 and ARP only; other EtherTypes (VLAN, IPv6, 802.3 lengths) → 'unsupported'. */
export function parseEthernetFrame(frame: Uint8Array): ParseResult<EthernetRepr> {
  if (frame.length < ETHERNET_HEADER_LEN) return fail('truncated', 'ethernet', `frame ${frame.length} < 14 bytes`);
  const ethertype = readU16(frame, 12);
  if (ethertype !== ETHERTYPE.ipv4 && ethertype !== ETHERTYPE.arp) {
    return fail('unsupported', 'ethernet', `ethertype 0x${ethertype.toString(16).padStart(4, '0')}`);
  }
  return ok({
    dst: frame.subarray(0, 6),
    src: frame.subarray(6, 12),
    ethertype,
    payload: frame.subarray(ETHERNET_HEADER_LEN),
  });
}

export function ethernetFrameLen(repr: EthernetRepr): number {
  return ETHERNET_HEADER_LEN + repr.payload.length;
}

/** Writes header and payload at buf[offset..]; returns the bytes written. */
export function emitEthernetFrame(repr: EthernetRepr, buf: Uint8Array, offset = 0): number {
  emitEthernetHeader(repr.dst, repr.src, repr.ethertype, buf, offset);
  placePayload(repr.payload, buf, offset + ETHERNET_HEADER_LEN);
  return ETHERNET_HEADER_LEN + repr.payload.length;
}

/** Writes only the 14-byte header (the send fast path: the payload is already in place). */
export function emitEthernetHeader(dst: Uint8Array, src: Uint8Array, ethertype: EtherType, buf: Uint8Array, offset = 0): void {
  for (let i = 0; i < 6; i++) { buf[offset + i] = dst[i]!; buf[offset + 6 + i] = src[i]!; }
  writeU16(buf, offset + 12, ethertype);
}
