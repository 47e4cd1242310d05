// The backup looks only at the shadows a frame or a control message concerns, not at every
// shadow on every frame. A replica that changes what its shadow holds on its own — it
// stopped reading and reads again later, as the relay app does when its server answers —
// must still be looked at: in sync mode the client's bytes it then reads are ACKed only
// once the backup acknowledges them, and nothing else would make it do so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamApp, StreamConnection } from '../../src/stack/app.js';
import { runStTcpScenario, type BoxEnv } from '../../src/sttcp/scenario.js';

const PORT = 7100;
const LAN = { latencyUs: 50, bandwidthBps: 1_000_000_000, queueFrames: 1000, mtuBytes: 1500 };
/** How long the app keeps its reading paused after each chunk, on its own clock. */
const THINK_US = 3_000;
const REQUESTS = 20;
const INTERVAL_US = 1_000;

/**
 * A sink that takes its time: it reads a chunk, stops reading, and reads again THINK_US
 * later (a replica writing to a slow disk, say). It answers nothing, so no client ACK of
 * an answer follows its reading again either.
 */
function thinkingSink(env: BoxEnv) {
  return (conn: StreamConnection): StreamApp => {
    const flow = conn as StreamConnection & { pauseReading(): void; resumeReading(): void };
    return {
      onData: () => {
        flow.pauseReading();
        env.after(THINK_US, () => flow.resumeReading());
      },
      onEnd: () => conn.end(),
    };
  };
}

function run(mode: 'sync' | 'async') {
  return runStTcpScenario({
    seed: 11, mode, link: LAN, controlLink: true, fencing: true,
    clients: [{ kind: 'request', startUs: 5_000, port: PORT, requests: REQUESTS, intervalUs: INTERVAL_US, bytes: 0 }],
    servicesFor: (_box, env) => [{ port: PORT, service: thinkingSink(env) }],
    tcp: { timeWaitUs: 0 },
    limitUs: 5_000_000,
  });
}

test('sync: bytes a replica reads on its own clock are acknowledged at once, not when the primary pushes them again', () => {
  const r = run('sync');
  const c = r.connections[0]!;
  assert.equal(c.close, 'closed');
  // The client's bytes are ACKed only once the backup holds them. Were the backup's
  // acknowledgement to wait for its next frame, the primary would push the bytes again over
  // the control channel (a few control round trips later) to draw it out.
  assert.equal(r.primaryStats['retention-pushes'] ?? 0, 0, 'retention pushes');
  // Requests for 20 ms, each chunk read 3 ms after the one before: all read within about 60 ms.
  assert.ok(r.endUs < 5_000 + 100_000, `the connection closed at ${r.endUs} µs`);
  assert.equal(r.backupStats['own-stall'] ?? 0, 0, 'waking at once is not taken for a stall of the backup');
});

test('async: the same bytes are acknowledged without the primary pushing them again', () => {
  const r = run('async');
  assert.equal(r.connections[0]!.close, 'closed');
  assert.equal(r.primaryStats['retention-pushes'] ?? 0, 0, 'retention pushes');
});
