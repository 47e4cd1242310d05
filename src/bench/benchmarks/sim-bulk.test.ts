// sim-bulk's transfer across the simulator works, with and without loss (correctness only; no timing asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulkPattern } from './bulk-pattern.js';
import { runSimBulk, simBulkRows } from './sim-bulk.js';

test('sim-bulk moves every byte between two Hosts across the simulator (no timing asserted)', () => {
  const r = runSimBulk({ totalBytes: 1_000_000, seed: 3, latencyUs: 50, bandwidthBps: 1_000_000_000 }, new BulkPattern(9), () => {});
  assert.equal(r.bytes, 1_000_000);
  assert.ok(r.dataSegments >= Math.ceil(1_000_000 / 1460));
  assert.ok(r.segmentsBack > 0 && r.events > 0 && r.virtualUs > 0);
  assert.equal(r.retransmits, 0);
  // 1 MB at 1 Gbit/s cannot take less than 8 ms of virtual time.
  assert.ok(r.virtualUs >= 8_000, `${r.virtualUs} µs`);
  assert.ok(simBulkRows(r, 'x', true).every((row) => Number.isFinite(row.value)));
});

test('sim-bulk with 2 % loss each way still delivers every byte, recovering with retransmissions', () => {
  const r = runSimBulk({ totalBytes: 1_000_000, seed: 5, latencyUs: 50, bandwidthBps: 1_000_000_000, lossRate: 0.02 }, new BulkPattern(9), () => {});
  assert.equal(r.bytes, 1_000_000);
  assert.ok(r.retransmits > 0);
  assert.ok(simBulkRows(r, 'lossy', false).some((row) => row.metric === 'lossy: SACK recoveries'));
});
