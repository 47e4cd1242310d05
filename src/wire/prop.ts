// Test helper for property tests under src/wire and src/stack: runs fast-check with a
// printed seed and, on failure, prints the command that replays it. Not used at runtime.
import fc from 'fast-check';

/** Seed from FC_SEED or drawn per run; printed so any failure can be replayed. */
export function propertySeed(): number {
  const env = process.env['FC_SEED'];
  return env !== undefined ? Number(env) : (Math.random() * 0x7fffffff) | 0;
}

export function checkProperty<Ts>(name: string, file: string, prop: fc.IRawProperty<Ts>, numRuns = 300): void {
  const seed = propertySeed();
  console.log(`# property "${name}" seed=${seed}`);
  try {
    fc.assert(prop, { seed, numRuns });
  } catch (e) {
    console.log(`# replay: FC_SEED=${seed} npm test -- ${file}`);
    throw e;
  }
}
