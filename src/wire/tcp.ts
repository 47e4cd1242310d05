// TCP segment model (the `Repr`) shared by the codec and the sans-IO TCP engine.
// The codec (parse/emit/checksum) lives in this file too; state machines never touch bytes.
import { fail, ok, type ParseResult } from './result.js';
import { foldChecksum, onesSum, pseudoHeaderSum } from './checksum.js';
import { placePayload, readU16, readU32, writeU16, writeU32 } from './bytes.js';

/** TCP header flags as booleans, named as in RFC 9293 §3.1. */
export interface TcpFlags {
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ack: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
}

/** A SACK block [left, right): left edge inclusive, right edge exclusive (RFC 2018 §3). */
export interface SackBlock {
  left: number;
  right: number;
}

export interface TcpTimestamp {
  /** TSval (RFC 7323 §3.2), unsigned 32-bit. */
  value: number;
  /** TSecr, unsigned 32-bit. */
  echo: number;
}

/** An option the codec does not interpret; kept so it can be re-emitted unchanged. */
export interface TcpUnknownOption {
  kind: number;
  data: Uint8Array;
}

export interface TcpOptions {
  mss?: number;               // kind 2, SYN only
  windowScale?: number;       // kind 3, shift count 0..14, SYN only
  sackPermitted?: boolean;    // kind 4, SYN only
  sack?: SackBlock[];         // kind 5, up to 4 blocks (3 with timestamps)
  timestamp?: TcpTimestamp;   // kind 8
  unknown?: TcpUnknownOption[];
}

/** A parsed TCP segment: every field a plain value. Sequence numbers are unsigned 32-bit. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: TcpFlags;
  /** The raw 16-bit window field, before window scaling. */
  window: number;
  urgentPointer: number;
  options: TcpOptions;
  payload: Uint8Array;
}

export const NO_FLAGS: Readonly<TcpFlags> = Object.freeze({
  fin: false, syn: false, rst: false, psh: false, ack: false, urg: false, ece: false, cwr: false,
});

export function tcpFlags(set: Partial<TcpFlags>): TcpFlags {
  // Spelled out (not a spread) so every flags object has one shape: this runs per segment.
  return {
    fin: set.fin ?? false, syn: set.syn ?? false, rst: set.rst ?? false, psh: set.psh ?? false,
    ack: set.ack ?? false, urg: set.urg ?? false, ece: set.ece ?? false, cwr: set.cwr ?? false,
  };
}

// ---------------------------------------------------------------------------
// Codec (RFC 9293 §3.1 header format, §3.2 options; RFC 7323; RFC 2018)

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_OPTIONS_LEN = 40;
/** Byte offsets inside the TCP header, for in-place rewriting with RFC 1624 updates. */
export const TCP_FIELD_OFFSET = { srcPort: 0, dstPort: 2, seq: 4, ack: 8, flags: 13, window: 14, checksum: 16, urgent: 18 } as const;

const OPT = { eol: 0, nop: 1, mss: 2, windowScale: 3, sackPermitted: 4, sack: 5, timestamp: 8 } as const;

function parseOptions(b: Uint8Array, start: number, end: number): ParseResult<TcpOptions> {
  const o: TcpOptions = {};
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === OPT.eol) break;                         // RFC 9293 §3.2: End of Option List
    if (kind === OPT.nop) { i++; continue; }
    if (i + 1 >= end) return fail('malformed', 'tcp-options', `option ${kind} has no length byte`);
    const len = b[i + 1]!;
    if (len < 2) return fail('malformed', 'tcp-options', `option ${kind} length ${len}`);
    if (i + len > end) return fail('malformed', 'tcp-options', `option ${kind} length ${len} runs past the header`);
    switch (kind) {
      case OPT.mss:
        if (len !== 4) return fail('malformed', 'tcp-options', `MSS length ${len}`);
        o.mss = readU16(b, i + 2);
        break;
      case OPT.windowScale:                              // RFC 7323 §2.2
        if (len !== 3) return fail('malformed', 'tcp-options', `window scale length ${len}`);
        o.windowScale = b[i + 2]!;
        break;
      case OPT.sackPermitted:                            // RFC 2018 §2
        if (len !== 2) return fail('malformed', 'tcp-options', `SACK-permitted length ${len}`);
        o.sackPermitted = true;
        break;
      case OPT.sack: {                                   // RFC 2018 §3: 8*n + 2 bytes
        if (len < 10 || (len - 2) % 8 !== 0) return fail('malformed', 'tcp-options', `SACK length ${len}`);
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + len; j += 8) blocks.push({ left: readU32(b, j), right: readU32(b, j + 4) });
        o.sack = blocks;
        break;
      }
      case OPT.timestamp:                                // RFC 7323 §3.2
        if (len !== 10) return fail('malformed', 'tcp-options', `timestamp length ${len}`);
        o.timestamp = { value: readU32(b, i + 2), echo: readU32(b, i + 6) };
        break;
      default:
        // RFC 9293 §3.2 (MUST-6): unknown options are skipped by their length; kept for re-emission.
        (o.unknown ??= []).push({ kind, data: b.subarray(i + 2, i + len) });
    }
    i += len;
  }
  return ok(o);
}

