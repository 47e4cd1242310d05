// A small deterministic HTTP/1.1 file server (StreamService) and a download client
// (StreamApp) for splicer tests: GET /bytes/N returns N pattern bytes (byte i depends
// only on i, so any range can be checked alone); Range: bytes=a- gets 206. Test support only.
import type { StreamApp, StreamConnection, StreamService, CloseReason } from '../../stack/app.js';
import { RequestHeadParser } from '../http-head.js';

/** Body byte i of every /bytes/N resource. */
export function bodyByte(i: number): number {
  return (Math.imul(i ^ (i >>> 13), 2246822519) >>> 24) & 0xff;
}

const enc = new TextEncoder();
const MAX_BODY_BYTES = 1 << 30;

/** Serves requests one after another on a connection (keep-alive), closing after `Connection: close`. */
export function httpPatternService(name: string): StreamService {
  return (conn: StreamConnection): StreamApp => {
    let parser = new RequestHeadParser();
    let leftover: Uint8Array = new Uint8Array(0);
    let body: { next: number; end: number } | undefined;
    let closeAfter = false;
    let ended = false;
    const pump = (): void => {
      while (body !== undefined && body.next < body.end) {
        const n = Math.min(16 * 1024, body.end - body.next);
        const chunk = new Uint8Array(n);
        for (let i = 0; i < n; i++) chunk[i] = bodyByte(body.next + i);
        const w = conn.write(chunk);
        body.next += w;
        if (w < n) return;
      }
      if (body !== undefined) {
        body = undefined;
        if (closeAfter) { conn.end(); ended = true; return; }
        const rest = leftover;
        leftover = new Uint8Array(0);
        if (rest.length > 0) feed(rest);
      }
    };
    const respond = (status: string, headers: string[], range: { next: number; end: number }): void => {
      const head = `HTTP/1.1 ${status}\r\nServer: ${name}\r\nX-Backend: ${name}\r\n${headers.join('\r\n')}\r\n${closeAfter ? 'Connection: close\r\n' : ''}\r\n`;
      conn.write(enc.encode(head));
      body = range;
      pump();
    };
    const feed = (d: Uint8Array): void => {
      if (ended) return;
      if (body !== undefined) { leftover = concat(leftover, d); return; }
      const st = parser.push(d);
      if (st.kind === 'incomplete') return;
      if (st.kind === 'error') {
        closeAfter = true;
        respond(`${st.error.status} Error`, ['Content-Length: 0'], { next: 0, end: 0 });
        return;
      }
      const h = st.head;
      leftover = d.subarray(st.usedBytes).slice();
      parser = new RequestHeadParser();
      const get = (n: string): string | undefined => h.headers.find((x) => x.name.toLowerCase() === n)?.value;
      closeAfter = (get('connection') ?? '').toLowerCase() === 'close' || h.version === 'HTTP/1.0';
      const m = /^\/bytes\/(\d+)$/.exec(h.path);
      const size = m === null ? -1 : Number(m[1]);
      if (m === null || size > MAX_BODY_BYTES) { respond('404 Not Found', ['Content-Length: 0'], { next: 0, end: 0 }); return; }
      const r = /^bytes=(\d+)-$/.exec(get('range') ?? '');
      if (r !== null && Number(r[1]) < size) {
        const from = Number(r[1]);
        respond('206 Partial Content', [`Content-Length: ${size - from}`, `Content-Range: bytes ${from}-${size - 1}/${size}`], { next: from, end: size });
        return;
      }
      respond('200 OK', [`Content-Length: ${size}`], { next: 0, end: size });
    };
    return {
      onData: feed,
      onEnd: () => { if (body === undefined && !ended) { ended = true; conn.end(); } else closeAfter = true; },
      onWritable: pump,
    };
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** What a download client saw. */
export interface DownloadResult {
  status: number | undefined;
  headers: Record<string, string>;
  bodyBytes: number;
  /** Every body byte matched bodyByte(offset + i) for the requested range. */
  bodyOk: boolean;
  /** Content-Length was reached exactly (no more, no less). */
  complete: boolean;
  /** The whole byte stream the client received (head + body), for wire checks. */
  received: Uint8Array[];
  receivedBytes: number;
  close: CloseReason | undefined;
  peerEnded: boolean;
  /** The client's connection id ("ip:port>ip:port"). */
  connId: string | undefined;
  /** Keep-alive runs (keepAliveClient): one entry per response, in order. */
  responses?: Array<{ status: number | undefined; backend: string | undefined; bodyBytes: number; bodyOk: boolean; complete: boolean }>;
}

/**
 * A client that sends `request` on open, reads one response (head + Content-Length
 * body), checks the body against the pattern from `bodyOffset`, then closes.
 */
export function downloadClient(request: string, out: DownloadResult, bodyOffset = 0): (conn: StreamConnection) => StreamApp {
  return (conn) => {
    let headText = '';
    let contentLength = -1;
    let headDone = false;
    let closed = false;
    const finish = (): void => { if (!closed) { closed = true; conn.end(); } };
    return {
      onOpen: () => { out.connId = conn.id; conn.write(enc.encode(request)); },
      onData: (d) => {
        out.received.push(d.slice());
        out.receivedBytes += d.length;
        let i = 0;
        if (!headDone) {
          for (; i < d.length && !headDone; i++) {
            headText += String.fromCharCode(d[i]!);
            if (headText.endsWith('\r\n\r\n')) headDone = true;
          }
          if (!headDone) return;
          const lines = headText.split('\r\n');
          out.status = Number(lines[0]!.split(' ')[1]);
          for (const l of lines.slice(1)) {
            const c = l.indexOf(':');
            if (c > 0) out.headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
          }
          contentLength = Number(out.headers['content-length'] ?? '-1');
        }
        for (; i < d.length; i++) {
          if (d[i] !== bodyByte(bodyOffset + out.bodyBytes)) out.bodyOk = false;
          out.bodyBytes++;
        }
        if (contentLength >= 0 && out.bodyBytes > contentLength) out.complete = false;
        else if (contentLength >= 0 && out.bodyBytes === contentLength) { out.complete = true; finish(); }
      },
      onEnd: () => { out.peerEnded = true; finish(); },
      onClose: (r) => { out.close = r; },
    };
  };
}

export function newDownloadResult(): DownloadResult {
  return { status: undefined, headers: {}, bodyBytes: 0, bodyOk: true, complete: false, received: [], receivedBytes: 0, close: undefined, peerEnded: false, connId: undefined };
}

/**
 * A keep-alive client: sends `requests` one after another on one connection (each after
 * the previous response is complete), checks every body against the pattern, then closes.
 * `out` describes the whole exchange (complete and bodyOk only if every response was);
 * `out.responses` has one entry per response.
 */
export function keepAliveClient(requests: string[], out: DownloadResult): (conn: StreamConnection) => StreamApp {
  return (conn) => {
    out.responses = [];
    let i = 0;
    let headText = '';
    let headDone = false;
    let contentLength = -1;
    let cur = { status: undefined as number | undefined, backend: undefined as string | undefined, bodyBytes: 0, bodyOk: true, complete: false };
    let closed = false;
    const finish = (): void => { if (!closed) { closed = true; conn.end(); } };
    const next = (): void => {
      headText = ''; headDone = false; contentLength = -1;
      cur = { status: undefined, backend: undefined, bodyBytes: 0, bodyOk: true, complete: false };
      out.responses!.push(cur);
      conn.write(enc.encode(requests[i]!));
    };
    return {
      onOpen: () => { out.connId = conn.id; next(); },
      onData: (d) => {
        out.received.push(d.slice());
        out.receivedBytes += d.length;
        let k = 0;
        while (k < d.length) {
          if (!headDone) {
            for (; k < d.length && !headDone; k++) {
              headText += String.fromCharCode(d[k]!);
              if (headText.endsWith('\r\n\r\n')) headDone = true;
            }
            if (!headDone) return;
            const lines = headText.split('\r\n');
            cur.status = Number(lines[0]!.split(' ')[1]);
            out.status = cur.status;
            for (const l of lines.slice(1)) {
              const c = l.indexOf(':');
              if (c > 0) out.headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
            }
            cur.backend = out.headers['x-backend'];
            contentLength = Number(out.headers['content-length'] ?? '-1');
          }
          for (; k < d.length && cur.bodyBytes < contentLength; k++) {
            if (d[k] !== bodyByte(cur.bodyBytes)) { cur.bodyOk = false; out.bodyOk = false; }
            cur.bodyBytes++;
            out.bodyBytes++;
          }
          if (cur.bodyBytes === contentLength && !cur.complete) {
            cur.complete = true;
            i++;
            if (i < requests.length) next();
            else { out.complete = out.responses!.every((r) => r.complete && r.bodyOk); if (k < d.length) out.complete = false; finish(); return; }
          }
        }
      },
      onEnd: () => { out.peerEnded = true; finish(); },
      onClose: (r) => { out.close = r; },
    };
  };
}
