// Turns benchmark results into text: the console table and the BENCHMARKS.md section,
// and replaces exactly one benchmark's section in the file's text. Pure string functions.
import type { BenchRow } from './types.js';

export const BENCHMARKS_HEADER = `# Benchmarks

Figures measured by \`npm run bench\` (the harness is in src/bench/). Each section is
rewritten only when its benchmark runs, so figures from different runs can sit side by
side: the command, machine and date under each heading are the ones that produced that
table. Run \`npm run bench -- --list\` for the benchmarks and what they need.
`;

/** A figure for a table: integers as they are, otherwise 3–4 significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Fixed-width text table for the terminal. */
export function textTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => [r.metric, formatValue(r.value), r.unit, r.note ?? '']);
  const head = ['metric', 'value', 'unit', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c.map((x, i) => (i === 1 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export interface SectionInput {
  id: string;
  title: string;
  description: string;
  command: string;
  machine: string;
  dateIso: string;
  /** 1-minute load average when the benchmark started (other work on the machine skews wall time). */
  loadAvg1?: number;
  rows: readonly BenchRow[];
}

const startMarker = (id: string): string => `<!-- bench:${id} -->`;
const endMarker = (id: string): string => `<!-- /bench:${id} -->`;

export function markdownSection(s: SectionInput): string {
  const lines = [
    startMarker(s.id),
    `## ${s.id} — ${s.title}`,
    '',
    s.description,
    '',
    `- Command: \`${s.command}\``,
    `- Machine: ${s.machine}`,
    `- Date: ${s.dateIso}`,
    ...(s.loadAvg1 !== undefined ? [`- Load: 1-minute load average ${s.loadAvg1.toFixed(2)} at start`] : []),
    '',
    '| metric | value | unit | note |',
    '|---|---:|---|---|',
    ...s.rows.map((r) => `| ${mdCell(r.metric)} | ${formatValue(r.value)} | ${mdCell(r.unit)} | ${mdCell(r.note ?? '')} |`),
    endMarker(s.id),
  ];
  return lines.join('\n');
}

/**
 * Replace the section of benchmark `id` in `doc` (between its markers) with `section`, or
 * append it if absent. Everything else in the document is left byte for byte.
 */
export function upsertSection(doc: string, id: string, section: string): string {
  const base = doc.trim() === '' ? BENCHMARKS_HEADER : doc;
  const start = base.indexOf(startMarker(id));
  if (start >= 0) {
    const endAt = base.indexOf(endMarker(id), start);
    if (endAt >= 0) {
      return base.slice(0, start) + section + base.slice(endAt + endMarker(id).length);
    }
  }
  const sep = base.endsWith('\n\n') ? '' : base.endsWith('\n') ? '\n' : '\n\n';
  return `${base}${sep}${section}\n`;
}
