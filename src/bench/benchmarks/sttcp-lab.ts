// ST-TCP in the lab (src/lab/sttcp-topology.ts) with unmodified Linux clients: the pause
// a client sees when the primary host is SIGKILLed, the throughput and latency cost of
// replication (sync, async) against the same stack without a backup, and the anchor:
// a kernel server whose address moves to a standby (what keepalived does).
import { blobSha256 } from '../../apps/index.js';
import { pinProcess, processCpuSeconds, rrScript, spawnInNs, stopChild, timedInNs, type Timed } from '../../lab/bench-tools.js';
import { crashKernelPrimary, ipMoveUp, moveAddressToStandby, pyThreadedEcho } from '../../lab/ip-move-anchor.js';
import { labDown } from '../../lab/lab.js';
import { checkFailover, crashPrimary, sleep, withSttcp } from '../../lab/sttcp-crash.js';
import { HOST_HEAP_FLAGS, LAB_LIVENESS, STTCP_LAB_RT_PRIORITY, hostEvents, type SttcpLabOptions } from '../../lab/sttcp-topology.js';
import type { LabState } from '../../lab/state.js';
import type { Benchmark, BenchRow } from '../types.js';
import { spawn } from 'node:child_process';

/** Reads N bytes from the blob app, stamping every receive with CLOCK_MONOTONIC; prints gaps over 2 ms. */
function streamClient(ip: string, port: number, bytes: number): string[] {
  const py = [
    'import socket,time,json',
    `s=socket.create_connection(("${ip}",${port}));s.settimeout(10);s.sendall(b"${bytes}\\n");s.shutdown(socket.SHUT_WR)`,
    'total=0;last=None;first=None;gaps=[];err=None',
    'try:',
    '  while True:',
    '    d=s.recv(1<<18);t=time.monotonic_ns()',
    '    if not d: break',
    '    if first is None:',
    '      first=t;print(json.dumps({"first":t}),flush=True)',
    '    if last is not None and t-last>2000000: gaps.append([last,t])',
    '    last=t;total+=len(d)',
    'except Exception as e: err=type(e).__name__',
    'print(json.dumps({"total":total,"first":first,"last":last,"gaps":gaps,"error":err}),flush=True)',
  ].join('\n');
  return ['python3', '-c', py];
}

/**
 * Sends 64 bytes every 5 ms and waits for the echo, for `seconds`; on an error (reset,
 * 5 s without an answer) records it and reconnects every 5 ms until the service answers.
 */
function pingClient(ip: string, port: number, seconds: number): string[] {
  const py = [
    'import socket,time,json',
    `end=time.monotonic()+${seconds};echoes=[];errors=[];msg=b"p"*64`,
    'def conn():',
    '  while time.monotonic()<end:',
    '    try:',
    `      s=socket.create_connection(("${ip}",${port}),timeout=0.2);s.settimeout(5);s.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1);return s`,
    '    except Exception: time.sleep(0.005)',
    's=conn();print(json.dumps({"first":time.monotonic_ns()}),flush=True)',
    'while s is not None and time.monotonic()<end:',
    '  try:',
    '    s.sendall(msg);got=b""',
    '    while len(got)<64:',
    '      d=s.recv(64-len(got))',
    '      if not d: raise ConnectionError("eof")',
    '      got+=d',
    '    echoes.append(time.monotonic_ns());time.sleep(0.005)',
    '  except Exception as e:',
    '    errors.append([time.monotonic_ns(),type(e).__name__]);s.close();s=conn()',
    'print(json.dumps({"echoes":echoes,"errors":errors}),flush=True)',
  ].join('\n');
  return ['python3', '-c', py];
}

interface ClientRun { firstLine: Promise<void>; result: Promise<Record<string, unknown>>; stop: () => void }

