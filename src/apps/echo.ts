// The echo app: every byte received is sent back, in order; the peer's FIN is
// answered with ours once everything has been echoed. Stateless across connections.
// A peer that sends faster than it reads back is slowed by TCP: past a high mark of
// bytes waiting to go out the app stops reading until half of them are gone.
import type { StreamConnection } from '../stack/app.js';
import { Outbox, type OutboxState } from './outbox.js';
import { ReadGate } from './read-gate.js';
import { Counters, type AppSession, type ReplicableApp } from './replicable.js';

export interface EchoOptions {
  /**
   * Bytes received but not yet accepted by the connection, at most. Reading pauses at an
   * eighth of this; on a connection that cannot pause, a peer that sends past it
   * without reading is cut off (RST) instead of growing memory without limit.
   */
  maxPendingBytes?: number;
}

interface EchoSessionState { out: OutboxState; closed: boolean; readPaused?: boolean }

export class EchoApp implements ReplicableApp {
  readonly kind = 'echo' as const;
  readonly service = (conn: StreamConnection): AppSession => this.open(conn);
  private readonly maxPendingBytes: number;
  private readonly stats = new Counters();

  constructor(opts: EchoOptions = {}) { this.maxPendingBytes = opts.maxPendingBytes ?? 4 * 1024 * 1024; }

  open(conn: StreamConnection): AppSession {
    this.stats.inc('connections');
    return this.session(conn, undefined);
  }

  resume(conn: StreamConnection, state: unknown): AppSession { return this.session(conn, state as EchoSessionState); }

  snapshot(): unknown { return {}; }
  restore(): void { /* no shared state */ }
  counters(): Readonly<Record<string, number>> { return this.stats.get(); }

  private session(conn: StreamConnection, from: EchoSessionState | undefined): AppSession {
    const out = new Outbox(conn);
    let closed = from?.closed ?? false;
    if (from !== undefined) out.restoreFrom(from.out);
    const stats = this.stats;
    const max = this.maxPendingBytes;
    const high = Math.max(1, Math.floor(max / 8));
    const gate = new ReadGate(conn, stats);
    if (from?.readPaused === true) gate.set(true);
    return {
      onData(data: Uint8Array): void {
        if (closed) return;
        if (out.queuedBytes() + data.length > max) {
          stats.inc('aborted-pending-limit');
          closed = true;
          conn.destroy();
          return;
        }
        out.pushBytes(data.slice());
        out.pump();
        if (out.queuedBytes() > high) gate.set(true);
      },
      onEnd(): void {
        if (closed) return;
        out.pushEnd();
        out.pump();
      },
      onWritable(): void {
        if (closed) return;
        out.pump();
        if (out.queuedBytes() <= high / 2) gate.set(false);
      },
      onClose(): void { closed = true; },
      snapshot(): unknown { return { out: out.snapshot(), closed, readPaused: gate.isPaused() } satisfies EchoSessionState; },
    };
  }
}
