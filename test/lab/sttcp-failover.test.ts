// ST-TCP in the lab with unmodified Linux clients: the primary host is crashed (SIGKILL
// of its process) mid-way through a 200 MB curl download, a redis-benchmark run and an nc
// echo stream; the backup takes over and every client finishes byte-exact, no errors. The
// download and the echo stream run again with TAP offloads (64 KB segments both ways).
// Also the relay to unmodified servers: a real redis-server in each host's namespace,
// redis-benchmark and per-connection INCR/RPUSH/SET streams across the crash. Its workload
// uses commands whose replies do not depend on how the two servers interleave different
// connections (docs/sttcp.md "Relaying unmodified servers").
// One file on purpose: the tests run one after another (two labs at once on this 2-core
// machine starve the hosts' heartbeats and turn into spurious failovers).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { checkFailover, crashPrimary, sleep, withSttcp } from '../../src/lab/sttcp-crash.js';
import { hostEvents } from '../../src/lab/sttcp-topology.js';
import type { LabState } from '../../src/lab/state.js';
import { inNs, makeFiles } from './helpers.js';

const skip = labSkip(['curl', 'nc', 'redis-benchmark', 'redis-cli']);
const skipRelay = labSkip(['redis-server']);
const MB = 1_000_000;
// 200 MB, the size issue 4 names: about 10 s here with the crash, on a loaded 2-core machine.
const BIG = 200 * MB;
let files: { dir: string; sha: Record<number, string> };

before(() => { if (!skip) files = makeFiles([BIG]); });
after(() => { if (files) rmSync(files.dir, { recursive: true, force: true }); });

function assertFailover(s: LabState, crashNs: bigint, minLive: number): void {
  const f = checkFailover(s, crashNs);
  console.log(`failover: ${JSON.stringify({ ...f, takeoverNs: undefined, detectedNs: undefined, takeoverAfterCrashMs: f.takeoverNs !== undefined ? Number(f.takeoverNs - crashNs) / 1e6 : undefined })}`);
  assert.deepEqual(f.problems, []);
  assert.ok((f.liveConnections ?? 0) >= minLive, `backup took over ${f.liveConnections} live connection(s), expected ≥ ${minLive}`);
}

/** curl downloads 200 MB; the primary is killed once a third has arrived. */
async function curlAcrossCrash(offload: boolean): Promise<void> {
  await withSttcp({ app: 'http', port: 80, root: files.dir, mode: 'sync', offload }, async (s) => {
    const out = join(s.dir, 'download.bin');
    const curl = inNs(s.netns.client, ['curl', '-sS', '--fail', '-o', out, `http://${s.service.ip}/${BIG}.bin`], 100_000);
    // Crash once a third has arrived.
    const until = Date.now() + 60_000;
    while (Date.now() < until && (!existsSync(out) || statSync(out).size < BIG / 3)) await sleep(20);
    const got = existsSync(out) ? statSync(out).size : 0;
    assert.ok(got >= BIG / 3 && got < BIG, `crash point: ${got} bytes received`);
    const crashNs = crashPrimary(s);
    // What the client received after the crash, sampled, to tell a stall from a slow run.
    const progress: string[] = [];
    let finished = false;
    const sampling = (async () => {
      const t0 = Date.now();
      let last = -1;
      while (!finished) {
        const size = existsSync(out) ? statSync(out).size : 0;
        if (size !== last) progress.push(`${((Date.now() - t0) / 1000).toFixed(1)}s:${(size / MB).toFixed(1)}MB`);
        last = size;
        await sleep(500);
      }
    })();
    const r = await curl;
    finished = true;
    await sampling;
    if (r.code !== 0) {
      const tail = (role: string): string => hostEvents(s, role).slice(-12).map((e) => `${e.event} ${e.text}`).join('\n  ');
      console.log(`crash at ${got} bytes; received after it: ${progress.join(' ')}\nbackup events:\n  ${tail('backup')}`);
    }
    assert.equal(r.code, 0, `curl: ${r.stderr}`);
    assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), files.sha[BIG]);
    assertFailover(s, crashNs, 1);
    if (offload) await assertOffloaded(s, false);
  });
}

/**
 * The surviving host's TAP counters, from the exit line it logs when stopped (SIGTERM to
 * the pid the lab started; lab down then finds it gone).
 */
