// `unbroken demo [--seed N] [--json] [--out DIR]`: argument parsing and output only;
// the demo itself is src/demo/transfer-demo.ts.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { SetExit } from './index.js';
import { DEMO_DEFAULT_SEED, runDemo } from '../../demo/transfer-demo.js';

function parseSeed(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n > 0xffff_ffff) {
    throw new InvalidArgumentError('expected an integer from 0 to 4294967295');
  }
  return n;
}

export function demoCommand(program: Command, setExit: SetExit): void {
  program
    .command('demo')
    .description('simulate a TCP transfer between two of our hosts over a lossy link, verify every byte, and tell what happened')
    .addOption(new Option('--seed <n>', 'seed of the simulation (same seed, same run)').default(DEMO_DEFAULT_SEED).argParser(parseSeed))
    .option('--json', 'print exactly one JSON object with the results', false)
    .option('--out <dir>', 'write a pcap of the client\'s port into this directory')
    .action((opts: { seed: number; json: boolean; out?: string }) => {
      const code = runDemo({ seed: opts.seed, json: opts.json, ...(opts.out !== undefined ? { outDir: opts.out } : {}) }, (line) => {
        process.stdout.write(`${line}\n`);
      });
      setExit(code);
    });
}
