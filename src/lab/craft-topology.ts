// Topology `craft`: one LAN (a learning Linux bridge in a `lan` namespace) joining a
// `client` namespace (Linux kernel TCP), N `backendK` namespaces each running one
// unmodified kernel HTTP server (nginx, master_process off: its pid is the server), and
// M `splicerK` namespaces, each bridging a TAP (our stack: a CRAFT splicer process,
// craft-host-main.ts) to its veth, as a host's NIC. With M = 2 the splicers are an
// active/standby pair replicating splice state over their own addresses; the standby
// takes the service address over (gratuitous ARP) when the active one falls silent.
// 10.202.0.0/24, no default route, no forwarding.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobChunk } from '../apps/index.js';
import { addNetns, buildOrTeardown, createState, startLabProcess } from './lab.js';
import { LabError, sh } from './netns.js';
import { addTap, randomSeed } from './pair.js';
import { writeState, type LabState } from './state.js';
import type { CraftHostConfig } from './craft-host-main.js';

export const CRAFT_NET = {
  prefixLen: 24,
  serviceIp: '10.202.0.100',
  /** One service MAC for every splicer: a takeover only has to teach the bridge its port. */
  serviceMac: '02:00:00:00:02:64',
  clientIp: '10.202.0.1',
  splicerIp: (i: number): string => `10.202.0.${2 + i}`,
  splicerMac: (i: number): string => `02:00:00:00:02:${(2 + i).toString(16).padStart(2, '0')}`,
  backendIp: (i: number): string => `10.202.0.${11 + i}`,
  /** Extra hosts a benchmark puts beside the splicer (a kernel proxy, our copying proxy). */
  extraIp: (i: number): string => `10.202.0.${50 + i}`,
  extraMac: (i: number): string => `02:00:00:00:02:${(50 + i).toString(16).padStart(2, '0')}`,
} as const;

export const CRAFT_MAX_BACKENDS = 8;
/** Splicers of one service: one, an active/standby pair, or up to 6 active at once (shared). */
export const CRAFT_MAX_SPLICERS = 6;
/** Shared splicers: splicer i opens its back-end connections from these ports (back ends route replies by them). */
export const craftEphemeralPorts = (i: number): [number, number] => [20_000 + i * 4_000, 20_000 + i * 4_000 + 3_999];

/** Several splicers active at once: asked for, or more than a pair. */
export function craftShared(o: Pick<CraftLabOptions, 'splicers' | 'shared'>): boolean {
  return o.splicers >= 3 || (o.shared === true && o.splicers >= 2);
}

/** Files `lab up craft` serves when no --root is given: `<n>.bin` of the blob pattern. */
export const CRAFT_DEFAULT_SIZES = [1_000, 100_000, 1_000_000, 10_000_000, 50_000_000] as const;

/**
 * The lab's splicer failure detection unless told otherwise: heartbeats every 20 ms, the
 * peer dead after 300 ms of silence. The library's 100 ms turns the event-loop stalls of a
 * shared 2-core machine (up to ~125 ms measured in the ST-TCP lab; 250 ms was seen here
 * with tshark capturing at full speed) into spurious takeovers; the standby fences the
 * peer before a takeover all the same.
 */
export const CRAFT_LAB_LIVENESS = Object.freeze({ heartbeatUs: 20_000, deadAfterUs: 300_000 });

/** Shared splicers: a peer is lost after this much silence (see craftHostConfig). */
export const CRAFT_LAB_SHARED_DEAD_AFTER_US = 500_000;

export interface CraftLabOptions {
  backends: number;
  splicers: number;
  /** Two splicers both active (default: an active/standby pair); three or more are always active at once. */
  shared?: boolean;
  /** Directory every back end serves; default: generated files of known sha256 in the lab dir. */
  root?: string;
  port?: number;
  heartbeatUs?: number;
  deadAfterUs?: number;
  /** How long to wait for the pair to see each other. */
  syncTimeoutMs?: number;
}

export interface CraftLabJson {
  name: string;
  netns: Record<string, string>;
  service: { ip: string; port: number };
  pids: Record<string, number>;
  /** The served directory and, for generated files, their sha256 by file name. */
  root: string;
  files?: Record<string, string>;
}