async function stopAndReadTap(s: LabState, role: 'backup'): Promise<Record<string, number>> {
  process.kill(s.pids[role]!, 'SIGTERM');
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const line = readFileSync(join(s.dir, `${role}.log`), 'utf8').split('\n').find((l) => l.includes('"exit":true'));
    if (line !== undefined) return (JSON.parse(line) as { tap: Record<string, number> }).tap;
    await sleep(50);
  }
  throw new Error(`${role} logged no exit line within 10 s of SIGTERM`);
}

/** With offloads, the host that took over sent TCP segments larger than the MTU (the kernel cut them). */
async function assertOffloaded(s: LabState, received: boolean): Promise<void> {
  const tap = await stopAndReadTap(s, 'backup');
  console.log(`backup TAP: ${JSON.stringify(tap)}`);
  assert.ok((tap.gsoOut ?? 0) > 0, 'the new primary sent 64 KB segments');
  if (received) assert.ok((tap.gsoIn ?? 0) > 0, 'the backup took the client\'s segments as the kernel coalesced them');
}

test('curl downloads 200 MB from the HTTP app, primary killed mid-transfer: curl exits 0 and sha256 matches', { skip, timeout: 110_000 }, () => curlAcrossCrash(false));
test('the same with TAP offloads on both hosts (64 KB segments to the kernel): curl exits 0 and sha256 matches', { skip, timeout: 110_000 }, () => curlAcrossCrash(true));

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

async function echoAcrossCrash(offload: boolean): Promise<void> {
  await withSttcp({ app: 'echo', port: 7, mode: 'sync', offload }, async (s) => {
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
    if (offload) await assertOffloaded(s, true);
  });
}

test('nc echo stream across the crash: every byte back in order', { skip, timeout: 60_000 }, () => echoAcrossCrash(false));
test('the same with TAP offloads: the shadow takes the client\'s coalesced segments, every byte back in order', { skip, timeout: 60_000 }, () => echoAcrossCrash(true));

/** Commands per stream, one round every 20 ms: the streams span the crash. */
const RELAY_ROUNDS = 100;
const RELAY_STREAMS = 3;

/**
 * A relayed redis-server behind the pair: redis-benchmark and three INCR/RPUSH/SET streams
 * across a primary kill -9, optionally after the backup stalled (SIGSTOP) for a while.
 */
async function relayAcrossCrash(o: { stallBackupMs?: number }): Promise<void> {
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

    const bench = inNs(s.netns.client!, ['redis-benchmark', '-h', s.service.ip, '-n', '20000', '-c', '10', '-P', '4',
      '-t', 'ping_mbulk,set,get', '-q', '--csv'], 90_000);
    // Each stream owns its keys: its replies are determined by its own commands only.
    const streams = Array.from({ length: RELAY_STREAMS }, (_, k) => inNs(s.netns.client!, ['sh', '-c',
      `i=1; while [ $i -le ${RELAY_ROUNDS} ]; do echo "INCR ctr:${k}"; echo "RPUSH list:${k} $i"; echo "SET key:${k}:$i v$i"; i=$((i+1)); sleep 0.02; done`
      + ` | redis-cli -h ${s.service.ip}`], 100_000));
    if (o.stallBackupMs === undefined) await sleep(1500);
    else {
      // The backup stops (SIGSTOP: a stalled host, short of the primary's 200 ms
      // detection) while the connections are young and busy; then it catches up from its
      // queue and the primary dies.
      await sleep(300);
      process.kill(s.pids.backup!, 'SIGSTOP');
      await sleep(o.stallBackupMs);
      process.kill(s.pids.backup!, 'SIGCONT');
      await sleep(1200);
    }
    const crashNs = crashPrimary(s);
    const [b, ...outs] = await Promise.all([bench, ...streams]);

    console.log(b.stdout.trim());
    if (b.code !== 0 || outs.some((o) => o.code !== 0)) {
      // What the hosts saw, for a run that hung or failed (the lab directory goes with the lab).
      for (const role of ['primary', 'backup']) {
        const lines = readFileSync(join(s.dir, `${role}.log`), 'utf8').trim().split('\n').filter((l) => !l.includes('"stall"'));
        console.log(`${role} log (last 15 of ${lines.length}):\n${lines.slice(-15).join('\n').slice(0, 6000)}`);
      }
    }
    assert.equal(b.code, 0, `redis-benchmark: ${b.stderr}`);
    assert.doesNotMatch(b.stdout + b.stderr, /error/i);
    const rows = b.stdout.trim().split('\n').filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
    assert.deepEqual(rows.map((l) => l.split(',')[0]), ['"PING_MBULK"', '"SET"', '"GET"']);

    const want = Array.from({ length: RELAY_ROUNDS }, (_, j) => `${j + 1}\n${j + 1}\nOK`).join('\n');
    outs.forEach((o, k) => {
      assert.equal(o.code, 0, `stream ${k}: ${o.stderr}`);
      assert.equal(o.stdout.trim(), want, `stream ${k}: every reply exactly once, in order`);
    });

    // Read back through the service, now the former backup and its own redis-server.
    assert.deepEqual((await cli(['MGET', ...before.filter((_, i) => i % 2 === 0)])).split('\n'), before.filter((_, i) => i % 2 === 1));
    for (let k = 0; k < RELAY_STREAMS; k++) {
      assert.equal(await cli(['GET', `ctr:${k}`]), String(RELAY_ROUNDS), `ctr:${k}: each INCR applied exactly once`);
      assert.deepEqual((await cli(['LRANGE', `list:${k}`, '0', '-1'])).split('\n'), Array.from({ length: RELAY_ROUNDS }, (_, j) => String(j + 1)));
      const keys = Array.from({ length: RELAY_ROUNDS }, (_, j) => `key:${k}:${j + 1}`);
      assert.deepEqual((await cli(['MGET', ...keys])).split('\n'), keys.map((_, j) => `v${j + 1}`));
    }

    const f = checkFailover(s, crashNs);
    console.log(`failover: ${JSON.stringify({ problems: f.problems, liveConnections: f.liveConnections, takeoverAfterCrashMs: f.takeoverNs !== undefined ? Number(f.takeoverNs - crashNs) / 1e6 : undefined })}`);
    assert.deepEqual(f.problems, []);
    if (o.stallBackupMs !== undefined) {
      console.log(`backup: ${JSON.stringify(f.backupStats)}`);
      assert.ok((f.backupStats?.['heartbeat-gap'] ?? 0) >= 1, 'the backup counted the gap its stall left in the primary\'s heartbeats');
    }
    assert.ok((f.liveConnections ?? 0) >= RELAY_STREAMS, `backup took over ${f.liveConnections} live connection(s)`);
    // Neither host's relay lost its local server.
    for (const role of ['primary', 'backup']) {
      const errs = readFileSync(join(s.dir, `${role}.log`), 'utf8').split('\n').filter((l) => l.includes('"relayError"'));
      assert.deepEqual(errs, [], `${role}: relay errors`);
    }
  });
}