/** Runs a python client in `ns`; resolves `firstLine` at its first output line, `result` with its last. */
function runClient(ns: string, argv: string[]): ClientRun {
  const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let firstResolve: () => void = () => {};
  const firstLine = new Promise<void>((r) => { firstResolve = r; });
  p.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) firstResolve(); });
  p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    p.on('exit', () => {
      firstResolve();
      const line = out.trim().split('\n').pop() ?? '';
      try { resolve(JSON.parse(line) as Record<string, unknown>); } catch { reject(new Error(`client printed no result: ${err.trim() || out.trim()}`)); }
    });
  });
  return { firstLine, result, stop: () => { p.kill('SIGTERM'); } };
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const ms = (ns: bigint | number): number => Math.round(Number(ns) / 1e4) / 100;

/**
 * The client's stall at failover, ns: the longest gap between received bytes that ends
 * after the crash and starts before the takeover (bytes already in flight keep arriving
 * for a moment after the crash, so the stall need not contain the crash instant itself).
 */
function stallAtFailover(gaps: Array<[number, number]>, crashNs: bigint, takeoverNs: bigint): number | undefined {
  let best: number | undefined;
  for (const [a, b] of gaps) if (b > Number(crashNs) && a < Number(takeoverNs)) best = Math.max(best ?? 0, b - a);
  return best;
}

interface PauseRun { pauseNs: number; detectNs: number; takeoverNs: number }

/** One lab run: a full-speed blob download, the primary SIGKILLed 1 s after the first byte. */
async function pauseRun(o: Omit<SttcpLabOptions, 'app' | 'port'>, bytes: number): Promise<PauseRun> {
  return withSttcp({ ...o, app: 'blob', port: 9000 }, async (s) => {
    const c = runClient(s.netns.client, streamClient(s.service.ip, 9000, bytes));
    await c.firstLine;
    await sleep(1000);
    let crashNs: bigint;
    try { crashNs = crashPrimary(s); } catch {
      // A spurious failover: what the client made of it.
      const r = await c.result as { total: number; error: string | null };
      const client = r.error !== null ? `client saw ${r.error}` : r.total === bytes ? 'client download complete' : `client received ${r.total} of ${bytes} bytes`;
      throw new Error(`primary already dead at the crash point${failoverNote(s)}; ${client}`);
    }
    const r = await c.result as { total: number; gaps: Array<[number, number]>; last: number; error: string | null };
    if (r.error !== null) throw new Error(`client saw ${r.error}${failoverNote(s)}`);
    if (r.total !== bytes) throw new Error(`client received ${r.total} of ${bytes} bytes`);
    if (r.last < Number(crashNs)) throw new Error('the download ended before the crash');
    const f = checkFailover(s, crashNs);
    if (f.problems.length > 0) throw new Error(f.problems.join('; '));
    const pause = stallAtFailover(r.gaps, crashNs, f.takeoverNs!);
    if (pause === undefined) throw new Error('no receive gap between the crash and the takeover');
    return { pauseNs: pause, detectNs: Number(f.detectedNs! - crashNs), takeoverNs: Number(f.takeoverNs! - crashNs) };
  });
}

