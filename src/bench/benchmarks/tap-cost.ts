// Where the CPU of our TAP server goes per GB sent, and how late its event loop runs,
// during one bulk download by a Linux client (nc) from the blob app (src/lab/pair.ts).
// CPU comes from /proc/<pid>/task/*/stat around the transfer (user + system, every
// thread); the event-loop delay, GC pauses and the driver's turn lengths come from the
// server's own exit line (src/lab/run-role.ts). Wall-clock rates on a shared machine
// follow its load; CPU per GB follows our code.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { blobSha256 } from '../../apps/index.js';
import { timedInNs } from '../../lab/bench-tools.js';
import { labDown } from '../../lab/lab.js';
import { pairUp } from '../../lab/pair.js';
import type { Benchmark, BenchRow } from '../types.js';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU ticks (user + system) per thread id of `pid`. */
function threadTicks(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(f[11]) + Number(f[12])); // utime, stime (fields 14, 15)
    } catch { /* the thread ended */ }
  }
  return out;
}

function alive(pid: number): boolean { try { process.kill(pid, 0); return true; } catch { return false; } }

export const tapCost: Benchmark = {
  id: 'tap-cost',
  title: 'Our TAP server under a bulk download: CPU per GB by thread, event-loop delay, GC, driver turns',
  description: 'nc in the client namespace reads N bytes from the blob app on our stack (TAP, no offloads, writer thread); '
    + 'the server process\'s CPU per GB sent (all threads; the event-loop thread; the busiest other thread, the TAP writer, whose write() carries the kernel\'s bridge/veth/TCP receive path), '
    + 'its event-loop delay (perf_hooks, 5 ms resolution) and GC pauses from ready to exit, and the TAP driver\'s longest turn.',
  requires: ['root', { program: 'nc', debianPackage: 'netcat-openbsd' }],
  async run(ctx) {
    const bytes = ctx.quick ? 50_000_000 : 300_000_000;
    const s = await pairUp({ app: 'blob', port: 9000 });
    try {
      const pid = s.pids.server!;
      const before = threadTicks(pid);
      ctx.progress(`${bytes / 1e6} MB download`);
      const t = await timedInNs(s.netns.client, `echo ${bytes} | nc -N ${s.service.ip} 9000 | sha256sum`);
      const after = threadTicks(pid);
      if (t.stdout.split(' ')[0] !== blobSha256(bytes)) throw new Error('blob digest mismatch');
      const used = [...after].map(([tid, n]) => ({ tid, s: (n - (before.get(tid) ?? 0)) / TICKS_PER_S }));
      const total = used.reduce((a, u) => a + u.s, 0);
      const main = used.find((u) => u.tid === pid)?.s ?? 0;
      const others = used.filter((u) => u.tid !== pid).sort((a, b) => b.s - a.s);
      const writer = others[0]?.s ?? 0;
      // The exit line: SIGTERM, then the log (bounded wait).
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
      const logFile = join(s.dir, 'server.log');
      const line = (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '').split('\n').find((l) => l.startsWith('{"exiting"'));
      if (line === undefined) throw new Error('the server wrote no exit line');
      const exit = JSON.parse(line) as { eventLoop: Record<string, number>; driver: Record<string, number> };
      const gb = bytes / 1e9;
      const r2 = (x: number): number => Math.round(x * 100) / 100;
      return [
        { metric: 'throughput', value: r2((bytes * 8) / t.seconds / 1e9), unit: 'Gbit/s', note: `${bytes / 1e6} MB in ${t.seconds.toFixed(2)} s` },
        { metric: 'server CPU per GB, all threads', value: r2(total / gb), unit: 's/GB', note: `${total.toFixed(2)} s` },
        { metric: 'server CPU per GB, event-loop thread', value: r2(main / gb), unit: 's/GB' },
        { metric: 'server CPU per GB, busiest other thread (TAP writer)', value: r2(writer / gb), unit: 's/GB' },
        { metric: 'server CPU per GB, the rest (reader, GC helpers, libuv)', value: r2((total - main - writer) / gb), unit: 's/GB' },
        { metric: 'event-loop delay, max', value: exit.eventLoop.delayMaxMs, unit: 'ms', note: 'from ready to exit' },
        { metric: 'event-loop delay, p99', value: exit.eventLoop.delayP99Ms, unit: 'ms' },
        { metric: 'GC pauses, total', value: exit.eventLoop.gcTotalMs, unit: 'ms', note: `${exit.eventLoop.gcCount} pauses` },
        { metric: 'GC pause, longest', value: exit.eventLoop.gcMaxMs, unit: 'ms' },
        { metric: 'driver turn, longest', value: r2(exit.driver.maxTurnUs / 1000), unit: 'ms', note: `${exit.driver.turns} turns, ${exit.driver.turnsYielded} ended by the budget` },
        { metric: 'driver turns over 10 ms', value: exit.driver.turnsOver10ms, unit: 'turns' },
      ] satisfies BenchRow[];
    } finally {
      await labDown(s.name);
    }
  },
};
