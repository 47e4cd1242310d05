// Character-level scanning for the H.248 text encoding (RFC 3525 Annex B): LWSP and
// comments, words of SafeChar, quoted strings, raw octet strings, limits, and the typed
// parse error carrying the H.248 error code to answer with. The grammar is in text-parser.ts.

import type { WireError } from '../../wire/result.js';
import { ErrorCodes } from './model.js';

/** A rejected message: what to answer (h248Code) and where parsing stopped. */
export interface H248ParseError extends WireError {
  readonly layer: 'h248-text';
  /** H.248.8 error code to put in the ErrorDescriptor of the reply (400, 403, 406, 410, 442, 444, ...). */
  readonly h248Code: number;
  /** Character offset where the problem was found. */
  readonly offset: number;
  /** Header fields, when the parser got that far: lets the engine address an error reply. */
  readonly version?: number;
  readonly mId?: string;
  /** Set when the error lies inside a transaction request: answer with Reply=id{Error=...}. */
  readonly transactionId?: number;
}

export type H248ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: H248ParseError };

export interface ParseLimits {
  /** Largest message accepted, in bytes (default 65_535: the TPKT maximum; a UDP datagram is smaller). */
  readonly maxMessageBytes?: number;
  /** Deepest `{` nesting accepted (default 24; the grammar needs about 10). */
  readonly maxDepth?: number;
  /** Most elements in any one list: transactions, actions, commands, terminations, events, ... (default 1_000). */
  readonly maxListItems?: number;
}

export const DEFAULT_LIMITS: Required<ParseLimits> = { maxMessageBytes: 65_535, maxDepth: 24, maxListItems: 1_000 };

/** Thrown only inside the parser and caught at its entry point; never escapes the module. */
export class Abort {
  constructor(readonly h248Code: number, readonly detail: string, readonly offset: number,
    readonly code: WireError['code'] = 'malformed') {}
}

// ABNF: SafeChar = DIGIT / ALPHA / "+" / "-" / "&" / "!" / "_" / "/" / "'" / "?" / "@" /
//                  "^" / "`" / "~" / "*" / "$" / "\" / "(" / ")" / "%" / "|" / "."
const SAFE = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) SAFE[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) SAFE[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) SAFE[c] = 1;
for (const ch of "+-&!_/'?@^`~*$\\()%|.") SAFE[ch.charCodeAt(0)] = 1;
// VALUE = quotedString / 1*(SafeChar / %x80-FF)
for (let c = 0x80; c <= 0xff; c++) SAFE[c] = 2;

export function isSafeChar(c: number): boolean {
  return c < 256 && SAFE[c] === 1;
}

/** A word: 1*(SafeChar / %x80-FF). */
export function isWordText(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || SAFE[c] === 0) return false;
  }
  return true;
}

/** quotedString = DQUOTE *(SafeChar / EOL / %x80-FF / RestChar / WSP) DQUOTE — any octet but '"' and controls other than HTAB/CR/LF. */
export function isQuotableText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c >= 256) return false;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

export class Scanner {
  pos = 0;
  depth = 0;
  /** The code an Abort raised now should carry (400 at message level, 403 inside a request, ...). */
  errorCode: number = ErrorCodes.badRequestFormat;
  readonly limits: Required<ParseLimits>;

  constructor(readonly src: string, limits: Required<ParseLimits>) {
    this.limits = limits;
  }

