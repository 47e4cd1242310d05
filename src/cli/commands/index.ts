// The list of subcommands. Each lives in its own module and registers itself on the
// program; `setExit` records the exit code the command wants the process to end with.
import type { Command } from 'commander';
import { registerCalls } from './calls.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { labCommand } from './lab.js';
import { configCommand } from './config.js';
import { reportCommand } from './report.js';
import { serveCommand } from './serve.js';

export type SetExit = (code: number) => void;
export type CommandModule = (program: Command, setExit: SetExit) => void;

const modules: CommandModule[] = [
  demoCommand,
  labCommand,
  registerCalls,
  benchCommand,
  reportCommand,
  configCommand,
  serveCommand,
];

export function registerCommands(program: Command, setExit: SetExit): void {
  for (const m of modules) m(program, setExit);
}
