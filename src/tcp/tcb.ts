// The transmission control block (RFC 9293 §3.3.1): every variable of one connection.
// Scalars live in TcbVars (copied verbatim into a snapshot); the bounded buffers and
// the RTT/congestion/SACK modules hang off the Tcb. No protocol logic here.

import type { TcpRepr } from '../wire/tcp.js';
import type { CongestionControl, CongestionState } from './congestion/congestion-control.js';
import type { TcpConfig } from './config.js';
import type { FourTuple } from './four-tuple.js';
import { Reassembly } from './reassembly.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import type { TcpCloseReason, TcpEvent, TcpStateName, TcpStats } from './state.js';
import { zeroStats } from './state.js';

/** Every scalar of the connection. Names follow RFC 9293 where the RFC names the variable. */
export interface TcbVars {
  state: TcpStateName;
  /** Set once the connection reached CLOSED; sticky. */
  closeReason: TcpCloseReason | undefined;
  /** Opened by accept() (a SYN from the peer) rather than connect(). */
  passiveOpen: boolean;

  // --- send sequence space ---
  iss: number;          // initial send sequence number
  sndUna: number;       // oldest unacknowledged sequence number
  sndNxt: number;       // next sequence number to send (rewound to sndUna after an RTO: go-back-N)
  sndMax: number;       // highest sequence number sent + 1
  sndWnd: number;       // peer's receive window, bytes (already scaled)
  sndWl1: number;       // segment sequence number used for the last window update
  sndWl2: number;       // segment acknowledgment number used for the last window update
  maxSndWnd: number;    // largest window the peer ever offered (RFC 1122 SWS, RFC 5961 §5)
  sndWndShift: number;  // shift applied to the peer's window field (RFC 7323 §2.3)
  sndMss: number;       // min(peer's MSS option or 536, our mss)
  segMax: number;       // payload bytes per full-sized segment (sndMss minus fixed options)
  synNeeded: boolean;   // a SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) is due
  synRetransmitted: boolean;
  finRequested: boolean; // close() called: FIN goes after the queued data
  finSeq: number;       // sequence number of our FIN (valid when finRequested)
  finSent: boolean;

  // --- receive sequence space ---
  irs: number;          // initial receive sequence number
  rcvNxt: number;       // next sequence number expected
  rcvAdv: number;       // right edge of the window we advertised (never moves left)
  rcvWndShift: number;  // our window scale shift
  rcvMss: number;       // largest segment payload seen from the peer (full-sized estimate)
  rcvQueueBytes: number; // in-order bytes waiting for read()
  finReceived: boolean; // peer's FIN processed (rcvNxt covers it)
  peerFinSeq: number | undefined; // FIN seen beyond a hole, processed once the hole fills

  // --- negotiated options ---
  wsOn: boolean;
  tsOn: boolean;
  sackOn: boolean;
  tsOffset: number;     // added to the ms clock to form TSval (RFC 7323 §5.4)
  tsRecent: number;     // TS.Recent (RFC 7323 §4.3)
  tsRecentAgeUs: number; // when TS.Recent was last set (PAWS 24-day rule, §5.5)
  lastAckSent: number;  // Last.ACK.sent
  ackLimit: number | undefined; // ST-TCP sync mode: never acknowledge past this sequence number
  closeWhenUngated: boolean; // LAST-ACK finished while the ACK gate held bytes back: close once they are acknowledged

  // --- ACK generation (RFC 1122 §4.2.3.2) ---
  ackNow: boolean;
  delackDeadlineUs: number | undefined;
  unackedFullSegments: number;

  // --- RTT measurement without timestamps (Karn) ---
  rttSeq: number | undefined;  // the timed segment ends here
  rttStartUs: number;

  // --- retransmission / persist ---
  rtxDeadlineUs: number | undefined;
  persistDeadlineUs: number | undefined;
  persistBackoff: number;
  probesUnanswered: number;
  probePending: boolean;       // send a zero-window probe
  forceSend: boolean;          // persist timer expired with a small non-zero window: override SWS
  consecutiveRtos: number;
  lastSendUs: number;          // last time new data was sent (RFC 5681 §4.1 idle restart)
  sndSml: number;              // end of the last sub-MSS segment sent (Nagle, Minshall's variant)

