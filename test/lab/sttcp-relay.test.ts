// ST-TCP relaying to an unmodified server: a real redis-server runs in the primary's and
// the backup's namespaces, each host relays every connection to its own copy. The
// primary is killed (SIGKILL) during a redis-benchmark run and during per-connection
// INCR/RPUSH/SET streams: redis-benchmark reports no error, every stream's replies are
// exactly the failure-free ones, and the data read back through the service afterwards
// is what the commands wrote (none lost, none applied twice).
// The workload uses commands whose replies do not depend on how the two servers
// interleave different connections (docs/sttcp.md "Relaying unmodified servers").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { checkFailover, crashPrimary, sleep, withSttcp } from '../../src/lab/sttcp-crash.js';
import { inNs } from './helpers.js';

const skip = labSkip(['redis-server', 'redis-benchmark', 'redis-cli']);

/** Commands per stream, one round every 20 ms: the streams span the crash. */
const ROUNDS = 120;
const STREAMS = 4;

test('relayed redis-server: redis-benchmark and INCR/RPUSH/SET streams across a primary kill -9 — zero errors, replies exact, data consistent', { skip, timeout: 120_000 }, async () => {
  await withSttcp({ app: 'relay', port: 6379, mode: 'sync' }, async (s) => {
    const cli = async (args: string[]): Promise<string> => {
      const r = await inNs(s.netns.client!, ['redis-cli', '-h', s.service.ip, ...args], 30_000);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    // Written before the crash, read back after it.
    const before: string[] = [];
    for (let i = 0; i < 50; i++) before.push(`k${i}`, `v${i}-${randomBytes(4).toString('hex')}`);
    assert.equal(await cli(['MSET', ...before]), 'OK');

    const bench = inNs(s.netns.client!, ['redis-benchmark', '-h', s.service.ip, '-n', '40000', '-c', '20', '-P', '4',
      '-t', 'ping,set,get', '-q', '--csv'], 100_000);
    // Each stream owns its keys: its replies are determined by its own commands only.
    const streams = Array.from({ length: STREAMS }, (_, k) => inNs(s.netns.client!, ['sh', '-c',
      `i=1; while [ $i -le ${ROUNDS} ]; do echo "INCR ctr:${k}"; echo "RPUSH list:${k} $i"; echo "SET key:${k}:$i v$i"; i=$((i+1)); sleep 0.02; done`
      + ` | redis-cli -h ${s.service.ip}`], 100_000));
    await sleep(1500);
    const crashNs = crashPrimary(s);
    const [b, ...outs] = await Promise.all([bench, ...streams]);

    console.log(b.stdout.trim());
    assert.equal(b.code, 0, b.stderr);
    assert.doesNotMatch(b.stdout + b.stderr, /error/i);
    const rows = b.stdout.trim().split('\n').filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
    assert.deepEqual(rows.map((l) => l.split(',')[0]), ['"PING_INLINE"', '"PING_MBULK"', '"SET"', '"GET"']);

    const want = Array.from({ length: ROUNDS }, (_, j) => `${j + 1}\n${j + 1}\nOK`).join('\n');
    outs.forEach((o, k) => {
      assert.equal(o.code, 0, `stream ${k}: ${o.stderr}`);
      assert.equal(o.stdout.trim(), want, `stream ${k}: every reply exactly once, in order`);
    });

    // Read back through the service, now the former backup and its own redis-server.
    assert.deepEqual((await cli(['MGET', ...before.filter((_, i) => i % 2 === 0)])).split('\n'), before.filter((_, i) => i % 2 === 1));
    for (let k = 0; k < STREAMS; k++) {
      assert.equal(await cli(['GET', `ctr:${k}`]), String(ROUNDS), `ctr:${k}: each INCR applied exactly once`);
      assert.deepEqual((await cli(['LRANGE', `list:${k}`, '0', '-1'])).split('\n'), Array.from({ length: ROUNDS }, (_, j) => String(j + 1)));
      const keys = Array.from({ length: ROUNDS }, (_, j) => `key:${k}:${j + 1}`);
      assert.deepEqual((await cli(['MGET', ...keys])).split('\n'), keys.map((_, j) => `v${j + 1}`));
    }

    const f = checkFailover(s, crashNs);
    console.log(`failover: ${JSON.stringify({ problems: f.problems, liveConnections: f.liveConnections, takeoverAfterCrashMs: f.takeoverNs !== undefined ? Number(f.takeoverNs - crashNs) / 1e6 : undefined })}`);
    assert.deepEqual(f.problems, []);
    assert.ok((f.liveConnections ?? 0) >= STREAMS, `backup took over ${f.liveConnections} live connection(s)`);
    // Neither host's relay lost its local server.
    for (const role of ['primary', 'backup']) {
      const errs = readFileSync(join(s.dir, `${role}.log`), 'utf8').split('\n').filter((l) => l.includes('"relayError"'));
      assert.deepEqual(errs, [], `${role}: relay errors`);
    }
  });
});
