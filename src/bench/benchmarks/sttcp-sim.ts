// Benchmark "sttcp-sim": ST-TCP failover in the deterministic simulator on a 1 Gbit/s LAN.
// The primary is killed at a seeded random moment of a download plus echo conversations;
// figures are the client-visible pause (gap in received bytes across the takeover), the
// detection and takeover delays, and what replication costs: the echo round trip and
// the CPU per megabyte, sync and async, in the same run. Virtual-time figures are exact
// for the simulated network; CPU figures are this machine's.
import { performance } from 'node:perf_hooks';
import { runStTcpScenario, type ClientPlan, type StTcpScenarioOptions } from '../../sttcp/scenario.js';
import { SeededRng } from '../../util/rng.js';
import type { Benchmark, BenchContext, BenchRow } from '../types.js';

const LAN = { latencyUs: 50, bandwidthBps: 1_000_000_000, queueFrames: 1000, mtuBytes: 1500 };

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function workload(rng: SeededRng): ClientPlan[] {
  return [
    { kind: 'download', startUs: 5_000, bytes: 40_000_000 },
    { kind: 'echo', startUs: 6_000, bytes: 300_000, chunkBytes: 1000, intervalUs: 1000 },
    { kind: 'echo', startUs: 7_000 + rng.nextInt(1000), bytes: 300_000, chunkBytes: 1000, intervalUs: 1000 },
  ];
}

/** One failover run of this benchmark (also replayed by test/sttcp/takeover-hole.test.ts). */
export function sttcpSimFailover(seed: number, controlLink: boolean, extra: Partial<StTcpScenarioOptions> = {}): StTcpScenarioOptions {
  const rng = new SeededRng(seed * 104729);
  return { seed, clients: workload(rng), crashPrimaryAtUs: 50_000 + rng.nextInt(250_000), link: LAN, fencing: true, controlLink, ...extra };
}

export const sttcpSim: Benchmark = {
  id: 'sttcp-sim',
  title: 'ST-TCP failover in the simulator: client-visible pause and replication cost',
  description: 'Client, primary and backup on a simulated 1 Gbit/s LAN (hub tap); a 40 MB download and two echo conversations; '
    + 'the primary is killed at a seeded random moment. Pause = the gap in bytes received by the client across the takeover, '
    + 'per connection active at the crash. Default liveness: heartbeat 10 ms, 3 misses, lease 25 ms. '
    + 'Two topologies: the control channel on a dedicated link between the boxes (as DESIGN places it), and sharing the hub port '
    + 'with the tap (the backup\'s port then carries the whole download twice over and heartbeats queue behind it).',
  run(ctx: BenchContext): BenchRow[] {
    const runs = ctx.quick ? 8 : 24;
    const rows: BenchRow[] = [];
    for (const controlLink of [true, false]) {
      const pauses: number[] = [];
      const detections: number[] = [];
      const takeovers: number[] = [];
      let broken = 0;
      const topo = controlLink ? 'control link' : 'shared port';
      for (let seed = 1; seed <= runs; seed++) {
        ctx.progress(`${topo}: failover run ${seed}/${runs}`);
        const r = runStTcpScenario(sttcpSimFailover(seed, controlLink));
        if (!r.ok) broken++;
        for (const c of r.connections) if (c.pauseUs !== undefined) pauses.push(c.pauseUs);
        if (r.detectedUs !== undefined && r.crashUs !== undefined) detections.push(r.detectedUs - r.crashUs);
        if (r.takeoverUs !== undefined && r.crashUs !== undefined) takeovers.push(r.takeoverUs - r.crashUs);
      }
      pauses.sort((a, b) => a - b);
      detections.sort((a, b) => a - b);
      takeovers.sort((a, b) => a - b);
      rows.push(
        { metric: `${topo}: failover runs`, value: runs, unit: 'runs', note: `${broken} broke a promise` },
        { metric: `${topo}: client-visible pause, median`, value: quantile(pauses, 0.5) / 1000, unit: 'ms', note: `${pauses.length} connections active at the crash` },
        { metric: `${topo}: client-visible pause, maximum`, value: (pauses.at(-1) ?? NaN) / 1000, unit: 'ms' },
        { metric: `${topo}: failure detected after the crash, median`, value: quantile(detections, 0.5) / 1000, unit: 'ms' },
        { metric: `${topo}: takeover after the crash, maximum`, value: (takeovers.at(-1) ?? NaN) / 1000, unit: 'ms' },
      );
    }
    // Replication cost without a crash (control link): echo round trip (virtual) and CPU per MB, sync vs async.
    for (const mode of ['sync', 'async'] as const) {
      ctx.progress(`replication cost, ${mode}`);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = runStTcpScenario({
        seed: 7, mode, link: LAN, fencing: true, controlLink: true,
        clients: [
          { kind: 'download', startUs: 5_000, bytes: ctx.quick ? 10_000_000 : 40_000_000 },
          { kind: 'echo', startUs: 6_000, bytes: 200_000, chunkBytes: 1000, intervalUs: 1000 },
        ],
      });
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - t0;
      const dl = r.connections.find((c) => c.kind === 'download')!;
      const echo = r.connections.find((c) => c.kind === 'echo')!;
      const first = dl.samples[0]?.[0] ?? 0;
      const last = dl.samples.at(-1)?.[0] ?? 0;
      const mbps = last > first ? (dl.receivedBytes * 8) / (last - first) : NaN;
      // Echo round trip: the client writes a chunk every 1 ms; each sample is the echo arriving.
      const gaps = echo.samples.map(([t], i) => (i === 0 ? 0 : t - echo.samples[i - 1]![0])).slice(1).sort((a, b) => a - b);
      rows.push(
        { metric: `${mode}: download goodput (virtual)`, value: mbps, unit: 'Mbit/s', note: r.ok ? 'byte-exact' : 'BROKEN' },
        { metric: `${mode}: echo inter-arrival median (virtual)`, value: quantile(gaps, 0.5) / 1000, unit: 'ms', note: 'client writes every 1 ms' },
        { metric: `${mode}: CPU per MB delivered`, value: ((cpu.user + cpu.system) / 1000) / (dl.receivedBytes / 1e6), unit: 'ms/MB', note: `wall ${(wallMs / 1000).toFixed(1)} s` },
      );
    }
    return rows;
  },
};
