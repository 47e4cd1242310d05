// `unbroken bench [ids...] [--quick]`: runs benchmarks, prints their tables and rewrites
// their sections of BENCHMARKS.md. The harness is src/bench/; this only parses arguments.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { SetExit } from './index.js';
import { BENCHMARKS } from '../../bench/registry.js';
import { runBenchmarks } from '../../bench/runner.js';
import { formatMachine, machineInfo } from '../../bench/machine.js';
import { realEnv, unmetRequirement } from '../../bench/requirements.js';

/** BENCHMARKS.md beside package.json, wherever the command is run from. */
const DEFAULT_FILE = fileURLToPath(new URL('../../../BENCHMARKS.md', import.meta.url));

interface BenchOpts { quick?: boolean; list?: boolean; write: boolean; file: string }

/** The command line to record beside the figures: how this run was started. */
function invocation(args: readonly string[]): string {
  const tail = args.join(' ');
  if (process.env['npm_lifecycle_event'] === 'bench') return tail === '' ? 'npm run bench' : `npm run bench -- ${tail}`;
  return `npx unbroken bench${tail === '' ? '' : ` ${tail}`}`;
}

/** The arguments after `bench` as the user typed them (bin/unbroken.js passes argv through). */
function argsAfterBench(): string[] {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('bench');
  return at >= 0 ? argv.slice(at + 1) : [];
}

export function benchCommand(program: Command, setExit: SetExit): void {
  program
    .command('bench')
    .description('run benchmarks (all, or the ids given) and record the figures in BENCHMARKS.md')
    .argument('[ids...]', 'benchmark ids to run (default: all)')
    .option('--quick', 'smaller workloads')
    .option('--list', 'list benchmarks and what they need, run nothing')
    .option('--no-write', 'print only; leave BENCHMARKS.md unchanged')
    .option('--file <path>', 'the file to update (default: BENCHMARKS.md at the repository root)', DEFAULT_FILE)
    .action(async (ids: string[], opts: BenchOpts) => {
      const env = realEnv();
      if (opts.list) {
        for (const b of BENCHMARKS) {
          const why = unmetRequirement(b.requires, env);
          console.log(`${b.id.padEnd(12)} ${b.title}${why ? `  [skipped here: ${why}]` : ''}`);
        }
        return;
      }
      const tty = process.stderr.isTTY === true;
      const summary = await runBenchmarks(BENCHMARKS, {
        ids, quick: opts.quick === true,
        file: opts.write ? resolve(opts.file) : undefined,
        command: invocation(argsAfterBench()),
        machine: formatMachine(machineInfo()),
        env,
        out: (l) => console.log(l),
        progress: tty ? (l) => process.stderr.write(`\r\x1b[K${l}`) : () => {},
      });
      setExit(summary.exitCode);
    });
}
