// Every benchmark `unbroken bench` knows, in the order they run. Add new ones here;
// each lives in its own file under ./benchmarks/.
import type { Benchmark } from './types.js';
import { tcpCpu } from './benchmarks/tcp-cpu.js';
import { simBulk } from './benchmarks/sim-bulk.js';
import { sttcpSim } from './benchmarks/sttcp-sim.js';
import { craftSplice } from '../craft/bench.js';
import { wireAndHostBenchmark } from '../stack/host-bench.js';
import { tapRedis, tapRoundTrips, tapThroughput } from './benchmarks/lab-tap.js';
import { tapCost } from './benchmarks/tap-cost.js';
import { sttcpAnchor, sttcpCost, sttcpCostPinned, sttcpPause } from './benchmarks/sttcp-lab.js';
import { craftLabCompare, craftLabPause } from './benchmarks/craft-lab.js';
import { callsFailover } from '../calls/bench/calls-bench.js';

export const BENCHMARKS: readonly Benchmark[] = [
  tcpCpu,
  wireAndHostBenchmark,
  simBulk,
  sttcpSim,
  craftSplice,
  tapThroughput,
  tapRoundTrips,
  tapRedis,
  tapCost,
  sttcpPause,
  sttcpCost,
  sttcpCostPinned,
  sttcpAnchor,
  craftLabCompare,
  craftLabPause,
  callsFailover,
];
