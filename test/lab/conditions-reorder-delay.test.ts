// Byte-exact transfers in both directions (curl ← our server, our client ← python
// http.server) under reordering and 20 ms delay: tc netem where the kernel has it,
// otherwise the same impairment inside our TAP driver. tshark checks the capture.
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

const cases: Array<[string, string, boolean]> = [
  ['reordering', 'delay 2ms reorder 25% 50%', false],
  ['delay 20 ms', 'delay 20ms', false],
];

for (const [label, args, lossy] of cases) {
  test(`${label}: both directions byte-exact`, { skip, timeout: 200_000 }, async () => {
    const { how, ...imp } = impairment(args);
    const o: PairOptions = { app: 'http', port: 80, root: files.dir, ...imp };
    await withPair(o, async (s) => {
      const c = await bothWays(s, files, `${label} via ${how}`);
      // Loss must show up as retransmissions.
      if (lossy) assert.ok(c.retransmissions > 0, 'retransmissions under loss');
      // Delay alone loses nothing: no retransmissions beyond a small bound.
      if (label === 'delay 20 ms') assertRetransmissionsInProportion(c, 0, `${label} via ${how}`);
    });
  });
}