export const sttcpPause: Benchmark = {
  id: 'sttcp-lab-pause',
  title: 'ST-TCP in the lab: pause a Linux client sees when the primary host is killed',
  description: 'python3 in the client namespace downloads from the blob app on an ST-TCP pair (sync, the lab liveness: 20 ms heartbeats, failure after 10 misses, '
    + '150 ms lease), stamping every receive; the primary process is SIGKILLed 1 s after the first byte. Pause = the longest receive gap that ends after the crash and starts before the takeover (bytes in flight keep arriving for a moment after the kill). '
    + 'Fresh lab per run, 20 measured runs a variant (up to 10 more attempts make up for failed ones, which are counted). Each with the control channel on its own primary–backup link (the lab default) and over the service LAN (--no-control-link); '
    + 'also the same with the library defaults (10 ms × 3, 25 ms lease; the goal is ≤ 50 ms with these), where runs a loaded machine turns into spurious failovers are counted, not measured. '
    + `Hosts run under SCHED_RR ${STTCP_LAB_RT_PRIORITY} (lab up --realtime ${STTCP_LAB_RT_PRIORITY}) with --single-threaded-gc; the last variant runs them at normal priority. Every host with ${HOST_HEAP_FLAGS.join(' ')}.`,
  requires: ['root', { program: 'python3', debianPackage: 'python3' }],
  async run(ctx) {
    const runs = ctx.quick ? 3 : 20;
    const extraAttempts = ctx.quick ? 0 : 10;
    // Large enough to be still running 1 s after the first byte on a quiet machine.
    const bytes = 150_000_000;
    const rows: BenchRow[] = [];
    const variants = [
      ['lab liveness, control link', LAB_LIVENESS, true, STTCP_LAB_RT_PRIORITY],
      ['lab liveness, control over the LAN', LAB_LIVENESS, false, STTCP_LAB_RT_PRIORITY],
      ['library default liveness, control link', undefined, true, STTCP_LAB_RT_PRIORITY],
      ['library default liveness, control over the LAN', undefined, false, STTCP_LAB_RT_PRIORITY],
      ['library default liveness, control link, hosts at normal priority', undefined, true, false],
    ] as const;
    for (const [label, liveness, controlLink, realtime] of variants) {
      const ok: PauseRun[] = [];
      const failed: string[] = [];
      // Until `runs` runs measured a pause (the goal is stated over at least 20), with a
      // few more attempts to make up for failed ones; every failure is counted.
      let n = 0;
      for (; ok.length < runs && n < runs + extraAttempts; n++) {
        ctx.progress(`${label}: run ${n + 1} (${ok.length} of ${runs} measured)`);
        try {
          ok.push(await pauseRun({ mode: 'sync', controlLink, realtime, liveness: liveness ?? { heartbeatUs: 10_000, missLimit: 3, leaseUs: 25_000, marginUs: 2_000 } }, bytes));
        } catch (e) { failed.push((e as Error).message.slice(0, 120)); }
      }
      const p = ok.map((r) => r.pauseNs);
      if (ok.length > 0) {
        rows.push({ metric: `${label}: client pause, median`, value: ms(median(p)), unit: 'ms', note: `${ok.length} runs` });
        rows.push({ metric: `${label}: client pause, max`, value: ms(Math.max(...p)), unit: 'ms' });
        rows.push({ metric: `${label}: crash → failure declared, median`, value: ms(median(ok.map((r) => r.detectNs))), unit: 'ms' });
        rows.push({ metric: `${label}: crash → takeover complete, median`, value: ms(median(ok.map((r) => r.takeoverNs))), unit: 'ms' });
      }
      rows.push({ metric: `${label}: runs that failed`, value: failed.length, unit: `of ${n}`, ...(failed.length > 0 ? { note: [...new Set(failed)].slice(0, 2).join(' | ') } : {}) });
    }
    return rows;
  },
};

/** Failure events in the hosts' logs (a spurious failover explains a failed run). */
function failoverNote(s: LabState): string {
  const ev = [...hostEvents(s, 'primary'), ...hostEvents(s, 'backup')].map((e) => e.event)
    .filter((e) => ['failover.detected', 'backup.lost', 'stepped.down', 'takeover.fault'].includes(e));
  return ev.length > 0 ? ` (hosts logged ${[...new Set(ev)].join(', ')})` : ' (no failover logged)';
}

type CostVariant = 'solo' | 'sync' | 'async' | 'solo-pinned' | 'sync-pinned' | 'async-pinned' | 'solo-offload' | 'sync-offload' | 'async-offload';

/**
 * A lab for one cost variant. Pinned: the primary's process alone on CPU 0, the backup's
 * on CPU 1 with the client's programs (`clientCpus`) — the primary has a core of its own,
 * as on a machine of its own, and the backup takes nothing from it. Offload: the hosts'
 * service TAPs with checksum and segmentation offloads (lab up sttcp --offload).
 */
