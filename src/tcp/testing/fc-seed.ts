// Test support: the fast-check seed for a property test, printed so any failure
// can be replayed with `FC_SEED=<seed> npm test -- <file>`. Not imported by protocol code.

export interface FcRunParams {
  seed: number;
  numRuns?: number;
}

/** The seed (from FC_SEED or fresh), printed with the replay command. */
export function fcParams(testFile: string, numRuns?: number): FcRunParams {
  const fromEnv = process.env['FC_SEED'];
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) | 0 : (Math.random() * 0x7fffffff) | 0;
  console.log(`# fast-check seed ${seed} — replay: FC_SEED=${seed} npm test -- ${testFile}`);
  const runs = process.env['FC_RUNS'] !== undefined ? Number(process.env['FC_RUNS']) : numRuns;
  return runs !== undefined ? { seed, numRuns: runs } : { seed };
}