/** Writes `<n>.bin` files of the blob pattern into `dir`; returns name → sha256. */
export function writeBlobFiles(dir: string, sizes: readonly number[]): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const sha: Record<string, string> = {};
  for (const n of sizes) {
    const h = createHash('sha256');
    const path = join(dir, `${n}.bin`);
    const fd = openSync(path, 'w');
    try {
      const step = 4 * 1024 * 1024;
      for (let off = 0; off < n; off += step) {
        const c = blobChunk(off, Math.min(step, n - off));
        writeFileSync(fd, c);
        h.update(c);
      }
    } finally { closeSync(fd); }
    sha[`${n}.bin`] = h.digest('hex');
  }
  writeFileSync(join(dir, 'SHA256SUMS.json'), JSON.stringify(sha));
  return sha;
}

function plugIntoLan(lan: string, role: string, ns: string): void {
  sh(['ip', '-n', lan, 'link', 'add', `l-${role}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  sh(['ip', '-n', lan, 'link', 'set', `l-${role}`, 'master', 'br0', 'up']);
}

/** nginx as one process in the foreground (its pid is the server), serving `root` on ip:port. */
function nginxConf(dir: string, role: string, ip: string, port: number, root: string): string {
  const tmp = join(dir, `${role}-nginx`);
  mkdirSync(tmp, { recursive: true });
  const conf = join(dir, `${role}-nginx.conf`);
  writeFileSync(conf, [
    'daemon off;', 'master_process off;', 'worker_processes 1;',
    `pid ${join(tmp, 'nginx.pid')};`, `error_log ${join(dir, `${role}-nginx.err`)} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000; default_type application/octet-stream;',
    `  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fastcgi;`,
    `  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;`,
    `  server { listen ${ip}:${port}; root ${root}; add_header X-Backend ${role}; location / { } }`,
    '}', '',
  ].join('\n'));
  return conf;
}

/** Starts a program detached inside `ns` (`ip netns exec` execs it: the pid is the program's). */
function startDetached(s: LabState, role: string, ns: string, argv: string[]): number {
  const fd = openSync(join(s.dir, `${role}.log`), 'a');
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new LabError(`could not start ${argv[0]} for ${role}`);
  s.pids[role] = child.pid;
  writeState(s);
  return child.pid;
}

