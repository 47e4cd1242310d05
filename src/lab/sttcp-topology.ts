// Topology `sttcp`: a `client` namespace (Linux kernel TCP) and two ST-TCP hosts,
// `primary` and `backup`, each an StTcpNode on a TAP (sttcp-host-main.ts), all on one
// LAN: a hub-mode Linux bridge (ageing_time 0: every port sees every frame, the
// backup's tap) in a `lan` namespace. Each host namespace bridges its TAP to its veth
// (also hub mode), as a host's NIC. 10.201.0.0/24, no default route, no forwarding.
// The control link (on by default): a veth pair straight between the primary's and the
// backup's namespace (eth1 in each, bridged to a second TAP, tap1), 10.202.0.0/24, no
// route out, so heartbeats and catch-up never queue behind tapped traffic on the LAN
// (DESIGN §ST-TCP; the simulator's `controlLink`). The hosts' own addresses live there.
// The lab's power switch for fencing: each host may SIGKILL the other's pid.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppKind } from '../apps/index.js';
import type { DurabilityMode } from '../sttcp/node.js';
import type { LivenessConfig } from '../sttcp/liveness.js';
import { addNetns, buildOrTeardown, createState, startLabProcess, type LabProcessSched } from './lab.js';
import { LabError, sh } from './netns.js';
import { addTap, randomSeed } from './pair.js';
import { writeState, type LabState } from './state.js';
import type { SttcpHostConfig } from './sttcp-host-main.js';
import { DEFAULT_RELAY_UPSTREAM, startRelayServer, type RelayServerSpec, type RelayUpstream } from './relay-server.js';

export const STTCP_NET = {
  prefixLen: 24,
  serviceIp: '10.201.0.100',
  serviceMac: '02:00:00:00:01:64',
  clientIp: '10.201.0.1',
  primary: { ip: '10.201.0.2', mac: '02:00:00:00:01:02' },
  backup: { ip: '10.201.0.3', mac: '02:00:00:00:01:03' },
  /** The primary–backup control link's subnet (the hosts' own addresses when it is on). */
  control: { primary: '10.202.0.2', backup: '10.202.0.3' },
} as const;

/**
 * The lab's failure-detection settings unless told otherwise. Not the library defaults
 * (heartbeat 10 ms, failure after 3 misses, lease 25 ms): on a shared 2-core machine the
 * host processes' event loops stall 10–125 ms at times (measured with the stall log of
 * sttcp-host-main.ts), and with 30 ms detection the backup then declares a live primary
 * failed. `--liveness default` runs the library defaults.
 */
export const LAB_LIVENESS: Readonly<LivenessConfig> = Object.freeze({
  heartbeatUs: 20_000, missLimit: 10, leaseUs: 150_000, marginUs: 5_000,
});

/**
 * The hosts' SCHED_RR priority with `--realtime` on and in the ST-TCP lab benchmarks
 * (lab.ts LabProcessSched). Off by default: two real-time hosts at full speed take the
 * machine's CPUs from everything else on it (in the one CI rehearsal that ran them so, a
 * call-controller test beside the lab failed, most likely starved). With the
 * library's default liveness on this 2-core machine and 256-frame driver turns, 11–18 of
 * 20 `sttcp-lab-pause` runs at normal priority ended in a spurious failover, 3–5 of 20
 * with real-time priority alone, 0–2 of 20 with V8's garbage collector kept on the event
 * loop's thread as well (below). With the 32-frame turns ST-TCP hosts now use
 * (HEARTBEAT_TURNS) the priority no longer changes that count measurably; it keeps the
 * replicated pair's throughput (sync downloads 511 Mbit/s against 375 at normal priority).
 */
export const STTCP_LAB_RT_PRIORITY = 20;

/**
 * V8's old generation starts with room (128 MB) instead of growing from a few MB. Without
 * it a host streaming at full speed ran one full collection after another, each started
 * with the old generation at ~17 MB of a ~41 MB limit (with --trace-gc: 17–30 mark-compacts
 * per 100 MB echoed through a replicated pair with offloads, none with the flag;
 * BENCHMARKS.md, sttcp-lab-cost) — most likely V8 starting to mark whenever the old
 * generation has less room left than the young generation's capacity. A limit, not memory taken.
 */
export const HOST_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/**
 * How the lab runs an ST-TCP host (and the no-backup baseline alike): at normal priority,
 * or at real-time priority with `--single-threaded-gc` — V8's parallel GC helper threads,
 * at the same real-time priority, otherwise hold both CPUs while the event loops wait
 * (measured: 3–5 spurious failovers in 20 runs without it). At normal priority the flag
 * showed no measurable gain (8 of 20 against 11) and puts all GC work on the event loop's
 * thread. HOST_HEAP_FLAGS either way.
 */
export function sttcpHostSched(rtPriority: number | false): LabProcessSched {
  return rtPriority === false ? { nodeFlags: HOST_HEAP_FLAGS } : { rtPriority, nodeFlags: ['--single-threaded-gc', ...HOST_HEAP_FLAGS] };
}

