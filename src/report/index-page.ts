// The index page `unbroken demo all` writes beside the three reports: one row per
// technique with its verdict headline and a link to its report. Self-contained HTML
// (inline CSS, no scripts); the reports themselves are render.ts.
import type { DemoReport } from './model.js';
import { verdictOf } from './model.js';
import { esc } from './svg.js';

export interface IndexEntry {
  /** e.g. "ST-TCP — the primary server host crashes mid-transfer". */
  name: string;
  /** The report file beside the index, e.g. "report.html"; undefined when none was written. */
  href: string | undefined;
  report: DemoReport | undefined;
  /** The demo's own outcome (exit code 0). */
  kept: boolean;
}

export function renderIndex(title: string, entries: readonly IndexEntry[], replay: string): string {
  const allKept = entries.every((e) => e.kept);
  const rows = entries.map((e) => {
    const headline = e.report ? verdictOf(e.report).headline : e.kept ? 'Promise kept' : 'Promise broken';
    const link = e.href ? `<a href="${esc(encodeURI(e.href))}">${esc(e.href)}</a>` : '—';
    return `<tr class="${e.kept ? 'kept' : 'broken'}"><td class="st">${e.kept ? '✓' : '✗'}</td><th scope="row">${esc(e.name)}</th><td>${esc(headline)}</td><td>${link}</td></tr>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — ${allKept ? 'every promise kept' : 'PROMISE BROKEN'}</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"DejaVu Sans",sans-serif;color:#1a1a1a;background:#fff;margin:0}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:28px;margin:0 0 8px}
.verdict{padding:14px 18px;border-radius:8px;font-weight:600;margin:16px 0}
.verdict.kept{background:#E6F4EE;color:#00704F;border:2px solid #00704F}
.verdict.broken{background:#FBEAEA;color:#B3261E;border:2px solid #B3261E}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:10px 8px;border-bottom:1px solid #ddd;vertical-align:top}
td.st{font-size:20px;width:2em}
tr.kept td.st{color:#00704F}
tr.broken td.st{color:#B3261E}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
</style></head>
<body><main>
<h1>${esc(title)}</h1>
<p>Replay with <code>${esc(replay)}</code></p>
<div class="verdict ${allKept ? 'kept' : 'broken'}" role="status">${allKept ? `✓ Every promise kept (${entries.length} of ${entries.length} demos)` : `✗ ${entries.filter((e) => !e.kept).length} of ${entries.length} demos broke their promise`}</div>
<table><thead><tr><th></th><th>demo</th><th>outcome</th><th>report</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
</main></body></html>
`;
}