  fail(detail: string, h248Code: number = this.errorCode, code: WireError['code'] = 'malformed'): never {
    throw new Abort(h248Code, detail, this.pos, code);
  }

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  // ABNF: LWSP = *(WSP / COMMENT / EOL)
  //       COMMENT = ";" *(SafeChar / RestChar / WSP / %x22) EOL
  //       EOL = (CR [LF] / LF)
  /** Skip linear white space and comments; returns whether anything was skipped. */
  lwsp(): boolean {
    const start = this.pos;
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) { this.pos++; continue; }
      if (c === 0x3b) { // ';' comment to end of line
        while (this.pos < s.length && s.charCodeAt(this.pos) !== 0x0a && s.charCodeAt(this.pos) !== 0x0d) this.pos++;
        continue;
      }
      break;
    }
    return this.pos > start;
  }

  /** Next non-blank character (after LWSP), without consuming it; '' at end. */
  peek(): string {
    this.lwsp();
    return this.src[this.pos] ?? '';
  }

  /** Consume `ch` (after LWSP) if it is next. */
  accept(ch: string): boolean {
    if (this.peek() === ch) { this.pos++; return true; }
    return false;
  }

  /**
   * COMMA between list elements. A comma right before the closing bracket is tolerated
   * (several published examples, RFC 3525 Appendix A among them, carry one); it ends the list.
   */
  more(): boolean {
    if (!this.accept(',')) return false;
    const n = this.peek();
    return n !== '}' && n !== ']';
  }

  expect(ch: string, what: string): void {
    if (!this.accept(ch)) this.fail(`expected '${ch}' ${what}, found ${this.describeHere()}`);
  }

  /** LBRKT: enter one nesting level (bounded). */
  open(what: string): void {
    this.expect('{', what);
    if (++this.depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`, ErrorCodes.badRequestFormat, 'unsupported');
  }

  /** RBRKT */
  close(what: string): void {
    this.expect('}', `to close ${what}`);
    this.depth--;
  }

  /** Guard on list lengths. */
  count(n: number, what: string): void {
    if (n > this.limits.maxListItems) this.fail(`more than ${this.limits.maxListItems} ${what}`, this.errorCode, 'unsupported');
  }

  describeHere(): string {
    if (this.atEnd()) return 'end of message';
    return JSON.stringify(this.src.slice(this.pos, this.pos + 12));
  }

  /** A word 1*(SafeChar / %x80-FF) after LWSP, or '' when none is here. */
  tryWord(): string {
    this.lwsp();
    const s = this.src;
    const start = this.pos;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c >= 256 || SAFE[c] === 0) break;
      this.pos++;
    }
    return s.slice(start, this.pos);
  }

  word(what: string): string {
    const w = this.tryWord();
    if (w === '') this.fail(`expected ${what}, found ${this.describeHere()}`);
    return w;
  }

  // ABNF: quotedString = DQUOTE *(SafeChar / EOL / %x80-FF / RestChar / WSP) DQUOTE
  quoted(what: string): string {
    this.expect('"', `to open ${what}`);
    const end = this.src.indexOf('"', this.pos);
    if (end < 0) this.fail(`unterminated quoted string in ${what}`);
    const text = this.src.slice(this.pos, end);
    if (!isQuotableText(text)) this.fail(`control character in quoted string of ${what}`);
    this.pos = end + 1;
    return text;
  }

  // ABNF: VALUE = quotedString / 1*(SafeChar / %x80-FF)
  value(what: string): string {
    if (this.peek() === '"') return this.quoted(what);
    return this.word(what);
  }

  // ABNF: octetString = *(nonEscapeChar)
  //       nonEscapeChar = ("\}" / %x01-7C / %x7E-FF)
  //       ; Whenever "}" appears in SDP, it is escaped by "\", e.g., "\}"
  /** Raw text up to the unescaped '}' (not consumed), with "\}" unescaped and surrounding LWSP trimmed. */
  octetString(what: string): string {
    const s = this.src;
    let out = '';
    let i = this.pos;
    let runStart = i;
    for (;;) {
      if (i >= s.length) this.fail(`unterminated ${what}`);
      const c = s.charCodeAt(i);
      if (c === 0) this.fail(`octet zero inside ${what}`);
      if (c === 0x5c && s.charCodeAt(i + 1) === 0x7d) { out += s.slice(runStart, i) + '}'; i += 2; runStart = i; continue; }
      if (c === 0x7d) break;
      i++;
    }
    out += s.slice(runStart, i);
    this.pos = i;
    return trimLwsp(out);
  }
}

/** Strip leading/trailing WSP and EOL (what LBRKT/RBRKT's LWSP absorb around an octetString). */
export function trimLwsp(s: string): string {
  let a = 0;
  let b = s.length;
  const blank = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
  while (a < b && blank(s.charCodeAt(a))) a++;
  while (b > a && blank(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

// ABNF: UINT16 = 1*5(DIGIT) ; %x0-FFFF     UINT32 = 1*10(DIGIT) ; %x0-FFFFFFFF
export function parseUint(text: string, max: number): number | undefined {
  if (!/^[0-9]{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}
export const UINT16_MAX = 0xffff;
export const UINT32_MAX = 0xffffffff;

/** Latin-1 view of the bytes: every octet maps to one char, so %x80-FF survive unchanged. */
export function bytesToText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function textToBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
