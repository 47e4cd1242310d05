// HTTP/1.1 request-head parsing (RFC 9112 §2–§6): request line, header fields and the
// message-body framing a server must honour. Pure: bytes in, a typed result out,
// never a throw; the response side is in http-server.ts.

export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form, absolute-form or '*'). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  /** Lower-cased field names; repeated fields joined with ", " (RFC 9110 §5.3). */
  headers: Map<string, string>;
  /** Bytes of message body that follow the head (Content-Length), to be skipped. */
  bodyBytes: number;
}

export type HeadResult =
  | { kind: 'incomplete' }
  | { kind: 'error'; status: 400 | 413 | 431 | 501 | 505; detail: string }
  | { kind: 'request'; head: RequestHead; headBytes: number };

export interface HeadLimits {
  /** Longest request head (request line + fields + blank line). */
  maxHeadBytes: number;
  maxFields: number;
  /** Largest request body the server is willing to read and discard. */
  maxBodyBytes: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = { maxHeadBytes: 8192, maxFields: 100, maxBodyBytes: 1024 * 1024 };

// RFC 9110 §5.6.2: token = 1*tchar
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseRequestHead(buf: Uint8Array, limits: HeadLimits = DEFAULT_HEAD_LIMITS): HeadResult {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
  let start = 0;
  while (start < buf.length && start < 4 && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const end = findHeadEnd(buf, start);
  if (end < 0) {
    if (buf.length - start > limits.maxHeadBytes) return { kind: 'error', status: 431, detail: 'request head too large' };
    return { kind: 'incomplete' };
  }
  if (end.valueOf() - start > limits.maxHeadBytes) return { kind: 'error', status: 431, detail: 'request head too large' };
  const text = latin1(buf.subarray(start, end));
  // RFC 9112 §2.2: a recipient MAY recognise a single LF as a line terminator.
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const requestLine = lines[0] ?? '';
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return { kind: 'error', status: 400, detail: 'malformed request line' };
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) return { kind: 'error', status: 400, detail: 'malformed method' };
  if (target.length === 0 || /[\x00-\x20\x7f]/.test(target)) return { kind: 'error', status: 400, detail: 'malformed target' };
  const vm = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (vm === null) return { kind: 'error', status: 400, detail: 'malformed version' };
  if (vm[1] !== '1') return { kind: 'error', status: 505, detail: 'HTTP version not supported' };
  const minorVersion: 0 | 1 = vm[2] === '0' ? 0 : 1;

  const headers = new Map<string, string>();
  const fieldLines = lines.slice(1);
  if (fieldLines.length > limits.maxFields) return { kind: 'error', status: 431, detail: 'too many header fields' };
  let contentLengths = 0;
  for (const line of fieldLines) {
    // RFC 9112 §5.2: obs-fold is rejected with 400 outside message/http.
    if (line.startsWith(' ') || line.startsWith('\t')) return { kind: 'error', status: 400, detail: 'obsolete line folding' };
    const colon = line.indexOf(':');
    // RFC 9112 §5.1: no whitespace is allowed between the field name and colon (MUST reject with 400).
    if (colon <= 0) return { kind: 'error', status: 400, detail: 'malformed header field' };
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return { kind: 'error', status: 400, detail: 'malformed field name' };
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\x00\r\n]/.test(value)) return { kind: 'error', status: 400, detail: 'malformed field value' };
    const key = name.toLowerCase();
    if (key === 'content-length') contentLengths++;
    const prev = headers.get(key);
    headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without exactly one Host.
  if (minorVersion === 1 && !headers.has('host')) return { kind: 'error', status: 400, detail: 'missing Host' };
  if (minorVersion === 1 && /,/.test(headers.get('host') ?? '')) return { kind: 'error', status: 400, detail: 'multiple Host fields' };

  let bodyBytes = 0;
  // RFC 9112 §6.1: Transfer-Encoding we do not implement → 501; both TE and CL → treat as error.
  if (headers.has('transfer-encoding')) return { kind: 'error', status: 501, detail: 'Transfer-Encoding not supported' };
  if (contentLengths > 0) {
    const cl = headers.get('content-length') ?? '';
    const values = cl.split(',').map((v) => v.trim());
    // RFC 9112 §6.3 item 5: differing or invalid Content-Length is unrecoverable → 400.
    if (!values.every((v) => /^[0-9]{1,15}$/.test(v) && v === values[0])) {
      return { kind: 'error', status: 400, detail: 'invalid Content-Length' };
    }
    bodyBytes = Number(values[0]);
    if (bodyBytes > limits.maxBodyBytes) return { kind: 'error', status: 413, detail: 'request body too large' };
  }
  const headBytes = end + terminatorLength(buf, end);
  return { kind: 'request', head: { method, target, minorVersion, headers, bodyBytes }, headBytes };
}

/** Index of the blank line ending the head (position of its first CR/LF), or -1. */
function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    // i is a LF ending a line; the head ends if the next line is empty.
    if (buf[i + 1] === 0x0a) return i + 1;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 1;
    if (buf[i + 1] === undefined || (buf[i + 1] === 0x0d && buf[i + 2] === undefined)) return -1;
  }
  return -1;
}

function terminatorLength(buf: Uint8Array, end: number): number {
  return buf[end] === 0x0d ? 2 : 1;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/** True when the `Connection` field lists `token` (case-insensitive). */
export function connectionHas(head: RequestHead, token: string): boolean {
  const v = head.headers.get('connection');
  if (v === undefined) return false;
  return v.split(',').some((t) => t.trim().toLowerCase() === token);
}
