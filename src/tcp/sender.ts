// The sending half: ACK processing (RFC 9293 §3.10.7.4 fifth step), RTT samples (RFC 6298,
// RFC 7323 §4), duplicate ACKs, fast retransmit and NewReno/SACK loss recovery (RFC 5681,
// RFC 6582, RFC 6675), and the choice of the next data segment (Nagle, sender SWS avoidance).
// Timer expiry handling is in timers.ts; header construction in output.ts.

import type { SackBlock, TcpRepr } from '../wire/tcp.js';
import { ackGated, buildSegment, sackOptionBytes, tsNow } from './output.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMin } from './seq.js';
import type { Tcb } from './tcb.js';

/** RFC 5681 §3.2: fast retransmit after this many duplicate ACKs. */
export const DUP_THRESH = 3;

/** Bytes (and SYN/FIN) sent and not yet acknowledged by the highest transmission. */
export function flightSize(t: Tcb): number {
  return seqDiff(t.sndMax, t.sndUna);
}

/** States in which the connection may still transmit data or its FIN. */
function transmitting(t: Tcb): boolean {
  const s = t.state;
  return s === 'ESTABLISHED' || s === 'CLOSE-WAIT' || s === 'FIN-WAIT-1' || s === 'CLOSING' || s === 'LAST-ACK';
}

/**
 * Fifth step, after the ACK passed the RFC 5961 §5.2 acceptability check
 * (SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.MAX).
 */
export function processAck(t: Tcb, seg: TcpRepr, nowUs: number): void {
  const ack = seg.ack >>> 0;
  const segWnd = seg.window << t.sndWndShift >>> 0; // RFC 7323 §2.3: scale every non-SYN window
  const windowUnchanged = segWnd === t.sndWnd;
  const flightBefore = flightSize(t);
  t.probesUnanswered = 0; // the peer is alive: zero-window probes were answered

  // RFC 6675 §5 Update(): fold SACK information into the scoreboard.
  let newlySacked = 0;
  const una = seqGt(ack, t.sndUna) ? ack : t.sndUna;
  if (t.sackOn) {
    const blocks: SackBlock[] = seg.options.sack ?? [];
    newlySacked = t.scoreboard.update(una, blocks, t.sndMax);
  }

  if (seqGt(ack, t.sndUna)) {
    const acked = seqDiff(ack, t.sndUna);
    const synPart = t.sndUna === t.iss ? 1 : 0;
    const finPart = t.finSent && seqGt(ack, t.finSeq) ? 1 : 0;
    const dataAcked = Math.max(0, acked - synPart - finPart);
    takeRttSample(t, seg, ack, nowUs);
    t.sendBuffer.ackTo(seqMin(ack, t.sendBuffer.endSeq()));
    t.sndUna = ack;
    if (t.sackOn && t.scoreboard.isSacked(ack)) {
      // RFC 2018 §8 reneging: the cumulative ACK stops at data the receiver had SACKed, so it
      // discarded it. Forget the scoreboard, or go-back-N would skip that data forever.
      t.scoreboard.clear();
      t.stats.sackReneging++;
    }
    if (t.rtoUndo !== undefined) spuriousTimeoutCheck(t, seg, ack);
    if (seqLt(t.sndNxt, ack)) t.sndNxt = ack; // an ACK for data sent before an RTO rewound sndNxt
    if (seqLt(t.highRxt, ack)) t.highRxt = ack;
    t.consecutiveRtos = 0;
    t.rtt.resetBackoff();
    if (t.inRecovery) {
      if (seqGe(ack, t.recoverEnd)) {
        // RFC 6582 §3.2 step 6 / RFC 6675 §5: a full ACK ends recovery.
        t.inRecovery = false;
        t.dupAcks = 0;
        t.cc.onRecoveryExit(flightSize(t));
      } else {
        // Partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole at once. With SACK,
        // NextSeg() finds the holes; without it, the segment at the new SND.UNA is the hole.
        t.cc.onPartialAck(dataAcked);
        if (!t.sackOn) {
          t.rtxHeadPending = true;
          const segs = Math.ceil(acked / t.segMax);
          t.dupAcks = Math.max(0, t.dupAcks - Math.max(0, segs - 1));
        }
      }
    } else {
      t.dupAcks = 0;
      t.cc.onAck(dataAcked, flightBefore, nowUs, t.rtt.srttUs());
      // A cumulative ACK whose SACK blocks show DupThresh segments delivered above the new
      // SND.UNA has told of a loss as surely as three duplicates would (RFC 6675 IsLost;
      // RFC 8985 detects losses on every ACK, as Linux does). Without this check the hole
      // waited for the retransmission timeout whenever no duplicate ACK followed — as
      // after an ST-TCP takeover, whose first ACK moves SND.UNA and SACKs what the backup
      // holds beyond a segment its tap missed.
      if (t.sackOn && newlySacked > 0 && flightSize(t) > 0 && seqGe(ack, t.recoverEnd)
        && t.scoreboard.isLost(t.sndUna, t.segMax, DUP_THRESH)) enterRecovery(t, nowUs);
    }
    // RFC 6298 §5.2 / §5.3: stop the timer when all is acknowledged, else restart it.
    t.rtxDeadlineUs = t.sndUna === t.sndMax ? undefined : nowUs + t.rtt.rtoUs();
    if (t.wantWritable && t.sendBuffer.space() > 0) {
      t.wantWritable = false;
      t.emit({ type: 'writable' });
    }
  } else if (ack === t.sndUna && flightSize(t) > 0) {
    // RFC 5681 §2 duplicate ACK: no data, no SYN/FIN, same window, data outstanding.
    // RFC 6675 §2/§5: with SACK, an ACK that SACKs new data counts instead.
    const classic = seg.payload.length === 0 && !seg.flags.syn && !seg.flags.fin && windowUnchanged;
    const isDup = t.sackOn ? newlySacked > 0 || (classic && t.scoreboard.sackedBytes() === 0) : classic;
    if (isDup) {
      t.dupAcks++;
      t.stats.dupAcksIn++;
      if (!t.inRecovery && seqGe(ack, t.recoverEnd)) {
        const lost = t.sackOn && t.scoreboard.isLost(t.sndUna, t.segMax, DUP_THRESH);
        if (t.dupAcks >= DUP_THRESH || lost) enterRecovery(t, nowUs);
      }
    }
  }

  // RFC 9293 §3.10.7.4: update the send window when the segment is newer (SND.WL1/WL2 rule).
  if (seqLe(t.sndUna, ack) && (seqLt(t.sndWl1, seg.seq) || (t.sndWl1 === seg.seq && seqLe(t.sndWl2, ack)))) {
    const wasZero = t.sndWnd === 0;
    t.sndWnd = segWnd;
    t.sndWl1 = seg.seq;
    t.sndWl2 = ack;
    if (segWnd > t.maxSndWnd) t.maxSndWnd = segWnd;
    if (segWnd > 0 && (wasZero || t.persistDeadlineUs !== undefined)) {
      t.persistDeadlineUs = undefined;
      t.persistBackoff = 0;
    }
  }
}

