// What a simulation run leaves behind for checking: named counters (per link
// direction, fault rule, node, box) and a running SHA-256 over every delivered
// frame, so two runs of one seed can be compared by a single hex string.
import { createHash, type Hash } from 'node:crypto';

export class Trace {
  private readonly counters = new Map<string, number>();
  private readonly hash: Hash = createHash('sha256');
  private readonly pending = new Uint8Array(64 * 1024);
  private readonly pendingView = new DataView(this.pending.buffer);
  private pendingLen = 0;
  private delivered = 0;

  /** Adds n to a counter (creating it at 0). */
  count(key: string, n = 1): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + n);
  }

  get(key: string): number {
    return this.counters.get(key) ?? 0;
  }

  /** All counters, keys sorted, as a plain object. */
  counterSnapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.counters.keys()].sort()) out[k] = this.counters.get(k)!;
    return out;
  }

  /** Counters whose key starts with `prefix`, prefix removed, keys sorted. */
  countersUnder(prefix: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.counters.keys()].sort()) {
      if (k.startsWith(prefix)) out[k.slice(prefix.length)] = this.counters.get(k)!;
    }
    return out;
  }

  /** Folds one delivered frame (time, receiving node and interface, bytes) into the hash. */
  recordDelivery(timeUs: number, nodeIndex: number, ifIndex: number, frame: Uint8Array): void {
    // Hashing in 64 KiB batches: one native call per batch, not two per frame. The
    // digest is over the same byte stream however it is chunked.
    if (this.pendingLen + 20 + frame.length > this.pending.length) this.flushPending();
    const h = this.pendingView;
    const o = this.pendingLen;
    h.setUint32(o, Math.floor(timeUs / 0x1_0000_0000));
    h.setUint32(o + 4, timeUs >>> 0);
    h.setUint32(o + 8, nodeIndex);
    h.setUint32(o + 12, ifIndex);
    h.setUint32(o + 16, frame.length);
    this.pendingLen += 20;
    if (frame.length > this.pending.length - this.pendingLen) {
      this.flushPending();
      this.hash.update(frame);
    } else {
      this.pending.set(frame, this.pendingLen);
      this.pendingLen += frame.length;
    }
    this.delivered++;
  }

  private flushPending(): void {
    if (this.pendingLen === 0) return;
    this.hash.update(this.pending.subarray(0, this.pendingLen));
    this.pendingLen = 0;
  }

  /** Frames folded into the hash so far. */
  deliveredFrames(): number {
    return this.delivered;
  }

  /** Hex digest of every delivery so far (the run can continue afterwards). */
  hashHex(): string {
    this.flushPending();
    return this.hash.copy().digest('hex');
  }
}
