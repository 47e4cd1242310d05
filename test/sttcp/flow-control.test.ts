// Seeded ST-TCP failover with a client that reads more slowly than it sends, against the
// built-in echo app: the app stops reading while its output is backed up (on the primary
// and on the backup's replica alike), and the primary crashes at a random moment of it.
// The pause must neither lose nor duplicate a byte, on the live connection or across the
// takeover, where the replica's pause passes to the connection it becomes.
import assert from 'node:assert/strict';
import { EchoApp } from '../../src/apps/echo.js';
import { seededTest } from '../../src/sim/seeded-test.js';
import { replicatedService } from '../../src/sttcp/app-state.js';
import { ECHO_PORT, runStTcpScenario, type StTcpScenarioOptions } from '../../src/sttcp/scenario.js';
import { SeededRng } from '../../src/util/rng.js';
import { ACCESS_LINK, promiseKept } from './workload.js';

function slowReaderRun(seed: number, mode: 'sync' | 'async') {
  const rng = new SeededRng(seed * 104_729);
  const apps: EchoApp[] = [];
  const o: StTcpScenarioOptions = {
    seed, mode, fencing: true, link: ACCESS_LINK,
    crashPrimaryAtUs: 100_000 + rng.nextInt(900_000),
    clients: [
      { kind: 'echo', startUs: 5_000, bytes: 2_000_000, chunkBytes: 64 * 1024, readBursts: { pausedUs: 300_000, readingUs: 5_000 } },
      { kind: 'echo', startUs: 8_000, bytes: 200_000, chunkBytes: 2000, intervalUs: 2000 },
    ],
    servicesFor: () => {
      const app = new EchoApp();
      apps.push(app);
      return [{ port: ECHO_PORT, ...replicatedService(app) }];
    },
  };
  const r = runStTcpScenario(o);
  const count = (name: string): number => apps.reduce((n, a) => n + (a.counters()[name] ?? 0), 0);
  return { r, readPaused: count('read-paused'), aborted: count('aborted-pending-limit') };
}

seededTest('sttcp sync: a client slower to read than to send, echo pausing its reading, primary crash: byte-exact, no RST', (seed) => {
  const { r, readPaused, aborted } = slowReaderRun(seed, 'sync');
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.ok(r.takeoverUs !== undefined, 'the backup took over');
  assert.equal(aborted, 0, 'no echo session was cut off');
  assert.ok(readPaused > 0, 'the echo sessions paused their reading');
}, { seeds: 4 });

seededTest('sttcp async: the same; any reset connection is one the backup reported', (seed) => {
  const { r, readPaused, aborted } = slowReaderRun(seed, 'async');
  assert.deepEqual(promiseKept(r, 'async'), []);
  assert.equal(aborted, 0, 'no echo session was cut off');
  assert.ok(readPaused > 0, 'the echo sessions paused their reading');
}, { seeds: 4 });
