// A node:net-shaped socket API over a Host driven by a real driver: createServer()
// returning an EventEmitter server and Duplex-stream sockets, and connect(). Node
// streams and events live here only; the host and TCP below stay sans-IO.
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { Host } from './host.js';
import type { StreamApp, CloseReason } from './app.js';
import type { HostStreamConnection } from './tcp-demux.js';
import type { TcpEngine } from './tcp-engine.js';
import { formatIpv4 } from '../wire/addr.js';

/**
 * What net.ts needs from the driver that runs a Host (the TAP driver, an in-memory LAN).
 * Stream callbacks run outside the host's handle* calls, so after calling into the host
 * net.ts calls kick(). The driver must then, soon (it may coalesce several kicks, e.g.
 * with queueMicrotask/setImmediate, and kick() may be called from inside a handle* call):
 *   1. host.handleTimeout(nowUs()) — a no-op for timers not yet due; it delivers app
 *      events that are pending (e.g. data waiting after resumeReading()) and updates the
 *      host's clock, which engines use when polled;
 *   2. drain host.pollTransmit() onto the wire;
 *   3. re-arm its timer for host.pollDeadline().
 */
export interface HostDriver {
  readonly host: Host;
  /** The driver's current time on the host's clock, integer µs. */
  nowUs(): number;
  kick(): void;
}

export interface SocketOptions {
  /** Like node:net: when false (default) the socket ends its writable side when the peer's FIN arrives. */
  allowHalfOpen?: boolean;
}

function errorWithCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A TCP connection on our stack as a node Duplex stream (events: connect, ready, data, end, close, error). */
export class Socket extends Duplex {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  connecting = false;
  bytesRead = 0;
  bytesWritten = 0;
  private conn: HostStreamConnection | undefined;
  private pendingWrite: { data: Uint8Array; cb: (err?: Error | null) => void } | undefined;
  private opened = false;
  private tcpClosed = false;
  /** Destroyed by the app without error: a later byte from the peer is answered with RST (as Linux does). */
  private orphaned = false;

  constructor(private readonly driver: HostDriver, opts: SocketOptions = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false });
  }

  /** @internal Binds the socket to a host connection; returns the StreamApp the host drives. */
  attach(conn: HostStreamConnection, open: boolean): StreamApp {
    this.conn = conn;
    this.localAddress = formatIpv4(conn.tuple.localIp);
    this.localPort = conn.tuple.localPort;
    this.remoteAddress = formatIpv4(conn.tuple.remoteIp);
    this.remotePort = conn.tuple.remotePort;
    this.opened = open;
    this.connecting = !open;
    return {
      onOpen: () => {
        if (this.opened) return;
        this.opened = true;
        this.connecting = false;
        this.flushWrite();
        this.emit('connect');
        this.emit('ready');
      },
      onData: (data) => {
        if (this.orphaned || this.destroyed) { conn.destroy(); return; }
        this.bytesRead += data.length;
        if (!this.push(data)) conn.pauseReading();
      },
      onEnd: () => {
        if (!this.destroyed) this.push(null);
      },
      onWritable: () => this.flushWrite(),
      onClose: (reason) => this.tcpGone(reason),
    };
  }

  private tcpGone(reason: CloseReason): void {
    this.tcpClosed = true;
    this.conn = undefined;
    if (this.destroyed) return;                    // the app closed the socket already (TIME-WAIT ended, say)
    if (reason === 'closed' || reason === 'aborted') {
      if (this.pendingWrite !== undefined) {
        const { cb } = this.pendingWrite;
        this.pendingWrite = undefined;
        cb(errorWithCode('write EPIPE', 'EPIPE'));
      }
      this.push(null);
      this.destroy();
      return;
    }
    if (reason === 'reset') {
      this.destroy(this.opened ? errorWithCode('read ECONNRESET', 'ECONNRESET')
        : errorWithCode(`connect ECONNREFUSED ${this.remoteAddress}:${this.remotePort}`, 'ECONNREFUSED'));
    } else {
      this.destroy(errorWithCode('connection timed out', 'ETIMEDOUT'));
    }
  }

  /** Offers the waiting chunk to the send buffer; completes its callback once all is accepted. */
  private flushWrite(): void {
    const p = this.pendingWrite;
    if (p === undefined || this.conn === undefined) return;
    const n = this.conn.write(p.data);
    this.bytesWritten += n;
    p.data = p.data.subarray(n);
    if (p.data.length === 0) {
      this.pendingWrite = undefined;
      p.cb();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.conn === undefined) { cb(errorWithCode('write EPIPE', 'EPIPE')); return; }
    this.pendingWrite = { data: chunk, cb };
    this.flushWrite();
    this.driver.kick();
  }

  override _final(cb: (err?: Error | null) => void): void {
    // Half-close: FIN after every queued byte (RFC 9293 §3.10.4 CLOSE); before the
    // handshake completes the host holds the FIN until 'established'.
    this.conn?.end();
    this.driver.kick();
    cb();
  }

  override _read(): void {
    if (this.conn === undefined) return;
    this.conn.resumeReading();
    this.driver.kick();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const conn = this.conn;
    if (conn !== undefined && !this.tcpClosed) {
      if (err !== null || !this.opened) conn.destroy();   // abort (RST where the peer has state)
      else {
        // Like close(2): FIN after queued data; bytes that still arrive get a RST.
        this.orphaned = true;
        conn.resumeReading();
        conn.end();
      }
      this.driver.kick();
    }
    cb(err);
  }
}

