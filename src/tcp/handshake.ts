// Opening a connection: active open (SYN-SENT), passive open from a received SYN,
// SYN/SYN-ACK construction, option negotiation (MSS RFC 9293 §3.7.1, window scale and
// timestamps RFC 7323, SACK-permitted RFC 2018), and segment processing in SYN-SENT.

import type { TcpOptions, TcpRepr } from '../wire/tcp.js';
import type { TcpConfig } from './config.js';
import type { FourTuple } from './four-tuple.js';
import { becomeClosed, becomeEstablished } from './lifecycle.js';
import { buildSegment, resetFor, TS_OPTION_BYTES, tsNow } from './output.js';
import { seqAdd, seqDiff, seqGt, seqLe } from './seq.js';
import { initialVars, Tcb } from './tcb.js';

/** RFC 9293 §3.7.1: the MSS assumed when the peer's SYN carries no MSS option. */
export const DEFAULT_MSS = 536;
/** RFC 7323 §2.3: largest shift count. */
export const MAX_WINDOW_SHIFT = 14;

/** Smallest shift that lets the 16-bit window field express our whole receive buffer. */
export function windowShiftFor(rcvBufBytes: number): number {
  let s = 0;
  while (s < MAX_WINDOW_SHIFT && (rcvBufBytes >>> s) > 0xffff) s++;
  return s;
}

/** Active open (RFC 9293 §3.10.1): SYN-SENT, a SYN is due. */
export function openActive(cfg: TcpConfig, tuple: FourTuple, iss: number, nowUs: number): Tcb {
  const t = new Tcb(cfg, tuple, initialVars(cfg, iss >>> 0, nowUs));
  t.state = 'SYN-SENT';
  t.synNeeded = true;
  return t;
}

/** Passive open from the peer's SYN (RFC 9293 §3.10.7.2, LISTEN state, SYN branch). */
export function openPassive(cfg: TcpConfig, tuple: FourTuple, syn: TcpRepr, iss: number, nowUs: number): Tcb {
  if (!syn.flags.syn || syn.flags.ack || syn.flags.rst) throw new Error('TcpConnection.accept: segment is not a bare SYN');
  const t = new Tcb(cfg, tuple, initialVars(cfg, iss >>> 0, nowUs));
  t.passiveOpen = true;
  t.state = 'SYN-RECEIVED';
  receiveSyn(t, syn, nowUs);
  // Data on a SYN is not acknowledged (no TCP Fast Open); the peer sends it again.
  t.sndWnd = syn.window; // RFC 7323 §2.2: never scaled on a SYN
  t.maxSndWnd = t.sndWnd;
  t.sndWl1 = syn.seq;
  t.sndWl2 = t.iss;
  t.synNeeded = true;
  return t;
}

/** Record the peer's SYN: IRS, and the options both sides agreed on. */
function receiveSyn(t: Tcb, syn: TcpRepr, nowUs: number): void {
  t.irs = syn.seq >>> 0;
  t.rcvNxt = seqAdd(syn.seq, 1);
  t.lastAckSent = t.rcvNxt;
  negotiate(t, syn.options, nowUs);
}

/** Option negotiation; each option is used only if both SYNs carried it. */
export function negotiate(t: Tcb, peer: TcpOptions, nowUs: number): void {
  const cfg = t.cfg;
  // RFC 9293 §3.7.1 (MUST-15): without an MSS option assume 536.
  const peerMss = peer.mss !== undefined && peer.mss > 0 ? peer.mss : DEFAULT_MSS;
  t.sndMss = Math.max(64, Math.min(peerMss, cfg.mss));
  // RFC 7323 §2.2: window scaling only if both sent the option; shifts above 14 are treated as 14.
  if (cfg.windowScale && peer.windowScale !== undefined) {
    t.wsOn = true;
    t.sndWndShift = Math.min(peer.windowScale, MAX_WINDOW_SHIFT);
    t.rcvWndShift = windowShiftFor(cfg.rcvBufBytes);
  } else {
    t.wsOn = false;
    t.sndWndShift = 0;
    t.rcvWndShift = 0;
  }
  t.sackOn = cfg.sack && peer.sackPermitted === true;
  t.tsOn = cfg.timestamps && peer.timestamp !== undefined;
  if (t.tsOn && peer.timestamp) {
    t.tsRecent = peer.timestamp.value >>> 0;
    t.tsRecentAgeUs = nowUs;
  }
  // RFC 9293 §3.7.1: the effective send MSS excludes TCP options carried on every segment.
  t.segMax = Math.max(32, t.sndMss - (t.tsOn ? TS_OPTION_BYTES : 0));
  t.cc = cfg.congestion({ mss: t.segMax, initialWindowSegments: cfg.initialWindowSegments });
}

