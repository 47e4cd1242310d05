// ST-TCP in the lab with unmodified Linux clients: the primary host is crashed (SIGKILL
// of its process) during a redis-benchmark run and in the middle of an nc echo stream;
// the backup takes over, the clients see no error and every byte and command counts once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { checkFailover, crashPrimary, sleep, withSttcp } from '../../src/lab/sttcp-crash.js';
import type { LabState } from '../../src/lab/state.js';
import { inNs } from './helpers.js';

const skip = labSkip(['nc', 'redis-benchmark', 'redis-cli']);
const MB = 1_000_000;

function assertFailover(s: LabState, crashNs: bigint, minLive: number): void {
  const f = checkFailover(s, crashNs);
  console.log(`failover: ${JSON.stringify({ ...f, takeoverNs: undefined, detectedNs: undefined, takeoverAfterCrashMs: f.takeoverNs !== undefined ? Number(f.takeoverNs - crashNs) / 1e6 : undefined })}`);
  assert.deepEqual(f.problems, []);
  assert.ok((f.liveConnections ?? 0) >= minLive, `backup took over ${f.liveConnections} live connection(s), expected ≥ ${minLive}`);
}

test('redis-benchmark against the RESP app, primary killed during the run: zero errors, data consistent', { skip, timeout: 110_000 }, async () => {
  await withSttcp({ app: 'resp', port: 6379, mode: 'sync' }, async (s) => {
    const cli = (args: string[]): Promise<string> => inNs(s.netns.client, ['redis-cli', '-h', s.service.ip, ...args]).then((r) => {
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    });
    // Keys written before the crash, read back after it.
    const before: string[] = [];
    for (let i = 0; i < 50; i++) before.push(`k${i}`, `v${i}-${randomBytes(4).toString('hex')}`);
    assert.equal(await cli(['MSET', ...before]), 'OK');
    const n = 100_000;
    const bench = inNs(s.netns.client, ['redis-benchmark', '-h', s.service.ip, '-n', String(n), '-c', '20', '-P', '4',
      '-t', 'set,get,incr', '-q', '--csv'], 100_000);
    await sleep(1500);
    const crashNs = crashPrimary(s);
    const b = await bench;
    console.log(b.stdout.trim());
    assert.equal(b.code, 0, b.stderr);
    assert.doesNotMatch(b.stdout + b.stderr, /error/i);
    const rows = b.stdout.trim().split('\n').filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
    assert.deepEqual(rows.map((l) => l.split(',')[0]), ['"SET"', '"GET"', '"INCR"']);
    // Every INCR of the run counted exactly once across the failover (none lost, none repeated).
    assert.equal(await cli(['GET', 'counter:__rand_int__']), String(n));
    const keys = before.filter((_, i) => i % 2 === 0);
    assert.deepEqual((await cli(['MGET', ...keys])).split('\n'), before.filter((_, i) => i % 2 === 1));
    assertFailover(s, crashNs, 1);
  });
});

test('nc echo stream across the crash: every byte back in order', { skip, timeout: 60_000 }, async () => {
  await withSttcp({ app: 'echo', port: 7, mode: 'sync' }, async (s) => {
    const a = randomBytes(4 * MB);
    const b = randomBytes(4 * MB);
    writeFileSync(join(s.dir, 'a'), a);
    writeFileSync(join(s.dir, 'b'), b);
    // The first half, a pause during which the primary dies, then the second half to the backup.
    const run = inNs(s.netns.client, ['sh', '-c', `(cat ${s.dir}/a; sleep 3; cat ${s.dir}/b) | nc -N ${s.service.ip} 7 | sha256sum`], 50_000);
    await sleep(1500);
    const crashNs = crashPrimary(s);
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split(' ')[0], createHash('sha256').update(a).update(b).digest('hex'));
    assertFailover(s, crashNs, 1);
  });
});
