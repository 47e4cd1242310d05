// The relay app: each connection's client bytes go, over an upstream connection of its
// own, to an unmodified server (a real redis-server on loopback, say), and that server's
// replies are the connection's output. Under ST-TCP the primary and the backup each run
// it against their own copy of the server (DESIGN §ST-TCP 8, docs/sttcp.md "Relay").
// No sockets here: the upstream is an injected UpstreamConnector (net-upstream.ts).
import { pausable, type CloseReason, type StreamApp, type StreamConnection, type StreamService } from '../../stack/app.js';
import { Outbox } from '../outbox.js';
import { Counters } from '../replicable.js';

/** Why a connection's upstream failed (stable codes for counters, logs and tests). */
export type RelayErrorCode =
  | 'upstream-unreachable'  // the connect was refused or had no route
  | 'upstream-timeout'      // the connect did not complete in time
  | 'upstream-reset'        // the server reset or dropped the connection without a FIN
  | 'upstream-backlog'      // the server stopped reading: client bytes waiting passed the hard bound
  | 'upstream-error';       // any other socket error

export interface RelayError { code: RelayErrorCode; detail: string }

/** What the app hears from one upstream connection (the connector calls these inside the stack's turn). */
export interface UpstreamHandlers {
  onData(data: Uint8Array): void;
  /** The server half-closed (FIN). */
  onEnd(): void;
  /** The upstream failed; nothing follows. */
  onError(e: RelayError): void;
  /** Bytes waiting for the server fell (after pendingBytes() grew past the socket's mark). */
  onDrain(): void;
}

/** One upstream connection, as the app drives it. */
export interface UpstreamLink {
  /** Queues bytes for the server (always accepted; pendingBytes() tells the backlog). */
  write(data: Uint8Array): void;
  /** Bytes queued by write() the server has not taken yet. */
  pendingBytes(): number;
  /** Half-close towards the server (FIN after queued bytes). */
  end(): void;
  /** Closes at once; no handler is called afterwards. */
  destroy(): void;
  /** Stop / resume onData (the server's replies wait in its socket; its window closes). */
  pauseReading(): void;
  resumeReading(): void;
}

/** Opens an upstream connection for one client connection. It never calls a handler before it returns. */
export type UpstreamConnector = (h: UpstreamHandlers) => UpstreamLink;

export interface RelayOptions {
  connector: UpstreamConnector;
  /**
   * Client bytes waiting for the server above which the connection stops reading (its
   * TCP window closes). Default 256 KiB.
   */
  pendingHighBytes?: number;
  /**
   * Hard bound on client bytes waiting for the server: past it (a server that stopped
   * reading while the connection cannot stop the client) the connection is reset. Default 4 MiB.
   */
  pendingMaxBytes?: number;
  /** Replies not yet accepted by the connection above which the upstream stops being read. Default 256 KiB. */
  outHighBytes?: number;
  /** Each upstream failure, for the process's log. */
  onError?: (connectionId: string, e: RelayError) => void;
}

type SessionState = 'open' | 'failed' | 'closed';

export class RelayApp {
  readonly kind = 'relay' as const;
  readonly service: StreamService = (conn) => this.open(conn);
  private readonly stats = new Counters();
  private readonly pendingHigh: number;
  private readonly pendingMax: number;
  private readonly outHigh: number;
  private live = 0;

  constructor(private readonly opts: RelayOptions) {
    this.pendingHigh = opts.pendingHighBytes ?? 256 * 1024;
    this.pendingMax = Math.max(this.pendingHigh, opts.pendingMaxBytes ?? 4 * 1024 * 1024);
    this.outHigh = opts.outHighBytes ?? 256 * 1024;
  }

  /** Event counters: connections, upstream errors by code, bytes each way, pauses. */
  counters(): Readonly<Record<string, number>> { return { ...this.stats.get(), 'connections-live': this.live }; }

  open(conn: StreamConnection): StreamApp {
    this.stats.inc('connections');
    this.live++;
    const stats = this.stats;
    const out = new Outbox(conn);
    const { pendingHigh, pendingMax, outHigh } = this;
    let state: SessionState = 'open';
    let readPaused = false;
    let upstreamPaused = false;
    let serverEnded = false;
    const release = (): void => { this.live--; };

    const fail = (e: RelayError, abort: boolean): void => {
      if (state !== 'open') return;
      state = 'failed';
      stats.inc(e.code);
      this.opts.onError?.(conn.id, e);
      if (readPaused && pausable(conn)) { readPaused = false; conn.resumeReading(); }
      if (abort) { link.destroy(); conn.destroy(); return; }
      // After the server's FIN our FIN is already queued: only the count remains.
      if (serverEnded) { link.destroy(); return; }
      // The replies already received go out, then a FIN: the client sees the server close,
      // as it would if it had been talking to the server itself.
      out.pushEnd();
      out.pump();
    };

    const link = this.opts.connector({
      onData: (data) => {
        if (state !== 'open') return;
        stats.inc('bytes-from-server', data.length);
        out.pushBytes(data);
        out.pump();
        if (!upstreamPaused && out.queuedBytes() > outHigh) { upstreamPaused = true; link.pauseReading(); stats.inc('upstream-read-paused'); }
      },
      onEnd: () => {
        if (state !== 'open' || serverEnded) return;
        serverEnded = true;
        stats.inc('server-closed');
        out.pushEnd();
        out.pump();
      },
      onError: (e) => fail(e, false),
      onDrain: () => {
        if (state === 'open' && readPaused && link.pendingBytes() <= pendingHigh && pausable(conn)) { readPaused = false; conn.resumeReading(); }
      },
    });

    return {
      onData(data: Uint8Array): void {
        if (state !== 'open') { stats.inc('client-bytes-discarded', data.length); return; }
        stats.inc('bytes-to-server', data.length);
        // The stack may reuse its buffer once onData returns; the socket keeps ours.
        link.write(data.slice());
        const pending = link.pendingBytes();
        if (pending > pendingMax) { fail({ code: 'upstream-backlog', detail: `${pending} bytes waiting for the server` }, true); return; }
        if (pending > pendingHigh) {
          // Again on every delivery above the mark: another reader of this connection (the
          // primary's retention) may have resumed it meanwhile.
          if (pausable(conn)) { if (!readPaused) stats.inc('client-read-paused'); readPaused = true; conn.pauseReading(); }
          else stats.inc('backlog-above-mark-unpausable');
        }
      },
      onEnd(): void {
        if (state === 'open') link.end();
      },
      onWritable(): void {
        out.pump();
        if (upstreamPaused && state === 'open' && out.queuedBytes() <= outHigh / 2) { upstreamPaused = false; link.resumeReading(); }
      },
      onClose(reason: CloseReason): void {
        if (state === 'closed') return;
        if (reason !== 'closed') stats.inc(`client-${reason}`);
        state = 'closed';
        link.destroy();
        release();
      },
    };
  }
}
