// Segment arrival in every state but SYN-SENT (RFC 9293 §3.10.7.4), in the RFC's order:
// PAWS (RFC 7323 §5.3), sequence acceptability, RST (RFC 5961 §3), SYN (RFC 5961 §4),
// ACK (RFC 5961 §5 acceptability, then sender.ts), FIN-acked transitions, text and FIN
// (receiver.ts). SYN-SENT is handshake.ts's; challenge-ACK rate limiting lives here.

import type { TcpRepr } from '../wire/tcp.js';
import { synSentInput, takeSynRttSample } from './handshake.js';
import { becomeClosed, becomeEstablished, enterTimeWait } from './lifecycle.js';
import { ackGated, resetFor } from './output.js';
import { processText, segmentAcceptable, segmentLength } from './receiver.js';
import { processAck } from './sender.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt } from './seq.js';
import { acceptsText } from './state.js';
import type { Tcb } from './tcb.js';
import { noteSegmentReceived } from './timers.js';

/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid (the peer's clock may have wrapped). */
export const PAWS_IDLE_US = 24 * 86_400 * 1_000_000;
/** Dup ACKs answering out-of-window pure ACKs are rate limited to one per this interval. */
export const INVALID_ACK_INTERVAL_US = 500_000;

export function handleSegment(t: Tcb, seg: TcpRepr, nowUs: number): void {
  if (t.state === 'CLOSED' || t.state === 'LISTEN') return;
  t.stats.segmentsIn++;
  if (t.state === 'SYN-SENT') {
    synSentInput(t, seg, nowUs);
    noteSegmentReceived(t, nowUs);
    return;
  }
  noteSegmentReceived(t, nowUs);

  if (t.state === 'SYN-RECEIVED' && seg.flags.syn && !seg.flags.rst) {
    if (!seg.flags.ack && seg.seq === t.irs) {
      t.synNeeded = true; // the peer did not get our SYN-ACK: send it again
      return;
    }
    // Simultaneous open: the peer's SYN-ACK acknowledges our SYN; its SYN is the one we
    // already hold. Treat it as the handshake-completing ACK (Linux does the same).
    if (seg.flags.ack && seqAdd(seg.seq, 1) === t.rcvNxt && seg.ack === t.sndMax && seg.payload.length === 0) {
      seg = { ...seg, seq: t.rcvNxt, flags: { ...seg.flags, syn: false } };
    }
  }

  // RFC 7323 §5.3 R1 (PAWS), before the sequence check; RSTs are exempt (§5.2).
  const ts = seg.options.timestamp;
  const tsRecentValid = nowUs - t.tsRecentAgeUs <= PAWS_IDLE_US;
  if (t.tsOn && ts !== undefined && !seg.flags.rst && tsRecentValid && seqLt(ts.value, t.tsRecent)) {
    t.stats.pawsDrops++;
    answerUnacceptable(t, seg, nowUs);
    return;
  }

  // First check: sequence number (RFC 9293 §3.10.7.4).
  if (!segmentAcceptable(t, seg)) {
    t.stats.unacceptableSegments++;
    if (!seg.flags.rst) answerUnacceptable(t, seg, nowUs);
    return;
  }

  // RFC 7323 §4.3 (2): TS.Recent follows the segment that covers Last.ACK.sent.
  if (t.tsOn && ts !== undefined && !seg.flags.rst && seqLe(seg.seq, t.lastAckSent)
      && (!tsRecentValid || seqGe(ts.value, t.tsRecent))) {
    t.tsRecent = ts.value >>> 0;
    t.tsRecentAgeUs = nowUs;
  }

  // Second check: RST (RFC 5961 §3.2).
  if (seg.flags.rst) {
    if (seg.seq === t.rcvNxt) becomeClosed(t, t.state === 'TIME-WAIT' ? 'closed' : 'reset');
    else challengeAck(t, nowUs); // in window but not exact: maybe blind, ask the peer
    return;
  }

  // Fourth check: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK, drop.
  if (seg.flags.syn) {
    challengeAck(t, nowUs);
    return;
  }

  // Fifth check: ACK. Segments without ACK are dropped (RFC 9293 §3.10.7.4).
  if (!seg.flags.ack) return;
  if (t.state === 'SYN-RECEIVED') {
    if (seqGt(seg.ack, t.sndUna) && seqLe(seg.ack, t.sndMax)) {
      takeSynRttSample(t, seg, nowUs);
      t.sndWnd = seg.window << t.sndWndShift >>> 0;
      t.sndWl1 = seg.seq;
      t.sndWl2 = seg.ack;
      if (t.sndWnd > t.maxSndWnd) t.maxSndWnd = t.sndWnd;
      becomeEstablished(t);
      if (t.finRequested) t.state = 'FIN-WAIT-1'; // close() was called during the handshake
    } else {
      t.queueCtl(resetFor(t, seg)); // RFC 9293: unacceptable ACK in SYN-RECEIVED → <SEQ=SEG.ACK><CTL=RST>
      return;
    }
  }
  // RFC 5961 §5.2: acceptable iff SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (highest sent).
  if (seqGt(seg.ack, t.sndMax) || seqLt(seg.ack, seqAdd(t.sndUna, -Math.max(t.maxSndWnd, 1)))) {
    challengeAck(t, nowUs);
    return;
  }
  processAck(t, seg, nowUs);

  const finAcked = t.finSent && seqGt(t.sndUna, t.finSeq);
  switch (t.state) {
    case 'FIN-WAIT-1':
      if (finAcked) {
        t.state = 'FIN-WAIT-2';
        noteSegmentReceived(t, nowUs); // the idle timer now watches for a vanished peer
      }
      break;
    case 'CLOSING':
      if (finAcked) enterTimeWait(t, nowUs);
      return;
    case 'LAST-ACK':
      // With an ACK gate holding back bytes or the FIN we received (ST-TCP sync mode), the
      // peer has not been told they are safe and will retransmit them: stay until the gate
      // lets us acknowledge everything, then close (connection.ts pollTransmit).
      if (finAcked) {
        if (ackGated(t)) t.closeWhenUngated = true;
        else becomeClosed(t, 'closed');
      }
      return;
    case 'TIME-WAIT':
      // Only a retransmitted FIN can arrive: ACK it and restart the 2*MSL timer.
      if (seg.flags.fin) {
        t.ackNow = true;
        enterTimeWait(t, nowUs);
      }
      return;
    default:
      break;
  }

  // Sixth (URG): urgent data is not supported; the pointer is ignored and the bytes are
  // delivered in line, as RFC 6093 recommends for new applications.
  // Seventh and eighth: text and FIN.
  if (acceptsText(t.state)) processText(t, seg, nowUs);
}

/**
 * RFC 9293 §3.10.7.4: an unacceptable segment is answered with an ACK (unless RST).
 * Pure ACKs get at most one answer per INVALID_ACK_INTERVAL_US (ACK-war damping, as Linux).
 */
function answerUnacceptable(t: Tcb, seg: TcpRepr, nowUs: number): void {
  if (t.state === 'SYN-RECEIVED') {
    t.synNeeded = t.synNeeded || seg.flags.syn;
    return;
  }
  if (t.state === 'TIME-WAIT' && seg.flags.fin) enterTimeWait(t, nowUs); // FIN retransmission restarts 2*MSL
  if (segmentLength(seg) === 0) {
    if (t.lastInvalidAckUs !== undefined && nowUs - t.lastInvalidAckUs < INVALID_ACK_INTERVAL_US) return;
    t.lastInvalidAckUs = nowUs;
  }
  t.ackNow = true;
}

/** RFC 5961 §7: challenge ACKs, at most challengeAckPerSecond per connection. */
function challengeAck(t: Tcb, nowUs: number): void {
  if (nowUs - t.challengeWindowStartUs >= 1_000_000) {
    t.challengeWindowStartUs = nowUs;
    t.challengeCount = 0;
  }
  if (t.challengeCount >= t.cfg.challengeAckPerSecond) {
    t.stats.challengeAcksSuppressed++;
    return;
  }
  t.challengeCount++;
  t.stats.challengeAcks++;
  t.ackNow = true;
}
