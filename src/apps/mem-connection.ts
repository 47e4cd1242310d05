// An in-memory StreamConnection for driving an app without a network: a bounded
// send window that tests (or a harness) drain, with end/destroy recorded.
// Used by the apps' tests; no TCP semantics beyond what StreamConnection promises.
import type { StreamApp, StreamConnection, StreamService } from '../stack/app.js';

export class MemConnection implements StreamConnection {
  readonly id: string;
  /** Bytes written and not yet drained by the reader. */
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private received: Uint8Array[] = [];
  ended = false;
  destroyed = false;
  /** A write() accepted less than offered: onWritable() is owed (and only then, as on a Host). */
  private refused = false;
  app: StreamApp | undefined;

  constructor(id = 'mem', private readonly windowBytes = Number.MAX_SAFE_INTEGER) { this.id = id; }

  write(data: Uint8Array): number {
    if (this.ended || this.destroyed) return 0;
    const n = Math.min(data.length, this.writableBytes());
    if (n > 0) { this.chunks.push(data.slice(0, n)); this.buffered += n; }
    if (n < data.length) this.refused = true;
    return n;
  }
  writableBytes(): number { return this.ended || this.destroyed ? 0 : this.windowBytes - this.buffered; }
  end(): void { this.ended = true; }
  destroy(): void { this.destroyed = true; this.chunks = []; this.buffered = 0; }

  /** Opens `service` on this connection. */
  attach(service: StreamService): StreamApp { this.app = service(this); return this.app; }

  /** Reader takes everything buffered; the app hears onWritable if a write was refused. */
  drain(): Uint8Array {
    const owed = this.refused;
    for (const c of this.chunks) this.received.push(c);
    this.chunks = [];
    this.buffered = 0;
    if (owed && !this.destroyed && this.app?.onWritable) { this.refused = false; this.app.onWritable(); }
    return this.output();
  }

  /** Drains until the app stops producing (bounded by `maxRounds`). */
  drainAll(maxRounds = 1_000_000): Uint8Array {
    for (let i = 0; i < maxRounds; i++) {
      const owed = this.refused && this.app?.onWritable !== undefined && !this.destroyed;
      this.drain();
      if (!owed && this.buffered === 0) break;
    }
    return this.output();
  }

  /** Everything the reader has taken so far. */
  output(): Uint8Array {
    let n = 0;
    for (const c of this.received) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.received) { out.set(c, o); o += c.length; }
    this.received = n > 0 ? [out] : [];
    return out;
  }
}

/**
 * Feeds `input` to a fresh session in the given chunks (then FIN if `end`), draining a
 * window of `windowBytes` after every chunk; returns what the peer received.
 */
export function runScript(service: StreamService, input: Uint8Array, cuts: number[], opts: { windowBytes?: number; end?: boolean } = {}): { out: Uint8Array; conn: MemConnection } {
  const conn = new MemConnection('mem', opts.windowBytes);
  const app = conn.attach(service);
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    if (c > prev) app.onData(input.slice(prev, c));
    prev = Math.max(prev, c);
    conn.drain();
  }
  if (opts.end ?? true) app.onEnd();
  conn.drainAll();
  return { out: conn.output(), conn };
}

/**
 * The checks every app's tests run on one scripted input: the output is the same
 * whether the input arrives whole, split at any single byte boundary, or byte by
 * byte, through a small send window; and a session snapshot taken at any boundary
 * and resumed on a fresh app and connection continues the byte stream exactly.
 * Returns the reference output (whole input, unbounded window).
 */
export function checkSplitsAndSnapshots(
  makeApp: () => import('./replicable.js').ReplicableApp,
  input: Uint8Array,
  opts: { windowBytes?: number; end?: boolean; snapshotStride?: number } = {},
): Uint8Array {
  const end = opts.end ?? true;
  const window = opts.windowBytes ?? 7;
  const ref = runScript(makeApp().service, input, [], { end }).out;
  const eq = (a: Uint8Array, b: Uint8Array, what: string): void => {
    if (a.length !== b.length || !a.every((v, i) => v === b[i])) {
      throw new Error(`${what}: output differs (${a.length} vs ${b.length} bytes)\n got: ${preview(a)}\nwant: ${preview(b)}`);
    }
  };
  for (let cut = 0; cut <= input.length; cut++) {
    eq(runScript(makeApp().service, input, [cut], { end, windowBytes: window }).out, ref, `split at ${cut}`);
  }
  const bytewise = Array.from({ length: input.length }, (_, i) => i);
  eq(runScript(makeApp().service, input, bytewise, { end, windowBytes: window }).out, ref, 'byte by byte');
  const stride = opts.snapshotStride ?? 1;
  for (let cut = 0; cut <= input.length; cut += stride) {
    const a = makeApp();
    const c1 = new MemConnection('one', window);
    const s1 = a.open(c1);
    c1.app = s1;
    if (cut > 0) s1.onData(input.slice(0, cut));
    // Take what the window holds, but do not let the app refill it: the rest of its
    // output must be in its own snapshot.
    const snap = structuredClone(s1.snapshot());
    const shared = structuredClone(a.snapshot());
    c1.app = undefined;
    c1.drain();
    const b = makeApp();
    b.restore(shared);
    const c2 = new MemConnection('two', window);
    const s2 = b.resume(c2, snap);
    c2.app = s2;
    s2.onWritable?.();
    c2.drain();
    if (cut < input.length) s2.onData(input.slice(cut));
    c2.drain();
    if (end) s2.onEnd();
    c2.drainAll();
    const first = c1.output();
    const second = c2.output();
    const joined = new Uint8Array(first.length + second.length);
    joined.set(first); joined.set(second, first.length);
    eq(joined, ref, `snapshot at ${cut}`);
  }
  return ref;
}

function preview(b: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(b.subarray(0, 200)));
}
