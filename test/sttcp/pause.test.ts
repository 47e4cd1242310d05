// What bounds the failover pause (DESIGN §ST-TCP 5–7), in virtual time: a client that
// only downloads sends nothing once the primary is gone, so the backup's port is quiet
// at detection. The backup must not then wait out the isolated-backup deferral: its ARP
// probe to a client seen on the tap proves its LAN works, and it takes over at lease +
// margin. A dedicated control link keeps the heartbeats from queueing behind the tap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStTcpScenario } from '../../src/sttcp/scenario.js';
import { defaultLiveness } from '../../src/sttcp/liveness.js';
import { promiseKept } from './workload.js';

const LAN = { latencyUs: 50, bandwidthBps: 1_000_000_000, queueFrames: 1000, mtuBytes: 1500 };

test('quiet clients at the crash: a witness probe, and the takeover within detection + one heartbeat', () => {
  const r = runStTcpScenario({
    seed: 31, fencing: true, controlLink: true, link: LAN, crashPrimaryAtUs: 60_000,
    clients: [{ kind: 'download', startUs: 5_000, bytes: 8_000_000 }],
  });
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.ok((r.backupStats['witness-probes'] ?? 0) > 0, 'the backup probed a client');
  const { heartbeatUs, missLimit } = defaultLiveness;
  const takeoverUs = r.takeoverUs! - r.crashUs!;
  // Detection takes up to missLimit + 1 heartbeats after the crash; the isolated-backup
  // deferral would add ISOLATED_DEFER_HEARTBEATS (3) more.
  assert.ok(takeoverUs < (missLimit + 1) * heartbeatUs + 2_000, `takeover ${takeoverUs} µs after the crash`);
  const dl = r.connections[0]!;
  assert.ok(dl.pauseUs !== undefined && dl.pauseUs < takeoverUs + 5_000, `client pause ${dl.pauseUs} µs`);
});
