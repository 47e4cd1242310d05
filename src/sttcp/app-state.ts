// Application state as plain data, for moving a replicated application to a joining
// backup (DESIGN §ST-TCP 8): the AppState type, the optional snapshot()/restore() an
// application offers, and a bounded, validated JSON encoding (Uint8Array as base64).
// The transfer of the encoded bytes is snapshot-transfer.ts's; connection state is shadow.ts's.
import type { StreamApp, StreamConnection, StreamService } from '../stack/app.js';
import type { ReplicableApp } from '../apps/replicable.js';
import { fail, ok, type ParseResult } from '../wire/result.js';

/** Plain data an application's state is made of. */
export type AppState = null | boolean | number | string | Uint8Array | AppState[] | { [key: string]: AppState };

/** An application that can describe its state (everything it needs to continue) as plain data. */
export interface SnapshotableApp extends StreamApp {
  snapshot(): AppState;
}

/** Rebuilds an application on `conn` from a snapshot; undefined when the state is not one it made. */
export type AppRestore = (conn: StreamConnection, state: AppState) => StreamApp | undefined;

/** The app's state, or undefined when it cannot describe it. */
export function appSnapshot(app: StreamApp | undefined): AppState | undefined {
  const f = (app as Partial<SnapshotableApp> | undefined)?.snapshot;
  return typeof f === 'function' ? f.call(app) : undefined;
}

/**
 * State all sessions of a service share (the RESP app's key space), moved to a joining
 * backup together with the sessions' records (DESIGN §ST-TCP 8). The snapshot is taken in
 * the same instant as the records, so it holds exactly the effects of the bytes the
 * sessions have read.
 */
export interface SharedAppState {
  snapshot(): AppState;
  /** Replaces the shared state; false (and nothing changed) when `state` is not one snapshot() made. */
  restore(state: AppState): boolean;
}

/** A built-in app as an ST-TCP service: `restore` resumes a session from its snapshot (undefined if it cannot). */
export function replicatedService(app: ReplicableApp): { service: StreamService; restore: AppRestore; shared?: SharedAppState } {
  const restore: AppRestore = (conn, state) => {
    // resume() trusts its input shape; a record that passed validation can still hold a
    // state of the wrong app, which must cost this connection only.
    try { return app.resume(conn, state); } catch { return undefined; }
  };
  // Echo, blob and HTTP keep nothing between sessions (the HTTP files are the file
  // store's, present on both hosts); the RESP app's key space is shared by all sessions.
  if (app.kind !== 'resp') return { service: app.service, restore };
  return {
    service: app.service, restore,
    shared: {
      snapshot: () => app.snapshot() as AppState,
      restore: (state) => {
        try { app.restore(state); return true; } catch { return false; }
      },
    },
  };
}

const B64_KEY = '$b64';
/** Nesting depth accepted when decoding (a malicious or corrupt blob cannot recurse without end). */
const DEPTH_MAX = 32;

/** JSON of plain data; Uint8Array becomes {"$b64": "..."}. Throws only on a non-plain value (programmer error). */
export function encodeState(v: AppState): string {
  return JSON.stringify(toJson(v, 0));
}

function toJson(v: AppState, depth: number): unknown {
  if (depth > DEPTH_MAX) throw new RangeError('state nested too deeply');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError('state holds a non-finite number');
    return v;
  }
  if (v instanceof Uint8Array) return { [B64_KEY]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === B64_KEY) throw new RangeError(`state key ${B64_KEY} is reserved`);
    out[k] = toJson(x, depth + 1);
  }
  return out;
}

/** Parses and validates what encodeState made; bad input is a typed error, never a throw. */
export function decodeState(text: string): ParseResult<AppState> {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { return fail('malformed', 'sttcp-snapshot', 'not JSON'); }
  const v = fromJson(raw, 0);
  return v === INVALID ? fail('malformed', 'sttcp-snapshot', 'not plain data') : ok(v);
}

const INVALID = Symbol('invalid');
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function fromJson(x: unknown, depth: number): AppState | typeof INVALID {
  if (depth > DEPTH_MAX) return INVALID;
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'number') return Number.isFinite(x) ? x : INVALID;
  if (Array.isArray(x)) {
    const out: AppState[] = [];
    for (const e of x) { const v = fromJson(e, depth + 1); if (v === INVALID) return INVALID; out.push(v); }
    return out;
  }
  if (typeof x !== 'object') return INVALID;
  const o = x as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === B64_KEY) {
    const s = o[B64_KEY];
    if (typeof s !== 'string' || s.length % 4 !== 0 || !B64_RE.test(s)) return INVALID;
    return new Uint8Array(Buffer.from(s, 'base64'));
  }
  const out: { [key: string]: AppState } = {};
  for (const k of keys) { const v = fromJson(o[k], depth + 1); if (v === INVALID) return INVALID; out[k] = v; }
  return out;
}

// ---- typed readers for restore() functions: undefined on any mismatch ----

export function stateObject(s: AppState): { [key: string]: AppState } | undefined {
  return s !== null && typeof s === 'object' && !Array.isArray(s) && !(s instanceof Uint8Array) ? s : undefined;
}
export function stateInt(s: AppState | undefined, min: number, max: number): number | undefined {
  return typeof s === 'number' && Number.isInteger(s) && s >= min && s <= max ? s : undefined;
}
