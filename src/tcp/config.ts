// TcpConfig: the knobs of one connection, their defaults and their bounds.
// Only plain settings live here; connection state lives in tcb.ts.

import type { CongestionFactory } from './congestion/congestion-control.js';
import { newReno } from './congestion/newreno.js';

export interface TcpConfig {
  /** Our MSS: the largest segment payload we can receive (advertised in the SYN), bytes. */
  mss: number;
  /** Send buffer capacity (bytes accepted by send() and not yet acknowledged). */
  sndBufBytes: number;
  /** Receive buffer capacity: in-order unread bytes plus the advertised window. */
  rcvBufBytes: number;
  /** Offer RFC 7323 window scaling. */
  windowScale: boolean;
  /** Offer SACK-permitted (RFC 2018) and use RFC 6675 loss recovery when agreed. */
  sack: boolean;
  /** Offer RFC 7323 timestamps (RTTM + PAWS). */
  timestamps: boolean;
  /** Nagle's algorithm (RFC 896, RFC 1122 §4.2.3.4). */
  nagle: boolean;
  /** Delayed-ACK timeout; RFC 1122 §4.2.3.2 bounds it at 500 ms. */
  delayedAckUs: number;
  /** Idle time before the first keepalive probe; undefined = keepalive off (RFC 1122 §4.2.3.6). */
  keepaliveIdleUs?: number;
  /** Interval between unanswered keepalive probes. */
  keepaliveIntervalUs: number;
  /** Unanswered keepalive probes before the connection is closed with 'timeout'. */
  keepaliveProbes: number;
  /** Consecutive retransmission timeouts (or unanswered zero-window probes) before 'timeout'. */
  maxRetransmits: number;
  /** SYN / SYN-ACK retransmissions before 'timeout'. */
  synRetries: number;
  /** TIME-WAIT duration (2*MSL), RFC 9293 §3.6.1. */
  timeWaitUs: number;
  /** RFC 6298 parameters. */
  initialRtoUs: number;
  minRtoUs: number;
  maxRtoUs: number;
  /** Congestion-control algorithm (pluggable). */
  congestion: CongestionFactory;
  /** RFC 6928 initial window override, segments. */
  initialWindowSegments?: number;
  /** Bound on out-of-order segments held for reassembly. */
  maxOutOfOrderSegments: number;
  /** RFC 5961 §7: challenge ACKs per second per connection at most. */
  challengeAckPerSecond: number;
  /**
   * Segmentation offload (TSO/GSO, a driver that segments for us): new data may leave as
   * one segment of up to this many payload bytes, a whole number of full segments, which
   * the driver cuts into full-sized ones. Only while the peer's MSS is at least ours (so
   * the piece size is ours: cfg.mss less the options). Undefined (default): off.
   */
  tsoMaxBytes?: number;
}

export function defaultTcpConfig(): TcpConfig {
  return {
    mss: 1460,
    sndBufBytes: 256 * 1024,
    rcvBufBytes: 256 * 1024,
    windowScale: true,
    sack: true,
    timestamps: true,
    nagle: true,
    delayedAckUs: 40_000,
    keepaliveIntervalUs: 75_000_000,
    keepaliveProbes: 9,
    maxRetransmits: 15,
    synRetries: 6,
    timeWaitUs: 60_000_000,
    initialRtoUs: 1_000_000,
    minRtoUs: 200_000,
    maxRtoUs: 60_000_000,
    congestion: newReno,
    maxOutOfOrderSegments: 256,
    challengeAckPerSecond: 10,
  };
}

/** Fills in defaults and clamps values to the ranges the RFCs allow. Throws on our own misuse. */
export function normalizeConfig(partial: Partial<TcpConfig> | TcpConfig | undefined): TcpConfig {
  const c: TcpConfig = { ...defaultTcpConfig(), ...(partial ?? {}) };
  if (!(c.mss >= 64 && c.mss <= 65495)) throw new RangeError(`tcp config: mss ${c.mss} out of range`);
  if (!(c.sndBufBytes >= 1 && c.rcvBufBytes >= 1)) throw new RangeError('tcp config: buffers must be positive');
  // RFC 7323 §2.3: the largest window is 2^30 with shift 14.
  if (c.rcvBufBytes > 0x3fffc000) throw new RangeError('tcp config: rcvBufBytes above 2^30');
  // RFC 1122 §4.2.3.2: an ACK MUST NOT be delayed more than 0.5 s.
  if (!(c.delayedAckUs >= 0 && c.delayedAckUs <= 500_000)) throw new RangeError('tcp config: delayedAckUs must be 0..500000');
  if (c.tsoMaxBytes !== undefined && !(c.tsoMaxBytes >= c.mss && c.tsoMaxBytes <= 65535 - 120)) throw new RangeError('tcp config: tsoMaxBytes must be mss..65415');
  if (c.maxRetransmits < 1 || c.synRetries < 0 || c.timeWaitUs < 0) throw new RangeError('tcp config: bad retry/timer bound');
  return c;
}
