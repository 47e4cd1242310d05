// Measurement helpers the lab benchmarks share: timed transfers and request/response
// loops run by unmodified tools (nc, python3, redis-benchmark) inside a lab's client
// namespace. Figures are measured here; what to compare is in src/bench/benchmarks/lab-*.ts.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Timed { seconds: number; stdout: string }

/** CPU time a process has used so far, every thread, user + system, seconds (undefined once it is gone). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15), in USER_HZ ticks
  } catch { return undefined; }
}

/** Runs a shell command in `ns`, timing it with the monotonic clock; throws on failure. */
export function timedInNs(ns: string, script: string, timeoutMs = 300_000, cpus?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // `cpus`: the script and everything it starts run on these CPUs only (taskset's list).
    const pin = cpus !== undefined ? ['taskset', '-c', cpus] : [];
    execFile('ip', ['netns', 'exec', ns, ...pin, 'bash', '-c', `set -o pipefail; ${script}`], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (err !== null) reject(new Error(`${script}: ${stderr.trim() || err.message}`));
      else resolve({ seconds, stdout });
    });
  });
}

/** Pins every thread of process `pid` to `cpus` (taskset's list, e.g. '0'). */
export function pinProcess(pid: number, cpus: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

export function spawnInNs(ns: string, argv: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'ignore' });
}

export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  await done;
}

/** Waits until something listens on ip:port inside `ns` (bounded). */
export async function waitPort(ns: string, port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try { await timedInNs(ns, `ss -ltn | grep -q ':${port} '`); return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port} in ${ns}`);
}

/**
 * A python3 client doing 1-byte request/response round trips for `seconds` on one
 * connection (TCP_NODELAY), printing the count. Works against any echo server.
 */
export function rrScript(ip: string, port: number, seconds: number): string {
  const py = [
    'import socket,time',
    `s=socket.create_connection(("${ip}",${port}))`,
    's.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1)',
    `n=0;end=time.monotonic()+${seconds}`,
    'while time.monotonic()<end:',
    '  s.sendall(b"x")',
    '  if s.recv(1)!=b"x": raise SystemExit("bad echo")',
    '  n+=1',
    'print(n)',
  ].join('\n');
  return `python3 -c '${py}'`;
}

/** A kernel echo server in python3 (the anchor for round trips), one connection at a time. */
export function pyEchoServer(ip: string, port: number): string[] {
  const py = [
    'import socket',
    `l=socket.socket();l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);l.bind(("${ip}",${port}));l.listen(8)`,
    'while True:',
    '  c,_=l.accept();c.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1)',
    '  while True:',
    '    d=c.recv(65536)',
    '    if not d: break',
    '    c.sendall(d)',
    '  c.close()',
  ].join('\n');
  return ['python3', '-c', py];
}

/** requests/s per test from `redis-benchmark --csv` output. */
export function parseRedisCsv(out: string): Record<string, number> {
  const r: Record<string, number> = {};
  for (const line of out.trim().split('\n')) {
    const m = /^"([^"]+)","([0-9.]+)"/.exec(line);
    if (m !== null) r[m[1]] = Number(m[2]);
  }
  return r;
}
