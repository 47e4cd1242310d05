// What a simulation run leaves behind for checking: named counters (per link
// direction, fault rule, node, box) and a running SHA-256 over every delivered
// frame, so two runs of one seed can be compared by a single hex string.
import { createHash, type Hash } from 'node:crypto';

export class Trace {
  private readonly counters = new Map<string, number>();
  private readonly hash: Hash = createHash('sha256');
  private readonly header = new DataView(new ArrayBuffer(20));
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
    const h = this.header;
    h.setUint32(0, Math.floor(timeUs / 0x1_0000_0000));
    h.setUint32(4, timeUs >>> 0);
    h.setUint32(8, nodeIndex);
    h.setUint32(12, ifIndex);
    h.setUint32(16, frame.length);
    this.hash.update(new Uint8Array(h.buffer));
    this.hash.update(frame);
    this.delivered++;
  }

  /** Frames folded into the hash so far. */
  deliveredFrames(): number {
    return this.delivered;
  }

  /** Hex digest of every delivery so far (the run can continue afterwards). */
  hashHex(): string {
    return this.hash.copy().digest('hex');
  }
}
