// Benchmark "calls-failover": many concurrent calls across many gateways through one
// controller crash, for the call-preserving design (records on the gateways + audit)
// and, in the same run, the baseline that replicates every call-state change to the
// alternate controller. Virtual time on the simulated network with each controller's
// measured CPU charged to it (failover-bench.ts); CPU figures are this machine's.
import type { Benchmark, BenchContext, BenchRow } from '../../bench/types.js';
import { FailoverBench } from './failover-bench.js';
import type { FailoverBenchReport, FailoverDesign } from './failover-bench.js';

const DESIGN_NAME: Record<FailoverDesign, string> = { records: 'records (ours)', replication: 'per-change replication (baseline)' };

function rows(r: FailoverBenchReport): BenchRow[] {
  const d = DESIGN_NAME[r.design];
  const ms = (us: number | undefined): number => (us === undefined ? NaN : Math.round(us / 100) / 10);
  const ok = r.violations.length === 0 ? 'no violations' : `violations: ${r.violations.slice(0, 3).join('; ')}`;
  return [
    { metric: `${d}: stable calls preserved`, value: r.preserved, unit: 'calls', note: `of ${r.stableAtCrash} stable at the crash (${r.calls} calls, ${r.gateways} gateways); ${ok}` },
    { metric: `${d}: failover detected (median / max over gateways)`, value: ms(r.detectionMedianUs), unit: 'ms', note: `max ${ms(r.detectionMaxUs)} ms` },
    { metric: `${d}: crash until every call controllable`, value: ms(r.controllableUs), unit: 'ms', note: `gateways gave up on the busy alternate ${r.alternateLostByGateways} times` },
    { metric: `${d}: alternate CPU for the failover`, value: ms(r.failoverCpuUs), unit: 'ms', note: `largest H.248 message ${r.largestMessageBytes} B` },
    { metric: `${d}: call setups one controller core sustains`, value: Math.round(r.calls / (r.setupCpuUs / 1e6)), unit: 'calls/s', note: `primary CPU ${(r.setupCpuUs / r.calls / 1000).toFixed(3)} ms per call setup` },
    { metric: `${d}: H.248 sent by the primary per call setup`, value: Math.round(r.h248BytesPerCall), unit: 'B', note: `${r.h248MsgsPerCall.toFixed(2)} messages; call records ${Math.round(r.recordBytesPerCall)} B of it` },
    { metric: `${d}: replication per call (both ways)`, value: Math.round(r.replBytesPerCall), unit: 'B', note: `${r.replMsgsPerCall.toFixed(2)} messages; alternate CPU before the crash ${ms(r.standbyCpuUs)} ms` },
    { metric: `${d}: CDRs, one per call`, value: r.cdrs, unit: 'CDRs', note: `${r.cdrsByAlternateWithOriginalStart} written by the alternate with the original start; ${r.holdsAfterFailover} holds after failover` },
  ];
}

export const callsFailover: Benchmark = {
  id: 'calls-failover',
  title: 'Calls: concurrent calls across 20 gateways through one controller crash (10,000 calls; 2,000 with --quick)',
  description: 'Simulated network (300 µs ± 200 µs), controllers as single-threaded servers whose measured CPU is charged to virtual time; '
    + 'calls offered at 500/s, 90 % spanning two gateways; keepalive 100 ms, gateway silence bound 300 ms; the primary crashes once every call talks; '
    + 'after the failover every tenth call is held and retrieved, then all hang up. Our design (call records on the gateways, audit at failover) '
    + 'against the baseline that copies every call-state change to the alternate (one acknowledged datagram per change, no records).',
  run(ctx: BenchContext): BenchRow[] {
    const calls = ctx.quick ? 2_000 : 10_000;
    const out: BenchRow[] = [];
    for (const design of ['records', 'replication'] as const) {
      const r = new FailoverBench({
        seed: 6, design, gateways: 20, calls, offeredPerS: 500, chargeCpu: true, keepaliveUs: 100_000, controllerTimeoutUs: 300_000, holdEvery: 10,
        progress: (phase, done, total) => ctx.progress(`${design}: ${phase} ${done}/${total}`),
      }).scenario();
      out.push(...rows(r));
    }
    return out;
  },
};
