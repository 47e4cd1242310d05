// RTP fixed header codec (RFC 3550 §5.1): a plain value (RtpPacket) with parse and
// emit. No session state here — sequencing lives in sender.ts, statistics in receiver.ts.
import { fail, ok } from '../../wire/result.js';
import type { ParseResult } from '../../wire/result.js';

export interface RtpExtension {
  /** Profile-defined 16 bits (RFC 3550 §5.3.1). */
  readonly profile: number;
  /** Extension body; length is a multiple of 4 bytes. */
  readonly data: Uint8Array;
}

export interface RtpPacket {
  readonly marker: boolean;
  /** 7-bit payload type (0 = PCMU, 8 = PCMA; RFC 3551 §6). */
  readonly payloadType: number;
  /** 16-bit sequence number. */
  readonly sequenceNumber: number;
  /** 32-bit media timestamp (8 kHz clock for G.711). */
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  readonly extension?: RtpExtension;
  readonly payload: Uint8Array;
  /** Padding octets to add on emit / found on parse (RFC 3550 §5.1 P bit). */
  readonly paddingBytes?: number;
}

export const RTP_HEADER_BYTES = 12;
const LAYER = 'rtp';

export function parseRtp(bytes: Uint8Array): ParseResult<RtpPacket> {
  if (bytes.length < RTP_HEADER_BYTES) return fail('truncated', LAYER, `${bytes.length} < 12 bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = bytes[0]!;
  const version = b0 >>> 6;
  // RFC 3550 §5.1: V = 2.
  if (version !== 2) return fail('unsupported', LAYER, `version ${version}`);
  const padding = (b0 & 0x20) !== 0;
  const hasExt = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = bytes[1]!;
  let off = RTP_HEADER_BYTES + 4 * cc;
  if (bytes.length < off) return fail('truncated', LAYER, `CSRC list needs ${off} bytes`);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(dv.getUint32(RTP_HEADER_BYTES + 4 * i));
  let extension: RtpExtension | undefined;
  if (hasExt) {
    // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in 32-bit words.
    if (bytes.length < off + 4) return fail('truncated', LAYER, 'extension header');
    const profile = dv.getUint16(off);
    const words = dv.getUint16(off + 2);
    const end = off + 4 + 4 * words;
    if (bytes.length < end) return fail('truncated', LAYER, 'extension body');
    extension = { profile, data: bytes.slice(off + 4, end) };
    off = end;
  }
  let end = bytes.length;
  let paddingBytes = 0;
  if (padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    paddingBytes = bytes[bytes.length - 1]!;
    if (paddingBytes === 0) return fail('malformed', LAYER, 'padding count 0');
    if (end - paddingBytes < off) return fail('malformed', LAYER, 'padding longer than payload');
    end -= paddingBytes;
  }
  const pkt: RtpPacket = {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: dv.getUint16(2),
    timestamp: dv.getUint32(4),
    ssrc: dv.getUint32(8),
    csrcs,
    payload: bytes.slice(off, end),
    ...(extension ? { extension } : {}),
    ...(padding ? { paddingBytes } : {}),
  };
  return ok(pkt);
}

export function rtpBufferLen(p: RtpPacket): number {
  return RTP_HEADER_BYTES + 4 * p.csrcs.length + (p.extension ? 4 + p.extension.data.length : 0)
    + p.payload.length + (p.paddingBytes ?? 0);
}

/** Serialises a packet. Programmer errors (field out of range) throw: they are our bugs, not input. */
export function emitRtp(p: RtpPacket): Uint8Array {
  if (p.csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  if (p.payloadType < 0 || p.payloadType > 127) throw new RangeError('payload type is 7 bits');
  if (p.extension && p.extension.data.length % 4 !== 0) throw new RangeError('extension length not a multiple of 4');
  const pad = p.paddingBytes ?? 0;
  if (pad < 0 || pad > 255) throw new RangeError('padding 0..255');
  const out = new Uint8Array(rtpBufferLen(p));
  const dv = new DataView(out.buffer);
  out[0] = (2 << 6) | (pad > 0 ? 0x20 : 0) | (p.extension ? 0x10 : 0) | p.csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  dv.setUint16(2, p.sequenceNumber & 0xffff);
  dv.setUint32(4, p.timestamp >>> 0);
  dv.setUint32(8, p.ssrc >>> 0);
  let off = RTP_HEADER_BYTES;
  for (const c of p.csrcs) { dv.setUint32(off, c >>> 0); off += 4; }
  if (p.extension) {
    dv.setUint16(off, p.extension.profile);
    dv.setUint16(off + 2, p.extension.data.length / 4);
    out.set(p.extension.data, off + 4);
    off += 4 + p.extension.data.length;
  }
  out.set(p.payload, off);
  off += p.payload.length;
  if (pad > 0) out[out.length - 1] = pad;
  return out;
}
