// A one-line progress display for long runs (bench, large call loads): redrawn in
// place on a terminal, silent when output is a pipe or a file (CI logs stay clean).
// Results are printed by the caller, not here.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface ProgressOptions {
  label: string;
  /** Units of work in all; omit for an open-ended count. */
  total?: number;
  /** Minimum time between redraws. */
  minIntervalMs?: number;
  /** Clock for throttling (injected for tests). */
  nowMs?: () => number;
}

export interface Progress {
  /** Report `done` units finished; `detail` is a short suffix ("1,204 calls up"). */
  update(done: number, detail?: string): void;
  /** Clear the line; the caller prints the result. */
  finish(): void;
  /** Whether anything is drawn at all. */
  readonly active: boolean;
}

export function createProgress(stream: ProgressStream, opts: ProgressOptions): Progress {
  const active = stream.isTTY === true;
  const minInterval = opts.minIntervalMs ?? 100;
  const now = opts.nowMs ?? (() => Date.now());
  let lastDraw = -Infinity;
  let drawn = false;
  let finished = false;
  return {
    active,
    update(done, detail) {
      if (!active || finished) return;
      const t = now();
      const complete = opts.total !== undefined && done >= opts.total;
      if (t - lastDraw < minInterval && !complete) return;
      lastDraw = t;
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write('\r' + clip(progressLine(opts.label, done, opts.total, detail), width) + '\x1b[K');
      drawn = true;
    },
    finish() {
      if (!active || finished) return;
      finished = true;
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/** "label [#########.........]  45%  450/1000  detail" or "label 450  detail". */
export function progressLine(label: string, done: number, total?: number, detail?: string): string {
  const parts = [label];
  if (total !== undefined && total > 0) {
    const frac = Math.min(1, Math.max(0, done / total));
    const cells = 20;
    const full = Math.round(frac * cells);
    parts.push(`[${'#'.repeat(full)}${'.'.repeat(cells - full)}]`, `${String(Math.floor(frac * 100)).padStart(3)}%`, `${done}/${total}`);
  } else {
    parts.push(String(done));
  }
  if (detail) parts.push(detail);
  return parts.join('  ');
}

function clip(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, width - 1) + '…';
}
