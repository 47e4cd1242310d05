// TcpConnection: the public, sans-IO face of one TCP connection (RFC 9293). Inputs are
// handleSegment/handleTimeout, commands send/close/abort/read, outputs pollTransmit/
// pollEvent/pollDeadline. The protocol itself is split by concern: handshake.ts, input.ts,
// receiver.ts, sender.ts, timers.ts, output.ts, snapshot.ts.
//
// Driver order after every handle*/command call: drain pollTransmit() until undefined,
// drain pollEvent() until undefined, then schedule handleTimeout(pollDeadline()).
// Not supported (documented): urgent data (URG is parsed, the pointer ignored, bytes
// delivered in line), ECN (ECE/CWR ignored, never negotiated), TCP Fast Open, D-SACK.
// No FIN-WAIT-2 timeout (the application decides); a new SYN
// for a tuple in TIME-WAIT is the host's decision (here it gets a challenge ACK).

import type { TcpRepr } from '../wire/tcp.js';
import type { TcpConfig } from './config.js';
import { normalizeConfig } from './config.js';
import type { FourTuple } from './four-tuple.js';
import { emitSyn, openActive, openPassive } from './handshake.js';
import { handleSegment } from './input.js';
import { becomeClosed } from './lifecycle.js';
import { ackField, ackGated, buildSegment } from './output.js';
import { readBytes } from './receiver.js';
import { adoptPeerAck, nextSegment } from './sender.js';
import { seqAdd, seqGt } from './seq.js';
import type { TcpSnapshot } from './snapshot.js';
import { snapshotOf, tcbFromSnapshot } from './snapshot.js';
import type { TcpCloseReason, TcpEvent, TcpStateName, TcpStats } from './state.js';
import { canSend, isSynchronized } from './state.js';
import type { Tcb } from './tcb.js';
import { tcpFlags } from '../wire/tcp.js';
import { armPersist, fireTimers, nextDeadline } from './timers.js';

export type { TcpConfig } from './config.js';
export { defaultTcpConfig } from './config.js';
export type { FourTuple } from './four-tuple.js';
export type { TcpSnapshot, TcpConfigData } from './snapshot.js';
export type { TcpCloseReason, TcpEvent, TcpStateName, TcpStats } from './state.js';

/** Sequence-space view for diagnostics, ST-TCP and tests (read-only copies). */
export interface TcpSequenceInfo {
  iss: number;
  irs: number;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd: number;
  rcvNxt: number;
  rcvWnd: number;
  cwnd: number;
  ssthresh: number;
  srttUs: number | undefined;
  rtoUs: number;
  inRecovery: boolean;
  tsOn: boolean;
  sackOn: boolean;
  /** Window scaling negotiated (RFC 7323 §2.2: both SYNs carried the option). */
  wsOn: boolean;
  sndWndShift: number;
  rcvWndShift: number;
  sndMss: number;
}

/**
 * Sequence number for a segment without text: SND.NXT in RFC terms, but the highest sequence
 * sent (not the go-back-N pointer after an RTO: a peer that already holds those bytes would
 * find an older number unacceptable and ignore our ACK), kept inside the peer's window as
 * Linux's tcp_acceptable_seq() does.
 */
function ackSeq(t: Tcb): number {
  const wndEnd = seqAdd(t.sndUna, t.sndWnd);
  return seqGt(t.sndMax, wndEnd) && t.sndWnd > 0 ? wndEnd : t.sndMax;
}

export class TcpConnection {
  private readonly t: Tcb;

  private constructor(t: Tcb) {
    this.t = t;
  }

  /** Active open (RFC 9293 §3.10.1): the SYN is the first thing pollTransmit returns. */
  static connect(cfg: Partial<TcpConfig> | TcpConfig, tuple: FourTuple, isn: number, nowUs: number): TcpConnection {
    return new TcpConnection(openActive(normalizeConfig(cfg), tuple, isn, nowUs));
  }

  /** Passive open from a received SYN; the SYN-ACK is the first thing pollTransmit returns. */
  static accept(cfg: Partial<TcpConfig> | TcpConfig, tuple: FourTuple, syn: TcpRepr, isn: number, nowUs: number): TcpConnection {
    return new TcpConnection(openPassive(normalizeConfig(cfg), tuple, syn, isn, nowUs));
  }