/** Alive and not a zombie (a pid just spawned may not have entered its namespace yet). */
function running(pid: number): boolean {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

export async function waitListen(ns: string, ip: string, port: number, timeoutMs: number, pid?: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (sh(['ip', 'netns', 'exec', ns, 'ss', '-Hltn', `src ${ip}:${port}`]).trim() !== '') return;
    if (pid !== undefined && !running(pid)) throw new LabError(`the server in ${ns} exited before it listened`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new LabError(`nothing listens on ${ip}:${port} in ${ns} after ${timeoutMs} ms`);
}

/** Starts nginx for back end `i` (also used to restart one after a crash). */
export async function startBackend(s: LabState, i: number, root: string): Promise<number> {
  const role = `backend${i}`;
  const conf = nginxConf(s.dir, role, CRAFT_NET.backendIp(i), s.service.port, root);
  const pid = startDetached(s, role, s.netns[role]!, ['nginx', '-e', join(s.dir, `${role}-nginx.err`), '-c', conf]);
  await waitListen(s.netns[role]!, CRAFT_NET.backendIp(i), s.service.port, 10_000, pid);
  return pid;
}

/**
 * The pair's shared control-channel key (HMAC-SHA256, src/craft/control-auth.ts): drawn once
 * per lab, kept in the lab's own directory (mode 0600), read by both splicers.
 */
export function craftControlKeyFile(s: LabState): string {
  const f = join(s.dir, 'control.key');
  if (!existsSync(f)) writeFileSync(f, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return f;
}

export function craftHostConfig(s: LabState, o: CraftLabOptions, i: number): CraftHostConfig {
  const m = o.splicers;
  if (craftShared(o)) {
    const others = Array.from({ length: m }, (_, k) => k).filter((k) => k !== i);
    return {
      role: 'shared', nodeId: i + 1, tap: 'tap0',
      ownIp: CRAFT_NET.splicerIp(i), ownMac: CRAFT_NET.splicerMac(i), peerIp: CRAFT_NET.splicerIp(others[0]!),
      // Each splicer receives the service's packets at its own MAC (its own address is the clients' next hop).
      serviceIp: CRAFT_NET.serviceIp, serviceMac: CRAFT_NET.splicerMac(i), prefixLen: CRAFT_NET.prefixLen,
      port: s.service.port,
      backends: Array.from({ length: o.backends }, (_, k) => ({ id: `backend${k}`, ip: CRAFT_NET.backendIp(k), port: s.service.port })),
      seed: randomSeed(),
      peers: others.map((k) => CRAFT_NET.splicerIp(k)),
      peerPidFiles: Object.fromEntries(others.map((k) => [CRAFT_NET.splicerIp(k), join(s.dir, `splicer${k}.pid`)])),
      ephemeralPorts: craftEphemeralPorts(i),
      keyFile: craftControlKeyFile(s),
      heartbeatUs: o.heartbeatUs ?? CRAFT_LAB_LIVENESS.heartbeatUs,
      // A splicer that adopted a lost peer's flows carries twice its load; on a shared 2-core
      // machine its event loop then stalls beyond 300 ms, which its peers took for a crash.
      deadAfterUs: o.deadAfterUs ?? CRAFT_LAB_SHARED_DEAD_AFTER_US,
    };
  }
  return {
    role: m === 1 ? 'solo' : i === 0 ? 'active' : 'standby',
    nodeId: i + 1,
    tap: 'tap0',
    ownIp: CRAFT_NET.splicerIp(i), ownMac: CRAFT_NET.splicerMac(i), peerIp: CRAFT_NET.splicerIp(1 - i),
    serviceIp: CRAFT_NET.serviceIp, serviceMac: CRAFT_NET.serviceMac, prefixLen: CRAFT_NET.prefixLen,
    port: s.service.port,
    backends: Array.from({ length: o.backends }, (_, k) => ({ id: `backend${k}`, ip: CRAFT_NET.backendIp(k), port: s.service.port })),
    seed: randomSeed(),
    ...(m === 2 ? { peerPidFile: join(s.dir, `splicer${1 - i}.pid`), keyFile: craftControlKeyFile(s) } : {}),
    heartbeatUs: o.heartbeatUs ?? CRAFT_LAB_LIVENESS.heartbeatUs,
    deadAfterUs: o.deadAfterUs ?? CRAFT_LAB_LIVENESS.deadAfterUs,
  };
}

export async function craftUp(o: CraftLabOptions): Promise<LabState> {
  if (!Number.isInteger(o.backends) || o.backends < 1 || o.backends > CRAFT_MAX_BACKENDS) throw new LabError(`--backends must be 1..${CRAFT_MAX_BACKENDS}`);
  if (!Number.isInteger(o.splicers) || o.splicers < 1 || o.splicers > CRAFT_MAX_SPLICERS) {
    throw new LabError(`--splicers must be 1..${CRAFT_MAX_SPLICERS} (1: alone, 2: an active/standby pair unless shared, 3 or more: all active)`);
  }
  if (o.root !== undefined && !existsSync(o.root)) throw new LabError(`--root ${o.root} does not exist`);
  try { sh(['sh', '-c', 'command -v nginx']); } catch { throw new LabError('nginx is not installed: apt-get install nginx-light'); }
  const port = o.port ?? 80;
  const s = createState('craft', { ip: CRAFT_NET.serviceIp, port });
  await buildOrTeardown(s, async (checkpoint) => {
    const root = o.root ?? join(s.dir, 'www');
    if (o.root === undefined) writeBlobFiles(root, CRAFT_DEFAULT_SIZES);
    writeFileSync(join(s.dir, 'root'), root);
    const lan = addNetns(s, 'lan');
    const client = addNetns(s, 'client');
    const splicers = Array.from({ length: o.splicers }, (_, i) => addNetns(s, `splicer${i}`));
    const backends = Array.from({ length: o.backends }, (_, i) => addNetns(s, `backend${i}`));
    checkpoint();
    sh(['ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0']);
    sh(['ip', '-n', lan, 'link', 'set', 'br0', 'up']);
    plugIntoLan(lan, 'client', client);
    sh(['ip', '-n', client, 'addr', 'add', `${CRAFT_NET.clientIp}/${CRAFT_NET.prefixLen}`, 'dev', 'eth0']);
    sh(['ip', '-n', client, 'link', 'set', 'eth0', 'up']);
    backends.forEach((ns, i) => {
      plugIntoLan(lan, `backend${i}`, ns);
      sh(['ip', '-n', ns, 'addr', 'add', `${CRAFT_NET.backendIp(i)}/${CRAFT_NET.prefixLen}`, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    });
    splicers.forEach((ns, i) => {
      plugIntoLan(lan, `splicer${i}`, ns);
      sh(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0']);
      sh(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'master', 'br0', 'up']);
      addTap(ns, 'tap0');
    });
    if (craftShared(o)) routeToSharedSplicers(s, o.splicers, o.backends);
    checkpoint();
    for (let i = 0; i < o.backends; i++) await startBackend(s, i, root);
    checkpoint();
    for (let i = 0; i < o.splicers; i++) {
      const pid = await startLabProcess(s, `splicer${i}`, splicers[i]!, 'run-craft', craftHostConfig(s, o, i));
      writeFileSync(join(s.dir, `splicer${i}.pid`), String(pid));
      checkpoint();
    }
    if (craftShared(o)) {
      for (let i = 0; i < o.splicers; i++) {
        await waitLog(join(s.dir, `splicer${i}.log`), new RegExp(`("event":"peer-up"[^\n]*\n[^]*){${o.splicers - 1}}`), o.syncTimeoutMs ?? 10_000, `splicer${i} did not see all its peers`);
      }
    } else if (o.splicers === 2) await waitLog(join(s.dir, 'splicer0.log'), /"event":"peer-up"/, o.syncTimeoutMs ?? 10_000, 'the splicers did not see each other');
    writeState(s);
  });
  return s;
}

/**
 * The distributor in front of several active splicers is the hosts' own routing, as a
 * router's ECMP would be: the client reaches the service address through an equal-cost
 * multipath route whose next hops are the splicers' own addresses, hashed per flow on
 * addresses and ports (fib_multipath_hash_policy=1), so each connection stays on one
 * splicer. A back end answers a splicer's back-end connection by policy routing on the
 * destination port: splicer i opens them from its own port range, and a rule per range
 * sends replies via splicer i (others, like ICMP, take the multipath route). A splicer that
 * dies has its own address adopted by a live one (gratuitous ARP), which moves its next hop.
 */
function routeToSharedSplicers(s: LabState, splicers: number, backends: number): void {
  const svc = `${CRAFT_NET.serviceIp}/32`;
  const hops = Array.from({ length: splicers }, (_, i) => ['nexthop', 'via', CRAFT_NET.splicerIp(i), 'dev', 'eth0']).flat();
  const hosts = [s.netns.client!, ...Array.from({ length: backends }, (_, b) => s.netns[`backend${b}`]!)];
  for (const ns of hosts) {
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=1']);
    sh(['ip', '-n', ns, 'route', 'add', svc, ...hops]);
  }
  for (let b = 0; b < backends; b++) {
    const ns = s.netns[`backend${b}`]!;
    for (let i = 0; i < splicers; i++) {
      const [lo, hi] = craftEphemeralPorts(i);
      sh(['ip', '-n', ns, 'route', 'add', svc, 'via', CRAFT_NET.splicerIp(i), 'dev', 'eth0', 'table', String(100 + i)]);
      sh(['ip', '-n', ns, 'rule', 'add', 'to', svc, 'ipproto', 'tcp', 'dport', `${lo}-${hi}`, 'lookup', String(100 + i)]);
    }
  }
}

async function waitLog(file: string, re: RegExp, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(file) && re.test(readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new LabError(`${what} after ${timeoutMs} ms`);
}

/** The directory the lab's back ends serve, and the generated files' digests (if generated). */
export function craftRoot(s: LabState): { root: string; files?: Record<string, string> } {
  const root = readFileSync(join(s.dir, 'root'), 'utf8');
  const sums = join(root, 'SHA256SUMS.json');
  return existsSync(sums) && root.startsWith(s.dir) ? { root, files: JSON.parse(readFileSync(sums, 'utf8')) as Record<string, string> } : { root };
}

/** The `lab up craft --json` object. */
export function craftJson(s: LabState): CraftLabJson {
  const r = craftRoot(s);
  return { name: s.name, netns: s.netns, service: s.service, pids: s.pids, root: r.root, ...(r.files !== undefined ? { files: r.files } : {}) };
}

/** JSON event lines of a splicer's log ({monoNs, event, tUs, text, ...}). */
export function splicerEvents(s: LabState, role: string): Array<{ monoNs: string; event: string; tUs: number; text: string; [k: string]: unknown }> {
  const f = join(s.dir, `${role}.log`);
  if (!existsSync(f)) return [];
  const out = [];
  for (const l of readFileSync(f, 'utf8').split('\n')) {
    if (!l.startsWith('{"monoNs"')) continue;
    try { const o = JSON.parse(l); if (typeof o.event === 'string') out.push(o); } catch { /* partial line */ }
  }
  return out;
}
