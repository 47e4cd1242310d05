// CRAFT in the lab (src/lab/craft-topology.ts), unmodified Linux clients and nginx back
// ends: throughput and request latency through the splicer against a direct connection,
// a copying proxy on our stack and HAProxy, all in one lab and one run; and the pause a
// client sees when the active splicer and when its back end are SIGKILLed mid-download.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timedInNs } from '../../lab/bench-tools.js';
import { addCopyProxy, addHaproxy, addSoloSplicer } from '../../lab/craft-extras.js';
import { CRAFT_NET, craftUp, splicerEvents, writeBlobFiles } from '../../lab/craft-topology.js';
import { labDown } from '../../lab/lab.js';
import type { LabState } from '../../lab/state.js';
import type { Benchmark, BenchRow } from '../types.js';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const BIG = 50_000_000;
const SMALL = 1_000;

async function withFiles<T>(sizes: number[], fn: (root: string, sha: Record<string, string>) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), 'unbroken-craft-bench-'));
  try { return await fn(root, writeBlobFiles(root, sizes)); } finally { rmSync(root, { recursive: true, force: true }); }
}

/** One download with curl: Mbit/s (checks the status and the size). */
async function download(ns: string, url: string, bytes: number): Promise<number> {
  const t = await timedInNs(ns, `curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' ${url}`, 120_000);
  const [code, size, secs] = t.stdout.trim().split(' ');
  if (code !== '200' || Number(size) !== bytes) throw new Error(`${url}: HTTP ${code}, ${size} bytes`);
  return (bytes * 8) / Number(secs) / 1e6;
}

/** n requests, a new connection each (curl, one process per request): time_total in ms. */
async function requestTimes(ns: string, url: string, n: number): Promise<number[]> {
  const t = await timedInNs(ns, `for i in $(seq ${n}); do curl -s -o /dev/null -w '%{http_code} %{time_total}\\n' ${url}; done`, 120_000);
  return t.stdout.trim().split('\n').map((l) => {
    const [code, secs] = l.split(' ');
    if (code !== '200') throw new Error(`${url}: HTTP ${code}`);
    return Number(secs) * 1000;
  });
}

function wrkMs(v: string): number {
  const m = /^([0-9.]+)(us|ms|s)$/.exec(v);
  if (m === null) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** wrk, keep-alive connections: requests/s, p50 and p99 latency; throws on any error. */
async function wrkRun(ns: string, url: string, seconds: number): Promise<{ rps: number; p50: number; p99: number }> {
  const t = await timedInNs(ns, `wrk -t 1 -c 4 -d ${seconds}s --latency ${url}`, (seconds + 30) * 1000);
  const out = t.stdout;
  if (/Socket errors|Non-2xx/.test(out)) throw new Error(`wrk ${url}: ${out.split('\n').filter((l) => /errors|Non-2xx/.test(l)).join('; ')}`);
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1]);
  const p50 = wrkMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
  const p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
  return { rps, p50, p99 };
}

interface PathFigures { mbps: number[]; reqMs: number[]; wrk: Array<{ rps: number; p50: number; p99: number }> }

