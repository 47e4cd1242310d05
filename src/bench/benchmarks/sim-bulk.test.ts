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
  assert.ok(simBulkRows(r).every((row) => Number.isFinite(row.value)));
});