test('relayed redis-server: redis-benchmark and INCR/RPUSH/SET streams across a primary kill -9 — zero errors, replies exact, data consistent', { skip: skip ?? skipRelay, timeout: 120_000 }, async () => {
  await relayAcrossCrash({});
});

test('relayed redis-server: the backup stalls 150 ms while the connections are young, then the primary is killed — zero errors, replies exact, data consistent', { skip: skip ?? skipRelay, timeout: 120_000 }, async () => {
  await relayAcrossCrash({ stallBackupMs: 150 });
});

// A reply that depends on the server, not on the connection's bytes: SRANDMEMBER draws a
// member with each server's own random state, so the primary's and the backup's copies of
// redis answer differently. The members are one letter each, so the replies keep their
// length and the two streams' reply boundaries stay at the same offsets. (The first
// difference reported is in fact earlier: redis-cli opens with COMMAND DOCS, whose reply
// lists the commands in each server's own hash order, same length.) With a two-way tap
// the backup sees the primary's replies, reports the first difference (output.diverged)
// and at the takeover gives the client the primary's bytes up to a reply boundary, then
// its own whole replies: every reply well-formed, the connection's own counter exact.
test('relayed redis-server with a two-way tap: replies that differ between the servers are detected, and the client continues at a reply boundary across a primary kill -9', { skip: skip ?? skipRelay, timeout: 120_000 }, async () => {
  await withSttcp({ app: 'relay', port: 6379, mode: 'sync', tap: 'two-way' }, async (s) => {
    const members = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const add = await inNs(s.netns.client!, ['redis-cli', '-h', s.service.ip, 'SADD', 'letters', ...members], 30_000);
    assert.equal(add.code, 0, add.stderr);
    const rounds = 150;
    const stream = inNs(s.netns.client!, ['sh', '-c',
      `i=1; while [ $i -le ${rounds} ]; do echo "SRANDMEMBER letters"; echo "INCR mine"; i=$((i+1)); sleep 0.02; done | redis-cli -h ${s.service.ip}`], 100_000);
    await sleep(1500);
    const crashNs = crashPrimary(s);
    const out = await stream;
    const backup = hostEvents(s, 'backup');
    const diverged = backup.filter((e) => e.event === 'output.diverged');
    const f = checkFailover(s, crashNs);
    console.log(`two-way tap: ${diverged.length} divergence(s) reported: ${diverged.map((e) => e.text).join(' | ')}; failover ${JSON.stringify({ problems: f.problems, liveConnections: f.liveConnections })}`);
    assert.equal(out.code, 0, `redis-cli: ${out.stderr}`);
    const lines = out.stdout.trim().split('\n');
    assert.equal(lines.length, 2 * rounds, 'one reply per command');
    for (let i = 0; i < rounds; i++) {
      assert.ok(members.includes(lines[2 * i]!), `reply ${2 * i + 1} is a member: ${lines[2 * i]}`);
      assert.equal(lines[2 * i + 1], String(i + 1), `INCR ${i + 1}: the connection's own counter, exact`);
    }
    assert.deepEqual(f.problems, []);
    assert.ok((f.liveConnections ?? 0) >= 1, 'the stream was taken over live');
    assert.ok(diverged.length >= 1, 'the backup saw the primary\'s replies differ from its own server\'s');
    // Read back through the former backup: the counter it kept itself.
    const r = await inNs(s.netns.client!, ['redis-cli', '-h', s.service.ip, 'GET', 'mine'], 30_000);
    assert.equal(r.stdout.trim(), String(rounds));
  });
});