/** Options we put on our SYN / SYN-ACK. On a SYN-ACK only what the peer offered. */
function synOptions(t: Tcb, synAck: boolean): TcpOptions {
  const o: TcpOptions = { mss: t.cfg.mss };
  if (synAck) {
    if (t.wsOn) o.windowScale = t.rcvWndShift;
    if (t.sackOn) o.sackPermitted = true;
    if (t.tsOn) o.timestamp = { value: 0, echo: 0 }; // filled by buildSegment
  } else {
    if (t.cfg.windowScale) o.windowScale = windowShiftFor(t.cfg.rcvBufBytes);
    if (t.cfg.sack) o.sackPermitted = true;
    if (t.cfg.timestamps) o.timestamp = { value: 0, echo: 0 };
  }
  return o;
}

/** The SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) that is due; marks it sent. */
export function emitSyn(t: Tcb, nowUs: number): TcpRepr {
  const synAck = t.state === 'SYN-RECEIVED';
  if (t.sndMax === t.iss) {
    t.sndNxt = seqAdd(t.iss, 1);
    t.sndMax = t.sndNxt;
    // Karn: time the SYN only on its first transmission.
    t.rttSeq = t.sndMax;
    t.rttStartUs = nowUs;
  } else {
    t.synRetransmitted = true;
    t.rttSeq = undefined;
    t.stats.retransmits++;
  }
  t.synNeeded = false;
  if (t.rtxDeadlineUs === undefined) t.rtxDeadlineUs = nowUs + t.rtt.rtoUs();
  return buildSegment(t, nowUs, { seq: t.iss, flags: { syn: true, ack: synAck }, options: synOptions(t, synAck) });
}

/** RFC 9293 §3.10.7.3: a segment arrives in SYN-SENT. */
export function synSentInput(t: Tcb, seg: TcpRepr, nowUs: number): void {
  let ackOk = false;
  if (seg.flags.ack) {
    // First: an ACK that does not cover our SYN is answered with a reset (unless it is one).
    if (seqLe(seg.ack, t.iss) || seqGt(seg.ack, t.sndMax)) {
      if (!seg.flags.rst) t.queueCtl(resetFor(t, seg));
      return;
    }
    ackOk = true;
  }
  if (seg.flags.rst) {
    // RFC 9293 §3.10.7.3 / RFC 5961 §3: a RST in SYN-SENT is acceptable only if it ACKs our SYN.
    if (ackOk) becomeClosed(t, 'reset');
    return;
  }
  if (!seg.flags.syn) return;
  receiveSyn(t, seg, nowUs);
  // Our SYN advertised an unscaled window; the peer may fill it before our first ACK.
  t.rcvAdv = seqAdd(t.rcvNxt, Math.min(t.cfg.rcvBufBytes, 0xffff));
  if (ackOk) {
    t.sndUna = seg.ack >>> 0;
    t.sndWnd = seg.window; // SYN-ACK window is never scaled (RFC 7323 §2.2)
    t.maxSndWnd = t.sndWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = seg.ack;
    takeSynRttSample(t, seg, nowUs);
    t.rtxDeadlineUs = undefined;
    t.consecutiveRtos = 0;
    t.rtt.resetBackoff();
    becomeEstablished(t);
    t.ackNow = true;
  } else {
    // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN-ACK.
    t.state = 'SYN-RECEIVED';
    t.sndWnd = seg.window;
    t.maxSndWnd = t.sndWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = t.iss;
    t.synNeeded = true;
  }
}

/** RTT sample from the handshake: TSecr if timestamps are on, otherwise the timed SYN (Karn). */
export function takeSynRttSample(t: Tcb, seg: TcpRepr, nowUs: number): void {
  if (t.tsOn && seg.options.timestamp) {
    const d = seqDiff(tsNow(t, nowUs), seg.options.timestamp.echo);
    if (d >= 0 && d < 0x7fffffff) t.rtt.sample(d * 1000);
  } else if (t.rttSeq !== undefined && seqLe(t.rttSeq, seg.ack)) {
    t.rtt.sample(nowUs - t.rttStartUs);
  }
  t.rttSeq = undefined;
}
