// The echo app: every byte received is sent back, in order; the peer's FIN is
// answered with ours once everything has been echoed. Stateless across connections.
import type { StreamConnection } from '../stack/app.js';
import { Outbox, type OutboxState } from './outbox.js';
import { Counters, type AppSession, type ReplicableApp } from './replicable.js';

export interface EchoOptions {
  /**
   * Bytes received but not yet accepted by the connection. The StreamApp contract has
   * no way to stop the peer sending, so a peer that sends without reading is cut off
   * (RST) past this bound instead of growing memory without limit.
   */
  maxPendingBytes?: number;
}

interface EchoSessionState { out: OutboxState; closed: boolean }

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
      },
      onEnd(): void {
        if (closed) return;
        out.pushEnd();
        out.pump();
      },
      onWritable(): void { if (!closed) out.pump(); },
      onClose(): void { closed = true; },
      snapshot(): unknown { return { out: out.snapshot(), closed } satisfies EchoSessionState; },
    };
  }
}
