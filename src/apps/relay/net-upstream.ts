// The relay app's upstream over node:net: one TCP connection per client connection to
// the local server, its socket events mapped to typed RelayErrors and run inside the
// stack's turn (`enter`: the driver's run(), so output the app writes is sent at once).
// The relay logic is relay-app.ts's; this file is the only one that touches a socket.
import { connect, type Socket } from 'node:net';
import type { RelayError, RelayErrorCode, UpstreamConnector, UpstreamLink } from './relay-app.js';

export interface NetUpstreamOptions {
  host: string;
  port: number;
  /** A connect that has not completed by then fails as upstream-timeout. Default 5 s. */
  connectTimeoutMs?: number;
  /** Runs a socket event's effect on the app inside the stack's turn. Default: at once. */
  enter?: (fn: () => void) => void;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function classify(err: NodeJS.ErrnoException, connected: boolean): RelayErrorCode {
  const code = err.code ?? '';
  if (!connected && UNREACHABLE.has(code)) return 'upstream-unreachable';
  if (RESET.has(code)) return 'upstream-reset';
  return 'upstream-error';
}

export function netUpstream(o: NetUpstreamOptions): UpstreamConnector {
  const enter = o.enter ?? ((fn: () => void) => fn());
  const timeoutMs = o.connectTimeoutMs ?? 5_000;
  return (h) => {
    const sock: Socket = connect({ host: o.host, port: o.port, allowHalfOpen: true });
    sock.setNoDelay(true);
    let connected = false;
    let finished = false; // destroyed by us, failed, or both sides closed: no more handler calls
    let serverEnded = false;
    const failWith = (e: RelayError): void => {
      if (finished) return;
      finished = true;
      sock.destroy();
      enter(() => h.onError(e));
    };
    const timer = setTimeout(() => failWith({ code: 'upstream-timeout', detail: `no connection to ${o.host}:${o.port} after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    sock.on('connect', () => { connected = true; clearTimeout(timer); });
    sock.on('data', (b: Buffer) => {
      if (finished) return;
      const data = new Uint8Array(b); // a copy: the app keeps it until the client takes it
      enter(() => h.onData(data));
    });
    sock.on('end', () => {
      if (finished) return;
      serverEnded = true;
      enter(() => h.onEnd());
    });
    sock.on('drain', () => { if (!finished) enter(() => h.onDrain()); });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      failWith({ code: classify(err, connected), detail: `${o.host}:${o.port}: ${err.code ?? err.message}` });
    });
    sock.on('close', () => {
      clearTimeout(timer);
      // Closed without a FIN from the server and without an error: it went away.
      if (!finished && !serverEnded) failWith({ code: 'upstream-reset', detail: `${o.host}:${o.port} closed without FIN` });
      finished = true;
    });
    const link: UpstreamLink = {
      write: (data) => { if (!finished && !sock.writableEnded) sock.write(data); },
      pendingBytes: () => sock.writableLength,
      end: () => { if (!finished && !sock.writableEnded) sock.end(); },
      destroy: () => { finished = true; clearTimeout(timer); sock.destroy(); },
      pauseReading: () => { sock.pause(); },
      resumeReading: () => { sock.resume(); },
    };
    return link;
  };
}

/**
 * Resolves once `host:port` accepts a TCP connection, retrying every 50 ms; rejects
 * after `timeoutMs`. The lab's hosts wait so for their local server before serving.
 */
export async function waitForUpstream(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', (e: NodeJS.ErrnoException) => { last = e.code ?? e.message; s.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the relayed server ${host}:${port} did not accept a connection within ${timeoutMs} ms (${last})`);
}