  /** A connection continuing exactly where the snapshot left it. */
  static restore(s: TcpSnapshot, cfg?: Partial<TcpConfig>): TcpConnection {
    return new TcpConnection(tcbFromSnapshot(s, cfg));
  }

  get state(): TcpStateName { return this.t.state; }
  get tuple(): FourTuple { return { ...this.t.tuple }; }
  /** Why the connection closed; undefined while it is open. Sticky once set. */
  get closeReason(): TcpCloseReason | undefined { return this.t.closeReason; }

  handleSegment(seg: TcpRepr, nowUs: number): void {
    handleSegment(this.t, seg, nowUs);
  }

  handleTimeout(nowUs: number): void {
    fireTimers(this.t, nowUs);
  }

  /** The next segment to send (ports filled in; the host adds IP), or undefined. */
  pollTransmit(nowUs: number): TcpRepr | undefined {
    const t = this.t;
    const ctl = t.ctlQueue.shift();
    if (ctl !== undefined) return ctl;
    if (t.state === 'CLOSED' || t.state === 'LISTEN') return undefined;
    if (t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED') {
      t.ackNow = false;
      return t.synNeeded ? emitSyn(t, nowUs) : undefined;
    }
    const seg = nextSegment(t, nowUs);
    if (seg !== undefined) return seg;
    if (t.probePending || t.keepalivePending) {
      // Zero-window probe (RFC 9293 §3.8.6.1) and keepalive (RFC 1122 §4.2.3.6) are both an
      // already-acknowledged sequence number, SND.UNA - 1, which forces the peer to ACK.
      t.probePending = false;
      t.keepalivePending = false;
      const probe = buildSegment(t, nowUs, { seq: seqAdd(t.sndUna, -1), flags: { ack: true } });
      armPersist(t, nowUs);
      return probe;
    }
    armPersist(t, nowUs);
    if (t.ackNow) {
      // While the ACK gate holds, a pure ACK repeating the last one would reach the peer
      // as a duplicate ACK and trigger a spurious fast retransmit: send it when the gate moves.
      if (ackGated(t) && ackField(t) === t.lastAckSent) { t.ackNow = false; return undefined; }
      const ack = buildSegment(t, nowUs, { seq: ackSeq(t), flags: { ack: true } });
      // LAST-ACK completed while gated: this ACK covers everything received; now close.
      if (t.closeWhenUngated && !ackGated(t)) becomeClosed(t, 'closed');
      return ack;
    }
    return undefined;
  }

  pollDeadline(): number | undefined {
    return nextDeadline(this.t);
  }

  /** Events in order. 'closed' is reported once; closeReason stays readable afterwards. */
  pollEvent(): TcpEvent | undefined {
    const e = this.t.events.shift();
    if (e?.type === 'readable') this.t.readablePending = false;
    return e;
  }

  /** Queue bytes; returns how many fit in the bounded send buffer (0 after close/abort). */
  send(data: Uint8Array): number {
    const t = this.t;
    if (!canSend(t.state) || t.finRequested) return 0;
    const n = t.sendBuffer.append(data);
    if (n < data.length) t.wantWritable = true;
    return n;
  }

  sendSpace(): number {
    const t = this.t;
    if (!canSend(t.state) || t.finRequested) return 0;
    return t.sendBuffer.space();
  }

  /** Consume in-order received bytes (this opens the receive window). */
  read(maxBytes: number = Number.MAX_SAFE_INTEGER): Uint8Array {
    return readBytes(this.t, maxBytes);
  }

  readableBytes(): number {
    return this.t.rcvQueueBytes;
  }

  /** Half-close (RFC 9293 §3.10.4): FIN after everything queued. Reading continues. */
  close(): void {
    const t = this.t;
    if (t.finRequested) return;
    switch (t.state) {
      case 'SYN-SENT':
        becomeClosed(t, 'closed');
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        t.finRequested = true;
        t.finSeq = t.sendBuffer.endSeq();
        if (t.state === 'ESTABLISHED') t.state = 'FIN-WAIT-1';
        else if (t.state === 'CLOSE-WAIT') t.state = 'LAST-ACK';
        return;
      default:
        return;
    }
  }

