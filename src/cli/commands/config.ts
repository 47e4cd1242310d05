// `unbroken config check FILE` validates a serve config without starting anything
// (like `nginx -t` or `haproxy -c`); `unbroken config reference` prints every field.
// The schema and its errors are src/config/.
import type { Command } from 'commander';
import type { SetExit } from './index.js';
import { formatConfigErrors, loadConfigFile } from '../../config/load.js';
import { configReference } from '../../config/reference.js';

export function configCommand(program: Command, setExit: SetExit): void {
  const config = program.command('config').description('check an `unbroken serve` config file, or print the reference of its fields');
  config
    .command('check')
    .description('validate a config file (JSON or YAML): every error names the field and the fix; exit 1 on errors')
    .argument('<file>', 'the config file')
    .option('--no-files', 'skip the checks of files the config names (key file present, 32+ bytes, mode 0600)')
    .action((file: string, opts: { files: boolean }) => {
      const r = loadConfigFile(file, { checkFiles: opts.files });
      if (!r.ok) {
        process.stderr.write(formatConfigErrors(file, r.errors) + '\n');
        setExit(1);
        return;
      }
      process.stdout.write(`${file}: ok (role ${r.config.role}${r.config.node ? `, node ${r.config.node}` : ''})\n`);
    });
  config
    .command('reference')
    .description('print every config field with its type, default and meaning (Markdown)')
    .action(() => {
      process.stdout.write(configReference());
    });
}
