// State transitions shared by several inputs: reaching ESTABLISHED, entering
// TIME-WAIT, and the final move to CLOSED (sticky: RFC 9293 §3.10 "delete the TCB").
// Which segment or call triggers them is decided in input.ts / handshake.ts / connection.ts.

import { RttEstimator } from './rtt.js';
import type { TcpCloseReason } from './state.js';
import type { Tcb } from './tcb.js';

/** RFC 6298 §5.7: the RTO after a retransmitted SYN, when no RTT sample exists. */
export const SYN_FALLBACK_RTO_US = 3_000_000;

export function becomeEstablished(t: Tcb): void {
  t.state = 'ESTABLISHED';
  t.synNeeded = false;
  t.consecutiveRtos = 0;
  // RFC 1122 §4.2.3.6: the idle period starts now (for a passive open, the handshake's ACK
  // may be the last segment the peer ever sends).
  if (t.cfg.keepaliveIdleUs !== undefined) t.keepaliveDeadlineUs = t.lastRecvUs + t.cfg.keepaliveIdleUs;
  const rtt = t.rtt.snapshot();
  if (t.synRetransmitted && rtt.srttUs < 0 && rtt.initialRtoUs < SYN_FALLBACK_RTO_US) {
    // RFC 6298 §5.7: the SYN's timer expired and nothing was measured: start data at RTO = 3 s.
    t.rtt = RttEstimator.restore({ ...rtt, initialRtoUs: Math.min(SYN_FALLBACK_RTO_US, rtt.maxRtoUs), backoffCount: 0 });
  } else {
    t.rtt.resetBackoff();
  }
  t.emit({ type: 'established' });
}

/** RFC 9293 §3.10.7.4: TIME-WAIT lasts 2*MSL, restarted by a retransmitted FIN. */
export function enterTimeWait(t: Tcb, nowUs: number): void {
  t.state = 'TIME-WAIT';
  t.timeWaitDeadlineUs = nowUs + t.cfg.timeWaitUs;
  stopAllButTimeWait(t);
}

function stopAllButTimeWait(t: Tcb): void {
  t.rtxDeadlineUs = undefined;
  t.persistDeadlineUs = undefined;
  t.keepaliveDeadlineUs = undefined;
  t.probePending = false;
  t.keepalivePending = false;
  t.rtxHeadPending = false;
}

/** Final transition. Keeps already-queued control segments (an abort's RST) for pollTransmit. */
export function becomeClosed(t: Tcb, reason: TcpCloseReason): void {
  if (t.state === 'CLOSED') return;
  t.state = 'CLOSED';
  t.closeReason = reason;
  stopAllButTimeWait(t);
  t.timeWaitDeadlineUs = undefined;
  t.delackDeadlineUs = undefined;
  t.ackNow = false;
  t.synNeeded = false;
  t.wantWritable = false;
  if (reason !== 'closed') {
    // A reset/timeout/abort discards what can no longer be delivered (RFC 9293 §3.10.7.4 "flush queues").
    t.sendBuffer.ackTo(t.sendBuffer.endSeq());
    t.reassembly.clear();
  }
  t.emit({ type: 'closed', reason });
}
