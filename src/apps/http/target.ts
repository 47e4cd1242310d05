// Request-target → file-store path, and the Range header. Both are pure functions
// whose refusals are values: a traversal attempt or a bad escape never reaches the store.

export type PathResult = { ok: true; path: string } | { ok: false; detail: string };

/**
 * Maps an origin-form (or absolute-form) target to a normalised store path.
 * Refuses '..' segments (encoded or not), NUL, backslashes and bad percent-escapes.
 */
export function targetToPath(target: string): PathResult {
  let t = target;
  // RFC 9112 §3.2.2: absolute-form; the server uses only its path.
  const abs = /^https?:\/\/[^/?#]*/i.exec(t);
  if (abs !== null) t = t.slice(abs[0].length) || '/';
  if (!t.startsWith('/')) return { ok: false, detail: 'target is not a path' };
  const q = t.search(/[?#]/);
  if (q >= 0) t = t.slice(0, q);
  const segments: string[] = [];
  for (const raw of t.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { ok: false, detail: 'bad percent-escape' };
    }
    if (seg.includes('\0') || seg.includes('\\') || seg.includes('/')) return { ok: false, detail: 'forbidden character in path' };
    if (seg === '..') return { ok: false, detail: 'path traversal refused' };
    if (seg === '' || seg === '.') continue;
    segments.push(seg);
  }
  return { ok: true, path: '/' + segments.join('/') };
}

export type RangeResult =
  | { kind: 'none' }                      // no usable Range: send the whole representation
  | { kind: 'range'; start: number; end: number }  // [start, end) to send with 206
  | { kind: 'unsatisfiable' };            // 416

/**
 * RFC 9110 §14.2: one byte range is honoured; anything the server does not parse
 * (other units, several ranges, bad syntax) is ignored and the full file is sent.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^bytes[ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$/i.exec(header);
  if (m === null) return { kind: 'none' };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return { kind: 'none' };
  if (a.length > 15 || b.length > 15) return { kind: 'none' };
  if (a === '') {
    // RFC 9110 §14.1.3: suffix-range; a zero suffix length is unsatisfiable.
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size };
  }
  const first = Number(a);
  if (b !== '' && Number(b) < first) return { kind: 'none' }; // invalid range-spec: ignore
  // RFC 9110 §14.1.1: satisfiable iff first-pos < length.
  if (first >= size) return { kind: 'unsatisfiable' };
  const last = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  return { kind: 'range', start: first, end: last + 1 };
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', htm: 'text/html; charset=utf-8', txt: 'text/plain; charset=utf-8',
  css: 'text/css', js: 'text/javascript', json: 'application/json', png: 'image/png', jpg: 'image/jpeg',
  jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', pdf: 'application/pdf', wasm: 'application/wasm',
};

export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.');
  const ext = dot > path.lastIndexOf('/') ? path.slice(dot + 1).toLowerCase() : '';
  return TYPES[ext] ?? 'application/octet-stream';
}
