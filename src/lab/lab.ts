// Lab lifecycle shared by every topology: unique names, the state file written before
// anything is created (so a crash mid-build still leaves a record for `down`), role
// processes started detached inside namespaces with readiness from their log, and teardown.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError, deleteNetns, listNetns, netnsExists, netnsPids, sh } from './netns.js';
import type { RoleConfig } from './run-role.js';
import { LAB_PREFIX, labPrefixProblem, labDir, labOfNetns, listStates, readState, removeState, writeState, type LabState } from './state.js';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const UNBROKEN_BIN = join(REPO_ROOT, 'bin', 'unbroken.js');
/** The `unbroken` entry point the lab runs inside namespaces. */
export const UNBROKEN_BIN_PATH = UNBROKEN_BIN;

export function newLabName(): string {
  const problem = labPrefixProblem();
  if (problem !== undefined) throw new LabError(problem);
  return `${LAB_PREFIX}${randomBytes(3).toString('hex')}`;
}

/** Creates namespace `<lab>-<role>` with loopback up, IPv6 off (quiet captures), forwarding off. */
export function addNetns(s: LabState, role: string): string {
  const ns = `${s.name}-${role}`;
  s.netns[role] = ns;
  writeState(s);
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  for (const k of ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.ip_forward=0']) {
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', k]);
  }
  return ns;
}

export function createState(topology: string, service: { ip: string; port: number }): LabState {
  const name = newLabName();
  const s: LabState = { name, topology, netns: {}, pids: {}, service, dir: labDir(name), createdAt: new Date().toISOString() };
  mkdirSync(s.dir, { recursive: true });
  writeState(s);
  return s;
}

/**
 * Starts `unbroken lab run-role` inside `ns`, detached (it outlives `lab up`), logging
 * to <lab dir>/<role>.log; resolves with its pid once it printed its ready line.
 */
export async function startRole(s: LabState, role: string, ns: string, cfg: RoleConfig, readyTimeoutMs = 15_000): Promise<number> {
  return startLabProcess(s, role, ns, 'run-role', cfg, readyTimeoutMs);
}

/**
 * How a lab process runs. `rtPriority`: every thread under SCHED_RR at that priority (chrt
 * starts the process, so the threads V8 and the TAP driver create inherit it), as cluster
 * heartbeat daemons run (corosync's default; keepalived's `vrrp_rt_priority`): at normal
 * priority on a busy machine a host's event loop waits tens of milliseconds for a CPU,
 * and its peer takes that for a failure. Ignored, with a warning, where the kernel
 * refuses real-time scheduling. `nodeFlags`: flags for node itself.
 */
export interface LabProcessSched { rtPriority?: number; nodeFlags?: readonly string[] }

/** The argv that starts `command` in `ns` under `sched`. */
function labProcessArgv(ns: string, command: readonly string[], sched: LabProcessSched): string[] {
  const rt = sched.rtPriority !== undefined && realtimeUsable(sched.rtPriority) ? ['chrt', '--rr', String(sched.rtPriority)] : [];
  return [...rt, 'ip', 'netns', 'exec', ns, process.execPath, ...(sched.nodeFlags ?? []), ...command];
}

const realtimeChecked = new Map<number, boolean>();

/** Whether this process may start others under SCHED_RR at `priority` (asked once, by trying). */
export function realtimeUsable(priority: number): boolean {
  let ok = realtimeChecked.get(priority);
  if (ok === undefined) {
    const r = spawnSync('chrt', ['--rr', String(priority), 'true'], { encoding: 'utf8' });
    ok = r.status === 0;
    if (!ok) process.stderr.write(`lab: real-time scheduling unavailable (chrt --rr ${priority}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}); hosts run at normal priority\n`);
    realtimeChecked.set(priority, ok);
  }
  return ok;
}

