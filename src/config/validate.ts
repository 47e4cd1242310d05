// A small hand-written validator for config files: field checkers that collect every
// error with its path and the fix ("sttcp.heartbeatMs: must be an integer from 1 to
// 10000 (got "fast")"). Generic building blocks only; the roles' schema is schema.ts.
import { isIpv4, isMac, parseHostPort } from './address.js';

export interface ConfigError {
  /** Dotted path to the field, e.g. "sttcp.service.ip" or "splicer.backends[2].port"; "" for the whole file. */
  path: string;
  /** What is wrong and how to fix it, ending with the value found when there is one. */
  message: string;
}

export function formatConfigError(e: ConfigError): string {
  return e.path ? `${e.path}: ${e.message}` : e.message;
}

export interface Ctx {
  errors: ConfigError[];
}

/** A field checker: returns the (defaulted) value, or undefined after recording an error. */
export interface Field<T> {
  (v: unknown, path: string, ctx: Ctx): T | undefined;
  /** One line for "is required" errors and docs: what the field is, with an example. */
  doc: string;
  /** Value used when the key is absent; absent with no default and not optional = required. */
  fallback?: () => T;
  optional?: boolean;
  /** For the generated reference: the value's type in words, an object's fields, a list's item, a one-of's choices. */
  type?: string;
  shape?: Record<string, Field<unknown>>;
  item?: Field<unknown>;
  choices?: readonly string[];
  /** Alternative shapes keyed by a discriminator value (e.g. app kinds). */
  variants?: Record<string, Field<unknown>>;
}

