// Connection state names, the events a connection reports, its counters, and the
// state-predicate helpers (RFC 9293 §3.3.2). Transitions themselves live where the
// triggering segment or call is handled (handshake.ts, input.ts, connection.ts).

export type TcpStateName =
  | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED' | 'FIN-WAIT-1' | 'FIN-WAIT-2'
  | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT' | 'CLOSED';

export type TcpCloseReason = 'closed' | 'reset' | 'timeout' | 'aborted';

export type TcpEvent =
  | { type: 'established' }
  | { type: 'readable' }
  | { type: 'writable' }
  | { type: 'peer-fin' }
  | { type: 'closed'; reason: TcpCloseReason };

/** Counters; all plain numbers so they ride along in a snapshot. */
export interface TcpStats {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;          // payload bytes delivered in order to the receive queue
  bytesOut: number;         // payload bytes sent for the first time
  retransmits: number;      // segments (data, SYN or FIN) sent again
  rtoExpirations: number;
  spuriousRtos: number;     // timeouts undone by Eifel detection (RFC 3522): the original was only late
  fastRetransmits: number;  // recovery episodes entered on duplicate ACKs / SACK loss
  sackRecoveries: number;
  sackReneging: number;      // cumulative ACKs that stopped at SACKed data (RFC 2018 §8)
  dupAcksIn: number;
  zeroWindowProbes: number;
  keepaliveProbes: number;
  challengeAcks: number;
  challengeAcksSuppressed: number;
  pawsDrops: number;
  unacceptableSegments: number;
  outOfOrderSegments: number;
  outOfOrderDropped: number;
}

export function zeroStats(): TcpStats {
  return {
    segmentsIn: 0, segmentsOut: 0, bytesIn: 0, bytesOut: 0, retransmits: 0, rtoExpirations: 0, spuriousRtos: 0,
    fastRetransmits: 0, sackRecoveries: 0, sackReneging: 0, dupAcksIn: 0, zeroWindowProbes: 0, keepaliveProbes: 0,
    challengeAcks: 0, challengeAcksSuppressed: 0, pawsDrops: 0, unacceptableSegments: 0,
    outOfOrderSegments: 0, outOfOrderDropped: 0,
  };
}

/** States in which both sides' ISNs are known (RFC 9293 §3.10.7.4 "otherwise" branch). */
export function isSynchronized(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2' || s === 'CLOSE-WAIT'
    || s === 'CLOSING' || s === 'LAST-ACK' || s === 'TIME-WAIT';
}

/** States in which the application may still queue data (our FIN not yet requested). */
export function canSend(s: TcpStateName): boolean {
  return s === 'SYN-SENT' || s === 'SYN-RECEIVED' || s === 'ESTABLISHED' || s === 'CLOSE-WAIT';
}

/** States in which segment text from the peer is still accepted (RFC 9293 §3.10.7.4 seventh step). */
export function acceptsText(s: TcpStateName): boolean {
  return s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2';
}
