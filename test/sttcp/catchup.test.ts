// The backup catching up on what its tap missed (DESIGN §ST-TCP 2–3): a client uploading
// as fast as it can while the tap loses a third of the client's frames. Catching up
// from the primary's retention buffer must keep pace with the client, in both modes:
// in sync mode the client waits for it (ACK gating), in async mode the primary stops
// reading once the retention buffer is full. Both measured in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStTcpScenario, type StTcpScenarioResult } from '../../src/sttcp/scenario.js';
import type { LinkConfig } from '../../src/sim/link.js';

const CLIENT_LINK: LinkConfig = { latencyUs: 50, bandwidthBps: 400_000_000, queueFrames: 1000, mtuBytes: 1500 };
const BYTES = 2_000_000;
// Ethernet + IPv4 protocol byte: TCP frames only (the control channel is UDP and stays whole).
const tcpOnly = (f: Uint8Array): boolean => f.length > 23 && f[23] === 6;

function upload(mode: 'sync' | 'async'): { r: StTcpScenarioResult; mbps: number } {
  const r = runStTcpScenario({
    seed: 21, mode, link: CLIENT_LINK, fencing: true, limitUs: 30_000_000,
    // Small enough that the upload fills it many times over.
    retentionBytesMax: 256 * 1024,
    backupPortFaults: [{ kind: 'loss', rate: 0.3, match: tcpOnly }],
    clients: [{ kind: 'echo', startUs: 5_000, bytes: BYTES, chunkBytes: 64 * 1024 }],
  });
  const c = r.connections[0]!;
  const spanUs = (c.samples.at(-1)?.[0] ?? Infinity) - (c.samples[0]?.[0] ?? 0);
  return { r, mbps: (c.receivedBytes * 8) / spanUs };
}

for (const mode of ['sync', 'async'] as const) {
  test(`${mode}: a backup whose tap loses 30 % of the client's frames keeps up with a bulk upload`, () => {
    const { r, mbps } = upload(mode);
    assert.deepEqual(r.problems, []);
    assert.ok((r.primaryStats['range-bytes-sent'] ?? 0) > 0, 'the backup caught up from the retention buffer');
    // 2 MB echoed within 200 ms of virtual time (80 Mbit/s; the link carries 400). Pacing
    // the catch-up by heartbeats instead of round trips gives under 10 Mbit/s here.
    assert.ok(mbps > 80, `echo goodput ${mbps.toFixed(1)} Mbit/s (virtual)`);
  });
}