/**
 * The peer acknowledges sequence space beyond SND.MAX that an earlier holder of this
 * connection sent: an ST-TCP backup took the connection over with an older view of the
 * client's ACKs than the client has (its tap lost them), and its replica has not produced
 * that output yet. Everything up to `ack` then counts as sent and acknowledged: buffered
 * data below it is dropped, and the count of bytes the peer holds beyond the buffered data
 * is returned (the application's next output that long is already with the peer; the
 * caller skips it). From here our segments carry sequence numbers the peer accepts — left
 * behind, even our ACKs fail its acceptability test (RFC 9293 §3.10.7.4) and the peer never
 * learns that its retransmitted input arrived. Undefined (nothing changed) when `ack` is not
 * beyond SND.MAX, the connection is not established, or its FIN is queued.
 */
export function adoptPeerAck(t: Tcb, ack: number): number | undefined {
  if (t.state !== 'ESTABLISHED' && t.state !== 'CLOSE-WAIT') return undefined;
  if (t.finRequested || !seqGt(ack, t.sndMax)) return undefined;
  const end = t.sendBuffer.endSeq();
  let beyond = 0;
  if (seqLe(ack, end)) {
    t.sendBuffer.ackTo(ack);
  } else {
    t.sendBuffer.ackTo(end);
    beyond = seqDiff(ack, end);
    t.sendBuffer.reset(ack);
  }
  t.sndUna = ack;
  t.sndNxt = ack;
  t.sndMax = ack;
  t.highRxt = ack;
  t.recoverEnd = ack;
  t.inRecovery = false;
  t.dupAcks = 0;
  t.rtxHeadPending = false;
  t.scoreboard.clear();
  t.rttSeq = undefined;
  t.rtoUndo = undefined;
  t.rtxDeadlineUs = undefined;
  t.consecutiveRtos = 0;
  t.rtt.resetBackoff();
  t.ackNow = true;
  if (t.wantWritable && t.sendBuffer.space() > 0) {
    t.wantWritable = false;
    t.emit({ type: 'writable' });
  }
  return beyond;
}

