// Runs a StreamService on real kernel TCP sockets (node:net): the adapter that lets
// curl, nc and redis-benchmark reach an app before (or without) our own stack, and the
// Linux-TCP baseline the lab compares against. The app code is the same either way.
import { createServer, type Server, type Socket } from 'node:net';
import type { CloseReason, StreamApp, StreamConnection, StreamService } from '../../stack/app.js';

/** Bytes an app may queue in a socket beyond what the kernel took. */
const SEND_LIMIT_BYTES = 1024 * 1024;

export function adaptSocket(socket: Socket, service: StreamService): { conn: StreamConnection; app: StreamApp } {
  let waiting = false;
  let closed = false;
  const conn: StreamConnection = {
    id: `${socket.remoteAddress}:${socket.remotePort}>${socket.localAddress}:${socket.localPort}`,
    write(data: Uint8Array): number {
      if (closed || socket.destroyed || socket.writableEnded) return 0;
      const room = Math.max(0, SEND_LIMIT_BYTES - socket.writableLength);
      const n = Math.min(room, data.length);
      if (n > 0) socket.write(n === data.length ? data : data.subarray(0, n));
      if (n < data.length) waiting = true;
      return n;
    },
    writableBytes(): number {
      if (closed || socket.destroyed || socket.writableEnded) return 0;
      const room = Math.max(0, SEND_LIMIT_BYTES - socket.writableLength);
      if (room === 0) waiting = true;
      return room;
    },
    end(): void { if (!socket.writableEnded) socket.end(); },
    destroy(): void { closed = true; socket.resetAndDestroy(); },
  };
  const app = service(conn);
  socket.on('data', (d: Buffer) => { if (!closed) app.onData(new Uint8Array(d.buffer, d.byteOffset, d.length)); });
  socket.on('end', () => { if (!closed) app.onEnd(); });
  socket.on('drain', () => {
    if (waiting && !closed) { waiting = false; app.onWritable?.(); }
  });
  let reason: CloseReason = 'closed';
  socket.on('error', (e: NodeJS.ErrnoException) => { reason = e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : 'aborted'; });
  socket.on('close', () => {
    const wasClosed = closed;
    closed = true;
    app.onClose?.(wasClosed ? 'aborted' : reason);
  });
  return { conn, app };
}

export interface NetServeOptions { host?: string; port: number }

/** Listens on `host:port` (default loopback) and serves every connection with `service`. */
export function serveOnNet(service: StreamService, opts: NetServeOptions): Promise<Server> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => { adaptSocket(socket, service); });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
