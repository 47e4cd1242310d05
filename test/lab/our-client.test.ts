// Our stack as the client (a Host on a TAP in the server namespace) against unmodified
// Linux servers in the client namespace: python3 -m http.server and nc -l.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { PAIR_NET, fetchWithOurStack } from '../../src/lab/pair.js';
import { curlSha, makeFiles, spawnInNs, stop, waitListening, withPair } from './helpers.js';

const skip = labSkip(['python3', 'nc']);
const MB = 1_000_000;
let files: { dir: string; sha: Record<number, string> };

before(() => { if (!skip) files = makeFiles([MB, 20 * MB]); });
after(() => { if (files) rmSync(files.dir, { recursive: true, force: true }); });

test('our client downloads 1 MB and 20 MB from python3 -m http.server, sha256 match', { skip, timeout: 120_000 }, async () => {
  await withPair({ app: 'echo', port: 7 }, async (s) => {
    const srv = spawnInNs(s.netns.client, ['python3', '-m', 'http.server', '-b', PAIR_NET.clientIp, '8000', '-d', files.dir]);
    try {
      await waitListening(s, 8000);
      for (const n of [MB, 20 * MB]) {
        const r = await fetchWithOurStack(s, { remotePort: 8000, request: `GET /${n}.bin HTTP/1.0\r\nHost: ${PAIR_NET.clientIp}\r\n\r\n`, skipHttpHead: true, timeoutMs: 60_000 });
        assert.equal(r.closeReason, 'closed');
        assert.equal(r.bytes, n);
        assert.equal(r.sha256, files.sha[n]);
      }
    } finally {
      await stop(srv);
    }
  });
});

test('our client receives a file from nc -l (FIN after the data), sha256 match', { skip, timeout: 60_000 }, async () => {
  await withPair({ app: 'echo', port: 7 }, async (s) => {
    const srv = spawnInNs(s.netns.client, ['sh', '-c', `exec nc -l -N ${PAIR_NET.clientIp} 9100 < ${join(files.dir, `${MB}.bin`)}`]);
    try {
      await waitListening(s, 9100);
      const r = await fetchWithOurStack(s, { remotePort: 9100, request: '', skipHttpHead: false, timeoutMs: 30_000 });
      assert.equal(r.bytes, MB);
      assert.equal(r.sha256, files.sha[MB]);
    } finally {
      await stop(srv);
    }
  });
});

test('with TAP offloads (IFF_VNET_HDR): curl ← our server and our client ← python3 http.server, sha256 match', { skip: skip ?? labSkip(['curl']), timeout: 120_000 }, async () => {
  await withPair({ app: 'http', port: 80, root: files.dir, offload: true }, async (s) => {
    // Our server hands the kernel 64 KB segments to cut (TSO), with partial checksums.
    assert.equal(await curlSha(s, `/${20 * MB}.bin`), files.sha[20 * MB]);
    const srv = spawnInNs(s.netns.client, ['python3', '-m', 'http.server', '-b', PAIR_NET.clientIp, '8000', '-d', files.dir]);
    try {
      await waitListening(s, 8000);
      // Our client may receive coalesced segments with checksums left for it to complete.
      const r = await fetchWithOurStack(s, { remotePort: 8000, request: `GET /${20 * MB}.bin HTTP/1.0\r\n\r\n`, skipHttpHead: true, timeoutMs: 60_000, offload: true });
      assert.equal(r.closeReason, 'closed');
      assert.equal(r.sha256, files.sha[20 * MB]);
      // The offloads were in use: the kernel left checksums to us (and may have coalesced).
      assert.ok((r.tap?.csumCompleted ?? 0) > 0, `tap counters: ${JSON.stringify(r.tap)}`);
      console.log(`our client with offloads: ${JSON.stringify(r.tap)}`);
    } finally {
      await stop(srv);
    }
    // Our server went through the segmentation offload: its exit line counts GSO frames.
    process.kill(s.pids.server, 'SIGTERM');
    const log = join(s.dir, 'server.log');
    let exit: { tap: { gsoOut: number } } | undefined;
    for (let i = 0; i < 400 && exit === undefined; i++) {
      await new Promise((res) => setTimeout(res, 25));
      const line = (existsSync(log) ? readFileSync(log, 'utf8') : '').split('\n').find((l) => l.startsWith('{"exiting":true'));
      if (line !== undefined) exit = JSON.parse(line) as { tap: { gsoOut: number } };
    }
    assert.ok(exit !== undefined, 'our server printed its exit counters');
    assert.ok(exit.tap.gsoOut > 0, `our server sent GSO frames: ${JSON.stringify(exit.tap)}`);
  });
});