/** How many SACK blocks emit() will write for these options (trimmed to fit in 40 option bytes). */
function sackBlocksToEmit(o: TcpOptions, fixedLen: number): number {
  if (o.sack === undefined || o.sack.length === 0) return 0;
  const room = TCP_MAX_OPTIONS_LEN - fixedLen - 4;       // NOP NOP kind len
  return Math.max(0, Math.min(o.sack.length, 4, Math.floor(room / 8)));
}

function fixedOptionsLen(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.timestamp !== undefined) n += 12;                // SACK-permitted shares the NOP slots
  else if (o.sackPermitted) n += 4;
  if (o.windowScale !== undefined) n += 4;
  if (o.unknown) for (const u of o.unknown) n += 2 + u.data.length;
  return n;
}

/** Options length after padding to a multiple of 4 (RFC 9293 §3.1: header ends on a 32-bit boundary). */
export function tcpOptionsLen(o: TcpOptions): number {
  const fixed = fixedOptionsLen(o);
  const sackN = sackBlocksToEmit(o, fixed);
  const raw = fixed + (sackN > 0 ? 4 + 8 * sackN : 0);
  const padded = (raw + 3) & ~3;
  if (padded > TCP_MAX_OPTIONS_LEN) throw new RangeError(`TCP options of ${padded} bytes exceed 40`);
  return padded;
}

function emitOptions(o: TcpOptions, b: Uint8Array, start: number, paddedLen: number): void {
  let i = start;
  if (o.mss !== undefined) {
    b[i] = OPT.mss; b[i + 1] = 4; writeU16(b, i + 2, o.mss); i += 4;
  }
  if (o.timestamp !== undefined) {
    // The layout Linux uses on a SYN: SACK-permitted in place of the two NOPs before TS.
    if (o.sackPermitted) { b[i] = OPT.sackPermitted; b[i + 1] = 2; } else { b[i] = OPT.nop; b[i + 1] = OPT.nop; }
    b[i + 2] = OPT.timestamp; b[i + 3] = 10;
    writeU32(b, i + 4, o.timestamp.value); writeU32(b, i + 8, o.timestamp.echo); i += 12;
  } else if (o.sackPermitted) {
    b[i] = OPT.nop; b[i + 1] = OPT.nop; b[i + 2] = OPT.sackPermitted; b[i + 3] = 2; i += 4;
  }
  if (o.windowScale !== undefined) {
    b[i] = OPT.nop; b[i + 1] = OPT.windowScale; b[i + 2] = 3; b[i + 3] = o.windowScale; i += 4;
  }
  if (o.unknown) {
    for (const u of o.unknown) {
      b[i] = u.kind; b[i + 1] = 2 + u.data.length; b.set(u.data, i + 2); i += 2 + u.data.length;
    }
  }
  const sackN = sackBlocksToEmit(o, fixedOptionsLen(o));
  if (sackN > 0) {
    b[i] = OPT.nop; b[i + 1] = OPT.nop; b[i + 2] = OPT.sack; b[i + 3] = 2 + 8 * sackN; i += 4;
    for (let k = 0; k < sackN; k++) {
      writeU32(b, i, o.sack![k]!.left); writeU32(b, i + 4, o.sack![k]!.right); i += 8;
    }
  }
  // Padding: EOL then zeros (RFC 9293 §3.1 "The TCP header padding is composed of zeros").
  b.fill(0, i, start + paddedLen);
}

