// The seeded-test helper: which seeds run (defaults, SIM_SEEDS, SIM_SEED), and that
// a failing seed prints exactly one replay line naming the seed and the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayCommand, seedsToRun } from './seeded-test.js';

/** The environment for a nested `node --test` (without this process's test-runner context). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SIM_SEED: '', SIM_SEEDS: '', ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

test('seedsToRun: default, SIM_SEEDS and SIM_SEED', () => {
  assert.deepEqual(seedsToRun(3, {}), [1, 2, 3]);
  assert.deepEqual(seedsToRun(3, { SIM_SEEDS: '5' }), [1, 2, 3, 4, 5]);
  assert.deepEqual(seedsToRun(3, { SIM_SEEDS: '5', SIM_SEED: '1234' }), [1234]);
  assert.throws(() => seedsToRun(3, { SIM_SEEDS: 'x' }), RangeError);
  assert.throws(() => seedsToRun(3, { SIM_SEED: '-1' }), RangeError);
});

test('replayCommand names the seed and the file', () => {
  assert.equal(replayCommand(77, 'test/sim/transfer.test.ts'), 'SIM_SEED=77 npm test -- test/sim/transfer.test.ts');
  assert.equal(replayCommand(5, 'test/sim/x.test.ts', "the server's crash"), "SIM_SEED=5 SIM_TEST='the server'\\''s crash' npm test -- test/sim/x.test.ts");
});

test('a failing seed prints one replay line; SIM_SEED reruns only that seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-seeded-'));
  try {
    const file = join(dir, 'fails-on-3.test.ts');
    const helper = new URL('./seeded-test.ts', import.meta.url).pathname;
    writeFileSync(file, [
      `import { seededTest } from ${JSON.stringify(helper)};`,
      `seededTest('fails on 3', (seed) => { console.log('ran seed ' + seed); if (seed === 3) throw new Error('boom'); }, { seeds: 2 });`,
      `seededTest('another test', (seed) => { console.log('other seed ' + seed); }, { seeds: 2 });`,
    ].join('\n'));
    const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', '--test', file], {
      cwd: process.cwd(), encoding: 'utf8', env: childEnv(env),
    });
    const ok = run({});
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const bad = run({ SIM_SEEDS: '4' });
    assert.notEqual(bad.status, 0);
    const out = bad.stdout + bad.stderr;
    const lines = out.split('\n').filter((l) => /^\s*replay: SIM_SEED=3 SIM_TEST='fails on 3' npm test -- \S+fails-on-3\.test\.ts$/.test(l));
    assert.equal(lines.length, 1, out);
    assert.ok(!/SIM_SEED=[124] /.test(out));
    const one = run({ SIM_SEED: '3', SIM_TEST: 'fails on 3' });
    assert.notEqual(one.status, 0);
    assert.match(one.stdout, /ran seed 3/);
    assert.doesNotMatch(one.stdout, /ran seed [124]/);
    assert.doesNotMatch(one.stdout, /other seed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