export interface SttcpLabOptions {
  /** A built-in app, or 'relay': an unmodified server in each host's namespace (relay-server.ts). */
  app: AppKind | 'relay';
  /** For 'relay': the server each host runs (default redis-server) … */
  relayServer?: RelayServerSpec;
  /** … and where it listens in each host's namespace (default 127.0.0.1:6379). */
  relayUpstream?: RelayUpstream;
  port: number;
  root?: string;
  mode: DurabilityMode;
  /** false: the primary's namespace runs the app on a plain Host of our stack, no backup (the baseline). */
  backup?: boolean;
  liveness?: Partial<LivenessConfig>;
  /**
   * 'one-way' (default): each host's NIC takes only frames addressed to its own MAC, the
   * service MAC or broadcast, so the backup taps client → service frames only.
   * 'two-way': the backup also receives the primary's frames to the clients (it learns
   * the ISN from the SYN-ACK and checks the primary's output), at the cost of processing
   * every byte the primary sends: on this 2-core machine a full-speed download then
   * starves the backup's heartbeats and the primary fences it.
   */
  tap?: 'one-way' | 'two-way';
  /** The hosts' SCHED_RR priority (STTCP_LAB_RT_PRIORITY, say), or false (default): normal scheduling. */
  realtime?: number | false;
  /** How long to wait for the pair to report replication active. */
  syncTimeoutMs?: number;
  /**
   * The control channel on its own link between primary and backup (default true); false:
   * over the service LAN, sharing the hub (and the backup's NIC) with the tapped traffic.
   */
  controlLink?: boolean;
  /** TAP checksum and segmentation offloads on the hosts' service TAPs (the baseline's too). */
  offload?: boolean;
}

