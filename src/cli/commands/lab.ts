// `unbroken lab`: build and remove network-namespace labs (up/down/list) and the
// hidden `run-role` entry the lab uses to start its own processes inside namespaces.
// Topologies live in src/lab/; this file only parses options and prints.
import { Option } from 'commander';
import { APP_KINDS, type AppKind } from '../../apps/index.js';
import { labDown, leftoverLabs, restartRole } from '../../lab/lab.js';
import { LabError, checkLabHost } from '../../lab/netns.js';
import { DEFAULT_PORTS, labJson, pairUp } from '../../lab/pair.js';
import { runRole, type RoleConfig } from '../../lab/run-role.js';
import { LAB_NAME_RE, LAB_PREFIX } from '../../lab/state.js';
import { STTCP_LAB_RT_PRIORITY } from '../../lab/sttcp-topology.js';
import { TapError } from '../../drivers/tap/tap-device.js';
import type { CommandModule } from './index.js';
import { registerSttcpLab, sttcpUpCommand } from './lab-sttcp.js';
import { craftUpCommand, registerCraftLab } from './lab-craft.js';

function fail(e: unknown, setExit: (c: number) => void): void {
  if (e instanceof LabError || e instanceof TapError) {
    console.error(`unbroken lab: ${e.message}`);
    setExit(1);
    return;
  }
  throw e;
}

