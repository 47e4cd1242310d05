// The connection's timers as absolute deadlines (integer µs) and what happens when
// each fires: retransmission (RFC 6298), persist / zero-window probe (RFC 9293 §3.8.6.1),
// delayed ACK (RFC 1122 §4.2.3.2), keepalive (RFC 1122 §4.2.3.6), TIME-WAIT (2*MSL).
// Spurious calls before a deadline are no-ops.

import { becomeClosed } from './lifecycle.js';
import { blockedWithNothingInFlight, retransmitTimeout } from './sender.js';
import type { Tcb } from './tcb.js';

/** Persist backoff stops doubling here (the interval is also capped at maxRtoUs). */
const PERSIST_BACKOFF_MAX = 16;

export function nextDeadline(t: Tcb): number | undefined {
  if (t.state === 'CLOSED') return undefined;
  let d: number | undefined;
  for (const x of [t.rtxDeadlineUs, t.persistDeadlineUs, t.delackDeadlineUs, t.keepaliveDeadlineUs, t.timeWaitDeadlineUs]) {
    if (x !== undefined && (d === undefined || x < d)) d = x;
  }
  return d;
}

export function fireTimers(t: Tcb, nowUs: number): void {
  if (t.state === 'CLOSED') return;
  if (t.timeWaitDeadlineUs !== undefined && nowUs >= t.timeWaitDeadlineUs) {
    t.timeWaitDeadlineUs = undefined;
    becomeClosed(t, 'closed'); // RFC 9293 §3.10.8: the 2*MSL timeout deletes the TCB
    return;
  }
  if (t.rtxDeadlineUs !== undefined && nowUs >= t.rtxDeadlineUs) {
    t.rtxDeadlineUs = undefined;
    onRetransmitTimer(t, nowUs);
    if (closed(t)) return;
  }
  if (t.persistDeadlineUs !== undefined && nowUs >= t.persistDeadlineUs) {
    t.persistDeadlineUs = undefined;
    onPersistTimer(t);
    if (closed(t)) return;
  }
  if (t.delackDeadlineUs !== undefined && nowUs >= t.delackDeadlineUs) {
    t.delackDeadlineUs = undefined;
    t.ackNow = true;
  }
  if (t.keepaliveDeadlineUs !== undefined && nowUs >= t.keepaliveDeadlineUs) {
    t.keepaliveDeadlineUs = undefined;
    onKeepaliveTimer(t, nowUs);
  }
}

/** Re-reads the state (a timer handler may have closed the connection). */
function closed(t: Tcb): boolean {
  return t.state === 'CLOSED';
}

function onRetransmitTimer(t: Tcb, nowUs: number): void {
  const handshaking = t.state === 'SYN-SENT' || t.state === 'SYN-RECEIVED';
  if (!handshaking && t.sndUna === t.sndMax) return; // nothing outstanding: stale deadline
  t.stats.rtoExpirations++;
  // The peer shrank its window to zero under data in flight: our retransmissions are window
  // probes now (RFC 9293 §3.8.6.1 MUST-36: no timeout while the peer answers). Only a peer
  // silent for 2 * maxRtoUs counts as gone (Linux does the same in tcp_retransmit_timer).
  const zeroWindowAnswered = !handshaking && t.sndWnd === 0 && nowUs - t.lastRecvUs <= 2 * t.cfg.maxRtoUs;
  if (!zeroWindowAnswered) t.consecutiveRtos++;
  // RFC 9293 §3.8.3 (R2): give up after a bounded number of retransmissions.
  const limit = handshaking ? t.cfg.synRetries : t.cfg.maxRetransmits;
  if (t.consecutiveRtos > limit) {
    becomeClosed(t, 'timeout');
    return;
  }
  t.rtt.backoff(); // RFC 6298 §5.5
  if (handshaking) {
    t.synNeeded = true; // emitSyn re-arms the timer with the backed-off RTO
    return;
  }
  retransmitTimeout(t, nowUs);
}

function onPersistTimer(t: Tcb): void {
  if (!blockedWithNothingInFlight(t)) return;
  if (t.sndWnd === 0) {
    // RFC 9293 §3.8.6.1: probe the zero window; the interval backs off exponentially.
    // A peer that answers keeps the connection open indefinitely (MUST-36); one that does
    // not answer maxRetransmits probes is gone.
    t.probesUnanswered++;
    if (t.probesUnanswered > t.cfg.maxRetransmits) {
      becomeClosed(t, 'timeout');
      return;
    }
    t.probePending = true;
    t.stats.zeroWindowProbes++;
    if (t.persistBackoff < PERSIST_BACKOFF_MAX) t.persistBackoff++;
  } else {
    // RFC 1122 §4.2.3.4: the override timeout — send the small segment the window allows.
    t.forceSend = true;
  }
}

/** Arms the persist timer when data waits with nothing in flight; called after each transmit round. */
export function armPersist(t: Tcb, nowUs: number): void {
  if (!blockedWithNothingInFlight(t)) {
    t.persistDeadlineUs = undefined;
    return;
  }
  if (t.persistDeadlineUs === undefined) {
    const base = t.rtt.baseRtoUs();
    const interval = Math.min(base * 2 ** t.persistBackoff, t.cfg.maxRtoUs);
    t.persistDeadlineUs = nowUs + Math.max(interval, t.cfg.minRtoUs);
  }
}

function onKeepaliveTimer(t: Tcb, nowUs: number): void {
  const idle = t.cfg.keepaliveIdleUs;
  if (idle === undefined || !keepaliveState(t)) return;
  if (t.sndUna !== t.sndMax || seqPending(t)) {
    // Data outstanding: the retransmission timer watches the peer (RFC 1122 §4.2.3.6 "no data").
    t.keepaliveDeadlineUs = nowUs + idle;
    return;
  }
  if (t.keepalivesUnanswered >= t.cfg.keepaliveProbes) {
    becomeClosed(t, 'timeout');
    return;
  }
  t.keepalivesUnanswered++;
  t.keepalivePending = true;
  t.stats.keepaliveProbes++;
  t.keepaliveDeadlineUs = nowUs + t.cfg.keepaliveIntervalUs;
}

/** States in which an idle peer is probed: open, and FIN-WAIT-2 (our FIN acknowledged, theirs
 * outstanding: without probes a half-closed side never notices a dead peer; Linux probes too). */
function keepaliveState(t: Tcb): boolean {
  return t.state === 'ESTABLISHED' || t.state === 'CLOSE-WAIT' || t.state === 'FIN-WAIT-2';
}

function seqPending(t: Tcb): boolean {
  return t.sendBuffer.length() > 0 && t.sendBuffer.endSeq() !== t.sndNxt;
}

/** Any segment from the peer proves it alive: restart the idle period. */
export function noteSegmentReceived(t: Tcb, nowUs: number): void {
  t.lastRecvUs = nowUs;
  t.keepalivesUnanswered = 0;
  if (t.cfg.keepaliveIdleUs !== undefined && keepaliveState(t)) {
    t.keepaliveDeadlineUs = nowUs + t.cfg.keepaliveIdleUs;
  } else {
    t.keepaliveDeadlineUs = undefined;
  }
}
