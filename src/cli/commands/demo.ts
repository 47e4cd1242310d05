// `unbroken demo [sttcp|craft|calls|all|tcp] [--seed N] [--json] [--out DIR]`: argument parsing and
// output only; the demos are src/demo/sttcp-demo.ts (the default) and transfer-demo.ts.
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import type { SetExit } from './index.js';
import { DEMO_DEFAULT_SEED, runDemo } from '../../demo/transfer-demo.js';
import { runStTcpDemo } from '../../demo/sttcp-demo.js';
import { runCraftDemo } from '../../craft/demo.js';
import { runCallsDemo } from '../../demo/calls-demo.js';
import { runAllDemos } from '../../demo/all-demo.js';

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
    .description('watch a server crash that its clients never notice, in the deterministic simulator (no root, no setup)')
    .addArgument(new Argument('[technique]', 'sttcp: the primary server host crashes mid-transfer; craft: a splicer and then a back end crash under spliced downloads; calls: the H.248 call controller crashes mid-call; all: sttcp, craft and calls in turn with one summary and an index of the reports; tcp: our TCP stack over a lossy link').choices(['sttcp', 'craft', 'calls', 'all', 'tcp']).default('sttcp'))
    .addOption(new Option('--seed <n>', 'seed of the simulation (same seed, same run)').default(DEMO_DEFAULT_SEED).argParser(parseSeed))
    .option('--json', 'print exactly one JSON object with the results', false)
    .option('--out <dir>', 'write the HTML reports, their JSON and the pcaps here', 'out/demo')
    .addOption(new Option('--mode <mode>', 'ST-TCP durability: sync (no acknowledged byte is ever lost) or async').choices(['sync', 'async']).default('sync'))
    .action((technique: 'sttcp' | 'craft' | 'calls' | 'all' | 'tcp', opts: { seed: number; json: boolean; out: string; mode: 'sync' | 'async' }) => {
      const write = (line: string): void => { process.stdout.write(`${line}\n`); };
      const code = technique === 'all'
        ? runAllDemos({ seed: opts.seed, json: opts.json, outDir: opts.out }, write)
        : technique === 'tcp'
        ? runDemo({ seed: opts.seed, json: opts.json, outDir: opts.out }, write)
        : technique === 'calls'
          ? runCallsDemo({ seed: opts.seed, json: opts.json, outDir: opts.out }, write)
          : technique === 'craft'
          ? runCraftDemo({ seed: opts.seed, json: opts.json, outDir: opts.out }, write)
          : runStTcpDemo({ seed: opts.seed, json: opts.json, outDir: opts.out, mode: opts.mode }, write);
      setExit(code);
    });
}
