// Our stack as the client (a Host on a TAP in the server namespace) against unmodified
// Linux servers in the client namespace: python3 -m http.server and nc -l.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { PAIR_NET, fetchWithOurStack } from '../../src/lab/pair.js';
import { makeFiles, spawnInNs, stop, waitListening, withPair } from './helpers.js';

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
