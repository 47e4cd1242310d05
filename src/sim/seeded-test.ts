// node:test helper for seeded simulation tests: runs a test body once per seed
// (1..N, N from env SIM_SEEDS or the file's default; SIM_SEED=x runs only seed x;
// SIM_TEST=text only the tests whose name contains it) and, when a seed fails, prints
// the one command line that replays exactly that run: seed, test name and file.
import { test, type TestContext } from 'node:test';
import { relative } from 'node:path';

export interface SeededTestOptions {
  /** Seeds run by default (CI); env SIM_SEEDS overrides. Default 10. */
  seeds?: number;
  /** Per-seed timeout in milliseconds (node:test). Default none. */
  timeoutMs?: number;
}

/** The seeds to run: SIM_SEED=x → [x]; else 1..(SIM_SEEDS ?? defaultCount). */
export function seedsToRun(defaultCount: number, env: NodeJS.ProcessEnv = process.env): number[] {
  const one = env.SIM_SEED;
  if (one !== undefined && one !== '') {
    const s = Number(one);
    if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`SIM_SEED must be a non-negative integer, got ${one}`);
    return [s];
  }
  const many = env.SIM_SEEDS;
  const n = many !== undefined && many !== '' ? Number(many) : defaultCount;
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`SIM_SEEDS must be a positive integer, got ${many}`);
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The command that reruns one seed of one test (by name, when given) of the current test file. */
export function replayCommand(seed: number, file = currentTestFile(), testName?: string): string {
  const name = testName === undefined ? '' : ` SIM_TEST=${shellQuote(testName)}`;
  return `SIM_SEED=${seed}${name} npm test -- ${file}`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function currentTestFile(): string {
  const f = process.argv[1];
  return f ? relative(process.cwd(), f) : '<test file>';
}

/**
 * Registers one node:test test named `name` with a subtest per seed. The body gets
 * the seed and the subtest context; a failing seed's error message starts with the line
 * `replay: SIM_SEED=… npm test -- <file>` (logged instead if the message cannot be changed).
 */
export function seededTest(
  name: string,
  fn: (seed: number, t: TestContext) => void | Promise<void>,
  opts: SeededTestOptions = {},
): void {
  const seeds = seedsToRun(opts.seeds ?? 10);
  const only = process.env.SIM_TEST;
  if (only !== undefined && only !== '' && !name.includes(only)) {
    test(name, { skip: `SIM_TEST=${only} selects other tests` }, () => {});
    return;
  }
  test(name, async (t) => {
    t.diagnostic(`seeds: ${seeds.length === 1 ? seeds[0] : `1..${seeds.length}`} (SIM_SEEDS=N for more, SIM_SEED=x for one)`);
    for (const seed of seeds) {
      const sub = opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs };
      await t.test(`seed ${seed}`, sub, async (st) => {
        try {
          await fn(seed, st);
        } catch (err) {
          const line = `replay: ${replayCommand(seed, currentTestFile(), name)}`;
          let attached = false;
          if (err instanceof Error) {
            try {
              err.message = `${line}\n${err.message}`;
              attached = err.message.startsWith(line);
            } catch {
              // a read-only message: log the line instead
            }
          }
          if (!attached) console.error(line);
          throw err;
        }
      });
    }
  });
}
