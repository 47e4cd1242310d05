// Topology `pair`: a `client` namespace (Linux kernel TCP) and a `server` namespace
// holding a Linux bridge (switch, or hub with ageing_time 0), the client's veth peer and
// a TAP driven by our stack (or, with stack 'linux', the bridge's own kernel address:
// the Linux↔Linux baseline). 10.200.0.0/24, no default route, no forwarding.
import { spawn } from 'node:child_process';
import type { AppKind } from '../apps/index.js';
import { UNBROKEN_BIN_PATH, addNetns, buildOrTeardown, createState, startRole } from './lab.js';
import { LabError, sh } from './netns.js';
import type { StackIface } from './run-role.js';
import { parseImpairment } from '../drivers/impaired-endpoint.js';
import { writeState, type LabState } from './state.js';

export const PAIR_NET = {
  prefixLen: 24,
  serviceIp: '10.200.0.1',
  serviceMac: '02:00:00:00:00:01',
  clientIp: '10.200.0.2',
  /** Our stack acting as a client (fetch role), on its own TAP. */
  ourClientIp: '10.200.0.3',
  ourClientMac: '02:00:00:00:00:03',
} as const;

export interface PairOptions {
  app: AppKind;
  port: number;
  root?: string;
  /** tc netem arguments applied to both directions of the client's link (needs sch_netem). */
  netem?: string;
  /** The same arguments applied by our TAP driver to our stack's frames, both directions (any kernel). */
  impair?: string;
  hub?: boolean;
  /** 'ours' (default): our stack on a TAP; 'linux': kernel TCP on the bridge. */
  stack?: 'ours' | 'linux';
  tcp?: StackIface['tcp'];
  /** Our stack's TAP with checksum and segmentation offloads (IFF_VNET_HDR); off by default. */
  offload?: boolean;
}

export const DEFAULT_PORTS: Record<AppKind, number> = { echo: 7, blob: 9000, http: 80, resp: 6379 };

export async function pairUp(o: PairOptions): Promise<LabState> {
  if (o.app === 'http' && o.root === undefined) throw new LabError('--app http needs --root DIR (the directory to serve)');
  const stack = o.stack ?? 'ours';
  if (o.offload && stack === 'linux') throw new LabError('--offload is an option of our TAP driver; the kernel stack has its own');
  if (o.impair !== undefined) {
    const p = parseImpairment(o.impair);
    if (!p.ok) throw new LabError(`--impair: ${p.error}`);
    if (o.stack === 'linux') throw new LabError('--impair works inside our TAP driver; with --stack linux use --netem');
  }
  const s = createState('pair', { ip: PAIR_NET.serviceIp, port: o.port });
  s.impair = o.impair;
  await buildOrTeardown(s, async (checkpoint) => {
    const client = addNetns(s, 'client');
    const server = addNetns(s, 'server');
    checkpoint();
    sh(['ip', '-n', server, 'link', 'add', 'br0', 'type', 'bridge', ...(o.hub ? ['ageing_time', '0'] : [])]);
    sh(['ip', '-n', server, 'link', 'set', 'br0', 'up']);
    sh(['ip', '-n', server, 'link', 'add', 'p-client', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
    sh(['ip', '-n', server, 'link', 'set', 'p-client', 'master', 'br0', 'up']);
    sh(['ip', '-n', client, 'addr', 'add', `${PAIR_NET.clientIp}/${PAIR_NET.prefixLen}`, 'dev', 'eth0']);
    sh(['ip', '-n', client, 'link', 'set', 'eth0', 'up']);
    if (o.netem !== undefined && o.netem.trim() !== '') {
      const args = o.netem.trim().split(/\s+/);
      try {
        sh(['ip', 'netns', 'exec', client, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', ...args]);
      } catch (e) {
        if (/qdisc kind is unknown/.test((e as Error).message)) {
          throw new LabError(`this kernel has no netem (CONFIG_NET_SCH_NETEM): use --impair "${o.netem.trim()}" to apply it inside our TAP driver instead`);
        }
        throw e;
      }
      sh(['ip', 'netns', 'exec', server, 'tc', 'qdisc', 'add', 'dev', 'p-client', 'root', 'netem', ...args]);
    }
    checkpoint();
    if (stack === 'linux') {
      sh(['ip', '-n', server, 'addr', 'add', `${PAIR_NET.serviceIp}/${PAIR_NET.prefixLen}`, 'dev', 'br0']);
      await startRole(s, 'server', server, { role: 'server', stack: 'linux', ip: PAIR_NET.serviceIp, app: o.app, port: o.port, root: o.root });
    } else {
      addTap(server, 'tap0');
      await startRole(s, 'server', server, {
        role: 'server', stack: 'ours', app: o.app, port: o.port, root: o.root,
        iface: { tap: 'tap0', mac: PAIR_NET.serviceMac, ip: PAIR_NET.serviceIp, prefixLen: PAIR_NET.prefixLen, seed: randomSeed(), tcp: o.tcp, impair: o.impair, offload: o.offload },
      });
    }
    writeState(s);
  });
  return s;
}

/** A persistent TAP in `ns`, enslaved to br0 and up; our process attaches to it by name. */
export function addTap(ns: string, dev: string): void {
  sh(['ip', '-n', ns, 'tuntap', 'add', 'dev', dev, 'mode', 'tap']);
  sh(['ip', '-n', ns, 'link', 'set', dev, 'master', 'br0', 'up']);
}

export function randomSeed(): number { return (Math.random() * 2 ** 32) >>> 0; }

/** The one JSON object `lab up --json` prints. */
export function labJson(s: LabState): { name: string; netns: Record<string, string>; service: { ip: string; port: number }; pids: Record<string, number> } {
  return { name: s.name, netns: s.netns, service: s.service, pids: s.pids };
}

export interface FetchResult {
  bytes: number; sha256: string; elapsedMs: number; closeReason: string; seed: number; counters: Record<string, number>;
  /** The TAP device's counters (TapCounters): frames, and with offloads what they did. */
  tap?: Record<string, number>;
}

/**
 * Our stack as a client: a process in the server namespace on its own TAP (tap1,
 * 10.200.0.3) connects to `clientIp:remotePort` (a Linux server in the client
 * namespace), sends `request`, reads to the peer's FIN and reports size and sha256.
 */
export async function fetchWithOurStack(s: LabState, o: { remotePort: number; request: string; skipHttpHead: boolean; timeoutMs: number; tcp?: StackIface['tcp']; offload?: boolean }): Promise<FetchResult> {
  const ns = s.netns.server;
  if (!/tap1/.test(sh(['ip', '-n', ns, 'link', 'show']))) addTap(ns, 'tap1');
  const cfg = {
    role: 'fetch' as const, stack: 'ours' as const, remoteIp: PAIR_NET.clientIp, remotePort: o.remotePort,
    request: o.request, skipHttpHead: o.skipHttpHead, timeoutMs: o.timeoutMs,
    iface: { tap: 'tap1', mac: PAIR_NET.ourClientMac, ip: PAIR_NET.ourClientIp, prefixLen: PAIR_NET.prefixLen, seed: randomSeed(), tcp: o.tcp, impair: s.impair, offload: o.offload },
  };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, UNBROKEN_BIN_PATH, 'lab', 'run-role', JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { text += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => resolve(text));
  });
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new LabError(`our client printed no result: ${out.trim().split('\n').pop() ?? ''}`);
  return JSON.parse(line) as FetchResult;
}