/**
 * Parses a TCP segment (the whole IPv4 payload) sent from srcIp to dstIp (u32) and
 * verifies its checksum over the pseudo-header (RFC 9293 §3.1). The payload is a view.
 * Pass verifyChecksum=false only where the checksum was verified already.
 */
export function parseTcpSegment(bytes: Uint8Array, srcIp: number, dstIp: number, verifyChecksum = true): ParseResult<TcpRepr> {
  if (bytes.length < TCP_HEADER_LEN) return fail('truncated', 'tcp', `segment ${bytes.length} < 20 bytes`);
  const headerLen = (bytes[12]! >>> 4) * 4;
  if (headerLen < TCP_HEADER_LEN) return fail('malformed', 'tcp', `data offset ${headerLen / 4} < 5`);
  if (headerLen > bytes.length) return fail('truncated', 'tcp', `data offset ${headerLen} > ${bytes.length} bytes`);
  if (bytes.length > 0xffff) return fail('malformed', 'tcp', `segment of ${bytes.length} bytes`);
  if (verifyChecksum) {
    const sum = onesSum(bytes, 0, bytes.length, pseudoHeaderSum(srcIp, dstIp, 6, bytes.length));
    if (foldChecksum(sum) !== 0) return fail('bad-checksum', 'tcp', 'checksum');
  }
  const opts = parseOptions(bytes, TCP_HEADER_LEN, headerLen);
  if (!opts.ok) return opts;
  const f = bytes[13]!;
  return ok({
    srcPort: readU16(bytes, 0),
    dstPort: readU16(bytes, 2),
    seq: readU32(bytes, 4),
    ack: readU32(bytes, 8),
    flags: {
      fin: (f & 0x01) !== 0, syn: (f & 0x02) !== 0, rst: (f & 0x04) !== 0, psh: (f & 0x08) !== 0,
      ack: (f & 0x10) !== 0, urg: (f & 0x20) !== 0, ece: (f & 0x40) !== 0, cwr: (f & 0x80) !== 0,
    },
    window: readU16(bytes, 14),
    urgentPointer: readU16(bytes, 18),
    options: opts.value,
    payload: bytes.subarray(headerLen),
  });
}

export function tcpSegmentLen(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLen(repr.options) + repr.payload.length;
}

/** Header length (with options) of the segment emit() writes for this repr. */
export function tcpHeaderLen(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLen(repr.options);
}

/** Writes the segment at buf[offset..] with its checksum for srcIp → dstIp; returns bytes written. */
export function emitTcpSegment(repr: TcpRepr, buf: Uint8Array, offset: number, srcIp: number, dstIp: number): number {
  const optLen = tcpOptionsLen(repr.options);
  const headerLen = TCP_HEADER_LEN + optLen;
  const len = headerLen + repr.payload.length;
  writeU16(buf, offset, repr.srcPort);
  writeU16(buf, offset + 2, repr.dstPort);
  writeU32(buf, offset + 4, repr.seq);
  writeU32(buf, offset + 8, repr.ack);
  buf[offset + 12] = (headerLen / 4) << 4;
  const fl = repr.flags;
  buf[offset + 13] = (fl.fin ? 0x01 : 0) | (fl.syn ? 0x02 : 0) | (fl.rst ? 0x04 : 0) | (fl.psh ? 0x08 : 0)
    | (fl.ack ? 0x10 : 0) | (fl.urg ? 0x20 : 0) | (fl.ece ? 0x40 : 0) | (fl.cwr ? 0x80 : 0);
  writeU16(buf, offset + 14, repr.window);
  writeU16(buf, offset + 16, 0);
  writeU16(buf, offset + 18, repr.urgentPointer);
  emitOptions(repr.options, buf, offset + TCP_HEADER_LEN, optLen);
  placePayload(repr.payload, buf, offset + headerLen);
  const c = foldChecksum(onesSum(buf, offset, len, pseudoHeaderSum(srcIp, dstIp, 6, len)));
  writeU16(buf, offset + 16, c);
  return len;
}