/**
 * Eifel detection (RFC 3522) on the first ACK that advances SND.UNA after a timeout: an
 * echoed TSval older than the first retransmission's means the original segment reached
 * the peer and only its ACK was late (a stalled path or host, not a loss). The response
 * (RFC 4015 §3, without its RTO adaptation) restores the congestion state from before the
 * timeout and stops the go-back-N: what was sent up to SND.MAX is not sent again.
 */
function spuriousTimeoutCheck(t: Tcb, seg: TcpRepr, ack: number): void {
  const u = t.rtoUndo!;
  t.rtoUndo = undefined;
  const ts = seg.options.timestamp;
  if (ts === undefined || !seqLt(ts.echo, u.retransmitTs)) return;
  t.cc.restore(u.cc);
  t.sndNxt = t.sndMax;
  t.recoverEnd = ack;
  t.stats.spuriousRtos++;
}

/** RFC 5681 §3.2 step 2 / RFC 6582 §3.2 step 2 / RFC 6675 §5 step 4. */
function enterRecovery(t: Tcb, nowUs: number): void {
  t.inRecovery = true;
  t.recoverEnd = t.sndMax;
  t.highRxt = t.sndUna;
  t.cc.onCongestionEvent(flightSize(t), nowUs);
  t.rtxHeadPending = true;
  t.rttSeq = undefined;
  t.stats.fastRetransmits++;
  if (t.sackOn) t.stats.sackRecoveries++;
}

/** RFC 7323 §4.1 (TSecr of an ACK for new data) or a timed segment (RFC 6298 §3, Karn). */
function takeRttSample(t: Tcb, seg: TcpRepr, ack: number, nowUs: number): void {
  if (t.rttSeq !== undefined && seqGe(ack, t.rttSeq)) {
    t.rtt.sample(nowUs - t.rttStartUs);
    t.rttSeq = undefined;
    return;
  }
  if (t.tsOn && seg.options.timestamp) {
    const d = seqDiff(tsNow(t, nowUs), seg.options.timestamp.echo);
    if (d >= 0 && d * 1000 <= t.cfg.maxRtoUs) t.rtt.sample(d * 1000);
  }
}

/** RFC 6298 §5.4–5.6 plus RFC 5681 §3.1: the retransmission timer fired with data outstanding. */
export function retransmitTimeout(t: Tcb, nowUs: number): void {
  // RFC 3522 §3.2: remember the TSval of the first retransmission (sent from here on, so
  // at least this clock's) and the congestion state before the first of consecutive
  // timeouts, for the undo when the original turns out to have arrived.
  if (t.tsOn && t.rtoUndo === undefined) t.rtoUndo = { retransmitTs: tsNow(t, nowUs), cc: t.cc.snapshot() };
  t.cc.onRto(flightSize(t));
  // RFC 6582 §3.2 step 4 / RFC 6675 §5.1: no fast recovery until everything sent so far is ACKed.
  t.inRecovery = false;
  t.dupAcks = 0;
  t.recoverEnd = t.sndMax;
  t.highRxt = t.sndUna;
  t.rtxHeadPending = false;
  t.sndNxt = t.sndUna; // go-back-N from the oldest unacknowledged byte, skipping SACKed ranges
  t.rttSeq = undefined; // Karn: nothing sent from here on is timed until new data goes out
  t.rtxDeadlineUs = nowUs + t.rtt.rtoUs();
}

/** Retransmit [seq, seq+maxLen) — data from the send buffer, plus the FIN if it falls inside. */
function retransmitRange(t: Tcb, nowUs: number, seq: number, maxLen: number): TcpRepr {
  const dataEnd = t.sendBuffer.endSeq();
  const room = Math.max(1, Math.min(maxLen, t.segMax - sackOptionBytes(t)));
  const len = Math.max(0, Math.min(room, seqDiff(dataEnd, seq)));
  const fin = t.finSent && seqAdd(seq, len) === t.finSeq && len < maxLen;
  const payload = len > 0 ? t.sendBuffer.slice(seq, len) : undefined;
  const end = seqAdd(seq, len + (fin ? 1 : 0));
  if (t.inRecovery && seqLt(t.highRxt, end)) t.highRxt = end;
  t.stats.retransmits++;
  t.rttSeq = undefined;
  if (t.rtxDeadlineUs === undefined) t.rtxDeadlineUs = nowUs + t.rtt.rtoUs();
  return buildSegment(t, nowUs, { seq, flags: { ack: true, fin, psh: len > 0 && seqAdd(seq, len) === dataEnd }, payload });
}

