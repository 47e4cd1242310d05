// Byte-exact transfers in both directions (curl ← our server, our client ← python
// http.server) under 1 % and 5 % loss: tc netem where the kernel has it, otherwise the
// same impairment inside our TAP driver. tshark checks a capture of the TAPs: checksums,
// malformed TCP, and each sender's retransmissions in proportion to the loss.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { labSkip } from '../../src/lab/prerequisites.js';
import type { PairOptions } from '../../src/lab/pair.js';
import { assertRetransmissionsInProportion, bothWays, conditionFiles, impairment, withPair } from './helpers.js';

const skip = labSkip(['curl', 'python3', 'tshark']);
let files: { dir: string; sha: Record<number, string> };

before(() => { if (!skip) files = conditionFiles(); });
after(() => { if (files) rmSync(files.dir, { recursive: true, force: true }); });

const cases: Array<[string, string, number]> = [
  ['loss 1%', 'loss 1%', 0.01],
  ['loss 5%', 'loss 5%', 0.05],
];

for (const [label, args, lossRate] of cases) {
  test(`${label}: both directions byte-exact`, { skip, timeout: 200_000 }, async () => {
    const { how, ...imp } = impairment(args);
    const o: PairOptions = { app: 'http', port: 80, root: files.dir, ...imp };
    await withPair(o, async (s) => {
      const c = await bothWays(s, files, `${label} via ${how}`);
      // Loss must show up as retransmissions, in proportion to it, from both senders.
      assert.ok(c.retransmissions > 0, 'retransmissions under loss');
      assertRetransmissionsInProportion(c, lossRate, `${label} via ${how}`);
    });
  });
}