  // --- loss recovery (RFC 5681 / 6582 / 6675) ---
  dupAcks: number;
  inRecovery: boolean;
  recoverEnd: number;          // RFC 6582 "recover" + 1 / RFC 6675 RecoveryPoint + 1
  highRxt: number;             // end of the highest retransmitted range in this recovery
  rtxHeadPending: boolean;     // retransmit the segment at sndUna now
  /**
   * RFC 3522 (Eifel detection) after an RTO with timestamps on: the TSval the first
   * retransmission carries and the congestion state before the timeout. An ACK echoing an
   * older TSval was for the original transmission: the timeout was spurious and is undone.
   */
  rtoUndo: { retransmitTs: number; cc: CongestionState } | undefined;

  // --- keepalive (RFC 1122 §4.2.3.6) ---
  lastRecvUs: number;
  keepaliveDeadlineUs: number | undefined;
  keepalivesUnanswered: number;
  keepalivePending: boolean;

  // --- TIME-WAIT ---
  timeWaitDeadlineUs: number | undefined;

  // --- rate limits ---
  challengeWindowStartUs: number;
  challengeCount: number;
  lastInvalidAckUs: number | undefined;

  // --- application notifications ---
  readablePending: boolean;
  wantWritable: boolean;
  closedEventSent: boolean;
}

/** Type-checked list of every TcbVars key: adding a field without listing it is a compile error. */
export const TCB_VAR_KEYS: Record<keyof TcbVars, true> = {
  state: true, closeReason: true, passiveOpen: true,
  iss: true, sndUna: true, sndNxt: true, sndMax: true, sndWnd: true, sndWl1: true, sndWl2: true,
  maxSndWnd: true, sndWndShift: true, sndMss: true, segMax: true, synNeeded: true, synRetransmitted: true,
  finRequested: true, finSeq: true, finSent: true,
  irs: true, rcvNxt: true, rcvAdv: true, rcvWndShift: true, rcvMss: true, rcvQueueBytes: true, finReceived: true, peerFinSeq: true,
  wsOn: true, tsOn: true, sackOn: true, tsOffset: true, tsRecent: true, tsRecentAgeUs: true, lastAckSent: true, ackLimit: true, closeWhenUngated: true,
  ackNow: true, delackDeadlineUs: true, unackedFullSegments: true,
  rttSeq: true, rttStartUs: true,
  rtxDeadlineUs: true, persistDeadlineUs: true, persistBackoff: true, probesUnanswered: true, probePending: true,
  forceSend: true, consecutiveRtos: true, lastSendUs: true, sndSml: true,
  dupAcks: true, inRecovery: true, recoverEnd: true, highRxt: true, rtxHeadPending: true, rtoUndo: true,
  lastRecvUs: true, keepaliveDeadlineUs: true, keepalivesUnanswered: true, keepalivePending: true,
  timeWaitDeadlineUs: true,
  challengeWindowStartUs: true, challengeCount: true, lastInvalidAckUs: true,
  readablePending: true, wantWritable: true, closedEventSent: true,
};

/** Largest number of queued control segments (RSTs, challenge ACKs); more are dropped. */
export const CTL_QUEUE_MAX = 8;
/** Largest number of undelivered events; 'readable'/'writable' coalesce, so this is never reached in practice. */
export const EVENT_QUEUE_MAX = 16;

