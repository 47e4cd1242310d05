// NewReno congestion control: RFC 5681 slow start / congestion avoidance, RFC 6582
// recovery window rules, RFC 6928 initial window, RFC 3465 byte counting (L = 2).
// Loss detection (dup ACKs, SACK, RTO) is the sender's; this only owns cwnd and ssthresh.
import type { CongestionControl, CongestionFactory, CongestionParams, CongestionState } from './congestion-control.js';

/** Upper bound on cwnd: the largest window RFC 7323 §2.3 can advertise (2^30 bytes). */
export const CWND_MAX_BYTES = 0x4000_0000;
/** "Arbitrarily high" initial ssthresh (RFC 5681 §3.1), kept a plain finite number for snapshots. */
export const SSTHRESH_INITIAL_BYTES = CWND_MAX_BYTES;
/** RFC 3465 §2.2: the slow-start increase per ACK is capped at L * SMSS, L = 2. */
const ABC_LIMIT_SEGMENTS = 2;

/** RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)), unless the caller fixes the segment count. */
export function initialWindowBytes(p: CongestionParams): number {
  const mss = p.mss;
  if (p.initialWindowSegments !== undefined) return Math.max(1, Math.floor(p.initialWindowSegments)) * mss;
  return Math.min(10 * mss, Math.max(2 * mss, 14_600));
}

/** RFC 5681 §3.1 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS). */
export function halvedSsthresh(flightSize: number, mss: number): number {
  return Math.min(CWND_MAX_BYTES, Math.max(Math.floor(flightSize / 2), 2 * mss));
}

/**
 * Whether the window was actually in use when the ACK arrived. Growing cwnd while the
 * application leaves it mostly unused makes it meaningless (RFC 5681 §4.1 rationale,
 * RFC 7661 §4.1 "pipeACK < cwnd/2" non-validated phase): below half the window, no growth.
 */
export function isCwndLimited(flightBeforeAck: number, cwnd: number): boolean {
  return 2 * flightBeforeAck >= cwnd;
}

export function validateParams(p: CongestionParams): void {
  if (!(Number.isInteger(p.mss) && p.mss > 0 && p.mss <= 65_535)) throw new RangeError(`congestion: bad mss ${p.mss}`);
}

export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  private readonly mss: number;
  private readonly iw: number;
  /** cwnd, bytes (RFC 5681 §2). */
  private cwnd: number;
  /** ssthresh, bytes (RFC 5681 §2). */
  private ssthreshB = SSTHRESH_INITIAL_BYTES;
  /** RFC 3465 §2.1 bytes_acked during congestion avoidance. */
  private bytesAcked = 0;

  constructor(p: CongestionParams) {
    validateParams(p);
    this.mss = p.mss;
    this.iw = initialWindowBytes(p);
    this.cwnd = this.iw;
  }

  onAck(ackedBytes: number, flightBeforeAck: number, _nowUs: number, _srttUs: number | undefined): void {
    if (!(ackedBytes > 0)) return;
    if (!isCwndLimited(flightBeforeAck, this.cwnd)) return;
    if (this.cwnd < this.ssthreshB) {
      // Slow start, RFC 5681 §3.1 with RFC 3465 §2.2: cwnd += min(N, L*SMSS), L = 2.
      this.cwnd += Math.min(ackedBytes, ABC_LIMIT_SEGMENTS * this.mss);
      this.bytesAcked = 0;
    } else {
      // Congestion avoidance, RFC 3465 §2.1 / RFC 5681 §3.1: one SMSS per cwnd of acked bytes.
      this.bytesAcked += ackedBytes;
      if (this.bytesAcked >= this.cwnd) {
        this.bytesAcked -= this.cwnd;
        this.cwnd += this.mss;
      }
    }
    if (this.cwnd > CWND_MAX_BYTES) this.cwnd = CWND_MAX_BYTES;
  }

  /**
   * Fast retransmit / loss detected (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 2, RFC 6675 §5
   * step 4.2): ssthresh = max(FlightSize/2, 2*SMSS) and cwnd = ssthresh. The "+3*SMSS" and
   * per-dup-ACK inflation of RFC 6582 are not applied here: the sender paces recovery with
   * its pipe estimate (RFC 6675 §5, where duplicate ACKs reduce pipe instead of inflating cwnd).
   */
  onCongestionEvent(flightSize: number, _nowUs: number): void {
    this.ssthreshB = halvedSsthresh(flightSize, this.mss);
    this.cwnd = this.ssthreshB;
    this.bytesAcked = 0;
  }

  /**
   * Partial ACK (RFC 6582 §3.2 step 5): deflating an inflated window by the acked amount
   * and adding one SMSS leaves about ssthresh in flight. With pipe-based recovery cwnd was
   * never inflated, so the equivalent is holding cwnd at ssthresh.
   */
  onPartialAck(_ackedBytes: number): void {
    this.cwnd = this.ssthreshB;
  }

  /** Full ACK ends recovery (RFC 6582 §3.2 step 6 option 1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS). */
  onRecoveryExit(flightSize: number): void {
    this.cwnd = Math.min(this.ssthreshB, Math.max(flightSize, this.mss) + this.mss);
    this.bytesAcked = 0;
  }

  /** RTO (RFC 5681 §3.1 eq. (4) and LW = 1 SMSS). */
  onRto(flightSize: number): void {
    this.ssthreshB = halvedSsthresh(flightSize, this.mss);
    this.cwnd = this.mss;
    this.bytesAcked = 0;
  }

  /** RFC 5681 §4.1: after an idle period longer than the RTO, cwnd = min(RW, cwnd), RW = IW (RFC 6928). */
  onIdleRestart(): void {
    this.cwnd = Math.min(this.iw, this.cwnd);
    this.bytesAcked = 0;
  }

  window(): number { return this.cwnd; }
  ssthresh(): number { return this.ssthreshB; }

  snapshot(): CongestionState {
    return { cwnd: this.cwnd, ssthresh: this.ssthreshB, extra: { bytesAcked: this.bytesAcked } };
  }

  restore(s: CongestionState): void {
    this.cwnd = clampWindow(s.cwnd, this.mss);
    this.ssthreshB = clampWindow(s.ssthresh, 2 * this.mss);
    this.bytesAcked = Math.max(0, s.extra['bytesAcked'] ?? 0);
  }
}

/** Keep a restored window value sane (finite, at least `min`, at most CWND_MAX_BYTES). */
export function clampWindow(v: number, min: number): number {
  if (!Number.isFinite(v)) return CWND_MAX_BYTES;
  return Math.min(CWND_MAX_BYTES, Math.max(min, Math.floor(v)));
}

export const newReno: CongestionFactory = (p) => new NewReno(p);
