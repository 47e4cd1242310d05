// Deterministic payloads for simulated transfers and their running SHA-256, so a
// test can send megabytes without keeping them and still compare every byte.
// Bytes come from a seeded xorshift stream; nothing here touches the network.
import { createHash, type Hash } from 'node:crypto';

/** A reproducible byte stream of a fixed length, produced in chunks. */
export class PayloadSource {
  private state: number;
  private produced = 0;
  private word = 0;
  private wordBytesLeft = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(seed: number, readonly totalBytes: number) {
    this.state = (seed >>> 0) || 0x9e3779b9;
  }

  remaining(): number {
    return this.totalBytes - this.produced;
  }

  /** The next min(maxBytes, remaining) bytes; also folded into sha256(). The stream does not depend on how it is chunked. */
  next(maxBytes: number): Uint8Array {
    const n = Math.min(maxBytes, this.remaining());
    const out = new Uint8Array(n);
    let x = this.state;
    let word = this.word;
    let left = this.wordBytesLeft;
    for (let i = 0; i < n; i++) {
      if (left === 0) {
        // xorshift32
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        word = x;
        left = 4;
      }
      out[i] = word & 0xff;
      word >>>= 8;
      left--;
    }
    this.state = x;
    this.word = word;
    this.wordBytesLeft = left;
    this.produced += n;
    this.hash.update(out);
    return out;
  }

  /** Hex SHA-256 of everything produced so far. */
  sha256(): string {
    return this.hash.copy().digest('hex');
  }
}

/** Counts and hashes received bytes; optionally keeps them (small transfers). */
export class PayloadSink {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly kept: Uint8Array[] | undefined;

  constructor(keepUpToBytes = 0) {
    this.kept = keepUpToBytes > 0 ? [] : undefined;
    this.keepLimit = keepUpToBytes;
  }

  private readonly keepLimit: number;

  add(data: Uint8Array): void {
    this.bytes += data.length;
    this.hash.update(data);
    if (this.kept && this.bytes <= this.keepLimit) this.kept.push(data.slice());
  }

  sha256(): string {
    return this.hash.copy().digest('hex');
  }

  /** The kept bytes (only when all received bytes fit the keep limit). */
  keptBytes(): Uint8Array | undefined {
    if (!this.kept || this.bytes > this.keepLimit) return undefined;
    return Buffer.concat(this.kept);
  }
}