/** The control link: veth eth1 from `a`'s namespace to `b`'s, each end bridged to tap1 (br1). */
function addControlLink(a: string, b: string): void {
  sh(['ip', '-n', a, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', b]);
  for (const ns of [a, b]) {
    sh(['ip', '-n', ns, 'link', 'add', 'br1', 'type', 'bridge', 'stp_state', '0']);
    sh(['ip', '-n', ns, 'link', 'set', 'br1', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'eth1', 'master', 'br1', 'up']);
    sh(['ip', '-n', ns, 'tuntap', 'add', 'dev', 'tap1', 'mode', 'tap']);
    sh(['ip', '-n', ns, 'link', 'set', 'tap1', 'master', 'br1', 'up']);
  }
}

/** A hub: a bridge that forwards every frame to every port (ageing_time 0: nothing stays learned). */
function addHub(ns: string): void {
  sh(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge', 'ageing_time', '0', 'stp_state', '0']);
  sh(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);
}

/**
 * Makes the host bridge between eth0 and tap0 behave like a NIC with two unicast MAC
 * filters: tap0 gets frames for the service MAC, its own MAC, and broadcast/multicast;
 * other unicast (the primary's frames to clients) is not flooded to it.
 */
function nicFilter(ns: string, ownMac: string): void {
  sh(['bridge', '-n', ns, 'link', 'set', 'dev', 'tap0', 'flood', 'off', 'learning', 'off']);
  sh(['bridge', '-n', ns, 'link', 'set', 'dev', 'eth0', 'learning', 'off']);
  for (const mac of [STTCP_NET.serviceMac, ownMac]) sh(['bridge', '-n', ns, 'fdb', 'add', mac, 'dev', 'tap0', 'master', 'static']);
}

/**
 * The one-way tap as a switch's mirror port would give it: the hub still floods every
 * client frame to both hosts, but a host's frames reach the clients only, not the other
 * host's port (bridge port isolation). Otherwise each frame the primary sends is copied
 * onto the backup's veth and through its namespace's bridge, only for the NIC filter
 * there to drop it: kernel work on this machine's shared cores that a real tap costs the
 * hosts nothing. Needs the control channel on its own link (the hosts do not reach each
 * other over the LAN).
 */
function mirrorClientsOnly(lan: string, hosts: readonly string[]): void {
  for (const r of hosts) sh(['bridge', '-n', lan, 'link', 'set', 'dev', `l-${r}`, 'isolated', 'on']);
}

/** veth from the LAN hub (port l-<role>) to eth0 in `ns`. */
function plugIntoLan(lan: string, role: string, ns: string): void {
  sh(['ip', '-n', lan, 'link', 'add', `l-${role}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  sh(['ip', '-n', lan, 'link', 'set', `l-${role}`, 'master', 'br0', 'up']);
}

export async function sttcpUp(o: SttcpLabOptions): Promise<LabState> {
  if (o.app === 'http' && o.root === undefined) throw new LabError('--app http needs --root DIR (the directory to serve)');
  const withBackup = o.backup ?? true;
  const s = createState('sttcp', { ip: STTCP_NET.serviceIp, port: o.port });
  await buildOrTeardown(s, async (checkpoint) => {
    const lan = addNetns(s, 'lan');
    const client = addNetns(s, 'client');
    const hosts = withBackup ? (['primary', 'backup'] as const) : (['primary'] as const);
    const ns: Record<string, string> = {};
    for (const r of hosts) ns[r] = addNetns(s, r);
    checkpoint();
    addHub(lan);
    plugIntoLan(lan, 'client', client);
    sh(['ip', '-n', client, 'addr', 'add', `${STTCP_NET.clientIp}/${STTCP_NET.prefixLen}`, 'dev', 'eth0']);
    sh(['ip', '-n', client, 'link', 'set', 'eth0', 'up']);
    for (const r of hosts) {
      plugIntoLan(lan, r, ns[r]!);
      addHub(ns[r]!);
      sh(['ip', '-n', ns[r]!, 'link', 'set', 'eth0', 'master', 'br0', 'up']);
      addTap(ns[r]!, 'tap0');
      if ((o.tap ?? 'one-way') === 'one-way' && withBackup) nicFilter(ns[r]!, STTCP_NET[r].mac);
    }
    const controlLink = withBackup && o.controlLink !== false;
    if (controlLink) addControlLink(ns.primary!, ns.backup!);
    if (controlLink && (o.tap ?? 'one-way') === 'one-way') mirrorClientsOnly(lan, hosts);
    checkpoint();
    const keyFile = join(s.dir, 'control.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    const pidFile = (r: string): string => join(s.dir, `${r}.pid`);
    const relayUpstream = o.app === 'relay' ? o.relayUpstream ?? { ...DEFAULT_RELAY_UPSTREAM } : undefined;
    if (relayUpstream !== undefined) {
      for (const r of hosts) startRelayServer(s, r, ns[r]!, o.relayServer ?? { kind: 'redis' }, relayUpstream);
      checkpoint();
    }
    const base = {
      tap: 'tap0', app: o.app, port: o.port, root: o.root, mode: o.mode,
      ...(relayUpstream !== undefined ? { relayUpstream } : {}),
      serviceMac: STTCP_NET.serviceMac, serviceIp: STTCP_NET.serviceIp, prefixLen: STTCP_NET.prefixLen,
      keyFile, liveness: o.liveness ?? LAB_LIVENESS,
      ...(o.offload === true ? { offload: true } : {}),
    };
    const cfg = (r: 'primary' | 'backup'): SttcpHostConfig => {
      const peer = r === 'primary' ? 'backup' : 'primary';
      return {
        ...base, role: withBackup ? r : 'solo', ownMac: STTCP_NET[r].mac, peerPidFile: pidFile(peer), seed: randomSeed(),
        ...(controlLink
          ? { ownIp: STTCP_NET.control[r], peerIp: STTCP_NET.control[peer], controlTap: 'tap1' }
          : { ownIp: STTCP_NET[r].ip, peerIp: STTCP_NET[peer].ip }),
      };
    };
    const sched = sttcpHostSched(o.realtime ?? false);
    const primaryPid = await startLabProcess(s, 'primary', ns.primary!, 'run-sttcp', cfg('primary'), undefined, sched);
    writeFileSync(pidFile('primary'), String(primaryPid));
    checkpoint();
    if (withBackup) {
      const backupPid = await startLabProcess(s, 'backup', ns.backup!, 'run-sttcp', cfg('backup'), undefined, sched);
      writeFileSync(pidFile('backup'), String(backupPid));
      // Ready means replicated: the primary serves only once the backup's heartbeats renew its lease.
      await waitLog(join(s.dir, 'primary.log'), /"event":"backup\.synced"/, o.syncTimeoutMs ?? 10_000, 'the pair did not sync');
    }
    writeState(s);
  });
  return s;
}

async function waitLog(file: string, re: RegExp, timeoutMs: number, what: string, dead?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (re.test(text)) return;
    const d = dead?.();
    if (d !== undefined) throw new LabError(`${d}: ${lastLine(text)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new LabError(`${what} after ${timeoutMs} ms: ${lastLine(text)}`);
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] || '(no output)';
}

/** The `lab up --json` object: netns has client, primary, backup (and lan, the hub); pids are the hosts whose SIGKILL is a crash. */
export function sttcpJson(s: LabState): { name: string; netns: Record<string, string>; service: { ip: string; port: number }; pids: Record<string, number> } {
  return { name: s.name, netns: s.netns, service: s.service, pids: s.pids };
}

/** Lines of a host's log that are JSON events ({event, tUs, monoNs, text}). */
export function hostEvents(s: LabState, role: string): Array<{ event: string; monoNs: string; tUs: number; text: string; stats?: Record<string, number> }> {
  const f = join(s.dir, `${role}.log`);
  if (!existsSync(f)) return [];
  const out = [];
  for (const l of readFileSync(f, 'utf8').split('\n')) {
    if (!l.startsWith('{"monoNs"')) continue;
    try { const o = JSON.parse(l); if (typeof o.event === 'string') out.push(o); } catch { /* partial line */ }
  }
  return out;
}
