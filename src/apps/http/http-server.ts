// The HTTP/1.1 static file server app: GET and HEAD over an injected FileStore, with
// keep-alive, pipelining, one byte Range (206/416) and size-bounded request heads.
// Parsing lives in request-head.ts and target.ts; file I/O belongs to the store.
// No Date field: the app has no clock (RFC 9110 §6.6.1 lets a clockless origin omit it).
import type { StreamConnection } from '../../stack/app.js';
import { Outbox, concatBytes, type OutboxState } from '../outbox.js';
import { ReadGate } from '../read-gate.js';
import { Counters, type AppSession, type ReplicableApp } from '../replicable.js';
import type { FileStore } from './file-store.js';
import { DEFAULT_HEAD_LIMITS, connectionHas, parseRequestHead, type HeadLimits, type RequestHead } from './request-head.js';
import { contentTypeFor, parseRange, targetToPath } from './target.js';

export interface HttpOptions {
  limits?: Partial<HeadLimits>;
  /** Responses queued ahead of the connection (pipelining depth). */
  maxQueuedResponses?: number;
  /**
   * Unparsed input kept while responses are pending; past it the connection is aborted.
   * (While the response queue is full the session stops reading, so this bounds
   * connections that cannot pause.)
   */
  maxBufferedInputBytes?: number;
  /** Served for a directory path, when present. */
  indexFile?: string;
}

const REASONS: Record<number, string> = {
  200: 'OK', 206: 'Partial Content', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Content Too Large', 416: 'Range Not Satisfiable', 431: 'Request Header Fields Too Large',
  501: 'Not Implemented', 505: 'HTTP Version Not Supported',
};

interface HttpSessionState {
  out: OutboxState;
  input: Uint8Array;
  /** Body bytes of the current request still to be discarded. */
  skipBytes: number;
  peerEnded: boolean;
  /** No further requests are read (Connection: close or an error was answered). */
  closing: boolean;
  /** Reading paused while the response queue is full. */
  readPaused?: boolean;
}

const enc = new TextEncoder();

/** The Connection field of a response: absent (HTTP/1.1 persistence), close, or keep-alive (HTTP/1.0). */
type ConnectionField = 'close' | 'keep-alive' | undefined;

export class HttpFileServer implements ReplicableApp {
  readonly kind = 'http' as const;
  readonly service = (conn: StreamConnection): AppSession => this.open(conn);
  private readonly stats = new Counters();
  private readonly limits: HeadLimits;
  private readonly maxQueued: number;
  private readonly maxBuffered: number;
  private readonly indexFile: string;

  constructor(private readonly store: FileStore, opts: HttpOptions = {}) {
    this.limits = { ...DEFAULT_HEAD_LIMITS, ...opts.limits };
    this.maxQueued = opts.maxQueuedResponses ?? 16;
    this.maxBuffered = opts.maxBufferedInputBytes ?? 64 * 1024 + this.limits.maxHeadBytes;
    this.indexFile = opts.indexFile ?? 'index.html';
  }

  open(conn: StreamConnection): AppSession {
    this.stats.inc('connections');
    return this.session(conn, undefined);
  }
  resume(conn: StreamConnection, state: unknown): AppSession { return this.session(conn, state as HttpSessionState); }
  snapshot(): unknown { return {}; }
  restore(): void { /* the files are the store's; no shared state */ }
  counters(): Readonly<Record<string, number>> { return this.stats.get(); }