async function sttcpOrSolo<T>(variant: CostVariant, app: 'blob' | 'echo', fn: (s: LabState, clientCpus: string | undefined) => Promise<T>): Promise<T> {
  const mode = variant.startsWith('async') ? 'async' : 'sync';
  const pinned = variant.endsWith('-pinned');
  const offload = variant.endsWith('-offload');
  return withSttcp({ app, port: app === 'blob' ? 9000 : 7, mode, backup: !variant.startsWith('solo'), offload, realtime: STTCP_LAB_RT_PRIORITY }, async (s) => {
    if (pinned) {
      pinProcess(s.pids.primary!, '0');
      if (s.pids.backup !== undefined) pinProcess(s.pids.backup, '1');
    }
    return fn(s, pinned ? '1' : undefined);
  });
}

export const sttcpCost: Benchmark = {
  id: 'sttcp-lab-cost',
  title: 'ST-TCP in the lab: throughput and latency cost of replication (sync, async) vs the same stack without a backup',
  description: 'Same topology each time (hub LAN whose host ports are isolated from each other, as a mirror port of the client side taps; our stack on the primary\'s TAP); "no backup" runs the app on a plain host of our stack. '
    + 'Download: nc reads N bytes from the blob app. Echo: nc sends N random bytes to the echo app and reads them back (client → server bytes are what sync mode gates). '
    + 'Round trips: python3, 1 byte, TCP_NODELAY, one connection. 5 runs each, variants interleaved (the machine is shared; single runs of one variant differed by up to 40 % here, '
    + 'so best runs compared read noise as cost): the value is the median, the note gives the best run and the median\'s difference from no backup. '
    + 'CPU: each host process\'s CPU time (every thread, user + system, /proc/<pid>/stat) during the transfer, per GB of it (echo: per GB sent; each byte also comes back) — '
    + 'what a host would spend on a machine of its own, where the throughput here also pays for three hosts and the client sharing the cores. '
    + `Hosts under SCHED_RR ${STTCP_LAB_RT_PRIORITY} with --single-threaded-gc and ${HOST_HEAP_FLAGS.join(' ')}, the no-backup host too. `
    + '"pinned": the same, with the primary\'s process alone on CPU 0 and the backup\'s with the client\'s programs on CPU 1 (taskset): the primary has a core of its own, as a host on a machine of its own would. '
    + '"offloads": unpinned, every host\'s service TAP with checksum and segmentation offloads (lab up sttcp --offload: 64 KB TCP segments to the kernel, the client\'s segments as the kernel coalesced them), compared with the no-backup run with offloads.',
  requires: ['root', { program: 'nc', debianPackage: 'netcat-openbsd' }, { program: 'python3', debianPackage: 'python3' }],
  async run(ctx) {
    const variants: readonly CostVariant[] = ['solo', 'sync', 'async', 'solo-pinned', 'sync-pinned', 'async-pinned', 'solo-offload', 'sync-offload', 'async-offload'];
    const reps = ctx.quick ? 1 : 5;
    return costRows(await measureCost(ctx, variants, reps, true), variants, reps);
  },
};

/** What measureCost gathered per variant, run by run (index i of a variant is its rep i, when none failed). */
type CostRuns = Record<string, Record<'down' | 'echo' | 'rr' | 'downPrimaryCpu' | 'downBackupCpu' | 'echoPrimaryCpu' | 'echoBackupCpu', number[]>
  & { failed: string[]; /** Mbit/s by rep (undefined where that rep's lab failed). */ byRep: Record<'down' | 'echo', Array<number | undefined>> }>;

/**
 * `reps` rounds of every variant in turn (interleaved: the machine's drift falls on all of
 * them alike): a download of the blob app and an echo stream, each in a lab of its own,
 * and with `rr` the 1-byte round trips after the echo.
 */
