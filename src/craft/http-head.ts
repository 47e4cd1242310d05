// Incremental, size-bounded parser for an HTTP/1.1 request head (RFC 9112 §2–§6):
// request line and header fields, fed in arbitrary chunks. Errors are typed values
// carrying the status to answer with (400/431/501/505). Bodies are not parsed here.
import { fail, ok, type ParseResult } from '../wire/result.js';

export interface HttpHeader {
  /** Field name as received. */
  name: string;
  /** Field value with leading/trailing whitespace removed (RFC 9112 §5.1). */
  value: string;
}

export interface RequestHead {
  method: string;
  /** The request-target as received (origin-form "/path?q", absolute-form, or "*"). */
  target: string;
  /** Path of the target ("/" for absolute-form without one, "*" for asterisk-form). */
  path: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: 'HTTP/1.1' | 'HTTP/1.0';
  headers: HttpHeader[];
  /** Host: the Host header, or the authority of an absolute-form target (RFC 9112 §3.2.2); lower case, port removed. */
  host: string | undefined;
  /** Bytes of the head including the final empty line (and ignored leading empty lines). */
  headBytes: number;
}

export type HeadErrorCode =
  | 'head-too-large'        // 431
  | 'bad-request-line'      // 400
  | 'bad-header'            // 400
  | 'missing-host'          // 400
  | 'duplicate-host'        // 400
  | 'bad-content-length'    // 400
  | 'length-and-chunked'    // 400 (RFC 9112 §6.1: smuggling risk)
  | 'unsupported-transfer-coding' // 501
  | 'unsupported-method'    // 501 (CONNECT: a splicer is not a tunnel)
  | 'unsupported-version';  // 505

export interface HeadError {
  code: HeadErrorCode;
  /** The HTTP status to answer with. */
  status: 400 | 431 | 501 | 505;
  detail: string;
}

export type HeadState =
  | { kind: 'incomplete' }
  | { kind: 'complete'; head: RequestHead; /** bytes of the last chunk that belong to the head */ usedBytes: number }
  | { kind: 'error'; error: HeadError };

export const DEFAULT_HEAD_LIMIT_BYTES = 16 * 1024;
/** RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line. */
const MAX_LEADING_EMPTY_LINES = 4;
const MAX_HEADER_FIELDS = 100;

const STATUS: Record<HeadErrorCode, HeadError['status']> = {
  'head-too-large': 431, 'bad-request-line': 400, 'bad-header': 400, 'missing-host': 400, 'duplicate-host': 400,
  'bad-content-length': 400, 'length-and-chunked': 400, 'unsupported-transfer-coding': 501,
  'unsupported-method': 501, 'unsupported-version': 505,
};

function headError(code: HeadErrorCode, detail: string): HeadState {
  return { kind: 'error', error: { code, status: STATUS[code], detail } };
}

/** RFC 9110 §5.6.2 tchar. */
function isTchar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    || '!#$%&\'*+-.^_`|~'.includes(String.fromCharCode(c));
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Accepts a request head in chunks. After 'complete' or 'error' the state is sticky
 * (further push() calls return it again). Holds at most `limitBytes` of head.
 */
export class RequestHeadParser {
  private readonly buf: Uint8Array;
  private len = 0;
  /** Where the scan for CRLFCRLF resumes (avoids rescanning: linear in total input). */
  private scanFrom = 0;
  private result: HeadState = { kind: 'incomplete' };

  constructor(readonly limitBytes = DEFAULT_HEAD_LIMIT_BYTES) {
    this.buf = new Uint8Array(limitBytes);
  }

  state(): HeadState {
    return this.result;
  }

