// `unbroken report FILE.json`: turn a failover report written as JSON (by `demo --json`,
// a bench or a lab run) into the self-contained HTML page. Rendering is src/report/.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { SetExit } from './index.js';
import { parseDemoReport } from '../../report/parse.js';
import { renderReport } from '../../report/render.js';
import { verdictOf } from '../../report/model.js';

const MAX_INPUT_BYTES = 512 * 1024 * 1024;

export function reportCommand(program: Command, setExit: SetExit): void {
  program
    .command('report')
    .description('render a failover report (JSON from demo --json, a bench or the lab) as one self-contained HTML file')
    .argument('<file>', 'the report JSON')
    .option('-o, --out <file>', 'where to write the HTML (default: the input path with .html)')
    .option('--check', 'exit 1 when the report says a promise was broken')
    .action((file: string, opts: { out?: string; check?: boolean }) => {
      let data: unknown;
      try {
        const size = statSync(file).size;
        if (size > MAX_INPUT_BYTES) throw new Error(`${size} bytes; the limit is ${MAX_INPUT_BYTES}`);
        data = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        process.stderr.write(`unbroken report: cannot read ${file}: ${(e as Error).message}\n`);
        setExit(2);
        return;
      }
      const parsed = parseDemoReport(data);
      if (!parsed.ok) {
        process.stderr.write(`unbroken report: ${file} is not a failover report:\n${parsed.errors.map((e) => `  ${e}`).join('\n')}\n`);
        setExit(2);
        return;
      }
      const out = opts.out ?? file.replace(/\.json$/i, '') + '.html';
      writeFileSync(out, renderReport(parsed.value));
      const v = verdictOf(parsed.value);
      process.stdout.write(`${out}\n${v.headline}\n`);
      if (opts.check && !v.kept) setExit(1);
    });
}
