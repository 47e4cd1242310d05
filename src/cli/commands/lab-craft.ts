// The `craft` topology's part of `unbroken lab`: `lab up craft` (called from lab.ts)
// and the hidden `lab run-craft` that runs one CRAFT splicer inside its namespace.
// The topology is src/lab/craft-topology.ts; the splicer process src/lab/craft-host-main.ts.
import type { Command } from 'commander';
import { LabError } from '../../lab/netns.js';
import { runCraftHost, type CraftHostConfig } from '../../lab/craft-host-main.js';
import { craftJson, craftUp } from '../../lab/craft-topology.js';
import { runCopyProxy, type CopyProxyConfig } from '../../lab/copy-proxy-main.js';

export interface CraftUpCliOptions { backends?: string; splicers?: string; shared?: boolean; root?: string; port?: number; json: boolean }

function count(v: string | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new LabError(`${what} must be an integer, not '${v}'`);
  return n;
}

export async function craftUpCommand(o: CraftUpCliOptions): Promise<void> {
  const port = o.port ?? 80;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabError(`bad --port ${o.port}`);
  const splicers = count(o.splicers, 2, '--splicers');
  if (o.shared === true && splicers < 2) throw new LabError('--shared needs --splicers 2 or more (one splicer has no one to share with)');
  const s = await craftUp({ backends: count(o.backends, 2, '--backends'), splicers, shared: o.shared === true, root: o.root, port });
  const j = craftJson(s);
  if (o.json) { console.log(JSON.stringify(j)); return; }
  console.log(`lab ${s.name} is up: CRAFT splicer(s) on ${s.service.ip}:${s.service.port}, back ends serving ${j.root}`);
  console.log(`  client: ip netns exec ${s.netns.client} curl http://${s.service.ip}:${s.service.port}/1000000.bin`);
  for (const [role, pid] of Object.entries(s.pids)) console.log(`  crash ${role}: kill -9 ${pid}`);
  console.log(`  remove: unbroken lab down ${s.name}`);
}

/** Adds the hidden `run-craft` and `run-copy-proxy` subcommands to `lab`. */
export function registerCraftLab(lab: Command, setExit: (c: number) => void): void {
  lab.command('run-copy-proxy', { hidden: true })
    .description('internal: the copying proxy on our stack (the craft benchmark\'s baseline)')
    .argument('<config>', 'JSON CopyProxyConfig')
    .action(async (config: string) => {
      let code: number;
      try {
        code = await runCopyProxy(JSON.parse(config) as CopyProxyConfig);
      } catch (e) {
        console.error(`unbroken lab run-copy-proxy: ${(e as Error).message}`);
        code = 1;
      }
      process.exit(code);
    });

  lab.command('run-craft', { hidden: true })
    .description('internal: a CRAFT splicer of the craft lab inside its namespace')
    .argument('<config>', 'JSON CraftHostConfig')
    .action(async (config: string) => {
      let code: number;
      try {
        code = await runCraftHost(JSON.parse(config) as CraftHostConfig);
      } catch (e) {
        console.error(`unbroken lab run-craft: ${(e as Error).message}`);
        code = 1;
      }
      setExit(code);
      // A blocking TAP read may still be parked in the thread pool: end the process here.
      process.exit(code);
    });
}
