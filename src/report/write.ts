// Writing a report to disk: the HTML page and the JSON it was drawn from, side by side
// in one directory (the pcaps the report links to go there too). Drawing is render.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoReport } from './model.js';
import { renderReport } from './render.js';

export interface WrittenReport { html: string; json: string }

/** Writes `<dir>/<baseName>.html` and `<dir>/<baseName>.json`; returns their paths. */
export function writeReportFiles(dir: string, report: DemoReport, baseName = 'report'): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const html = join(dir, `${baseName}.html`);
  const json = join(dir, `${baseName}.json`);
  writeFileSync(json, JSON.stringify(report) + '\n');
  writeFileSync(html, renderReport(report));
  return { html, json };
}