async function measureCost(ctx: Parameters<Benchmark['run']>[0], variants: readonly CostVariant[], reps: number, rr: boolean): Promise<CostRuns> {
  const bytes = ctx.quick ? 20_000_000 : 100_000_000;
  const rrSeconds = ctx.quick ? 2 : 5;
  const got: CostRuns = {};
  for (const v of variants) got[v] = { down: [], echo: [], rr: [], downPrimaryCpu: [], downBackupCpu: [], echoPrimaryCpu: [], echoBackupCpu: [], failed: [], byRep: { down: [], echo: [] } };
  const attempt = async (v: string, fn: () => Promise<void>): Promise<void> => {
    try { await fn(); } catch (e) { got[v]!.failed.push((e as Error).message.slice(0, 100)); }
  };
  /** Runs `script` in the client namespace and records each host's CPU seconds per GB moved. */
  const measured = async (s: LabState, v: string, what: 'down' | 'echo', script: string, cpus: string | undefined): Promise<Timed> => {
    const roles = ['primary', 'backup'] as const;
    const before = roles.map((r) => (s.pids[r] !== undefined ? processCpuSeconds(s.pids[r]) : undefined));
    const t = await timedInNs(s.netns.client, script, undefined, cpus);
    roles.forEach((r, i) => {
      const b = before[i];
      const a = s.pids[r] !== undefined ? processCpuSeconds(s.pids[r]) : undefined;
      if (a !== undefined && b !== undefined) got[v]![`${what}${r === 'primary' ? 'Primary' : 'Backup'}Cpu`].push((a - b) / (bytes / 1e9));
    });
    return t;
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const v of variants) {
      ctx.progress(`${v} rep ${rep + 1}`);
      await attempt(v, () => sttcpOrSolo(v, 'blob', async (s, cpus) => {
        const t = await measured(s, v, 'down', `echo ${bytes} | nc -N ${s.service.ip} 9000 | sha256sum`, cpus);
        if (t.stdout.split(' ')[0] !== blobSha256(bytes)) throw new Error(`${v}: blob digest mismatch`);
        got[v]!.down.push((bytes * 8) / t.seconds / 1e6);
        got[v]!.byRep.down[rep] = got[v]!.down.at(-1);
      }));
      await attempt(v, () => sttcpOrSolo(v, 'echo', async (s, cpus) => {
        const f = `${s.dir}/echo.in`;
        await timedInNs(s.netns.client, `head -c ${bytes} /dev/urandom > ${f}`);
        const want = (await timedInNs(s.netns.client, `sha256sum < ${f}`)).stdout.split(' ')[0];
        const t = await measured(s, v, 'echo', `nc -N ${s.service.ip} 7 < ${f} | sha256sum`, cpus);
        if (t.stdout.split(' ')[0] !== want) throw new Error(`${v}: echo digest mismatch${failoverNote(s)}`);
        got[v]!.echo.push((bytes * 8) / t.seconds / 1e6);
        got[v]!.byRep.echo[rep] = got[v]!.echo.at(-1);
        if (!rr) return;
        const n = Number((await timedInNs(s.netns.client, rrScript(s.service.ip, 7, rrSeconds), undefined, cpus)).stdout.trim());
        got[v]!.rr.push(n / rrSeconds);
      }));
    }
  }
  return got;
}

