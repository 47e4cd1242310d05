// Round-trip time estimation and the retransmission timeout (RFC 6298).
// Only arithmetic on samples handed in by the sender: Karn's rule (which samples
// to take) and the timer itself belong to the connection.

export interface RttOptions {
  /** RTO before the first sample (RFC 6298 §2.1 says 1 s). */
  initialRtoUs?: number;
  /** Lower bound on the RTO (RFC 6298 §2.4 says 1 s; 200 ms as Linux, set it higher to be strict). */
  minRtoUs?: number;
  /** Upper bound on the RTO (RFC 6298 §2.5: at least 60 s). */
  maxRtoUs?: number;
  /** Clock granularity G (RFC 6298 §2). */
  clockGranularityUs?: number;
}

export interface RttSnapshot {
  initialRtoUs: number;
  minRtoUs: number;
  maxRtoUs: number;
  clockGranularityUs: number;
  /** -1 when no sample has been taken yet. Unrounded averages, µs. */
  srttUs: number;
  rttvarUs: number;
  backoffCount: number;
}

/** Doubling stops after this many backoffs (2^40 µs is far beyond any sane max RTO). */
const BACKOFF_COUNT_MAX = 40;
/** A single sample above this is treated as this (bounded state, ~1 hour). */
const SAMPLE_US_MAX = 3_600_000_000;

export class RttEstimator {
  private readonly initialRto: number;
  private readonly minRto: number;
  private readonly maxRto: number;
  private readonly granularity: number;
  /** SRTT, µs; undefined before the first measurement (RFC 6298 §2.1). */
  private srtt: number | undefined = undefined;
  /** RTTVAR, µs. */
  private rttvar = 0;
  /** Number of timer backoffs since the RTO was last computed (RFC 6298 §5.5). */
  private backoffs = 0;

  constructor(opts: RttOptions = {}) {
    this.initialRto = opts.initialRtoUs ?? 1_000_000;
    this.minRto = opts.minRtoUs ?? 200_000;
    this.maxRto = opts.maxRtoUs ?? 60_000_000;
    this.granularity = opts.clockGranularityUs ?? 1_000;
    if (!(this.minRto > 0 && this.minRto <= this.maxRto)) {
      throw new RangeError(`RttEstimator: need 0 < minRtoUs <= maxRtoUs (got ${this.minRto}, ${this.maxRto})`);
    }
  }

  /**
   * Feed one RTT measurement (RFC 6298 §2.2/§2.3). The caller applies Karn's rule
   * (RFC 6298 §3: no samples from retransmitted segments unless timestamps disambiguate).
   * A fresh measurement recomputes the RTO, which also ends any backoff (§5.7 note: the
   * backed-off RTO is kept only until a new sample arrives).
   */
  sample(rttUs: number): void {
    if (!Number.isFinite(rttUs)) return;
    const r = Math.min(Math.max(0, Math.round(rttUs)), SAMPLE_US_MAX);
    if (this.srtt === undefined) {
      // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      // RFC 6298 §2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4,
      // then SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8 (RTTVAR first, with the old SRTT).
      // Kept unrounded (integer rounding here would stall the averages); exposed rounded.
      this.rttvar = this.rttvar * 0.75 + Math.abs(this.srtt - r) * 0.25;
      this.srtt = this.srtt * 0.875 + r * 0.125;
    }
    this.backoffs = 0;
  }

  /** The RTO not counting backoff: RFC 6298 §2.2/§2.3 RTO <- SRTT + max(G, K*RTTVAR), K = 4, clamped (§2.4, §2.5). */
  baseRtoUs(): number {
    const raw = this.srtt === undefined
      ? this.initialRto // §2.1
      : this.srtt + Math.max(this.granularity, 4 * this.rttvar);
    return Math.min(this.maxRto, Math.max(this.minRto, Math.ceil(raw)));
  }

  /** The RTO to arm the timer with, including exponential backoff (RFC 6298 §5.5), capped at maxRtoUs (§2.5). */
  rtoUs(): number {
    return Math.min(this.maxRto, this.baseRtoUs() * 2 ** this.backoffs);
  }

  /** The retransmission timer expired: RFC 6298 §5.5 RTO <- RTO * 2 (bounded by maxRtoUs). */
  backoff(): void {
    if (this.backoffs < BACKOFF_COUNT_MAX) this.backoffs++;
  }

  resetBackoff(): void {
    this.backoffs = 0;
  }

  srttUs(): number | undefined { return this.srtt === undefined ? undefined : Math.round(this.srtt); }
  rttvarUs(): number | undefined { return this.srtt === undefined ? undefined : Math.round(this.rttvar); }
  backoffCount(): number { return this.backoffs; }

  snapshot(): RttSnapshot {
    return {
      initialRtoUs: this.initialRto, minRtoUs: this.minRto, maxRtoUs: this.maxRto,
      clockGranularityUs: this.granularity,
      srttUs: this.srtt ?? -1, rttvarUs: this.rttvar, backoffCount: this.backoffs,
    };
  }

  static restore(s: RttSnapshot): RttEstimator {
    const e = new RttEstimator({
      initialRtoUs: s.initialRtoUs, minRtoUs: s.minRtoUs, maxRtoUs: s.maxRtoUs,
      clockGranularityUs: s.clockGranularityUs,
    });
    e.srtt = s.srttUs < 0 ? undefined : s.srttUs;
    e.rttvar = s.rttvarUs;
    e.backoffs = Math.min(BACKOFF_COUNT_MAX, Math.max(0, s.backoffCount | 0));
    return e;
  }
}
