// Runs a chosen set of benchmarks one after another, prints each table, and rewrites
// their sections of BENCHMARKS.md. Benchmarks themselves live in ./benchmarks/.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Benchmark, BenchContext, BenchResult } from './types.js';
import { markdownSection, textTable, upsertSection } from './report.js';
import { unmetRequirement, type RequirementEnv } from './requirements.js';

export interface RunOptions {
  /** Benchmark ids to run; empty = all. */
  ids: readonly string[];
  quick: boolean;
  /** Path of BENCHMARKS.md, or undefined to leave it alone. */
  file: string | undefined;
  /** The command line recorded beside each figure. */
  command: string;
  machine: string;
  env: RequirementEnv;
  /** Console output (tables, skips, failures). */
  out(line: string): void;
  /** Transient progress; a no-op when not on a terminal. */
  progress(line: string): void;
  now?: () => Date;
  loadAvg1?: () => number;
}

export interface RunSummary {
  results: BenchResult[];
  /** Ids asked for that do not exist. */
  unknown: string[];
  exitCode: number;
}

export function selectBenchmarks(all: readonly Benchmark[], ids: readonly string[]): { chosen: Benchmark[]; unknown: string[] } {
  if (ids.length === 0) return { chosen: [...all], unknown: [] };
  const unknown = ids.filter((id) => !all.some((b) => b.id === id));
  const chosen = all.filter((b) => ids.includes(b.id));
  return { chosen, unknown };
}

export async function runBenchmarks(all: readonly Benchmark[], opts: RunOptions): Promise<RunSummary> {
  const { chosen, unknown } = selectBenchmarks(all, opts.ids);
  if (unknown.length > 0) {
    opts.out(`unknown benchmark(s): ${unknown.join(', ')} (known: ${all.map((b) => b.id).join(', ')})`);
    return { results: [], unknown, exitCode: 2 };
  }
  const results: BenchResult[] = [];
  for (const b of chosen) {
    const reason = unmetRequirement(b.requires, opts.env);
    if (reason !== undefined) {
      opts.out(`\n${b.id}: skipped — ${reason}`);
      results.push({ id: b.id, title: b.title, status: 'skipped', rows: [], reason, wallS: 0 });
      continue;
    }
    const ctx: BenchContext = { quick: opts.quick, progress: (m) => opts.progress(`${b.id}: ${m}`) };
    const load = opts.loadAvg1?.() ?? loadavg()[0];
    const t0 = performance.now();
    try {
      const rows = await b.run(ctx);
      opts.progress('');
      const wallS = (performance.now() - t0) / 1000;
      results.push({ id: b.id, title: b.title, status: 'ok', rows, wallS });
      opts.out(`\n${b.id} — ${b.title}\n${textTable(rows)}`);
      if (opts.file !== undefined) {
        let doc = '';
        try { doc = readFileSync(opts.file, 'utf8'); } catch { doc = ''; }
        const section = markdownSection({
          id: b.id, title: b.title, description: b.description, command: opts.command,
          machine: opts.machine, loadAvg1: load, dateIso: (opts.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'), rows,
        });
        writeFileSync(opts.file, upsertSection(doc, b.id, section));
      }
    } catch (err) {
      opts.progress('');
      const reason = err instanceof Error ? (err.stack ?? err.message) : String(err);
      opts.out(`\n${b.id}: FAILED — ${reason}`);
      results.push({ id: b.id, title: b.title, status: 'failed', rows: [], reason, wallS: (performance.now() - t0) / 1000 });
    }
  }
  const failed = results.some((r) => r.status === 'failed');
  return { results, unknown, exitCode: failed ? 1 : 0 };
}
