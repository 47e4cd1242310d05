// The `sttcp` topology's part of `unbroken lab`: `lab up sttcp` (called from lab.ts)
// and the hidden `lab run-sttcp` that runs one ST-TCP host inside its namespace.
// The topology is src/lab/sttcp-topology.ts; the host process src/lab/sttcp-host-main.ts.
import type { Command } from 'commander';
import type { AppKind } from '../../apps/index.js';
import { LabError } from '../../lab/netns.js';
import { defaultLiveness, validateLiveness, type LivenessConfig } from '../../sttcp/liveness.js';
import { DEFAULT_PORTS } from '../../lab/pair.js';
import { runSttcpHost, type SttcpHostConfig } from '../../lab/sttcp-host-main.js';
import { sttcpJson, sttcpUp } from '../../lab/sttcp-topology.js';
import { parseRelayServer, parseRelayUpstream } from '../../lab/relay-server.js';

/** The relay's service port unless --port says otherwise (redis's, the default relayed server). */
const RELAY_DEFAULT_PORT = 6379;

export interface SttcpUpCliOptions {
  app: AppKind | 'relay'; root?: string; port?: number; mode?: string; backup?: boolean; controlLink?: boolean; tap?: string; liveness?: string; realtime?: string; offload?: boolean; json: boolean;
  relayServer?: string; relayUpstream?: string;
}

export async function sttcpUpCommand(o: SttcpUpCliOptions): Promise<void> {
  const mode = o.mode ?? 'sync';
  if (mode !== 'sync' && mode !== 'async') throw new LabError(`--mode must be sync or async, not '${mode}'`);
  const port = o.port ?? (o.app === 'relay' ? RELAY_DEFAULT_PORT : DEFAULT_PORTS[o.app]);
  if (o.app !== 'relay' && (o.relayServer !== undefined || o.relayUpstream !== undefined)) throw new LabError('--relay-server and --relay-upstream go with --app relay');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabError(`bad --port ${o.port}`);
  const tap = o.tap ?? 'one-way';
  if (tap !== 'one-way' && tap !== 'two-way') throw new LabError(`--tap must be one-way or two-way, not '${tap}'`);
  const relay = o.app === 'relay' ? { relayServer: parseRelayServer(o.relayServer), relayUpstream: parseRelayUpstream(o.relayUpstream) } : {};
  const s = await sttcpUp({ app: o.app, port, root: o.root, mode, backup: o.backup !== false, controlLink: o.controlLink !== false, tap, liveness: parseLiveness(o.liveness), realtime: parseRealtime(o.realtime), offload: o.offload === true, ...relay });
  if (o.json) { console.log(JSON.stringify(sttcpJson(s))); return; }
  console.log(`lab ${s.name} is up: ST-TCP ${o.app} on ${s.service.ip}:${s.service.port} (${mode}, control channel ${o.controlLink !== false && o.backup !== false ? 'on its own link' : 'over the LAN'}, ${tap} tap)`);
  console.log(`  client: ip netns exec ${s.netns.client} <command>`);
  console.log(`  crash the primary: kill -9 ${s.pids.primary}`);
  console.log(`  remove: unbroken lab down ${s.name}`);
}

/**
 * --liveness: 'lab' (the lab's tolerant settings, default), 'default' (the library's
 * 10 ms × 3), or 'HB_MS,MISSES,LEASE_MS[,MARGIN_MS]'.
 */
export function parseLiveness(v: string | undefined): Partial<LivenessConfig> | undefined {
  if (v === undefined || v === 'lab') return undefined;
  if (v === 'default') return { ...defaultLiveness };
  const n = v.split(',').map(Number);
  if (n.length < 3 || n.length > 4 || n.some((x) => !Number.isFinite(x) || x < 0)) throw new LabError(`--liveness: 'lab', 'default' or HB_MS,MISSES,LEASE_MS[,MARGIN_MS], not '${v}'`);
  const c: LivenessConfig = { heartbeatUs: Math.round(n[0]! * 1000), missLimit: n[1]!, leaseUs: Math.round(n[2]! * 1000), marginUs: Math.round((n[3] ?? 2) * 1000) };
  const errs = validateLiveness(c);
  if (errs.length > 0) throw new LabError(`--liveness: ${errs.join('; ')}`);
  return c;
}

/** --realtime: the hosts' SCHED_RR priority (1–99), or 'off'; absent: off. */
export function parseRealtime(v: string | undefined): number | false | undefined {
  if (v === undefined) return undefined;
  if (v === 'off') return false;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 99) throw new LabError(`--realtime: a SCHED_RR priority 1–99 or 'off', not '${v}'`);
  return n;
}

/** Adds the hidden `run-sttcp` subcommand to `lab`. */
export function registerSttcpLab(lab: Command, setExit: (c: number) => void): void {
  lab.command('run-sttcp', { hidden: true })
    .description('internal: an ST-TCP host of the sttcp lab inside its namespace')
    .argument('<config>', 'JSON SttcpHostConfig')
    .action(async (config: string) => {
      try {
        setExit(await runSttcpHost(JSON.parse(config) as SttcpHostConfig));
      } catch (e) {
        console.error(`unbroken lab run-sttcp: ${(e as Error).message}`);
        setExit(1);
      }
    });
}