/** Reads one `COMMAND DOCS` reply from redis at ip:port into `out` (python3: raw bytes, a 4 KiB receive buffer, `slowly` 1 KiB per 10 ms); prints the error that ended it, if any. */
function commandDocsReader(ip: string, port: number, out: string, slowly: boolean): string[] {
  return ['python3', '-c', `
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("${ip}", ${port}))
s.settimeout(3)
s.sendall(b"*2\\r\\n$7\\r\\nCOMMAND\\r\\n$4\\r\\nDOCS\\r\\n")
got = b""
err = "quiet"
try:
    while True:
        d = s.recv(1024 if ${slowly ? 'True' : 'False'} else 65536)
        if not d:
            err = "EOF"
            break
        got += d
        if ${slowly ? 'True' : 'False'}: time.sleep(0.01)
except Exception as e:
    err = type(e).__name__
open("${out}", "wb").write(got)
print(err)
`];
}

// The takeover's other case: the primary dies part-way through a reply that differs
// between the servers (redis-cli's COMMAND DOCS, read slowly so the primary is still
// sending it). With a one-way tap the client would receive the rest of the backup's own
// order after the primary's first part, without any error (docs/sttcp.md). With a two-way
// tap the backup knows the primary's bytes end mid-reply and resets the connection instead.
test('relayed redis-server with a two-way tap: killed part-way through a reply that differs between the servers, the client gets a reset, never a spliced reply', { skip: skip ?? skipRelay, timeout: 120_000 }, async () => {
  await withSttcp({ app: 'relay', port: 6379, mode: 'sync', tap: 'two-way' }, async (s) => {
    const got = join(s.dir, 'docs-client.bin');
    const reader = inNs(s.netns.client!, commandDocsReader(s.service.ip, 6379, got, true), 60_000);
    await sleep(300);
    crashPrimary(s);
    const r = await reader;
    assert.equal(r.code, 0, r.stderr);
    // The primary's own server outlives its host process: its reply, for comparison.
    const mine = join(s.dir, 'docs-primary.bin');
    const p = await inNs(s.netns.primary!, commandDocsReader('127.0.0.1', 6379, mine, false), 30_000);
    assert.equal(p.code, 0, p.stderr);
    const primary = readFileSync(mine);
    const client = readFileSync(got);
    const events = hostEvents(s, 'backup').filter((e) => /output.diverged|takeover.fault/.test(e.event)).map((e) => `${e.event} ${e.text}`);
    console.log(`slow COMMAND DOCS reader: ${client.length} of ${primary.length} bytes, ended by ${r.stdout.trim()}; backup: ${events.join(' | ')}`);
    assert.ok(primary.length > 100_000, `the primary's server answered COMMAND DOCS (${primary.length} bytes)`);
    // Every byte the client got is the primary's: a reset ends it, no other order follows.
    assert.ok(client.length < primary.length, 'the crash came before the whole reply had been read');
    assert.ok(client.equals(primary.subarray(0, client.length)), 'the client received only the primary\'s bytes');
    assert.equal(r.stdout.trim(), 'ConnectionResetError', 'the connection was reset');
    assert.ok(events.some((e) => /takeover.fault .*output-diverged/.test(e)), 'the backup reported the diverged connection it reset');
  });
});