/** Median rows per variant; pinned and offload variants against the no-backup run of their kind. */
function costRows(got: CostRuns, variants: readonly CostVariant[], reps: number): BenchRow[] {
  const rows: BenchRow[] = [];
  const name: Record<CostVariant, string> = {
    solo: 'no backup', sync: 'sync', async: 'async',
    'solo-pinned': 'pinned, no backup', 'sync-pinned': 'pinned, sync', 'async-pinned': 'pinned, async',
    'solo-offload': 'offloads, no backup', 'sync-offload': 'offloads, sync', 'async-offload': 'offloads, async',
  };
  for (const v of variants) {
    const g = got[v]!;
    // Pinned and offload variants compare with the no-backup run of their kind.
    const base = v.endsWith('-pinned') ? got['solo-pinned']! : v.endsWith('-offload') ? got['solo-offload']! : got.solo!;
    const row = (what: string, xs: number[], baseXs: number[], unit: string, digits = 0, more = 'below'): void => {
      if (xs.length === 0) return;
      const m = median(xs);
      const round = (x: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
      const diff = more === 'below' ? 1 - m / median(baseXs) : m / median(baseXs) - 1;
      const vs = v.startsWith('solo') || baseXs.length === 0 ? '' : `, median ${Math.abs(Math.round(diff * 1000) / 10)} % ${diff >= 0 ? more : more === 'below' ? 'above' : 'below'} no backup`;
      rows.push({ metric: `${name[v]}: ${what}, median`, value: round(m), unit, note: `${more === 'below' ? 'best' : 'least'} ${round(more === 'below' ? Math.max(...xs) : Math.min(...xs))} of ${xs.length} runs${vs}` });
    };
    row('download (blob → nc)', g.down, base.down, 'Mbit/s');
    row('download, primary CPU', g.downPrimaryCpu, base.downPrimaryCpu, 'CPU-s/GB', 2, 'above');
    row('download, backup CPU', g.downBackupCpu, [], 'CPU-s/GB', 2, 'above');
    row('echo (nc → echo → nc)', g.echo, base.echo, 'Mbit/s');
    row('echo, primary CPU', g.echoPrimaryCpu, base.echoPrimaryCpu, 'CPU-s/GB', 2, 'above');
    row('echo, backup CPU', g.echoBackupCpu, [], 'CPU-s/GB', 2, 'above');
    row('1-byte round trips', g.rr, base.rr, 'round trips/s');
    rows.push({ metric: `${name[v]}: labs that failed`, value: g.failed.length, unit: `of ${2 * reps}`, ...(g.failed.length > 0 ? { note: [...new Set(g.failed)].join(' | ') } : {}) });
  }
  return rows;
}

export const sttcpCostPinned: Benchmark = {
  id: 'sttcp-lab-cost-pinned',
  title: 'ST-TCP in the lab: async replication against no backup, the primary on a core of its own, many interleaved pairs',
  description: 'The pinned rows of sttcp-lab-cost (download and echo of 100 MB, hosts under SCHED_RR with the same flags; the primary\'s process alone on CPU 0, '
    + 'the backup\'s with the client\'s programs on CPU 1), without the round trips, 12 rounds of a no-backup lab then an async one: enough pairs to decide a 10 % '
    + 'difference on a machine whose single runs differ by a fifth. "Pairs" compares each async run with the no-backup run just before it.',
  requires: ['root', { program: 'nc', debianPackage: 'netcat-openbsd' }, { program: 'python3', debianPackage: 'python3' }],
  async run(ctx) {
    const variants: readonly CostVariant[] = ['solo-pinned', 'async-pinned'];
    const reps = ctx.quick ? 2 : 12;
    const got = await measureCost(ctx, variants, reps, false);
    const rows = costRows(got, variants, reps);
    for (const [what, label] of [['down', 'download'], ['echo', 'echo']] as const) {
      const ratios: number[] = [];
      for (let i = 0; i < reps; i++) {
        const a = got['async-pinned']!.byRep[what][i];
        const b = got['solo-pinned']!.byRep[what][i];
        if (a !== undefined && b !== undefined) ratios.push(a / b);
      }
      if (ratios.length === 0) continue;
      const within = ratios.filter((r) => r >= 0.9).length;
      const pct = (r: number): number => Math.round(r * 1000) / 10;
      rows.push({ metric: `pairs: async ${label} as a share of the no-backup run before it, median`, value: pct(median(ratios)), unit: '%',
        note: `${within} of ${ratios.length} pairs at 90 % or more (at most 10 % below); range ${pct(Math.min(...ratios))}–${pct(Math.max(...ratios))} %` });
    }
    return rows;
  },
};

interface PingResult { echoes: number[]; errors: Array<[number, string]> }

function pingOutcome(r: PingResult, crashNs: bigint): { pauseNs: number | undefined; error: string | undefined } {
  const c = Number(crashNs);
  const before = r.echoes.filter((t) => t <= c);
  const after = r.echoes.filter((t) => t > c);
  const err = r.errors.find(([t]) => t > c);
  return {
    pauseNs: before.length > 0 && after.length > 0 ? after[0]! - before[before.length - 1]! : undefined,
    error: err?.[1],
  };
}

export const sttcpAnchor: Benchmark = {
  id: 'sttcp-lab-anchor',
  title: 'Anchor: a kernel server whose address moves to a standby (keepalived\'s way) vs ST-TCP, same client',
  description: 'A python3 client sends 64 bytes every 5 ms and waits for the echo; on an error it reconnects every 5 ms. Anchor: python3 echo servers on kernel TCP in primary and standby; '
    + 'crash = the primary\'s link goes down (a dead host sends nothing); after the same detection time as the ST-TCP lab liveness (200 ms) the standby adds the address and sends '
    + 'gratuitous ARP (keepalived\'s own VRRP detection would come on top). ST-TCP: the echo app on the pair, primary SIGKILLed. "Service back" = last echo before the crash to the first echo after it.',
  requires: ['root', { program: 'python3', debianPackage: 'python3' }],
  async run(ctx) {
    const runs = ctx.quick ? 1 : 5;
    const detectMs = (LAB_LIVENESS.heartbeatUs * LAB_LIVENESS.missLimit) / 1000;
    const kernel: Array<{ pauseNs: number | undefined; error: string | undefined }> = [];
    const ours: Array<{ pauseNs: number | undefined; error: string | undefined }> = [];
    for (let i = 0; i < runs; i++) {
      ctx.progress(`anchor run ${i + 1}`);
      const s = await ipMoveUp();
      try {
        const servers = [spawnInNs(s.netns.primary!, pyThreadedEcho(7)), spawnInNs(s.netns.standby!, pyThreadedEcho(7))];
        try {
          await sleep(500);
          const c = runClient(s.netns.client!, pingClient(s.service.ip, 7, 6));
          await c.firstLine;
          await sleep(1000);
          crashKernelPrimary(s);
          // Stamped once the link is down (`ip` takes a few ms: the anchor gets those for free).
          const crashNs = process.hrtime.bigint();
          await sleep(detectMs);
          moveAddressToStandby(s);
          kernel.push(pingOutcome(await c.result as unknown as PingResult, crashNs));
        } finally { for (const p of servers) await stopChild(p); }
      } finally { await labDown(s.name); }
      ctx.progress(`st-tcp run ${i + 1}`);
      await withSttcp({ app: 'echo', port: 7, mode: 'sync' }, async (s) => {
        const c = runClient(s.netns.client!, pingClient(s.service.ip, 7, 4));
        await c.firstLine;
        await sleep(1000);
        const crashNs = crashPrimary(s);
        ours.push(pingOutcome(await c.result as unknown as PingResult, crashNs));
      });
    }
    const rows: BenchRow[] = [];
    for (const [label, rs] of [['kernel server, address moved', kernel], ['ST-TCP', ours]] as const) {
      const p = rs.map((r) => r.pauseNs).filter((x): x is number => x !== undefined);
      const errs = rs.map((r) => r.error).filter((e): e is string => e !== undefined);
      rows.push({ metric: `${label}: connections that failed`, value: errs.length, unit: `of ${rs.length}`, ...(errs.length > 0 ? { note: [...new Set(errs)].join(', ') } : {}) });
      if (p.length > 0) {
        rows.push({ metric: `${label}: crash → service back, median`, value: ms(median(p)), unit: 'ms', note: `${p.length} runs` });
        rows.push({ metric: `${label}: crash → service back, max`, value: ms(Math.max(...p)), unit: 'ms' });
      }
    }
    return rows;
  },
};
