// Determinism of whole-stack simulations: the same seed run twice gives byte-identical
// pcap output, the same trace hash (every delivered frame, its time and receiver) and
// the same counters; a different seed gives a different run.
import assert from 'node:assert/strict';
import { seededTest } from '../../src/sim/seeded-test.js';
import { runTransfer, type TransferOptions } from '../../src/sim/scenarios/transfer.js';

const opts = (seed: number): TransferOptions => ({
  seed,
  clientBytes: 200_000,
  serverBytes: 300_000,
  faults: [
    { kind: 'loss', rate: 0.05 },
    { kind: 'reorder', rate: 0.05, delayUs: 3000 },
    { kind: 'duplicate', rate: 0.02 },
    { kind: 'jitter', maxUs: 500 },
  ],
  capture: true,
});

seededTest('same seed twice: identical pcap bytes, trace hash and counters', (seed, t) => {
  const a = runTransfer(opts(seed));
  const b = runTransfer(opts(seed));
  assert.ok(a.ok, a.reason);
  const pa = a.pcap!.bytes();
  const pb = b.pcap!.bytes();
  t.diagnostic(`trace ${a.traceHash.slice(0, 16)}…, pcap ${pa.length} bytes, ${a.pcap!.frameCount()} frames`);
  assert.ok(a.pcap!.frameCount() > 300);
  assert.equal(Buffer.compare(pa, pb), 0, 'pcap bytes differ');
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.counters, b.counters);
  assert.deepEqual(a.wire, b.wire);
  assert.equal(a.closedUs, b.closedUs);
  const c = runTransfer({ ...opts(seed + 1000), capture: false });
  assert.notEqual(c.traceHash, a.traceHash);
}, { seeds: 3 });
