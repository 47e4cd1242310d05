// Every benchmark `unbroken bench` knows, in the order they run. Add new ones here;
// each lives in its own file under ./benchmarks/.
import type { Benchmark } from './types.js';

export const BENCHMARKS: readonly Benchmark[] = [
];
