// Checking a DemoReport read from JSON (written by another process: a bench, the lab,
// `demo --json`) before rendering it: shapes, finite numbers and size bounds, with
// errors that name the field. Rendering is render.ts.
import type { DemoReport } from './model.js';

export const REPORT_INPUT_LIMITS = {
  connections: 200_000,
  calls: 200_000,
  events: 100_000,
  markers: 1_000,
  /** Samples over all connections and calls together. */
  samplesTotal: 20_000_000,
  stringLength: 10_000,
} as const;

export type ParsedReport = { ok: true; value: DemoReport } | { ok: false; errors: string[] };

const TECHNIQUES = ['sttcp', 'craft', 'calls', 'tcp'];

export function parseDemoReport(data: unknown): ParsedReport {
  const errors: string[] = [];
  let samples = 0;
  const err = (path: string, msg: string): void => { if (errors.length < 50) errors.push(`${path}: ${msg}`); };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const str = (o: Record<string, unknown>, k: string, path: string, optional = false): void => {
    const v = o[k];
    if (v === undefined && optional) return;
    if (typeof v !== 'string') err(`${path}.${k}`, 'must be a string');
    else if (v.length > REPORT_INPUT_LIMITS.stringLength) err(`${path}.${k}`, `must be at most ${REPORT_INPUT_LIMITS.stringLength} characters`);
  };
  const numF = (o: Record<string, unknown>, k: string, path: string, optional = false): void => {
    const v = o[k];
    if (v === undefined && optional) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) err(`${path}.${k}`, 'must be a finite number');
  };
  const boolF = (o: Record<string, unknown>, k: string, path: string, optional = false): void => {
    const v = o[k];
    if (v === undefined && optional) return;
    if (typeof v !== 'boolean') err(`${path}.${k}`, 'must be true or false');
  };
  const arr = (o: Record<string, unknown>, k: string, path: string, max: number, each: (x: Record<string, unknown>, p: string) => void, optional = false): void => {
    const v = o[k];
    if (v === undefined && optional) return;
    if (!Array.isArray(v)) { err(`${path}.${k}`, 'must be a list'); return; }
    if (v.length > max) { err(`${path}.${k}`, `must have at most ${max} items (got ${v.length})`); return; }
    v.forEach((x, i) => { if (isObj(x)) each(x, `${path}.${k}[${i}]`); else err(`${path}.${k}[${i}]`, 'must be an object'); });
  };
  const series = (o: Record<string, unknown>, k: string, path: string): void => {
    const v = o[k];
    if (!Array.isArray(v)) { err(`${path}.${k}`, 'must be a list of [tUs, count] pairs'); return; }
    samples += v.length;
    if (samples > REPORT_INPUT_LIMITS.samplesTotal) { err(`${path}.${k}`, `too many samples in the report (limit ${REPORT_INPUT_LIMITS.samplesTotal})`); return; }
    for (let i = 0; i < v.length; i++) {
      const p = v[i] as unknown;
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number' || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        err(`${path}.${k}[${i}]`, 'must be a pair of finite numbers [tUs, count]');
        return;
      }
    }
  };

  if (!isObj(data)) return { ok: false, errors: ['(top level): must be a JSON object (a DemoReport)'] };
  str(data, 'title', '$');
  numF(data, 'seed', '$', true);
  str(data, 'replayCommand', '$', true);
  if (!TECHNIQUES.includes(data.technique as string)) err('$.technique', `must be one of ${TECHNIQUES.join(', ')}`);
  arr(data, 'events', '$', REPORT_INPUT_LIMITS.events, (e, p) => { numF(e, 'tUs', p); str(e, 'kind', p); str(e, 'text', p); });
  arr(data, 'markers', '$', REPORT_INPUT_LIMITS.markers, (m, p) => { numF(m, 'tUs', p); str(m, 'label', p); });
  arr(data, 'connections', '$', REPORT_INPUT_LIMITS.connections, (c, p) => {
    str(c, 'id', p); series(c, 'samples', p); numF(c, 'pauseUs', p, true); numF(c, 'bytes', p);
    str(c, 'sha256', p, true); boolF(c, 'ok', p); str(c, 'note', p, true);
  });
  arr(data, 'calls', '$', REPORT_INPUT_LIMITS.calls, (c, p) => { str(c, 'id', p); series(c, 'rtp', p); numF(c, 'gapMsMax', p); boolF(c, 'preserved', p); }, true);
  arr(data, 'summary', '$', 10_000, (s, p) => { str(s, 'name', p); str(s, 'value', p); boolF(s, 'ok', p, true); });
  arr(data, 'files', '$', 10_000, (f, p) => { str(f, 'name', p); str(f, 'description', p); }, true);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: data as unknown as DemoReport };
}
