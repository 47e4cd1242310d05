// RESP2 (the Redis serialization protocol) as a server needs it: parsing client
// commands (arrays of bulk strings, and inline commands typed into nc/telnet) and
// encoding replies. Pure and bounded; commands are executed in kv-store.ts.

export interface RespLimits {
  maxArgs: number;
  maxBulkBytes: number;
  maxInlineBytes: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = { maxArgs: 64 * 1024, maxBulkBytes: 8 * 1024 * 1024, maxInlineBytes: 64 * 1024 };

export type CommandResult =
  | { kind: 'incomplete' }
  | { kind: 'protocol-error'; detail: string }
  | { kind: 'command'; args: Uint8Array[]; bytes: number };

const CR = 0x0d;
const LF = 0x0a;

/** Reads one command from the start of `buf`. */
export function parseCommand(buf: Uint8Array, limits: RespLimits = DEFAULT_RESP_LIMITS): CommandResult {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] !== 0x2a /* '*' */) return parseInline(buf, limits);
  const head = readIntLine(buf, 1, 20);
  if (head.kind !== 'ok') return head.kind === 'incomplete' ? head : { kind: 'protocol-error', detail: 'invalid multibulk length' };
  const n = head.value;
  if (n > limits.maxArgs) return { kind: 'protocol-error', detail: 'invalid multibulk length' };
  let pos = head.next;
  const args: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    if (pos >= buf.length) return { kind: 'incomplete' };
    if (buf[pos] !== 0x24 /* '$' */) return { kind: 'protocol-error', detail: `expected '$', got '${String.fromCharCode(buf[pos])}'` };
    const len = readIntLine(buf, pos + 1, 20);
    if (len.kind !== 'ok') return len.kind === 'incomplete' ? len : { kind: 'protocol-error', detail: 'invalid bulk length' };
    if (len.value > limits.maxBulkBytes) return { kind: 'protocol-error', detail: 'invalid bulk length' };
    const start = len.next;
    if (start + len.value + 2 > buf.length) return { kind: 'incomplete' };
    if (buf[start + len.value] !== CR || buf[start + len.value + 1] !== LF) return { kind: 'protocol-error', detail: 'bulk not terminated by CRLF' };
    args.push(buf.slice(start, start + len.value));
    pos = start + len.value + 2;
  }
  return { kind: 'command', args, bytes: pos };
}

function parseInline(buf: Uint8Array, limits: RespLimits): CommandResult {
  const nl = buf.indexOf(LF);
  if (nl < 0) {
    return buf.length > limits.maxInlineBytes ? { kind: 'protocol-error', detail: 'too big inline request' } : { kind: 'incomplete' };
  }
  if (nl > limits.maxInlineBytes) return { kind: 'protocol-error', detail: 'too big inline request' };
  const end = nl > 0 && buf[nl - 1] === CR ? nl - 1 : nl;
  const line = buf.subarray(0, end);
  const args: Uint8Array[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && (line[i] === 0x20 || line[i] === 0x09)) i++;
    const s = i;
    while (i < line.length && line[i] !== 0x20 && line[i] !== 0x09) i++;
    if (i > s) args.push(line.slice(s, i));
  }
  if (args.length > limits.maxArgs) return { kind: 'protocol-error', detail: 'too many arguments' };
  return { kind: 'command', args, bytes: nl + 1 };
}

type IntLine = { kind: 'ok'; value: number; next: number } | { kind: 'incomplete' } | { kind: 'bad' };

/** A non-negative decimal (or -1) terminated by CRLF, starting at `from`. */
function readIntLine(buf: Uint8Array, from: number, maxDigits: number): IntLine {
  let i = from;
  let v = 0;
  let neg = false;
  if (buf[i] === 0x2d) { neg = true; i++; }
  const digitsStart = i;
  while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) {
    v = v * 10 + (buf[i] - 0x30);
    i++;
    if (i - digitsStart > maxDigits) return { kind: 'bad' };
  }
  if (i >= buf.length || (buf[i] === CR && i + 1 >= buf.length)) return { kind: 'incomplete' };
  if (i === digitsStart || buf[i] !== CR || buf[i + 1] !== LF) return { kind: 'bad' };
  if (neg) return v === 1 ? { kind: 'ok', value: 0, next: i + 2 } : { kind: 'bad' }; // *-1 / $-1: null → empty
  return { kind: 'ok', value: v, next: i + 2 };
}

// ---- replies ----

export type Reply =
  | { t: 'simple'; s: string }
  | { t: 'error'; s: string }
  | { t: 'int'; n: bigint | number }
  | { t: 'bulk'; b: Uint8Array | null }
  | { t: 'array'; items: Reply[] | null };

const enc = new TextEncoder();

export const OK: Reply = { t: 'simple', s: 'OK' };
export const NIL: Reply = { t: 'bulk', b: null };
export const simple = (s: string): Reply => ({ t: 'simple', s });
export const err = (s: string): Reply => ({ t: 'error', s });
export const int = (n: bigint | number): Reply => ({ t: 'int', n });
export const bulk = (b: Uint8Array | string | null): Reply => ({ t: 'bulk', b: typeof b === 'string' ? enc.encode(b) : b });
export const array = (items: Reply[] | null): Reply => ({ t: 'array', items });

/** Appends the encoding of `r` to `parts`. */
export function encodeReply(r: Reply, parts: Uint8Array[]): void {
  switch (r.t) {
    case 'simple': parts.push(enc.encode(`+${r.s.replace(/[\r\n]/g, ' ')}\r\n`)); return;
    case 'error': parts.push(enc.encode(`-${r.s.replace(/[\r\n]/g, ' ')}\r\n`)); return;
    case 'int': parts.push(enc.encode(`:${r.n}\r\n`)); return;
    case 'bulk':
      if (r.b === null) { parts.push(enc.encode('$-1\r\n')); return; }
      parts.push(enc.encode(`$${r.b.length}\r\n`), r.b, enc.encode('\r\n'));
      return;
    case 'array':
      if (r.items === null) { parts.push(enc.encode('*-1\r\n')); return; }
      parts.push(enc.encode(`*${r.items.length}\r\n`));
      for (const it of r.items) encodeReply(it, parts);
      return;
  }
}

/** Concatenates encoded parts into one buffer. */
export function joinParts(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
