// Unmodified Linux clients (curl, nc, redis-benchmark) in the client namespace against
// our stack serving the apps on a TAP; tshark checks a capture of the TAP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { assertRetransmissionsInProportion, checkCapture, curlSha, inNs, makeFiles, startCapture, stopCapture, withPair } from './helpers.js';
import { PAIR_NET } from '../../src/lab/pair.js';

const skip = labSkip(['curl', 'nc', 'redis-benchmark', 'redis-cli', 'tshark']);
const MB = 1_000_000;
let files: { dir: string; sha: Record<number, string> };

before(() => { if (!skip) files = makeFiles([MB, 100 * MB]); });
after(() => { if (files) rmSync(files.dir, { recursive: true, force: true }); });

test('curl downloads 1 MB and 100 MB from the HTTP app, sha256 match; capture has no bad checksums or malformed TCP', { skip, timeout: 120_000 }, async () => {
  await withPair({ app: 'http', port: 80, root: files.dir }, async (s) => {
    const pcap = join(s.dir, 'http.pcap');
    const cap = await startCapture(s.netns.server, 'tap0', pcap);
    assert.equal(await curlSha(s, `/${MB}.bin`), files.sha[MB]);
    await stopCapture(cap);
    const c = await checkCapture(pcap, [PAIR_NET.serviceMac, PAIR_NET.ourClientMac]);
    console.log(`capture of 1 MB: ${JSON.stringify(c)}`);
    assert.ok(c.tcpSegments > 600, `captured ${c.tcpSegments} TCP segments`);
    assert.equal(c.badChecksums, 0);
    assert.equal(c.malformed, 0);
    // No loss on this link: no retransmissions beyond a small bound.
    assertRetransmissionsInProportion(c, 0, '1 MB without loss');
    assert.equal(await curlSha(s, `/${100 * MB}.bin`), files.sha[100 * MB]);
    // Range and errors through the real client.
    const r = await inNs(s.netns.client, ['curl', '-sS', '-r', '1000-1999', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${s.service.ip}/${MB}.bin`]);
    assert.equal(r.stdout, '206 1000');
    const nf = await inNs(s.netns.client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${s.service.ip}/nope`]);
    assert.equal(nf.stdout, '404');
  });
});

test('nc echo round trip of 2 MB through our stack', { skip, timeout: 60_000 }, async () => {
  await withPair({ app: 'echo', port: 7 }, async (s) => {
    const data = randomBytes(2 * MB);
    const f = join(s.dir, 'echo.in');
    writeFileSync(f, data);
    const r = await inNs(s.netns.client, ['sh', '-c', `nc -N ${s.service.ip} 7 < ${f} | sha256sum`], 60_000);
    assert.equal(r.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
  });
});

test('redis-benchmark against the RESP app: every test completes, zero errors, counters consistent', { skip, timeout: 120_000 }, async () => {
  await withPair({ app: 'resp', port: 6379 }, async (s) => {
    const b = await inNs(s.netns.client, ['redis-benchmark', '-h', s.service.ip, '-n', '20000', '-c', '20', '-P', '8',
      '-t', 'ping,set,get,incr,mset', '-q', '--csv'], 100_000);
    assert.equal(b.code, 0, b.stderr);
    const rows = b.stdout.trim().split('\n').filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
    assert.deepEqual(rows.map((l) => l.split(',')[0]), ['"PING_INLINE"', '"PING_MBULK"', '"SET"', '"GET"', '"INCR"', '"MSET (10 keys)"']);
    assert.doesNotMatch(b.stdout + b.stderr, /error/i);
    console.log(b.stdout.trim());
    const incr = await inNs(s.netns.client, ['redis-cli', '-h', s.service.ip, 'GET', 'counter:__rand_int__']);
    assert.equal(incr.stdout.trim(), '20000');
  });
});