  push(chunk: Uint8Array): HeadState {
    if (this.result.kind !== 'incomplete') return this.result;
    const take = Math.min(chunk.length, this.limitBytes - this.len);
    this.buf.set(chunk.subarray(0, take), this.len);
    const before = this.len;
    this.len += take;
    // Skip leading empty lines (RFC 9112 §2.2) so they do not end the head.
    let start = 0;
    for (let n = 0; n < MAX_LEADING_EMPTY_LINES && this.len >= start + 2 && this.buf[start] === 13 && this.buf[start + 1] === 10; n++) start += 2;
    let end = -1;
    for (let i = Math.max(this.scanFrom, start); i + 3 < this.len; i++) {
      if (this.buf[i] === 13 && this.buf[i + 1] === 10 && this.buf[i + 2] === 13 && this.buf[i + 3] === 10) { end = i; break; }
    }
    if (end < 0) {
      this.scanFrom = Math.max(start, this.len - 3);
      if (this.len >= this.limitBytes) this.result = headError('head-too-large', `request head exceeds ${this.limitBytes} bytes`);
      return this.result;
    }
    const headBytes = end + 4;
    const parsed = parseHeadText(this.buf.subarray(start, end), headBytes);
    this.result = parsed.ok ? { kind: 'complete', head: parsed.value, usedBytes: headBytes - before } : parsed.error;
    return this.result;
  }
}

/** Parses one complete head (without the final CRLFCRLF). */
function parseHeadText(bytes: Uint8Array, headBytes: number): { ok: true; value: RequestHead } | { ok: false; error: HeadState } {
  // Header text is octets; latin1 keeps a 1:1 mapping so byte checks stay exact.
  const text = new TextDecoder('latin1').decode(bytes);
  const lines = text.split('\r\n');
  const bad = (code: HeadErrorCode, detail: string) => ({ ok: false as const, error: headError(code, detail) });
  for (const l of lines) {
    // RFC 9112 §2.2: a bare CR is invalid; we also reject a bare LF (strict framing).
    if (l.includes('\r') || l.includes('\n')) return bad('bad-request-line', 'bare CR or LF in head');
    for (let i = 0; i < l.length; i++) if (l.charCodeAt(i) === 0) return bad('bad-header', 'NUL in head');
  }
  // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
  const rl = lines[0]!.split(' ');
  if (rl.length !== 3) return bad('bad-request-line', 'request line is not three parts separated by single spaces');
  const [method, target, version] = rl as [string, string, string];
  if (!isToken(method)) return bad('bad-request-line', 'method is not a token');
  if (!/^HTTP\/\d\.\d$/.test(version)) return bad('bad-request-line', `bad HTTP version ${JSON.stringify(version.slice(0, 16))}`);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return bad('unsupported-version', version);
  if (target.length === 0) return bad('bad-request-line', 'empty request-target');
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return bad('bad-request-line', 'control or non-ASCII octet in request-target');
  }
  if (method === 'CONNECT') return bad('unsupported-method', 'CONNECT');
  let path: string;
  let targetHost: string | undefined;
  if (target.startsWith('/')) path = target;
  else if (target === '*') {
    if (method !== 'OPTIONS') return bad('bad-request-line', 'asterisk-form only with OPTIONS');
    path = '*';
  } else {
    // absolute-form (RFC 9112 §3.2.2)
    const m = /^https?:\/\/([^/?#]+)([^#]*)$/i.exec(target);
    if (m === null) return bad('bad-request-line', 'request-target is not origin-, absolute- or asterisk-form');
    targetHost = m[1]!;
    path = m[2] === '' ? '/' : m[2]!;
    if (!path.startsWith('/')) path = `/${path}`;
  }
  const headers: HttpHeader[] = [];
  let host: string | undefined;
  let hostCount = 0;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  if (lines.length - 1 > MAX_HEADER_FIELDS) return bad('head-too-large', `more than ${MAX_HEADER_FIELDS} header fields`);
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    // RFC 9112 §5.2: obs-fold in a request is rejected with 400.
    if (l.startsWith(' ') || l.startsWith('\t')) return bad('bad-header', 'obsolete line folding');
    const colon = l.indexOf(':');
    if (colon <= 0) return bad('bad-header', 'header line without a field name');
    const name = l.slice(0, colon);
    // RFC 9112 §5.1: no whitespace between field name and colon (MUST reject with 400).
    if (!isToken(name)) return bad('bad-header', 'field name is not a token');
    const value = l.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    for (let k = 0; k < value.length; k++) {
      const c = value.charCodeAt(k);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return bad('bad-header', 'control character in field value');
    }
    headers.push({ name, value });
    const lname = name.toLowerCase();
    if (lname === 'host') { hostCount++; host = value; }
    else if (lname === 'content-length') {
      // RFC 9112 §6.3: a list of identical values may be accepted; anything else is an error.
      const vals = value.split(',').map((v) => v.trim());
      if (vals.some((v) => !/^\d{1,15}$/.test(v)) || vals.some((v) => v !== vals[0])) return bad('bad-content-length', 'invalid Content-Length');
      if (contentLength !== undefined && contentLength !== vals[0]) return bad('bad-content-length', 'conflicting Content-Length fields');
      contentLength = vals[0];
    } else if (lname === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
    }
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host field gets 400.
  if (hostCount > 1) return bad('duplicate-host', 'more than one Host field');
  if (hostCount === 0 && version === 'HTTP/1.1' && targetHost === undefined) return bad('missing-host', 'HTTP/1.1 request without Host');
  if (transferEncoding !== undefined) {
    if (version === 'HTTP/1.0') return bad('bad-header', 'Transfer-Encoding in an HTTP/1.0 request');
    if (contentLength !== undefined) return bad('length-and-chunked', 'both Content-Length and Transfer-Encoding');
    const codings = transferEncoding.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
    // RFC 9112 §6.1: chunked must be last; codings we do not know get 501.
    if (codings.length === 0 || codings[codings.length - 1] !== 'chunked') return bad('bad-header', 'Transfer-Encoding does not end in chunked');
    if (codings.some((c) => c !== 'chunked') || codings.length > 1) return bad('unsupported-transfer-coding', transferEncoding.slice(0, 64));
  }
  const authority = targetHost ?? host;
  let normHost: string | undefined;
  if (authority !== undefined && authority !== '') {
    const h = authority.toLowerCase();
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=%-]+)(:\d{0,5})?$/.test(h)) return bad('bad-header', 'invalid Host');
    normHost = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  }
  return { ok: true, value: { method, target, path, version, headers, host: normHost, headBytes } };
}