export const craftLabCompare: Benchmark = {
  id: 'craft-lab',
  title: 'CRAFT in the lab: client → splicer → nginx against direct, a copying proxy on our stack, and HAProxy',
  description: '`lab up craft --backends 2 --splicers 2` (our stack on TAPs, active/standby, replication on), nginx back ends; in splicer0\'s namespace also HAProxy 2.6 '
    + '(kernel TCP, mode http, 1 thread, round-robin), a copying proxy on our stack (its own TAP; terminates both connections and copies bytes) '
    + 'and a splicer with no peer (no replication: what replication costs). '
    + 'Same lab, same run, paths interleaved. Throughput: curl downloads 50 MB, best of the runs. Request latency: curl fetches 1 KB on a new connection each '
    + 'time (median, p90 of time_total); wrk -t1 -c4 on keep-alive connections (requests/s and latency p50/p99, best run). Direct = the client to backend0.',
  requires: ['root', { program: 'curl', debianPackage: 'curl' }, { program: 'wrk', debianPackage: 'wrk' },
    { program: 'nginx', debianPackage: 'nginx-light' }, { program: 'haproxy', debianPackage: 'haproxy' }],
  async run(ctx) {
    const reps = ctx.quick ? 2 : 3;
    const reqN = ctx.quick ? 30 : 100;
    const wrkS = ctx.quick ? 2 : 4;
    return withFiles([SMALL, BIG], async (root) => {
      const s = await craftUp({ backends: 2, splicers: 2, root });
      try {
        const hap = await addHaproxy(s);
        const copy = await addCopyProxy(s);
        const solo = await addSoloSplicer(s);
        const paths: Array<[string, string]> = [
          ['direct', `http://${CRAFT_NET.backendIp(0)}`],
          ['splicer', `http://${CRAFT_NET.serviceIp}`],
          ['splicer without standby', `http://${solo.ip}`],
          ['copying proxy (our stack)', `http://${copy.ip}`],
          ['HAProxy', `http://${hap.ip}`],
        ];
        const fig: Record<string, PathFigures> = {};
        for (const [name] of paths) fig[name] = { mbps: [], reqMs: [], wrk: [] };
        const client = s.netns.client!;
        for (let rep = 0; rep < reps; rep++) {
          for (const [name, base] of paths) {
            ctx.progress(`${name}, rep ${rep + 1}/${reps}`);
            fig[name]!.mbps.push(await download(client, `${base}/${BIG}.bin`, BIG));
            fig[name]!.reqMs.push(...await requestTimes(client, `${base}/${SMALL}.bin`, Math.ceil(reqN / reps)));
            fig[name]!.wrk.push(await wrkRun(client, `${base}/${SMALL}.bin`, wrkS));
          }
        }
        const rows: BenchRow[] = [];
        const base = fig.direct!;
        for (const [name] of paths) {
          const f = fig[name]!;
          const best = Math.max(...f.mbps);
          const w = f.wrk.reduce((a, b) => (b.rps > a.rps ? b : a));
          rows.push({ metric: `${name}: 50 MB download`, value: Math.round(best), unit: 'Mbit/s', note: name === 'direct' ? `best of ${reps}` : `${r2(best / Math.max(...base.mbps))}× direct` });
          rows.push({ metric: `${name}: 1 KB request, new connection, median`, value: r2(median(f.reqMs)), unit: 'ms', note: `${f.reqMs.length} requests` });
          rows.push({ metric: `${name}: 1 KB request, new connection, p90`, value: r2(pct(f.reqMs, 0.9)), unit: 'ms' });
          rows.push({ metric: `${name}: wrk keep-alive`, value: Math.round(w.rps), unit: 'requests/s', note: `p50 ${r2(w.p50)} ms, p99 ${r2(w.p99)} ms` });
        }
        // Last, what HAProxy's clients see when it dies: rate-limited downloads through it,
        // HAProxy SIGKILLed after a second (its connections live in that one process).
        ctx.progress('HAProxy SIGKILLed mid-download');
        const k = await haproxyCrash(client, `http://${hap.ip}/${BIG}.bin`, s.pids.haproxy!, HAPROXY_CRASH_DOWNLOADS);
        rows.push({ metric: 'HAProxy SIGKILLed mid-download: downloads failed', value: k.failed, unit: `of ${k.runs}`,
          note: `curl exit codes ${[...new Set(k.codes)].join(', ')}; ${r1(k.bytesMedian / 1e6)} MB of ${BIG / 1e6} MB received (median)` });
        return rows;
      } finally {
        await labDown(s.name);
      }
    });
  },
};

const HAPROXY_CRASH_DOWNLOADS = 5;

/** `runs` curl downloads at 2 MB/s through `url`; SIGKILL of `pid` once all have data. */
async function haproxyCrash(ns: string, url: string, pid: number, runs: number): Promise<{ runs: number; failed: number; codes: number[]; bytesMedian: number }> {
  // The script prints curl's byte count and exit code and itself succeeds either way.
  const curls = Array.from({ length: runs }, () => timedInNs(ns, `curl -s -o /dev/null --limit-rate 2M -w '%{size_download}' ${url}; echo " $?"`, 120_000));
  await sleep(1500);
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone: counted by the downloads */ }
  const rs = await Promise.all(curls);
  const out = rs.map((r) => r.stdout.trim().split(/\s+/).map(Number));
  const codes = out.map(([, code]) => code ?? NaN);
  return { runs, failed: codes.filter((c) => c !== 0).length, codes, bytesMedian: median(out.map(([bytes]) => bytes ?? 0)) };
}

