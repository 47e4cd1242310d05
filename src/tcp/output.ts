// Building outgoing segments from the TCB: ports, ACK field, advertised window,
// timestamp and SACK options (RFC 7323, RFC 2018). Deciding *what* to send is
// sender.ts / pollTransmit's job; this file only fills in the header.

import type { TcpFlags, TcpOptions, TcpRepr } from '../wire/tcp.js';
import { tcpFlags } from '../wire/tcp.js';
import { seqAdd, seqDiff, seqGt } from './seq.js';
import type { Tcb } from './tcb.js';

/** TSval clock: milliseconds plus the connection's offset (RFC 7323 §5.4), unsigned 32-bit. */
export function tsNow(t: Tcb, nowUs: number): number {
  return (Math.floor(nowUs / 1000) + t.tsOffset) >>> 0;
}

/**
 * The acknowledgment number to put on the wire: rcvNxt, held back to ackLimit when a
 * limit is set (ST-TCP sync mode: the client is never told a byte is safe before the
 * backup holds it).
 */
export function ackField(t: Tcb): number {
  return t.ackLimit !== undefined && seqGt(t.rcvNxt, t.ackLimit) ? t.ackLimit : t.rcvNxt;
}

/** True while the ACK gate holds back bytes that have arrived. */
export function ackGated(t: Tcb): boolean {
  return t.ackLimit !== undefined && seqGt(t.rcvNxt, t.ackLimit);
}

/** Length of the timestamp option as it is laid out on the wire (NOP NOP TS), bytes. */
export const TS_OPTION_BYTES = 12;

/**
 * Receiver window to advertise now, updating rcvAdv.
 * RFC 1122 §4.2.3.3 (receiver SWS avoidance): the right edge moves only when it can
 * move by at least min(RCV.BUFF/2, MSS); RFC 9293 §3.8.6.2.2: it never moves left.
 * Returns the window in bytes (before scaling).
 */
export function updateReceiveWindow(t: Tcb): number {
  const maxWnd = t.rcvWndShift === 0 ? 0xffff : 0xffff << t.rcvWndShift;
  let room = Math.min(t.cfg.rcvBufBytes - t.rcvQueueBytes, maxWnd);
  room -= room % (1 << t.rcvWndShift); // representable after scaling
  const candidate = seqAdd(t.rcvNxt, Math.max(0, room));
  const threshold = Math.max(1, Math.min(Math.floor(t.cfg.rcvBufBytes / 2), t.cfg.mss));
  if (seqGt(candidate, t.rcvAdv) && seqDiff(candidate, t.rcvAdv) >= threshold) {
    t.rcvAdv = candidate;
  }
  if (seqGt(t.rcvNxt, t.rcvAdv)) t.rcvAdv = t.rcvNxt;
  return seqDiff(t.rcvAdv, t.rcvNxt);
}

/** The current receive window (right edge minus rcvNxt) without moving the edge. */
export function receiveWindow(t: Tcb): number {
  const w = seqDiff(t.rcvAdv, t.rcvNxt);
  return w > 0 ? w : 0;
}

export interface SegmentSpec {
  seq: number;
  flags: Partial<TcpFlags>;
  payload?: Uint8Array;
  /** Extra options (SYN options); timestamp/SACK are added here when negotiated. */
  options?: TcpOptions;
}

/**
 * A complete segment with ports, ACK, window and negotiated options. Every segment
 * with ACK set acknowledges rcvNxt and cancels a pending delayed ACK.
 */
export function buildSegment(t: Tcb, nowUs: number, spec: SegmentSpec): TcpRepr {
  const flags = tcpFlags(spec.flags);
  const options: TcpOptions = { ...(spec.options ?? {}) };
  let window = 0;
  if (flags.syn) {
    // RFC 7323 §2.2: the window field of a SYN is never scaled.
    window = Math.min(t.cfg.rcvBufBytes - t.rcvQueueBytes, 0xffff);
    if (flags.ack) t.rcvAdv = seqAdd(t.rcvNxt, window);
  } else if (flags.ack) {
    // With the ACK gate holding, the window is measured from the gated ACK so that the
    // right edge (ack + window) is the same one we would advertise ungated.
    const ack = ackField(t);
    const wnd = updateReceiveWindow(t) + seqDiff(t.rcvNxt, ack);
    // RFC 7323 §2.4 / RFC 9293 §3.8.6.2.2: the scaled field must never move the right edge
    // the peer computes (ack + field << shift) to the left of one we advertised before.
    // Rounding down would do that by up to 2^shift - 1 bytes; round up instead (as Linux
    // does) and remember the edge actually advertised.
    const unit = 1 << t.rcvWndShift;
    window = Math.min(0xffff, Math.ceil(wnd / unit));
    const edge = seqAdd(ack, window * unit);
    if (seqGt(edge, t.rcvAdv)) t.rcvAdv = edge;
  }
  if (t.tsOn || (flags.syn && options.timestamp)) {
    // RFC 7323 §3.2: TSecr echoes TS.Recent when ACK is set, 0 otherwise.
    options.timestamp = { value: tsNow(t, nowUs), echo: flags.ack ? t.tsRecent : 0 };
  }
  if (t.sackOn && flags.ack && !flags.syn && !flags.rst && t.reassembly.bufferedBytes() > 0) {
    // RFC 2018 §3: at most 4 blocks, 3 when the timestamp option is present.
    const blocks = t.reassembly.sackBlocks(t.tsOn ? 3 : 4);
    if (blocks.length > 0) options.sack = blocks;
  }
  const ack = ackField(t);
  if (flags.ack) {
    t.lastAckSent = ack;
    t.ackNow = false;
    t.delackDeadlineUs = undefined;
    t.unackedFullSegments = 0;
  }
  t.stats.segmentsOut++;
  return {
    srcPort: t.tuple.localPort,
    dstPort: t.tuple.remotePort,
    seq: spec.seq >>> 0,
    ack: flags.ack ? ack : 0,
    flags,
    window,
    urgentPointer: 0,
    options,
    payload: spec.payload ?? new Uint8Array(0),
  };
}

/** Bytes the SACK option will take on a data segment now (so payload + options fit sndMss). */
export function sackOptionBytes(t: Tcb): number {
  if (!t.sackOn || t.reassembly.bufferedBytes() === 0) return 0;
  const n = Math.min(t.reassembly.sackBlocks(t.tsOn ? 3 : 4).length, t.tsOn ? 3 : 4);
  return n === 0 ? 0 : 4 + 8 * n; // NOP NOP kind len + 8 per block
}

/** A bare RST answering a segment that does not belong to a connection state (RFC 9293 §3.10.7.1). */
export function resetFor(t: Tcb, seg: TcpRepr): TcpRepr {
  t.stats.segmentsOut++;
  const segLen = seg.payload.length + (seg.flags.syn ? 1 : 0) + (seg.flags.fin ? 1 : 0);
  if (seg.flags.ack) {
    return {
      srcPort: t.tuple.localPort, dstPort: t.tuple.remotePort, seq: seg.ack, ack: 0,
      flags: tcpFlags({ rst: true }), window: 0, urgentPointer: 0, options: {}, payload: new Uint8Array(0),
    };
  }
  return {
    srcPort: t.tuple.localPort, dstPort: t.tuple.remotePort, seq: 0, ack: seqAdd(seg.seq, segLen),
    flags: tcpFlags({ rst: true, ack: true }), window: 0, urgentPointer: 0, options: {}, payload: new Uint8Array(0),
  };
}
