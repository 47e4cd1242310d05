// Failure detection and the lease that prevents split brain (DESIGN §ST-TCP 5–6).
// Pure time arithmetic: the caller passes heartbeat arrivals and the current time.
// The primary may use the service address only while its lease holds; the backup may
// take over only after the primary's lease has certainly lapsed (lease + margin).

export interface LivenessConfig {
  /** Interval between heartbeats each side sends. */
  heartbeatUs: number;
  /** Consecutive missed heartbeats after which the peer is declared failed. */
  missLimit: number;
  /** How long one heartbeat from the backup lets the primary keep serving. */
  leaseUs: number;
  /** Extra wait on the backup beyond the lease, covering clock-rate skew and delivery delay. */
  marginUs: number;
}

export const defaultLiveness: Readonly<LivenessConfig> = Object.freeze({
  heartbeatUs: 10_000,
  missLimit: 3,
  // One lost heartbeat (or its echo) must not lapse the lease: > 2 intervals minus slack.
  leaseUs: 25_000,
  marginUs: 2_000,
});

export function validateLiveness(c: LivenessConfig): string[] {
  const errs: string[] = [];
  if (!(Number.isInteger(c.heartbeatUs) && c.heartbeatUs > 0)) errs.push('heartbeatUs must be a positive integer');
  if (!(Number.isInteger(c.missLimit) && c.missLimit >= 1)) errs.push('missLimit must be an integer ≥ 1');
  if (!(Number.isInteger(c.leaseUs) && c.leaseUs >= c.heartbeatUs)) errs.push('leaseUs must be ≥ heartbeatUs');
  if (!(Number.isInteger(c.marginUs) && c.marginUs >= 0)) errs.push('marginUs must be a non-negative integer');
  return errs;
}

export type PeerStatus = 'unknown' | 'alive' | 'suspect' | 'failed';

/**
 * Tracks one peer's heartbeats. Declares failure after `missLimit` heartbeat intervals
 * without one. Both the primary (watching its backup) and the backup (watching its
 * primary) use it.
 */
export class PeerMonitor {
  private lastHeardUs: number | undefined;
  private declaredFailed = false;
  /** Not declared failed before this (this box's own stall, see excuseUntil). */
  private excusedUntilUs: number | undefined;

  constructor(private readonly cfg: LivenessConfig) {}

  heard(nowUs: number): void {
    this.lastHeardUs = nowUs;
    this.declaredFailed = false;
    this.excusedUntilUs = undefined;
  }

  /**
   * This box itself did not run for a while (a GC pause, CPU starvation): the peer's
   * heartbeats of that spell may still wait unread in this box's queues, so its silence
   * is not held against it before `untilUs`. Without this a stalled backup whose timer
   * fires late, before its input is read, declares a live primary failed.
   */
  excuseUntil(untilUs: number): void {
    if (this.lastHeardUs === undefined || this.declaredFailed) return;
    if (this.excusedUntilUs === undefined || untilUs > this.excusedUntilUs) this.excusedUntilUs = untilUs;
  }

  /** Time of the last heartbeat, if any. */
  lastHeard(): number | undefined { return this.lastHeardUs; }

  status(nowUs: number): PeerStatus {
    if (this.lastHeardUs === undefined) return 'unknown';
    if (this.declaredFailed) return 'failed';
    const silentUs = nowUs - this.lastHeardUs;
    if (silentUs >= this.cfg.missLimit * this.cfg.heartbeatUs && (this.excusedUntilUs === undefined || nowUs >= this.excusedUntilUs)) return 'failed';
    if (silentUs > this.cfg.heartbeatUs) return 'suspect';
    return 'alive';
  }

  /** When status() turns 'failed' if nothing more is heard (for the driver's deadline). */
  failureDeadline(): number | undefined {
    if (this.lastHeardUs === undefined || this.declaredFailed) return undefined;
    const d = this.lastHeardUs + this.cfg.missLimit * this.cfg.heartbeatUs;
    return this.excusedUntilUs !== undefined && this.excusedUntilUs > d ? this.excusedUntilUs : d;
  }

  /** Latches 'failed' (after takeover, a late heartbeat must not revive the old primary). */
  latchFailed(): void { this.declaredFailed = true; }
}

/**
 * The primary's lease. A heartbeat from the backup that echoes one of the primary's
 * own heartbeats extends the lease to (when the primary sent the echoed heartbeat) +
 * leaseUs. The echo was sent by the backup after that moment, so the lease always
 * ends before the backup's last heartbeat send time + leaseUs: a delayed or replayed
 * datagram cannot stretch it. With a backup configured, the primary must stop transmitting as the
 * service address once the lease lapses (it has been cut off and the backup may take
 * over). Running solo (no backup, or the backup declared failed and the operator's
 * policy says continue alone), it serves without a lease.
 */
export class Lease {
  private expiresUs: number | undefined;
  private solo: boolean;

  constructor(private readonly cfg: LivenessConfig, solo = false) { this.solo = solo; }

  /** `echoedSentUs`: when the primary sent the heartbeat the backup echoed. Never shortens. */
  renew(echoedSentUs: number): void {
    const until = echoedSentUs + this.cfg.leaseUs;
    if (this.expiresUs === undefined || until > this.expiresUs) this.expiresUs = until;
  }

  /** Serve alone from now on: the backup is known dead (fenced) or absent. */
  goSolo(): void { this.solo = true; }
  /** A (new) backup is in sync again: serving depends on its heartbeats once more. */
  requireBackup(nowUs: number): void { this.solo = false; this.renew(nowUs); }

  isSolo(): boolean { return this.solo; }

  holds(nowUs: number): boolean {
    if (this.solo) return true;
    return this.expiresUs !== undefined && nowUs < this.expiresUs;
  }

  expiry(): number | undefined { return this.solo ? undefined : this.expiresUs; }
}

/**
 * The earliest moment the backup may transmit as the service address. The primary's
 * lease ends before (backup's last heartbeat send time + leaseUs) in real time; the
 * margin covers the two hosts' clocks running at slightly different rates. A backup
 * stops sending heartbeats as soon as the primary is suspect, so this bound is
 * usually already past when the failure is declared.
 */
export function takeoverNotBefore(cfg: LivenessConfig, lastBackupHeartbeatSentUs: number): number {
  return lastBackupHeartbeatSentUs + cfg.leaseUs + cfg.marginUs;
}
