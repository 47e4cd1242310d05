// The interface between the TCP sender and a congestion-control algorithm
// (RFC 5681 / RFC 6582 NewReno, RFC 9438 CUBIC). The sender owns loss detection
// and recovery bookkeeping; the algorithm only owns cwnd and ssthresh.

export interface CongestionState {
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow-start threshold, bytes. */
  ssthresh: number;
  /** Algorithm-private fields, plain data (part of a connection snapshot). */
  extra: Record<string, number>;
}

export interface CongestionControl {
  readonly name: string;
  /** New data acknowledged outside recovery. `nowUs` and `srttUs` for time-based algorithms. */
  onAck(ackedBytes: number, flightBeforeAck: number, nowUs: number, srttUs: number | undefined): void;
  /** Entering loss recovery (fast retransmit, RFC 6675 loss). Sets ssthresh and cwnd. */
  onCongestionEvent(flightSize: number, nowUs: number): void;
  /** A partial ACK during NewReno recovery (RFC 6582 §3.2 step 3). */
  onPartialAck(ackedBytes: number): void;
  /** Leaving recovery (full ACK). */
  onRecoveryExit(flightSize: number): void;
  /** Retransmission timeout (RFC 5681 §3.1 eq. 4; cwnd = 1 MSS). */
  onRto(flightSize: number): void;
  /** After an idle period longer than the RTO (RFC 5681 §4.1). */
  onIdleRestart(): void;
  /** Current congestion window in bytes. */
  window(): number;
  ssthresh(): number;
  snapshot(): CongestionState;
  restore(s: CongestionState): void;
}

/** What a connection needs to build its congestion controller. */
export interface CongestionParams {
  mss: number;
  /** Initial window per RFC 6928 unless overridden. */
  initialWindowSegments?: number;
}

export type CongestionFactory = (p: CongestionParams) => CongestionControl;