export const labCommand: CommandModule = (program, setExit) => {
  const lab = program.command('lab').description('network-namespace labs: real Linux programs against our stack on a TAP device');

  lab.command('up')
    .description('build a topology in fresh network namespaces and start its processes')
    .argument('<topology>', 'pair | sttcp | craft')
    .addOption(new Option('--app <app>', 'service on the server (relay: sttcp only)').choices([...APP_KINDS, 'relay']).default('echo'))
    .option('--root <dir>', 'directory the http app serves')
    .option('--port <n>', 'service port (default: echo 7, blob 9000, http 80, resp 6379)', (v) => Number(v))
    .option('--netem <args>', 'tc netem arguments for the client link, both directions (e.g. "delay 20ms loss 1%")')
    .option('--impair <args>', 'the same netem-style arguments applied inside our TAP driver, both directions (kernels without netem)')
    .option('--hub', 'bridge floods every frame to every port (ageing_time 0)', false)
    .option('--offload', 'pair, sttcp: TAP checksum and segmentation offloads (IFF_VNET_HDR, 64 KB TCP segments to the kernel)', false)
    .addOption(new Option('--stack <stack>', 'server TCP: our stack on a TAP, or the Linux kernel (baseline)').choices(['ours', 'linux']).default('ours'))
    .option('--json', 'print one JSON object {name, netns, service, pids}', false)
    .option('--mode <mode>', 'sttcp: sync (default) or async replication')
    .option('--no-backup', 'sttcp: the primary alone on a plain host of our stack (baseline)')
    .option('--no-control-link', 'sttcp: the control channel over the service LAN instead of its own primary–backup link')
    .option('--tap <way>', "sttcp: 'one-way' (default: the backup taps client → service frames, as a mirror port of the client side) or 'two-way' (it also sees the primary's replies: checks its replica's output against them and reports a divergence)")
    .option('--backends <n>', 'craft: back ends (nginx), default 2')
    .option('--splicers <n>', 'craft: splicers, 1, 2 (active/standby) or 3..6 (all active), default 2')
    .option('--shared', 'craft: 2 splicers both active (ECMP next hops) instead of an active/standby pair', false)
    .option('--relay-server <spec>', "sttcp --app relay: the server each host runs on loopback: 'redis' (default: redis-server, no persistence), 'none', or a command line")
    .option('--relay-upstream <host:port>', 'sttcp --app relay: where that server listens in each host (default 127.0.0.1:6379)')
    .option('--liveness <spec>', "sttcp: 'lab' (default: 20 ms heartbeats, 10 misses, 150 ms lease), 'default' (10 ms, 3, 25 ms) or HB_MS,MISSES,LEASE_MS")
    .option('--realtime <prio>', `sttcp: run the hosts under SCHED_RR at this priority (the benchmarks use ${STTCP_LAB_RT_PRIORITY}), or 'off' (default)`)
    .action(async (topology: string, o: { app: AppKind | 'relay'; relayServer?: string; relayUpstream?: string; root?: string; port?: number; netem?: string; impair?: string; hub: boolean; offload: boolean; stack: 'ours' | 'linux'; json: boolean; mode?: string; backup: boolean; controlLink: boolean; tap?: string; liveness?: string; realtime?: string; backends?: string; splicers?: string; shared: boolean }) => {
      try {
        checkLabHost();
        if (topology === 'sttcp') { await sttcpUpCommand(o); return; }
        if (topology === 'craft') { await craftUpCommand(o); return; }
        if (topology !== 'pair') throw new LabError(`unknown topology '${topology}': known are pair, sttcp, craft`);
        if (o.app === 'relay') throw new LabError('--app relay runs under ST-TCP: lab up sttcp --app relay');
        const port = o.port ?? DEFAULT_PORTS[o.app];
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabError(`bad --port ${o.port}`);
        const s = await pairUp({ app: o.app, port, root: o.root, netem: o.netem, impair: o.impair, hub: o.hub, stack: o.stack, offload: o.offload });
        if (o.json) console.log(JSON.stringify(labJson(s)));
        else {
          console.log(`lab ${s.name} is up: ${o.app} on ${s.service.ip}:${s.service.port} (${o.stack} stack)`);
          console.log(`  client: ip netns exec ${s.netns.client} <command>`);
          console.log(`  remove: unbroken lab down ${s.name}`);
        }
      } catch (e) { fail(e, setExit); }
    });

  lab.command('down')
    .description("remove a lab, or with --all every leftover of this project's labs (and nothing else)")
    .argument('[name]', 'lab name printed by lab up')
    .option('--all', 'remove every leftover lab', false)
    .option('--json', 'print what was removed as JSON', false)
    .action(async (name: string | undefined, o: { all: boolean; json: boolean }) => {
      try {
        checkLabHost();
        if (name === undefined && !o.all) throw new LabError('name a lab (unbroken lab down <name>) or use --all');
        const names = o.all ? leftoverLabs() : [name as string];
        if (!o.all && !LAB_NAME_RE.test(names[0])) throw new LabError(`'${names[0]}' is not a lab name (${LAB_PREFIX}xxxxxx)`);
        const removed = [];
        for (const n of names) removed.push(await labDown(n));
        if (o.json) console.log(JSON.stringify({ removed }));
        else for (const r of removed) console.log(`removed ${r.name} (${r.netns.length} namespaces, ${r.pids.length} processes)`);
      } catch (e) { fail(e, setExit); }
    });

  lab.command('restart')
    .description('start a killed lab process again (a craft splicer rejoins the others), same command and namespace')
    .argument('<name>', 'lab name printed by lab up')
    .argument('<role>', 'the role, as in the lab JSON pids (e.g. splicer1)')
    .option('--json', 'print {name, role, pid}', false)
    .action(async (name: string, role: string, o: { json: boolean }) => {
      try {
        checkLabHost();
        if (!LAB_NAME_RE.test(name)) throw new LabError(`'${name}' is not a lab name (${LAB_PREFIX}xxxxxx)`);
        const pid = await restartRole(name, role);
        if (o.json) console.log(JSON.stringify({ name, role, pid }));
        else console.log(`${role} of ${name} runs again: pid ${pid}`);
      } catch (e) { fail(e, setExit); }
    });

  lab.command('list')
    .description('labs of this project that exist now')
    .action(() => { for (const n of leftoverLabs()) console.log(n); });

  registerSttcpLab(lab, setExit);
  registerCraftLab(lab, setExit);

  lab.command('run-role', { hidden: true })
    .description('internal: a lab process inside a namespace')
    .argument('<config>', 'JSON RoleConfig')
    .action(async (config: string) => {
      let code: number;
      try {
        code = await runRole(JSON.parse(config) as RoleConfig);
      } catch (e) {
        console.error(`unbroken lab run-role: ${(e as Error).message}`);
        code = 1;
      }
      // A blocking TAP read may still be parked in the thread pool: end the process here.
      process.exit(code);
    });
};

