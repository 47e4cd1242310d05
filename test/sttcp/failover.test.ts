// Seeded ST-TCP failover in the simulator: the primary crashes at a random moment of a
// mixed workload (long echo conversation, bulk download, short connections opening and
// closing around the crash); every client must see exactly what a failure-free run gives.
import assert from 'node:assert/strict';
import { seededTest } from '../../src/sim/seeded-test.js';
import { runStTcpScenario } from '../../src/sttcp/scenario.js';
import { crashOptions, promiseKept } from './workload.js';

seededTest('sttcp sync: primary crash at a random point, every connection continues byte-exact, no RST', (seed) => {
  const r = runStTcpScenario(crashOptions(seed, { mode: 'sync' }));
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.ok(r.takeoverUs !== undefined, 'the backup took over');
  assert.ok(r.takeoverUs - r.crashUs! < 100_000, `takeover ${r.takeoverUs - r.crashUs!} µs after the crash`);
}, { seeds: 8 });

seededTest('sttcp sync with 2% loss on the tap: range requests fill what the backup missed', (seed) => {
  const r = runStTcpScenario(crashOptions(seed, { mode: 'sync', backupPortFaults: [{ kind: 'loss', rate: 0.02 }] }));
  assert.deepEqual(promiseKept(r, 'sync'), []);
}, { seeds: 6 });

seededTest('sttcp async with 3% tap loss: any reset connection is one the backup reported', (seed) => {
  const r = runStTcpScenario(crashOptions(seed, { mode: 'async', backupPortFaults: [{ kind: 'loss', rate: 0.03 }] }));
  assert.deepEqual(promiseKept(r, 'async'), []);
}, { seeds: 6 });