/**
 * The next data/FIN segment to transmit, or undefined. Order: a pending head
 * retransmission, then recovery (NextSeg or pipe-limited new data), then go-back-N
 * after an RTO, then new data.
 */
export function nextSegment(t: Tcb, nowUs: number): TcpRepr | undefined {
  if (!transmitting(t)) return undefined;
  if (t.rtxHeadPending) {
    t.rtxHeadPending = false;
    if (seqLt(t.sndUna, t.sndMax)) return retransmitRange(t, nowUs, t.sndUna, Math.min(t.segMax, flightSize(t)));
  }
  const cwnd = t.cc.window();
  if (t.inRecovery) {
    if (t.sackOn) {
      // RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send what NextSeg() picks.
      const pipe = t.scoreboard.pipe(t.sndUna, t.sndMax, t.highRxt, t.segMax, DUP_THRESH);
      if (cwnd - pipe < t.segMax) return undefined;
      const next = t.scoreboard.nextSeg(t.sndUna, t.sndMax, t.highRxt, t.segMax, DUP_THRESH);
      if (next !== undefined && next.kind === 'rule1') return retransmitRange(t, nowUs, next.seq, next.len);
      const fresh = newData(t, nowUs, cwnd - pipe);
      if (fresh !== undefined) return fresh;
      // Rules 3 and 4 resend data not known to be lost, to keep the ACK clock going when
      // nothing new can be sent. While enough is in flight its ACKs keep coming (and with them
      // the SACK blocks that show real losses to rule 1); resending then only duplicates data
      // the peer gets anyway, one segment per ACK for as long as the send buffer has no unsent
      // data (a lab run at 1 % loss sent 68 retransmissions for ~7 losses). So only when the
      // clock is about to stop: fewer than DupThresh segments in the pipe.
      if (next !== undefined && pipe < DUP_THRESH * t.segMax) return retransmitRange(t, nowUs, next.seq, next.len);
      return undefined;
    }
    // NewReno without SACK: each duplicate ACK means one segment left the network.
    const pipe = Math.max(0, flightSize(t) - t.dupAcks * t.segMax);
    return newData(t, nowUs, cwnd - pipe);
  }
  if (seqLt(t.sndNxt, t.sndMax)) {
    // Go-back-N after an RTO (RFC 6298 §5.4), paced by cwnd, not resending SACKed data (RFC 6675 §5.1).
    if (t.sackOn) skipSacked(t);
    if (seqLt(t.sndNxt, t.sndMax)) {
      const inFlight = seqDiff(t.sndNxt, t.sndUna);
      if (inFlight > 0 && inFlight + t.segMax > cwnd) return undefined;
      let maxLen = Math.min(t.segMax, seqDiff(t.sndMax, t.sndNxt));
      if (t.sackOn) {
        for (const b of t.scoreboard.blocks()) {
          if (seqGt(b.left, t.sndNxt)) { maxLen = Math.min(maxLen, seqDiff(b.left, t.sndNxt)); break; }
        }
      }
      const seg = retransmitRange(t, nowUs, t.sndNxt, maxLen);
      t.sndNxt = seqAdd(seg.seq, seg.payload.length + (seg.flags.fin ? 1 : 0));
      return seg;
    }
  }
  // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out
  // (FlightSize may reach cwnd + 2 SMSS), so small windows still collect three dup ACKs.
  const limited = Math.min(t.dupAcks, DUP_THRESH - 1) * t.segMax;
  return newData(t, nowUs, cwnd + limited - flightSize(t));
}

function skipSacked(t: Tcb): void {
  for (const b of t.scoreboard.blocks()) {
    if (seqLe(b.left, t.sndNxt) && seqLt(t.sndNxt, b.right)) t.sndNxt = seqMin(b.right, t.sndMax);
  }
}

/**
 * New data (and our FIN) at SND.NXT = SND.MAX, within min(cwnd room, peer window).
 * Nagle (RFC 1122 §4.2.3.4 / RFC 896) in Minshall's variant, as Linux: hold a partial segment
 * only while an earlier partial segment is unacknowledged — so the small tail of a reply is not
 * stuck behind the peer's delayed ACK of the full segments before it.
 * Sender SWS avoidance (RFC 1122 §4.2.3.4): send a window-limited partial segment only if it
 * is at least half the largest window the peer ever offered, or the persist timer fired.
 */
