// Byte-exact transfers in both directions with the Linux peer's SACK, timestamps and
// window scaling switched off and on (sysctl inside the client namespace), under 1 %
// loss so that recovery runs with and without SACK. tshark checks the capture.
import { after, before, test } from 'node:test';
import { rmSync } from 'node:fs';
import { labSkip } from '../../src/lab/prerequisites.js';
import { bothWays, conditionFiles, impairment, setPeerTcp, withPair } from './helpers.js';

const skip = labSkip(['curl', 'python3', 'tshark']);
let files: { dir: string; sha: Record<number, string> };

before(() => { if (!skip) files = conditionFiles(); });
after(() => { if (files) rmSync(files.dir, { recursive: true, force: true }); });

for (const on of [false, true]) {
  test(`Linux peer with SACK, timestamps and window scaling ${on ? 'on' : 'off'}: both directions byte-exact`, { skip, timeout: 120_000 }, async () => {
    const { how, ...imp } = impairment('loss 1%');
    await withPair({ app: 'http', port: 80, root: files.dir, ...imp }, async (s) => {
      await setPeerTcp(s, { sack: on, timestamps: on, windowScaling: on });
      await bothWays(s, files, `peer options ${on ? 'on' : 'off'}, loss 1% via ${how}`);
    });
  });
}
