// Sync mode: the backup's acknowledgements to the primary are spaced in the middle of a
// client's stream (one per 200 µs at most, covering every segment since, instead of one
// per segment), yet nothing a client waits on is delayed: the end of a write, a segment
// after a quiet spell, bytes the primary resent over the control channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStTcpScenario, type ClientPlan } from '../../src/sttcp/scenario.js';

const LAN = { latencyUs: 50, bandwidthBps: 1_000_000_000, queueFrames: 1000, mtuBytes: 1500 };

function run(spacingUs: number | undefined, clients: ClientPlan[]) {
  return runStTcpScenario({ seed: 7, mode: 'sync', link: LAN, fencing: true, controlLink: true, clients, ...(spacingUs !== undefined ? { syncAckSpacingUs: spacingUs } : {}) });
}

test('sync: a 4 MB client stream draws a fraction of the per-segment acknowledgements, byte-exact', () => {
  const clients: ClientPlan[] = [{ kind: 'echo', startUs: 5_000, bytes: 4_000_000, chunkBytes: 64 * 1024 }];
  const spaced = run(undefined, clients);
  const perSegment = run(0, clients);
  assert.ok(spaced.ok && perSegment.ok, 'byte-exact both ways');
  const acks = (r: typeof spaced): number => r.backupStats['control-sent'] ?? 0;
  assert.ok(acks(perSegment) > 2_000, `one per segment: ${acks(perSegment)}`);
  assert.ok(acks(spaced) < acks(perSegment) * 0.6, `spaced: ${acks(spaced)} against ${acks(perSegment)}`);
});

test('sync: an echo conversation beside a 1 Gbit/s download keeps its 1 ms rhythm (no acknowledgement it waits on is spaced; the sttcp-sim cost run)', () => {
  const r = run(undefined, [
    { kind: 'download', startUs: 5_000, bytes: 40_000_000 },
    { kind: 'echo', startUs: 6_000, bytes: 200_000, chunkBytes: 1000, intervalUs: 1000 },
  ]);
  assert.ok(r.ok, 'byte-exact');
  const s = r.connections.find((c) => c.kind === 'echo')!.samples;
  const gaps = s.slice(1).map(([t], i) => t - s[i]![0]).sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1]!;
  assert.ok(median <= 1_050, `echo inter-arrival median ${median} µs`);
});