function got(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** Records an error; with a value, the message ends "(got <value>)". */
function fail(ctx: Ctx, path: string, message: string, ...value: [] | [unknown]): undefined {
  ctx.errors.push({ path, message: value.length > 0 ? `${message} (got ${got(value[0])})` : message });
  return undefined;
}

function field<T>(doc: string, check: (v: unknown, path: string, ctx: Ctx) => T | undefined, meta: Partial<Field<T>> = {}): Field<T> {
  const f = ((v: unknown, path: string, ctx: Ctx) => check(v, path, ctx)) as Field<T>;
  Object.assign(f, meta);
  f.doc = doc;
  return f;
}

/** Same checker, used when the key is absent. */
export function withDefault<T>(f: Field<T>, value: T): Field<T> {
  return field(f.doc, f, { ...f, fallback: () => value });
}

export function optional<T>(f: Field<T>): Field<T | undefined> {
  return field<T | undefined>(f.doc, f, { ...(f as Partial<Field<T | undefined>>), optional: true });
}

export function int(doc: string, min: number, max: number): Field<number> {
  return field(doc, (v, path, ctx) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(ctx, path, `must be an integer from ${min} to ${max}`, v), { type: `integer ${min}–${max}` });
}

export function bool(doc: string): Field<boolean> {
  return field(doc, (v, path, ctx) => (typeof v === 'boolean' ? v : fail(ctx, path, 'must be true or false', v)), { type: 'true or false' });
}

export function str(doc: string, opts: { pattern?: RegExp; hint?: string; maxLength?: number } = {}): Field<string> {
  const max = opts.maxLength ?? 4096;
  return field(doc, (v, path, ctx) => {
    if (typeof v !== 'string' || v.length === 0) return fail(ctx, path, `must be a non-empty string${opts.hint ? `: ${opts.hint}` : ''}`, v);
    if (v.length > max) return fail(ctx, path, `must be at most ${max} characters`, v);
    if (opts.pattern && !opts.pattern.test(v)) return fail(ctx, path, `must be ${opts.hint ?? `like ${opts.pattern}`}`, v);
    return v;
  }, { type: 'string' });
}

export function oneOf<const T extends string>(doc: string, values: readonly T[]): Field<T> {
  return field(doc, (v, path, ctx) =>
    typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : fail(ctx, path, `must be one of ${values.join(', ')}`, v), { choices: values, type: values.join(' | ') });
}

export function ipv4(doc: string): Field<string> {
  return field(doc, (v, path, ctx) => (typeof v === 'string' && isIpv4(v) ? v : fail(ctx, path, 'must be an IPv4 address like 10.0.0.10', v)), { type: 'IPv4 address' });
}

export function mac(doc: string): Field<string> {
  return field(doc, (v, path, ctx) => {
    if (typeof v !== 'string' || !isMac(v)) return fail(ctx, path, 'must be a MAC address like 02:00:5e:00:00:0a', v);
    // A multicast MAC can never be a host's source address.
    if ((parseInt(v.slice(0, 2), 16) & 1) === 1) return fail(ctx, path, 'must be a unicast MAC (first byte even), e.g. 02:00:5e:00:00:0a', v);
    return v.toLowerCase();
  }, { type: 'MAC address' });
}

export function hostPort(doc: string, opts: { allowPortZero?: boolean } = {}): Field<string> {
  return field(doc, (v, path, ctx) => {
    const hp = typeof v === 'string' ? parseHostPort(v) : undefined;
    if (!hp) return fail(ctx, path, 'must be host:port like 10.0.1.2:7400 or [::1]:9464', v);
    if (hp.port === 0 && !opts.allowPortZero) return fail(ctx, path, 'needs a port from 1 to 65535', v);
    return v as string;
  }, { type: 'host:port' });
}

/** A list of 1.. items of argv words, e.g. ["ipmitool", "-H", "10.0.9.1", "power", "off"]. */
export function list<T>(doc: string, item: Field<T>, min: number, max: number): Field<T[]> {
  return field(doc, (v, path, ctx) => {
    if (!Array.isArray(v)) return fail(ctx, path, `must be a list of ${min} to ${max} items`, v);
    if (v.length < min || v.length > max) return fail(ctx, path, `must have ${min === max ? min : `${min} to ${max}`} item${max === 1 ? '' : 's'} (got ${v.length})`);
    const out: T[] = [];
    let okAll = true;
    v.forEach((x, i) => {
      const r = item(x, `${path}[${i}]`, ctx);
      if (r === undefined) okAll = false; else out.push(r);
    });
    return okAll ? out : undefined;
  }, { item: item as Field<unknown>, type: `list of ${min}–${max}` });
}

type Shape = Record<string, Field<unknown>>;
type Out<S extends Shape> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/**
 * An object with exactly these keys: required keys must be present, absent ones take
 * their default, unknown keys are errors with a "did you mean" hint.
 */
export function object<S extends Shape>(doc: string, shape: S, check?: (o: Out<S>, path: string, ctx: Ctx) => void): Field<Out<S>> {
  return field(doc, (v, path, ctx) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(ctx, path || '(top level)', 'must be a mapping of keys to values', v);
    const rec = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const before = ctx.errors.length;
    for (const key of Object.keys(rec)) {
      if (!Object.hasOwn(shape, key)) {
        const near = closest(key, Object.keys(shape));
        fail(ctx, join(path, key), `unknown key${near ? `; did you mean ${near}?` : `; allowed here: ${Object.keys(shape).join(', ')}`}`);
      }
    }
    for (const [key, f] of Object.entries(shape)) {
      const p = join(path, key);
      if (!Object.hasOwn(rec, key) || rec[key] === null) {
        if (f.fallback) out[key] = f.fallback();
        else if (!f.optional) fail(ctx, p, `is required: ${f.doc}`);
        continue;
      }
      const r = f(rec[key], p, ctx);
      if (r !== undefined) out[key] = r;
    }
    if (ctx.errors.length > before) return undefined;
    if (check) {
      check(out as Out<S>, path, ctx);
      if (ctx.errors.length > before) return undefined;
    }
    return out as Out<S>;
  }, { shape, type: 'mapping' });
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The allowed key nearest to a misspelt one (edit distance ≤ 2, or a case-insensitive match). */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const a of allowed) {
    if (a.toLowerCase() === key.toLowerCase()) return a;
    const d = editDistance(key.toLowerCase(), a.toLowerCase());
    if (d < bestD) { bestD = d; best = a; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Record a cross-field error from a `check` callback. */
export function report(ctx: Ctx, path: string, message: string, ...value: [] | [unknown]): void {
  fail(ctx, path, message, ...value);
}
