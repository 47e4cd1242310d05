// CUBIC congestion control (RFC 9438): cubic window growth in congestion avoidance, the
// Reno-friendly region, multiplicative decrease by beta_cubic = 0.7 and fast convergence.
// Slow start, recovery bookkeeping and loss detection are shared with NewReno / the sender.
import type { CongestionControl, CongestionFactory, CongestionParams, CongestionState } from './congestion-control.js';
import {
  CWND_MAX_BYTES, SSTHRESH_INITIAL_BYTES, clampWindow, initialWindowBytes, isCwndLimited, validateParams,
} from './newreno.js';

/** RFC 9438 §5: C = 0.4 (segments / s^3). */
export const CUBIC_C = 0.4;
/** RFC 9438 §4.6: beta_cubic = 0.7. */
export const BETA_CUBIC = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta). */
export const ALPHA_CUBIC = (3 * (1 - BETA_CUBIC)) / (1 + BETA_CUBIC);
const ABC_LIMIT_SEGMENTS = 2;

export interface CubicOptions {
  /** RFC 9438 §4.7 fast convergence (default on). */
  fastConvergence?: boolean;
}

export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  private readonly mss: number;
  private readonly iw: number;
  private readonly fastConvergence: boolean;
  /** cwnd, bytes (fractional during congestion avoidance; window() floors it). */
  private cwnd: number;
  private ssthreshB = SSTHRESH_INITIAL_BYTES;
  /** W_max, segments: the window just before the last reduction (RFC 9438 §4.2), 0 = none yet. */
  private wMax = 0;
  /** cwnd_prior, segments: cwnd before the last reduction (RFC 9438 §4.3 alpha switch). */
  private cwndPrior = 0;
  /** t_epoch, µs: start of the current congestion-avoidance stage; -1 = not started. */
  private epochUs = -1;
  /** cwnd_epoch, segments (RFC 9438 §4.2). */
  private cwndEpoch = 0;
  /** K, seconds (RFC 9438 §4.2 eq. 2). */
  private k = 0;
  /** W_est, segments: the Reno-friendly estimate (RFC 9438 §4.3). */
  private wEst = 0;

  constructor(p: CongestionParams, opts: CubicOptions = {}) {
    validateParams(p);
    this.mss = p.mss;
    this.iw = initialWindowBytes(p);
    this.cwnd = this.iw;
    this.fastConvergence = opts.fastConvergence ?? true;
  }

  onAck(ackedBytes: number, flightBeforeAck: number, nowUs: number, srttUs: number | undefined): void {
    if (!(ackedBytes > 0)) return;
    // RFC 9438 §5.8 / RFC 7661: no growth while the application does not use the window.
    if (!isCwndLimited(flightBeforeAck, this.cwnd)) return;
    if (this.cwnd < this.ssthreshB) {
      // RFC 9438 §4.10: standard slow start (RFC 5681 §3.1, RFC 3465 L = 2).
      this.cwnd = Math.min(CWND_MAX_BYTES, this.cwnd + Math.min(ackedBytes, ABC_LIMIT_SEGMENTS * this.mss));
      return;
    }
    const segs = this.cwnd / this.mss;
    if (this.epochUs < 0) {
      // Start of a congestion-avoidance stage (RFC 9438 §4.2).
      this.epochUs = nowUs;
      this.cwndEpoch = segs;
      this.wEst = segs;
      if (this.wMax <= segs) {
        // No previous maximum above us (e.g. leaving slow start): plateau starts here.
        this.wMax = segs;
        this.k = 0;
      } else {
        // RFC 9438 §4.2 eq. 2: K = cubic_root((W_max - cwnd_epoch) / C).
        this.k = Math.cbrt((this.wMax - this.cwndEpoch) / CUBIC_C);
      }
    }
    const ackedSegs = ackedBytes / this.mss;
    // RFC 9438 §4.3: W_est += alpha * segments_acked / cwnd; alpha becomes 1 once W_est >= cwnd_prior.
    const alpha = this.wEst >= this.cwndPrior ? 1 : ALPHA_CUBIC;
    this.wEst += (alpha * ackedSegs) / segs;
    const tSec = Math.max(0, nowUs - this.epochUs) / 1e6;
    const rttSec = (srttUs ?? 0) / 1e6;
    const wCubicNow = this.wCubic(tSec);
    let next: number;
    if (wCubicNow < this.wEst) {
      // RFC 9438 §4.3 Reno-friendly region: cwnd = W_est.
      next = Math.max(segs, this.wEst);
    } else {
      // RFC 9438 §4.4/§4.5: target = W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd];
      // cwnd += (target - cwnd) / cwnd per acknowledged segment.
      const target = Math.min(1.5 * segs, Math.max(segs, this.wCubic(tSec + rttSec)));
      next = segs + ((target - segs) / segs) * ackedSegs;
    }
    this.cwnd = Math.min(CWND_MAX_BYTES, next * this.mss);
  }

  /** RFC 9438 §4.2 eq. 1: W_cubic(t) = C * (t - K)^3 + W_max, segments. */
  private wCubic(tSec: number): number {
    const d = tSec - this.k;
    return CUBIC_C * d * d * d + this.wMax;
  }

  /** RFC 9438 §4.6 multiplicative decrease and §4.7 fast convergence. */
  private reduce(flightSize: number): void {
    const segs = this.cwnd / this.mss;
    // §4.7: a loss before reaching the previous W_max means a competing flow: release more.
    this.wMax = this.fastConvergence && segs < this.wMax ? (segs * (1 + BETA_CUBIC)) / 2 : segs;
    this.cwndPrior = segs;
    // §4.6: ssthresh = flight_size * beta_cubic, at least 2 SMSS.
    this.ssthreshB = Math.min(CWND_MAX_BYTES, Math.max(Math.floor(flightSize * BETA_CUBIC), 2 * this.mss));
    this.epochUs = -1; // the next congestion-avoidance ACK starts a new epoch
  }

  onCongestionEvent(flightSize: number, _nowUs: number): void {
    this.reduce(flightSize);
    this.cwnd = this.ssthreshB; // §4.6: cwnd = ssthresh (recovery paced by the sender's pipe, RFC 6675 §5)
  }

  /** As NewReno (RFC 6582 §3.2 step 5 with pipe-based recovery): hold cwnd at ssthresh. */
  onPartialAck(_ackedBytes: number): void {
    this.cwnd = this.ssthreshB;
  }

  /** RFC 6582 §3.2 step 6 option 1 (RFC 9438 §4.6 leaves recovery to the standard). */
  onRecoveryExit(flightSize: number): void {
    this.cwnd = Math.min(this.ssthreshB, Math.max(flightSize, this.mss) + this.mss);
  }

  /** RFC 9438 §4.8: on timeout, reduce ssthresh with beta_cubic, cwnd = 1 SMSS (RFC 5681 §3.1). */
  onRto(flightSize: number): void {
    this.reduce(flightSize);
    this.cwnd = this.mss;
  }

  /** RFC 5681 §4.1 restart window; the cubic epoch restarts so idle time does not count as growth time. */
  onIdleRestart(): void {
    this.cwnd = Math.min(this.iw, this.cwnd);
    this.epochUs = -1;
  }

  window(): number { return Math.max(this.mss, Math.floor(this.cwnd)); }
  ssthresh(): number { return this.ssthreshB; }

  snapshot(): CongestionState {
    return {
      cwnd: this.cwnd, ssthresh: this.ssthreshB,
      extra: {
        wMax: this.wMax, cwndPrior: this.cwndPrior, epochUs: this.epochUs,
        cwndEpoch: this.cwndEpoch, k: this.k, wEst: this.wEst,
      },
    };
  }

  restore(s: CongestionState): void {
    // cwnd is fractional in CUBIC's congestion avoidance: keep it exact across a snapshot.
    this.cwnd = Number.isFinite(s.cwnd) ? Math.min(CWND_MAX_BYTES, Math.max(this.mss, s.cwnd)) : CWND_MAX_BYTES;
    this.ssthreshB = clampWindow(s.ssthresh, 2 * this.mss);
    const num = (key: string, dflt: number): number => {
      const v = s.extra[key];
      return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
    };
    this.wMax = Math.max(0, num('wMax', 0));
    this.cwndPrior = Math.max(0, num('cwndPrior', 0));
    this.epochUs = num('epochUs', -1);
    this.cwndEpoch = Math.max(0, num('cwndEpoch', 0));
    this.k = Math.max(0, num('k', 0));
    this.wEst = Math.max(0, num('wEst', 0));
  }
}

export const cubic: CongestionFactory = (p) => new Cubic(p);