  /** Abort (RFC 9293 §3.10.5): RST to the peer where it has a TCB, discard everything, CLOSED 'aborted'. */
  abort(): void {
    const t = this.t;
    if (t.state === 'CLOSED') return;
    const sendRst = t.state === 'SYN-RECEIVED' || (isSynchronized(t.state) && t.state !== 'TIME-WAIT'
      && t.state !== 'CLOSING' && t.state !== 'LAST-ACK');
    if (sendRst) {
      // <SEQ=SND.NXT><CTL=RST> (as the highest sequence sent); no timestamp (RFC 7323 §5.2 recommends none on RST).
      t.stats.segmentsOut++;
      t.queueCtl({
        srcPort: t.tuple.localPort, dstPort: t.tuple.remotePort, seq: t.sndMax, ack: t.rcvNxt,
        flags: tcpFlags({ rst: true, ack: true }), window: 0, urgentPointer: 0, options: {}, payload: new Uint8Array(0),
      });
    }
    becomeClosed(t, 'aborted');
  }

  snapshot(): TcpSnapshot {
    return snapshotOf(this.t);
  }

  /**
   * The peer acknowledged `ack`, beyond anything this connection sent: output an earlier
   * holder of the connection sent (sender.ts adoptPeerAck). Returns how many bytes the
   * peer holds beyond the buffered output, or undefined when nothing was changed.
   */
  adoptPeerAck(ack: number): number | undefined {
    return adoptPeerAck(this.t, ack >>> 0);
  }

  /**
   * Queues `n` (at most 4) pure ACKs of what has been received, to go before anything else.
   * A peer holding data we lack reads the repeats as duplicate ACKs and retransmits its
   * first unacknowledged segment at once (RFC 5681 §3.2) instead of waiting out its
   * retransmission timeout; a peer with nothing outstanding ignores them.
   */
  repeatAck(n: number, nowUs: number): void {
    const t = this.t;
    if (!isSynchronized(t.state)) return;
    for (let i = 0; i < Math.min(n, 4); i++) t.ctlQueue.push(buildSegment(t, nowUs, { seq: ackSeq(t), flags: { ack: true } }));
  }

  /**
   * ST-TCP sync mode: acknowledge received bytes only up to `seq` (undefined lifts the
   * limit). Bytes beyond it are still received and delivered; only the ACK waits. Raising
   * the limit past what was acknowledged sends an ACK at once.
   */
  setAckLimit(seq: number | undefined): void {
    const t = this.t;
    const before = ackField(t);
    t.ackLimit = seq === undefined ? undefined : seq >>> 0;
    if (ackField(t) !== before && isSynchronized(t.state)) t.ackNow = true;
  }

  stats(): TcpStats & { cwnd: number; ssthresh: number; srttUs: number | undefined; rtoUs: number } {
    const t = this.t;
    return { ...t.stats, cwnd: t.cc.window(), ssthresh: t.cc.ssthresh(), srttUs: t.rtt.srttUs(), rtoUs: t.rtt.rtoUs() };
  }

  /** Sequence numbers and negotiated parameters (read-only copy). */
  info(): TcpSequenceInfo {
    const t = this.t;
    return {
      iss: t.iss, irs: t.irs, sndUna: t.sndUna, sndNxt: t.sndNxt, sndMax: t.sndMax, sndWnd: t.sndWnd,
      rcvNxt: t.rcvNxt, rcvWnd: Math.max(0, (t.rcvAdv - t.rcvNxt) | 0), cwnd: t.cc.window(), ssthresh: t.cc.ssthresh(),
      srttUs: t.rtt.srttUs(), rtoUs: t.rtt.rtoUs(), inRecovery: t.inRecovery, tsOn: t.tsOn, sackOn: t.sackOn, wsOn: t.wsOn,
      sndWndShift: t.sndWndShift, rcvWndShift: t.rcvWndShift, sndMss: t.sndMss,
    };
  }
}

