// Entry point of the `unbroken` command: builds the commander program from the
// per-command modules under ./commands and returns the process exit code.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('unbroken')
    .description('Server crashes the client never notices: ST-TCP, CRAFT and call-preserving failover')
    .exitOverride()
    .showHelpAfterError();
  let code = 0;
  registerCommands(program, (c) => { code = c; });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return code;
}