function newData(t: Tcb, nowUs: number, cwndRoom: number): TcpRepr | undefined {
  const dataEnd = t.sendBuffer.endSeq();
  const unsent = Math.max(0, seqDiff(dataEnd, t.sndNxt));
  const finDue = t.finRequested && !t.finSent && !finHeldByAckGate(t);
  if (unsent === 0 && !finDue) return undefined;
  const flight = flightSize(t);
  if (flight === 0 && nowUs - t.lastSendUs > t.rtt.rtoUs()) {
    t.cc.onIdleRestart(); // RFC 5681 §4.1: restart from the initial window after an idle RTO
    cwndRoom = t.cc.window();
  }
  const wndRoom = seqDiff(seqAdd(t.sndUna, t.sndWnd), t.sndNxt);
  const maxSeg = t.segMax - sackOptionBytes(t);
  const room = Math.max(0, Math.min(cwndRoom, wndRoom));
  let len = Math.min(unsent, maxSeg, room);
  if (t.cfg.tsoMaxBytes !== undefined && len === maxSeg && t.sndMss === t.cfg.mss) {
    // Offload: several full segments in one, cut by the driver at maxSeg. A short piece only
    // at the very end of the queued data, as the driver would otherwise emit one mid-stream.
    const burst = Math.min(unsent, room, Math.floor(t.cfg.tsoMaxBytes / maxSeg) * maxSeg);
    len = burst === unsent ? burst : Math.floor(burst / maxSeg) * maxSeg;
  }
  const carriesAll = len === unsent;
  // FIN needs one sequence number of window (as Linux: the FIN is not sent into a zero window).
  const fin = finDue && carriesAll && wndRoom >= len + 1 && (len > 0 || cwndRoom > 0 || flight === 0);
  let send: boolean;
  if (len === 0) send = fin;
  else if (len >= maxSeg) send = true;
  else if (carriesAll) send = !t.cfg.nagle || flight === 0 || !seqGt(t.sndSml, t.sndUna) || fin || t.forceSend;
  else if (wndRoom <= cwndRoom) send = len >= t.maxSndWnd / 2 || t.forceSend; // window-limited
  else send = flight === 0; // cwnd-limited: wait for ACKs to open it
  if (!send) return undefined;
  const seq = t.sndNxt;
  const payload = len > 0 ? t.sendBuffer.slice(seq, len) : undefined;
  t.sndNxt = seqAdd(seq, len + (fin ? 1 : 0));
  t.sndMax = t.sndNxt;
  if (fin) t.finSent = true;
  if (len > 0 && len < maxSeg) t.sndSml = seqAdd(seq, len);
  t.stats.bytesOut += len;
  t.lastSendUs = nowUs;
  t.forceSend = false;
  t.persistDeadlineUs = undefined;
  if (t.rttSeq === undefined && !t.inRecovery) {
    t.rttSeq = t.sndNxt;
    t.rttStartUs = nowUs;
  }
  // RFC 6298 §5.1: start the timer when sending data and it is not running.
  if (t.rtxDeadlineUs === undefined) t.rtxDeadlineUs = nowUs + t.rtt.rtoUs();
  return buildSegment(t, nowUs, { seq, flags: { ack: true, fin, psh: len > 0 && seqAdd(seq, len) === dataEnd }, payload });
}

/**
 * ST-TCP sync mode (the ACK gate, output.ts ackField): with the peer's FIN received but not
 * yet acknowledgeable, our FIN waits. Sent now it would carry an ACK short of the peer's FIN;
 * the peer's ACK of our FIN would then close us (LAST-ACK → CLOSED) before any segment of
 * ours acknowledged its FIN, and if our later pure ACK is lost, its FIN retransmission meets
 * no connection and is reset. Held, our FIN goes out with the ACK of the peer's FIN, as in
 * any TCP exchange, one control-channel round trip later.
 */
function finHeldByAckGate(t: Tcb): boolean {
  return t.finReceived && ackGated(t);
}

/** Whether queued data or our FIN waits while nothing is in flight (the persist condition). */
export function blockedWithNothingInFlight(t: Tcb): boolean {
  if (!transmitting(t)) return false;
  const pending = seqDiff(t.sendBuffer.endSeq(), t.sndNxt) > 0 || (t.finRequested && !t.finSent && !finHeldByAckGate(t));
  return pending && t.sndMax === t.sndUna && t.rtxDeadlineUs === undefined;
}