/** Starts `unbroken lab <subcommand> <cfg as JSON>` in `ns` the way startRole does (run-role, run-sttcp). */
export async function startLabProcess(s: LabState, role: string, ns: string, subcommand: string, cfg: unknown, readyTimeoutMs = 15_000, sched: LabProcessSched = {}): Promise<number> {
  const log = join(s.dir, `${role}.log`);
  // Kept for `lab restart`: the same process again, from the same command.
  writeFileSync(join(s.dir, `${role}.start.json`), JSON.stringify({ ns, subcommand, cfg, sched }));
  // A restarted role appends to its log: its ready line is the one after those already there.
  const readyBefore = existsSync(log) ? readyLines(readFileSync(log, 'utf8')) : 0;
  const fd = openSync(log, 'a');
  const [cmd, ...args] = labProcessArgv(ns, [UNBROKEN_BIN, 'lab', subcommand, JSON.stringify(cfg)], sched);
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new LabError(`could not start the ${role} process`);
  s.pids[role] = pid;
  writeState(s);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (readyLines(text) > readyBefore) return pid;
    if (exited !== undefined) throw new LabError(`${role} process exited (${exited}) before it was ready: ${lastLine(text)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new LabError(`${role} process not ready after ${readyTimeoutMs} ms: ${lastLine(readFileSync(log, 'utf8'))}`);
}

function readyLines(text: string): number {
  return (text.match(/^\{"ready":true/gm) ?? []).length;
}

/**
 * Starts a lab role's process again after it was killed (a crash the operator recovers
 * from): the same command in the same namespace; the new pid goes into the lab state and
 * the role's pid file (its peers' fence). Refused while the role's process still runs.
 */
export async function restartRole(name: string, role: string): Promise<number> {
  const s = readState(name);
  if (s === undefined) throw new LabError(`no lab named ${name} (unbroken lab list)`);
  const f = join(s.dir, `${role}.start.json`);
  if (!existsSync(f)) {
    const startable = Object.keys(s.pids).filter((r) => existsSync(join(s.dir, `${r}.start.json`)));
    throw new LabError(`${name} has no restartable role '${role}'${startable.length > 0 ? ` (restartable: ${startable.join(', ')})` : ''}`);
  }
  const old = s.pids[role];
  if (old !== undefined && running(old)) throw new LabError(`${role} is still running (pid ${old}): kill it first (kill -9 ${old} is a crash)`);
  const start = JSON.parse(readFileSync(f, 'utf8')) as { ns: string; subcommand: string; cfg: unknown; sched?: LabProcessSched };
  const pid = await startLabProcess(s, role, start.ns, start.subcommand, start.cfg, undefined, start.sched);
  const pidFile = join(s.dir, `${role}.pid`);
  if (existsSync(pidFile)) writeFileSync(pidFile, String(pid));
  return pid;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '(no output)';
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Alive and not a zombie: a killed process not yet reaped has let go of everything (its TAP too). */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function stopPids(pids: number[]): Promise<void> {
  const live = pids.filter(alive);
  for (const p of live) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } }
  const until = Date.now() + 2000;
  while (live.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  const stubborn = live.filter(alive);
  for (const p of stubborn) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  // A killed process takes a moment to go (threads, TAP descriptors): `lab down` returns
  // once none is left, so a caller never sees a lab process after it (bounded wait).
  const killedUntil = Date.now() + 3000;
  while (stubborn.some(alive) && Date.now() < killedUntil) await new Promise((r) => setTimeout(r, 25));
}

/**
 * Removes everything lab `name` made: its recorded processes, any other process still
 * inside its namespaces (they can only have been started there by the lab or its user),
 * the namespaces (and with them their veths, bridge and TAPs), and its state.
 */
export async function labDown(name: string): Promise<{ name: string; netns: string[]; pids: number[] }> {
  const s = readState(name);
  const namespaces = new Set<string>(Object.values(s?.netns ?? {}));
  for (const ns of listNetns()) if (labOfNetns(ns) === name) namespaces.add(ns);
  const pids = new Set<number>(Object.values(s?.pids ?? {}).filter((p) => p > 0 && namespaces.size > 0 && inOurNetns(p, namespaces)));
  for (const ns of namespaces) for (const p of netnsPids(ns)) pids.add(p);
  await stopPids([...pids]);
  for (const ns of namespaces) for (const p of netnsPids(ns)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  for (const ns of namespaces) deleteNetns(ns);
  removeState(name);
  return { name, netns: [...namespaces].filter((ns) => !netnsExists(ns)), pids: [...pids] };
}

/** A recorded pid is only signalled while it still lives in one of the lab's namespaces (pids get reused). */
function inOurNetns(pid: number, namespaces: Set<string>): boolean {
  for (const ns of namespaces) if (netnsPids(ns).includes(pid)) return true;
  return false;
}

/** Every lab of this project that left something behind: state files and prefixed namespaces. */
export function leftoverLabs(): string[] {
  const problem = labPrefixProblem();
  if (problem !== undefined) throw new LabError(problem);
  const names = new Set(listStates());
  for (const ns of listNetns()) { const l = labOfNetns(ns); if (l !== undefined) names.add(l); }
  return [...names].sort();
}

/** Builds with `build`; on any failure or SIGINT/SIGTERM meanwhile, tears the lab down and rethrows. */
export async function buildOrTeardown(s: LabState, build: (checkpoint: () => void) => Promise<void>): Promise<void> {
  let interrupted: string | undefined;
  const onSignal = (sig: string): void => { interrupted = sig; };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const checkpoint = (): void => { if (interrupted !== undefined) throw new LabError(`interrupted by ${interrupted}`); };
    await build(checkpoint);
    if (interrupted !== undefined) throw new LabError(`interrupted by ${interrupted}`);
  } catch (e) {
    await labDown(s.name);
    throw e;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
