// Byte-exact transfers in both directions (curl ← our server, our client ← python
// http.server) under loss, reordering and delay (tc netem where the kernel has it, else
// the same impairment inside our TAP driver), and with the Linux peer's SACK, timestamps
// and window scaling switched off and on (1 % loss). tshark checks each capture.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { labSkip } from '../../src/lab/prerequisites.js';
import { PAIR_NET, addTap, fetchWithOurStack, type PairOptions } from '../../src/lab/pair.js';
import type { LabState } from '../../src/lab/state.js';
import { checkCapture, curlSha, impairment, makeFiles, setPeerTcp, spawnInNs, startCapture, stop, withPair } from './helpers.js';
import { waitListening } from './our-client.test.js';

const skip = labSkip(['curl', 'python3', 'tshark', 'tc']);
const SIZE = 1_000_000;
let files: { dir: string; sha: Record<number, string> };

before(() => { if (!skip) files = makeFiles([SIZE]); });
after(() => { if (files) rmSync(files.dir, { recursive: true, force: true }); });

/** Both directions once, under whatever the lab applies; returns the capture summary. */
async function bothWays(s: LabState, label: string): Promise<{ retransmissions: number; tcpSegments: number }> {
  const pcap = join(s.dir, 'cond.pcap');
  const srv = spawnInNs(s.netns.client, ['python3', '-m', 'http.server', '-b', PAIR_NET.clientIp, '8000', '-d', files.dir]);
  addTap(s.netns.server, 'tap1');
  const cap = await startCapture(s.netns.server, ['tap0', 'tap1'], pcap);
  try {
    assert.equal(await curlSha(s, `/${SIZE}.bin`, 90_000), files.sha[SIZE], `${label}: curl ← our server`);
    await waitListening(s, 8000);
    const r = await fetchWithOurStack(s, { remotePort: 8000, request: `GET /${SIZE}.bin HTTP/1.0\r\n\r\n`, skipHttpHead: true, timeoutMs: 90_000 });
    assert.equal(r.sha256, files.sha[SIZE], `${label}: our client ← python http.server (${r.bytes} bytes, ${r.closeReason})`);
  } finally {
    await stop(srv);
    await stop(cap);
  }
  const c = await checkCapture(pcap);
  console.log(`${label}: ${JSON.stringify(c)}`);
  assert.equal(c.badChecksums, 0, `${label}: bad checksums:\n${c.offenders.join("\n")}`);
  assert.equal(c.malformed, 0, `${label}: malformed:\n${c.offenders.join("\n")}`);
  return c;
}

const netem: Array<[string, string, boolean]> = [
  ['loss 1%', 'loss 1%', true],
  ['loss 5%', 'loss 5%', true],
  ['reordering', 'delay 2ms reorder 25% 50%', false],
  ['delay 20 ms', 'delay 20ms', false],
];

for (const [label, args, lossy] of netem) {
  test(`${label}: both directions byte-exact`, { skip, timeout: 200_000 }, async () => {
    const { how, ...imp } = impairment(args);
    const o: PairOptions = { app: 'http', port: 80, root: files.dir, ...imp };
    await withPair(o, async (s) => {
      const c = await bothWays(s, `${label} via ${how}`);
      // Loss must show up as retransmissions (netem drops on both directions' egress).
      if (lossy) assert.ok(c.retransmissions > 0, 'retransmissions under loss');
    });
  });
}

for (const on of [false, true]) {
  test(`Linux peer with SACK, timestamps and window scaling ${on ? 'on' : 'off'}: both directions byte-exact`, { skip, timeout: 120_000 }, async () => {
    const { how: _how, ...imp } = impairment('loss 1%');
    await withPair({ app: 'http', port: 80, root: files.dir, ...imp }, async (s) => {
      await setPeerTcp(s, { sack: on, timestamps: on, windowScaling: on });
      await bothWays(s, `peer options ${on ? 'on' : 'off'}`);
    });
  });
}
