// The ARP neighbour table of one interface (RFC 826, RFC 1122 §2.3.2.1): resolved
// entries with timeouts, bounded per-destination queues of frames waiting for a
// reply, and bounded request retries. It decides; the host emits the ARP packets.
import type { Counters } from './counters.js';

export interface ArpLimits {
  /** How long an entry is trusted before it is refreshed (RFC 1122 §2.3.2.1 MUST time out). */
  timeoutUs: number;
  /** Interval between requests for one address. */
  retryUs: number;
  /** Requests sent for one address before its queued frames are dropped (RFC 1122: flood limit). */
  maxRetries: number;
  /** Entries kept; the least recently updated is evicted when full. */
  maxEntries: number;
  /** Frames queued per unresolved address; the oldest is dropped when full. */
  maxPendingPerDest: number;
  /** Unresolved addresses with queued frames at once. */
  maxPendingDests: number;
}

export const DEFAULT_ARP_LIMITS: ArpLimits = {
  timeoutUs: 60_000_000, retryUs: 1_000_000, maxRetries: 3, maxEntries: 1024, maxPendingPerDest: 64, maxPendingDests: 256,
};

interface Entry { mac: Uint8Array; expiresUs: number; refreshAtUs: number }
interface Pending { frames: Uint8Array[]; sent: number; nextRetryUs: number }

export class ArpCache {
  private readonly entries = new Map<number, Entry>();
  private readonly pending = new Map<number, Pending>();
  private requests: number[] = [];

  constructor(private readonly limits: ArpLimits, private readonly counters: Counters) {}

  /**
   * The MAC for `ip`, or undefined. An expired entry stays usable for one retry
   * window while a refresh request goes out (so a busy flow does not stall every
   * timeout); after that it is forgotten.
   */
  lookup(ip: number, nowUs: number): Uint8Array | undefined {
    const e = this.entries.get(ip);
    if (e === undefined) return undefined;
    if (nowUs < e.expiresUs) return e.mac;
    if (nowUs < e.expiresUs + this.limits.retryUs * this.limits.maxRetries) {
      if (nowUs >= e.refreshAtUs) {
        e.refreshAtUs = nowUs + this.limits.retryUs;
        this.requests.push(ip);
        this.counters.inc('arp-refresh');
      }
      return e.mac;
    }
    this.entries.delete(ip);
    this.counters.inc('arp-expired');
    return undefined;
  }

  /** Queues a frame (destination MAC still blank) until `ip` resolves; starts resolution if new. */
  enqueue(ip: number, frame: Uint8Array, nowUs: number): void {
    let p = this.pending.get(ip);
    if (p === undefined) {
      if (this.pending.size >= this.limits.maxPendingDests) {
        this.counters.inc('drop-arp-pending-dests-full');
        return;
      }
      p = { frames: [], sent: 1, nextRetryUs: nowUs + this.limits.retryUs };
      this.pending.set(ip, p);
      this.requests.push(ip);
    }
    p.frames.push(frame);
    if (p.frames.length > this.limits.maxPendingPerDest) {
      p.frames.shift();
      this.counters.inc('drop-arp-pending-full');
    }
  }

  isPending(ip: number): boolean {
    return this.pending.has(ip);
  }

  has(ip: number): boolean {
    return this.entries.has(ip);
  }

  /** Records ip → mac (copied) and returns the frames that were waiting for it. */
  learn(ip: number, mac: Uint8Array, nowUs: number): Uint8Array[] {
    const copy = Uint8Array.from(mac.subarray(0, 6));
    this.entries.delete(ip);                       // re-insert: Map order = update order
    if (this.entries.size >= this.limits.maxEntries) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
      this.counters.inc('arp-evicted');
    }
    this.entries.set(ip, { mac: copy, expiresUs: nowUs + this.limits.timeoutUs, refreshAtUs: 0 });
    const p = this.pending.get(ip);
    if (p === undefined) return [];
    this.pending.delete(ip);
    return p.frames;
  }

  /** Retries due requests; drops the queues of addresses that never answered. */
  handleTimeout(nowUs: number): void {
    for (const [ip, p] of this.pending) {
      if (p.nextRetryUs > nowUs) continue;
      if (p.sent >= this.limits.maxRetries) {
        this.pending.delete(ip);
        this.counters.inc('drop-arp-unresolved', p.frames.length);
        continue;
      }
      p.sent++;
      p.nextRetryUs = nowUs + this.limits.retryUs;
      this.requests.push(ip);
    }
  }

  nextDeadline(): number | undefined {
    let d: number | undefined;
    for (const p of this.pending.values()) if (d === undefined || p.nextRetryUs < d) d = p.nextRetryUs;
    return d;
  }

  /** Addresses to send an ARP request for now (drained by the host). */
  takeRequests(): number[] {
    const r = this.requests;
    this.requests = [];
    return r;
  }

  size(): number {
    return this.entries.size;
  }
}
