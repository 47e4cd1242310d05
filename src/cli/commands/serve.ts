// `unbroken serve --config FILE`: runs one role on a real interface until SIGTERM/SIGINT.
// Argument parsing only; the server is src/serve/serve.ts.
import type { Command } from 'commander';
import type { SetExit } from './index.js';
import { runServe } from '../../serve/serve.js';

export function serveCommand(program: Command, setExit: SetExit): void {
  program
    .command('serve')
    .description('run one role (sttcp-primary, sttcp-backup, splicer, backend, call-controller, media-gateway) on a real interface from a config file; JSON logs on stdout, Prometheus metrics on metrics.listen; stops cleanly on SIGTERM/SIGINT')
    .requiredOption('--config <file>', 'the config file (JSON or YAML); check it first with `unbroken config check FILE`')
    .action(async (opts: { config: string }) => {
      setExit(await runServe({ configPath: opts.config, stderr: (l) => process.stderr.write(`${l}\n`) }));
    });
}