// Declaration merging: the class gets every TcbVars field; the constructor assigns them all.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Tcb extends TcbVars {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Tcb {
  readonly cfg: TcpConfig;
  readonly tuple: FourTuple;
  sendBuffer: SendBuffer;
  reassembly: Reassembly;
  rtt: RttEstimator;
  cc: CongestionControl;
  scoreboard: SackScoreboard;
  /** In-order received bytes not yet read; total is rcvQueueBytes. */
  rcvQueue: Uint8Array[] = [];
  /** RSTs and challenge ACKs waiting for pollTransmit, oldest first. */
  ctlQueue: TcpRepr[] = [];
  events: TcpEvent[] = [];
  stats: TcpStats = zeroStats();

  constructor(cfg: TcpConfig, tuple: FourTuple, vars: TcbVars) {
    this.cfg = cfg;
    this.tuple = { ...tuple };
    Object.assign(this, vars);
    this.sendBuffer = new SendBuffer(cfg.sndBufBytes);
    this.sendBuffer.reset((vars.iss + 1) >>> 0);
    this.reassembly = new Reassembly(cfg.rcvBufBytes, cfg.maxOutOfOrderSegments);
    this.rtt = new RttEstimator({
      initialRtoUs: cfg.initialRtoUs, minRtoUs: cfg.minRtoUs, maxRtoUs: cfg.maxRtoUs, clockGranularityUs: 1_000,
    });
    this.cc = cfg.congestion({ mss: vars.segMax, initialWindowSegments: cfg.initialWindowSegments });
    this.scoreboard = new SackScoreboard();
  }

  vars(): TcbVars {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(TCB_VAR_KEYS)) out[k] = (this as unknown as Record<string, unknown>)[k];
    return out as unknown as TcbVars;
  }

  /** Queue an application event; 'readable' and 'writable' coalesce until polled. */
  emit(ev: TcpEvent): void {
    if (ev.type === 'readable') {
      if (this.readablePending) return;
      this.readablePending = true;
    }
    if (ev.type === 'writable' && this.events.some((e) => e.type === 'writable')) return;
    if (this.events.length >= EVENT_QUEUE_MAX) return;
    this.events.push(ev);
  }

  /** Queue a control segment (bounded; excess is dropped: the peer retransmits). */
  queueCtl(seg: TcpRepr): void {
    if (this.ctlQueue.length < CTL_QUEUE_MAX) this.ctlQueue.push(seg);
  }
}

/** Initial scalars for a fresh connection; handshake.ts overrides what it knows. */
export function initialVars(cfg: TcpConfig, iss: number, nowUs: number): TcbVars {
  const sndMss = Math.min(536, cfg.mss);
  return {
    state: 'CLOSED', closeReason: undefined, passiveOpen: false,
    iss, sndUna: iss, sndNxt: iss, sndMax: iss, sndWnd: 0, sndWl1: 0, sndWl2: iss, maxSndWnd: 0,
    sndWndShift: 0, sndMss, segMax: sndMss, synNeeded: false, synRetransmitted: false,
    finRequested: false, finSeq: 0, finSent: false,
    irs: 0, rcvNxt: 0, rcvAdv: 0, rcvWndShift: 0, rcvMss: Math.min(cfg.mss, 536), rcvQueueBytes: 0, finReceived: false, peerFinSeq: undefined,
    wsOn: false, tsOn: false, sackOn: false, tsOffset: iss, tsRecent: 0, tsRecentAgeUs: nowUs, lastAckSent: 0, ackLimit: undefined, closeWhenUngated: false,
    ackNow: false, delackDeadlineUs: undefined, unackedFullSegments: 0,
    rttSeq: undefined, rttStartUs: 0,
    rtxDeadlineUs: undefined, persistDeadlineUs: undefined, persistBackoff: 0, probesUnanswered: 0,
    probePending: false, forceSend: false, consecutiveRtos: 0, lastSendUs: nowUs, sndSml: iss,
    dupAcks: 0, inRecovery: false, recoverEnd: iss, highRxt: iss, rtxHeadPending: false, rtoUndo: undefined,
    lastRecvUs: nowUs, keepaliveDeadlineUs: undefined, keepalivesUnanswered: 0, keepalivePending: false,
    timeWaitDeadlineUs: undefined,
    challengeWindowStartUs: nowUs, challengeCount: 0, lastInvalidAckUs: undefined,
    readablePending: false, wantWritable: false, closedEventSent: false,
  };
}
