// The shapes every benchmark shares: what a benchmark declares, what it is given, what
// it returns. No measuring or printing here (runner.ts, report.ts do that).

/** One measured figure. */
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  note?: string;
}

/** A precondition; a benchmark whose requirement is missing is skipped with the reason. */
export type BenchRequirement =
  | 'root'
  | { program: string; debianPackage: string };

export interface BenchContext {
  /** Smaller workloads for a quick look (`--quick`); figures are still real measurements. */
  quick: boolean;
  /** A progress line; shown only when stderr is a terminal. */
  progress(message: string): void;
}

export interface Benchmark {
  /** Stable id used on the command line and as the BENCHMARKS.md section key (kebab-case). */
  id: string;
  title: string;
  /** One or two sentences: what is measured and how, printed above the table. */
  description: string;
  requires?: BenchRequirement[];
  run(ctx: BenchContext): Promise<BenchRow[]> | BenchRow[];
}

export type BenchStatus = 'ok' | 'skipped' | 'failed';

export interface BenchResult {
  id: string;
  title: string;
  status: BenchStatus;
  rows: BenchRow[];
  /** Why it was skipped or how it failed. */
  reason?: string;
  wallS: number;
}