/** Reads one HTTP response from ip:80 with python3, stamping receives (CLOCK_MONOTONIC); prints gaps over 2 ms and the body's sha256. */
function streamClient(ip: string, path: string): string[] {
  const py = [
    'import socket,time,json,hashlib',
    `s=socket.create_connection(("${ip}",80));s.settimeout(20);s.sendall(b"GET ${path} HTTP/1.1\\r\\nHost: lab\\r\\nConnection: close\\r\\n\\r\\n")`,
    'buf=b"";h=hashlib.sha256();total=0;head=None;last=None;gaps=[];err=None;first=None',
    'try:',
    '  while True:',
    '    d=s.recv(1<<18);t=time.monotonic_ns()',
    '    if not d: break',
    '    if first is None:',
    '      first=t;print(json.dumps({"first":t}),flush=True)',
    '    if last is not None and t-last>2000000: gaps.append([last,t])',
    '    last=t',
    '    if head is None:',
    '      buf+=d;i=buf.find(b"\\r\\n\\r\\n")',
    '      if i<0: continue',
    '      head=buf[:i].decode("latin1");d=buf[i+4:]',
    '    h.update(d);total+=len(d)',
    'except Exception as e: err=type(e).__name__',
    'print(json.dumps({"total":total,"sha":h.hexdigest(),"gaps":gaps,"last":last,"error":err,"status":(head or "").split("\\r\\n")[0]}),flush=True)',
  ].join('\n');
  return ['python3', '-c', py];
}

interface StreamResult { total: number; sha: string; gaps: Array<[number, number]>; last: number; error: string | null; status: string }

function runStream(ns: string, argv: string[]): { first: Promise<void>; result: Promise<StreamResult> } {
  const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let firstResolve: () => void = () => {};
  const first = new Promise<void>((r) => { firstResolve = r; });
  p.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) firstResolve(); });
  p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const result = new Promise<StreamResult>((resolve, reject) => p.on('exit', () => {
    firstResolve();
    try { resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as StreamResult); } catch { reject(new Error(`client printed no result: ${err.trim() || out.trim()}`)); }
  }));
  return { first, result };
}

/** The longest receive gap that ends after the kill and starts before the splicer's reaction (takeover, back-end failure seen). */
function pauseAround(gaps: Array<[number, number]>, killNs: bigint, reactNs: bigint): number | undefined {
  let best: number | undefined;
  for (const [a, b] of gaps) if (b > Number(killNs) && a < Number(reactNs)) best = Math.max(best ?? 0, b - a);
  return best;
}

/** One download, `kill` SIGKILLs something 250 ms after the first byte; the pause and the splicer's reaction time. */
async function pauseRun(s: LabState, sha: string, kill: () => { pid: number; react: () => bigint | undefined }): Promise<{ pauseNs: number; reactNs: number }> {
  const c = runStream(s.netns.client!, streamClient(CRAFT_NET.serviceIp, `/${BIG}.bin`));
  await c.first;
  await sleep(250);
  const k = kill();
  const killNs = process.hrtime.bigint();
  process.kill(k.pid, 'SIGKILL');
  const r = await c.result;
  if (r.error !== null) throw new Error(`client saw ${r.error}`);
  if (!/ 200 /.test(r.status) || r.total !== BIG || r.sha !== sha) throw new Error(`download not byte-exact: ${r.status}, ${r.total} bytes`);
  if (r.last < Number(killNs)) throw new Error('the download ended before the kill');
  const react = k.react();
  if (react === undefined) throw new Error('the splicer logged no reaction');
  // The client records gaps longer than 2 ms: none around the failure is a pause below that
  // (the killed nginx's kernel was still sending its socket buffer while the splicer moved on).
  const pause = pauseAround(r.gaps, killNs, react) ?? 0;
  return { pauseNs: pause, reactNs: Number(react - killNs) };
}

const eventNs = (s: LabState, role: string, event: string): bigint | undefined => {
  const e = splicerEvents(s, role).find((x) => x.event === event);
  return e === undefined ? undefined : BigInt(e.monoNs);
};