  private session(conn: StreamConnection, from: HttpSessionState | undefined): AppSession {
    const out = new Outbox(conn, this.store);
    if (from !== undefined) out.restoreFrom(from.out);
    let input: Uint8Array = from?.input.slice() ?? new Uint8Array(0);
    let skipBytes = from?.skipBytes ?? 0;
    let peerEnded = from?.peerEnded ?? false;
    let closing = from?.closing ?? false;
    let gone = false;
    const gate = new ReadGate(conn, this.stats);
    if (from?.readPaused === true) gate.set(true);

    const step = (): void => {
      for (;;) {
        let needMore = false;
        while (!closing && out.queuedItems() < this.maxQueued) {
          if (skipBytes > 0) {
            const n = Math.min(skipBytes, input.length);
            input = input.subarray(n);
            skipBytes -= n;
            if (skipBytes > 0) { needMore = true; break; }
          }
          const r = parseRequestHead(input, this.limits);
          if (r.kind === 'incomplete') { needMore = true; break; }
          if (r.kind === 'error') {
            this.stats.inc(`status-${r.status}`);
            this.respondError(out, r.status, false, 'close');
            closing = true;
            break;
          }
          input = input.subarray(r.headBytes);
          skipBytes = r.head.bodyBytes;
          // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
          const v11 = r.head.minorVersion === 1;
          const keepAlive = v11 ? !connectionHas(r.head, 'close') : connectionHas(r.head, 'keep-alive');
          this.respond(out, r.head, keepAlive ? (v11 ? undefined : 'keep-alive') : 'close');
          if (!keepAlive) closing = true;
        }
        const blocked = !closing && !needMore;
        // After the peer's FIN an incomplete request can never complete: answer what was
        // complete, then close our side.
        if (closing || (peerEnded && needMore)) {
          closing = true;
          if (!gone) { out.pushEnd(); gone = true; }
          input = new Uint8Array(0);
        }
        // A full queue the connection took whole owes no onWritable: parse on (every pass
        // consumes requests, so this ends).
        if (out.pump() && blocked) continue;
        // Stopped by a queue the connection has not taken: read no more until it drains
        // (onWritable steps again).
        gate.set(blocked);
        return;
      }
    };

    const session: AppSession = {
      onData: (data: Uint8Array): void => {
        if (closing) return;
        input = concatBytes(input, data.slice());
        step();
        // A paused session holds what one TCP read brought beyond a full response queue
        // (it reads no more until the queue drains); the bound is for one that cannot pause.
        if (!gate.isPaused() && input.length > this.maxBuffered + Math.min(skipBytes, this.limits.maxBodyBytes)) {
          this.stats.inc('aborted-input-limit');
          closing = true; gone = true;
          conn.destroy();
        }
      },
      onEnd: (): void => { peerEnded = true; step(); },
      onWritable: (): void => { if (out.pump() && !gone) step(); },
      onClose: (): void => { closing = true; gone = true; },
      snapshot: (): unknown => ({ out: out.snapshot(), input: input.slice(), skipBytes, peerEnded, closing, readPaused: gate.isPaused() } satisfies HttpSessionState),
    };
    if (from !== undefined && from.closing) gone = true;
    return session;
  }

  private respond(out: Outbox, req: RequestHead, connection: ConnectionField): void {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      this.stats.inc('status-405');
      this.respondError(out, 405, false, connection, ['Allow: GET, HEAD']);
      return;
    }
    const p = targetToPath(req.target);
    if (!p.ok) {
      this.stats.inc('status-400');
      this.respondError(out, 400, head, connection);
      return;
    }
    let path = p.path;
    let st = this.store.stat(path);
    if (st?.kind === 'dir') {
      path = (path === '/' ? '' : path) + '/' + this.indexFile;
      st = this.store.stat(path);
    }
    if (st === undefined || st.kind !== 'file') {
      this.stats.inc('status-404');
      this.respondError(out, 404, head, connection);
      return;
    }
    const size = st.size;
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
    const common = [`Content-Type: ${contentTypeFor(path)}`, 'Accept-Ranges: bytes', `Last-Modified: ${lastModified}`];
    // RFC 9110 §14.2: Range is only defined for GET; If-Range without our validator → ignore Range.
    const range = head || req.headers.has('if-range') ? { kind: 'none' as const } : parseRange(req.headers.get('range'), size);
    if (range.kind === 'unsatisfiable') {
      this.stats.inc('status-416');
      // RFC 9110 §15.5.17: 416 SHOULD carry Content-Range: bytes */length.
      this.respondError(out, 416, false, connection, [`Content-Range: bytes */${size}`]);
      return;
    }
    if (range.kind === 'range') {
      this.stats.inc('status-206');
      out.pushBytes(this.headBytes(206, range.end - range.start, connection,
        [...common, `Content-Range: bytes ${range.start}-${range.end - 1}/${size}`]));
      out.pushFile(path, range.start, range.end);
    } else {
      this.stats.inc('status-200');
      out.pushBytes(this.headBytes(200, size, connection, common));
      if (!head) out.pushFile(path, 0, size);
    }
  }

  private respondError(out: Outbox, status: number, head: boolean, connection: ConnectionField, extra: string[] = []): void {
    const body = enc.encode(`${status} ${REASONS[status] ?? ''}\n`);
    out.pushBytes(this.headBytes(status, body.length, connection, ['Content-Type: text/plain; charset=utf-8', ...extra]));
    if (!head) out.pushBytes(body);
  }

  private headBytes(status: number, contentLength: number, connection: ConnectionField, fields: string[]): Uint8Array {
    const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? ''}`, 'Server: unbroken', `Content-Length: ${contentLength}`, ...fields];
    if (connection !== undefined) lines.push(`Connection: ${connection}`);
    return enc.encode(lines.join('\r\n') + '\r\n\r\n');
  }
}
