// `unbroken demo all`: the three techniques one after another with one seed — ST-TCP
// (a server host crashes), CRAFT (a splicer, then a back end), calls (the call
// controller) — each telling its story, then one summary and an index page linking
// the three reports. Exit code non-zero when any promise was broken.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStTcpDemo } from './sttcp-demo.js';
import { runCallsDemo } from './calls-demo.js';
import { runCraftDemo } from '../craft/demo.js';
import type { DemoReport } from '../report/model.js';
import { verdictOf } from '../report/model.js';
import { renderIndex, type IndexEntry } from '../report/index-page.js';

export interface AllDemoOptions { seed: number; json: boolean; outDir?: string }

interface Part {
  technique: 'sttcp' | 'craft' | 'calls';
  name: string;
  reportFile: string;
  run: (write: (line: string) => void) => number;
}

function readReport(path: string): DemoReport | undefined {
  try { return JSON.parse(readFileSync(path, 'utf8')) as DemoReport; } catch { return undefined; }
}

export function runAllDemos(o: AllDemoOptions, write: (line: string) => void): number {
  const parts: Part[] = [
    { technique: 'sttcp', name: 'ST-TCP: the primary server host crashes mid-transfer', reportFile: 'report', run: (w) => runStTcpDemo({ seed: o.seed, json: o.json, outDir: o.outDir, mode: 'sync' }, w) },
    { technique: 'craft', name: 'CRAFT: the active splicer crashes, then a back end', reportFile: 'craft-report', run: (w) => runCraftDemo({ seed: o.seed, json: o.json, outDir: o.outDir }, w) },
    { technique: 'calls', name: 'Calls: the H.248 call controller crashes mid-call', reportFile: 'calls-report', run: (w) => runCallsDemo({ seed: o.seed, json: o.json, outDir: o.outDir }, w) },
  ];
  const results: Array<{ part: Part; code: number; json?: unknown; report?: DemoReport }> = [];
  for (const part of parts) {
    const lines: string[] = [];
    if (!o.json) write(`━━ ${part.name} ━━`);
    const code = part.run((l) => { if (o.json) lines.push(l); else write(l); });
    if (!o.json) write('');
    const reportPath = o.outDir !== undefined ? join(o.outDir, `${part.reportFile}.json`) : undefined;
    results.push({
      part, code,
      ...(o.json ? { json: JSON.parse(lines.join('\n')) as unknown } : {}),
      ...(reportPath !== undefined && existsSync(reportPath) ? { report: readReport(reportPath) } : {}),
    });
  }
  const ok = results.every((r) => r.code === 0);
  const replay = `npx unbroken demo all --seed ${o.seed}`;
  let index: string | undefined;
  if (o.outDir !== undefined) {
    mkdirSync(o.outDir, { recursive: true });
    const entries: IndexEntry[] = results.map((r) => ({
      name: r.part.name, kept: r.code === 0, report: r.report,
      href: existsSync(join(o.outDir!, `${r.part.reportFile}.html`)) ? `${r.part.reportFile}.html` : undefined,
    }));
    index = join(o.outDir, 'index.html');
    writeFileSync(index, renderIndex('unbroken demo all: three crashes no client notices', entries, replay));
  }
  if (o.json) {
    write(JSON.stringify({ technique: 'all', seed: o.seed, ok, demos: results.map((r) => ({ technique: r.part.technique, ok: r.code === 0, result: r.json })), ...(index ? { index } : {}), replay }));
    return ok ? 0 : 1;
  }
  write('━━ summary ━━');
  for (const r of results) {
    const headline = r.report ? verdictOf(r.report).headline : r.code === 0 ? 'Promise kept' : 'Promise broken';
    write(`  ${r.code === 0 ? '✓' : '✗'} ${r.part.technique.padEnd(6)} ${headline}`);
  }
  if (index) write(`  reports: ${index}`);
  write(`  ${ok ? 'every promise kept' : 'PROMISE BROKEN'} — replay: ${replay}`);
  return ok ? 0 : 1;
}
