// The blob app: serves N bytes of the fixed blob pattern (blob-pattern.ts), so a
// client can check what it got with `sha256sum` against blobSha256(N).
// Request format (one per line, pipelining allowed): the decimal byte count, then
// "\n" (a "\r\n" is accepted); the app answers with exactly that many bytes and
// nothing else. When the peer half-closes, the app finishes and closes:
//   echo 1000000 | nc -N 10.0.0.1 9000 | sha256sum
// With `bytesOnConnect` set, the app instead sends that many bytes on connect and
// closes, ignoring input:  nc 10.0.0.1 9000 </dev/null | wc -c
import type { StreamConnection } from '../stack/app.js';
import { Outbox, concatBytes, type OutboxState } from './outbox.js';
import { Counters, type AppSession, type ReplicableApp } from './replicable.js';

export interface BlobOptions {
  /** Stream this many bytes as soon as a connection opens, then close. */
  bytesOnConnect?: number;
  /** Largest N one request may ask for (default 1 TiB). */
  maxRequestBytes?: number;
}

/** Longest request line ("1099511627776\r\n" fits easily). */
const MAX_LINE_BYTES = 32;
/** Requests answered but not yet written; more pipelined requests wait in the input buffer. */
const MAX_QUEUED_REQUESTS = 64;

interface BlobSessionState { out: OutboxState; input: Uint8Array; peerEnded: boolean; closed: boolean }

export class BlobApp implements ReplicableApp {
  readonly kind = 'blob' as const;
  readonly service = (conn: StreamConnection): AppSession => this.open(conn);
  private readonly stats = new Counters();
  private readonly maxRequestBytes: number;

  constructor(private readonly opts: BlobOptions = {}) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 2 ** 40;
  }

  open(conn: StreamConnection): AppSession {
    this.stats.inc('connections');
    const s = this.session(conn, undefined);
    if (this.opts.bytesOnConnect !== undefined) s.start(this.opts.bytesOnConnect);
    return s;
  }

  resume(conn: StreamConnection, state: unknown): AppSession { return this.session(conn, state as BlobSessionState); }
  snapshot(): unknown { return {}; }
  restore(): void { /* no shared state */ }
  counters(): Readonly<Record<string, number>> { return this.stats.get(); }

  private session(conn: StreamConnection, from: BlobSessionState | undefined): AppSession & { start(n: number): void } {
    const out = new Outbox(conn);
    let input: Uint8Array = from?.input.slice() ?? new Uint8Array(0);
    let peerEnded = from?.peerEnded ?? false;
    let closed = from?.closed ?? false;
    if (from !== undefined) out.restoreFrom(from.out);
    const onConnect = this.opts.bytesOnConnect !== undefined;
    const stats = this.stats;
    const maxN = this.maxRequestBytes;

    const fail = (why: string): void => {
      stats.inc(`bad-request-${why}`);
      out.pushBytes(new TextEncoder().encode(`ERR ${why}\n`));
      out.pushEnd();
      closed = true;
      input = new Uint8Array(0);
    };

    const serve = (): void => {
      while (!closed && out.queuedItems() < MAX_QUEUED_REQUESTS) {
        const nl = input.indexOf(0x0a);
        if (nl < 0) {
          if (input.length > MAX_LINE_BYTES) fail('line-too-long');
          break;
        }
        let line = new TextDecoder().decode(input.subarray(0, nl));
        input = input.subarray(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (!/^[0-9]{1,15}$/.test(line)) { fail('not-a-number'); break; }
        const n = Number(line);
        if (n > maxN) { fail('too-large'); break; }
        stats.inc('requests');
        out.pushBlob(0, n);
      }
      if (!closed && peerEnded && input.length === 0) {
        out.pushEnd();
        closed = true;
      } else if (!closed && peerEnded && input.indexOf(0x0a) < 0) {
        fail('incomplete-line');
      }
      out.pump();
    };

    return {
      start(n: number): void {
        out.pushBlob(0, n);
        out.pushEnd();
        closed = true;
        out.pump();
      },
      onData(data: Uint8Array): void {
        if (closed || onConnect) return;
        input = concatBytes(input, data.slice());
        serve();
      },
      onEnd(): void {
        peerEnded = true;
        if (closed) return;
        serve();
      },
      onWritable(): void {
        if (closed) out.pump();
        else serve();
      },
      onClose(): void { closed = true; },
      snapshot(): unknown {
        return { out: out.snapshot(), input: input.slice(), peerEnded, closed } satisfies BlobSessionState;
      },
    };
  }
}