/** A complete error response for a head error (Connection: close; RFC 9110 §15.5). */
export function errorResponse(status: number, reason: string, detail: string): Uint8Array {
  const body = `${status} ${reason}: ${detail}\n`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

export const REASON: Record<number, string> = {
  400: 'Bad Request', 431: 'Request Header Fields Too Large', 501: 'Not Implemented', 505: 'HTTP Version Not Supported',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Convenience for tests and tools: the whole head in one buffer. */
export function parseRequestHead(bytes: Uint8Array, limitBytes = DEFAULT_HEAD_LIMIT_BYTES): ParseResult<RequestHead> {
  const s = new RequestHeadParser(limitBytes).push(bytes);
  if (s.kind === 'complete') return ok(s.head);
  if (s.kind === 'incomplete') return fail('truncated', 'http-head', 'no empty line ending the head');
  return fail(s.error.status === 501 || s.error.status === 505 ? 'unsupported' : 'malformed', 'http-head', `${s.error.code}: ${s.error.detail}`);
}

/** The framing of a response head at the start of `bytes` (status, head length, Content-Length), if the head is complete there. */
export interface ResponseHeadInfo { status: number; headLen: number; contentLength: number | undefined; contentRangeStart: number | undefined }

/**
 * Reads a response head that lies entirely within `bytes` (RFC 9112 §4, §6.3). Returns
 * undefined when there is no complete head or it is not well formed: callers treat that
 * as "framing unknown". Bounded by `bytes.length` (at most one segment or a small buffer).
 */
export function parseResponseHeadPrefix(bytes: Uint8Array): ResponseHeadInfo | undefined {
  let end = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) { end = i; break; }
  }
  if (end < 0) return undefined;
  const lines = new TextDecoder('latin1').decode(bytes.subarray(0, end)).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})( .*)?$/.exec(lines[0]!);
  if (m === null) return undefined;
  let contentLength: number | undefined;
  let contentRangeStart: number | undefined;
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c <= 0) return undefined;
    const name = l.slice(0, c).toLowerCase();
    const value = l.slice(c + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) return undefined;
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      return undefined;                      // chunked framing: not resumable by byte offset here
    } else if (name === 'content-range') {
      const r = /^bytes (\d{1,15})-\d{1,15}\/(\d{1,15}|\*)$/.exec(value);
      if (r !== null) contentRangeStart = Number(r[1]);
    }
  }
  return { status: Number(m[1]), headLen: end + 4, contentLength, contentRangeStart };
}