/** A listening socket: emits 'listening', 'connection' (Socket), 'close'. */
export class Server extends EventEmitter {
  private port: number | undefined;
  private readonly sockets = new Set<Socket>();
  private closing = false;

  constructor(private readonly driver: HostDriver, onConnection?: (socket: Socket) => void, private readonly opts: SocketOptions = {}) {
    super();
    if (onConnection !== undefined) this.on('connection', onConnection);
  }

  listen(port: number, cb?: () => void): this {
    if (this.port !== undefined) throw new Error('server already listening');
    this.port = port;
    this.driver.host.listen(port, (conn) => {
      const socket = new Socket(this.driver, this.opts);
      const app = socket.attach(conn, true);
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.maybeClosed();
      });
      this.emit('connection', socket);
      return app;
    });
    if (cb !== undefined) this.once('listening', cb);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** Stops accepting; 'close' follows once every accepted socket has closed (as in node:net). */
  close(cb?: (err?: Error) => void): this {
    if (this.port !== undefined) this.driver.host.unlisten(this.port);
    this.port = undefined;
    this.closing = true;
    if (cb !== undefined) this.once('close', cb);
    process.nextTick(() => this.maybeClosed());
    return this;
  }

  address(): { address: string; family: 'IPv4'; port: number } | null {
    return this.port === undefined ? null : { address: formatIpv4(this.driver.host.ip), family: 'IPv4', port: this.port };
  }

  get listening(): boolean {
    return this.port !== undefined;
  }

  private maybeClosed(): void {
    if (this.closing && this.sockets.size === 0) {
      this.closing = false;
      this.emit('close');
    }
  }
}

export function createServer(driver: HostDriver, onConnection?: (socket: Socket) => void, opts: SocketOptions = {}): Server {
  return new Server(driver, onConnection, opts);
}

/** Opens a connection from the driver's host; `cb` runs on 'connect'. Errors (ECONNREFUSED, ETIMEDOUT) arrive as 'error'. */
export function connect(driver: HostDriver, to: { host: string; port: number }, cb?: () => void, opts: SocketOptions = {}): Socket {
  const socket = new Socket(driver, opts);
  if (cb !== undefined) socket.once('connect', cb);
  driver.host.connect(to.host, to.port, (conn) => socket.attach(conn, false), driver.nowUs());
  driver.kick();
  return socket;
}

/** A driver that can run a call at its current time and then drain and reschedule (TapDriver.run). */
export interface HostRunner {
  nowUs(): number;
  run<T>(fn: (nowUs: number) => T): T;
}

/**
 * Adapts a runner (e.g. src/drivers/tap/tap-driver.ts TapDriver) to HostDriver: kicks
 * made in one synchronous stretch coalesce into one run() of host.handleTimeout(now)
 * on the next microtask, which delivers pending events, drains and reschedules.
 */
export function hostDriverFromRunner(host: Host, runner: HostRunner): HostDriver {
  let pending = false;
  return {
    host,
    nowUs: () => runner.nowUs(),
    kick(): void {
      if (pending) return;
      pending = true;
      queueMicrotask(() => {
        pending = false;
        runner.run((now) => host.handleTimeout(now));
      });
    },
  };
}