export const craftLabPause: Benchmark = {
  id: 'craft-lab-pause',
  title: 'CRAFT in the lab: pause a Linux client sees when the active splicer, then its back end, then one of 3 active splicers is SIGKILLed',
  description: 'Per run a fresh `craft` lab (2 splicers active/standby, heartbeats 20 ms, peer dead after 300 ms; 2 nginx back ends). python3 downloads 50 MB through the splicer, '
    + 'stamping every receive: 250 ms after the first byte the active splicer is SIGKILLed; then a second download, whose nginx is SIGKILLed 250 ms after its first byte '
    + '(its kernel closes the connection early; the splicer re-splices to the other back end with an HTTP Range request). Every download is checked byte-exact (sha256). '
    + 'Then a fresh lab with 3 splicers all active (ECMP next hops, peer dead after 500 ms): the splicer carrying a download is SIGKILLed 250 ms after its first byte. '
    + 'Pause = the longest receive gap that ends after the kill and starts before the splicer\'s reaction (takeover / back-end failure / address adopted, logged); '
    + 'the client records gaps over 2 ms, so a shorter pause counts as 0.',
  requires: ['root', { program: 'python3', debianPackage: 'python3' }, { program: 'nginx', debianPackage: 'nginx-light' }],
  async run(ctx) {
    const runs = ctx.quick ? 3 : 20;
    return withFiles([BIG], async (root, sums) => {
      const sha = sums[`${BIG}.bin`]!;
      const sp: Array<{ pauseNs: number; reactNs: number }> = [];
      const be: Array<{ pauseNs: number; reactNs: number }> = [];
      const sh: Array<{ pauseNs: number; reactNs: number }> = [];
      const failed: string[] = [];
      for (let i = 0; i < runs; i++) {
        ctx.progress(`run ${i + 1}/${runs}`);
        let s: LabState | undefined;
        try {
          s = await craftUp({ backends: 2, splicers: 2, root });
          const lab = s;
          sp.push(await pauseRun(lab, sha, () => ({ pid: lab.pids.splicer0!, react: () => eventNs(lab, 'splicer1', 'takeover') })).catch((e: Error) => {
            throw new Error(`splicer kill: ${e.message}`);
          }));
          const before = splicerEvents(lab, 'splicer1').filter((e) => e.event === 'splice').length;
          be.push(await pauseRun(lab, sha, () => {
            const mine = splicerEvents(lab, 'splicer1').filter((e) => e.event === 'splice')[before];
            const id = String(mine?.backendId ?? 'backend0');
            return { pid: lab.pids[id]!, react: () => eventNs(lab, 'splicer1', 'backend-failed') };
          }).catch((e: Error) => { throw new Error(`back-end kill: ${e.message}`); }));
        } catch (e) {
          failed.push((e as Error).message.slice(0, 120));
        } finally {
          if (s !== undefined) await labDown(s.name);
        }
        // Three splicers all active: the one carrying the download is SIGKILLed; the
        // reaction is a survivor adopting its address (peer dead after 500 ms here).
        let t: LabState | undefined;
        try {
          t = await craftUp({ backends: 2, splicers: 3, root });
          const lab = t;
          const roles = ['splicer0', 'splicer1', 'splicer2'];
          sh.push(await pauseRun(lab, sha, () => {
            const carrier = roles.find((r) => splicerEvents(lab, r).some((e) => e.event === 'splice')) ?? 'splicer0';
            const react = (): bigint | undefined => roles.filter((r) => r !== carrier).map((r) => eventNs(lab, r, 'peer-adopted'))
              .reduce<bigint | undefined>((a, x) => (x === undefined ? a : a === undefined || x < a ? x : a), undefined);
            return { pid: lab.pids[carrier]!, react };
          }));
        } catch (e) {
          failed.push(`shared splicer kill: ${(e as Error).message}`.slice(0, 120));
        } finally {
          if (t !== undefined) await labDown(t.name);
        }
      }
      const rows: BenchRow[] = [];
      const ms = (ns: number): number => r1(ns / 1e6);
      for (const [label, xs] of [['splicer killed', sp], ['back end killed', be], ['one of 3 active splicers killed', sh]] as const) {
        if (xs.length === 0) continue;
        const p = xs.map((x) => x.pauseNs);
        rows.push({ metric: `${label}: client pause, median`, value: ms(median(p)), unit: 'ms', note: `${xs.length} runs, every download byte-exact` });
        rows.push({ metric: `${label}: client pause, max`, value: ms(Math.max(...p)), unit: 'ms' });
        const reaction = label === 'splicer killed' ? 'takeover' : label === 'back end killed' ? 'failure seen' : 'address adopted';
        rows.push({ metric: `${label}: kill → ${reaction}, median`, value: ms(median(xs.map((x) => x.reactNs))), unit: 'ms' });
      }
      rows.push({ metric: 'runs that failed', value: failed.length, unit: `of ${runs}`, ...(failed.length > 0 ? { note: [...new Set(failed)].slice(0, 2).join(' | ') } : {}) });
      return rows;
    });
  },
};
