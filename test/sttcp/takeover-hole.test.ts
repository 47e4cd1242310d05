// A client segment the backup's tap missed, whose range the primary died before resending:
// at takeover the backup holds what follows the hole but not the hole, and the client
// still holds the hole unacknowledged. It must retransmit at once, not after its 200 ms
// retransmission timeout. Runs of the sttcp-sim benchmark (control channel sharing the
// tap's port, where the tap misses most) that met exactly this: with SACK, the takeover's
// first ACK SACKs what the backup holds and the client's TCP starts recovery on that one
// ACK (src/tcp/sender.ts); without SACK, the backup repeats its ACK so that the client
// sees duplicates (src/sttcp/shadow.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sttcpSimFailover } from '../../src/bench/benchmarks/sttcp-sim.js';
import { runStTcpScenario } from '../../src/sttcp/scenario.js';

function worstPause(seed: number, sack: boolean): { pauseUs: number; ranges: number; ok: boolean } {
  const r = runStTcpScenario(sttcpSimFailover(seed, false, sack ? {} : { tcp: { sack: false } }));
  const pauses = r.connections.map((c) => c.pauseUs ?? 0);
  return { pauseUs: Math.max(...pauses), ranges: r.backupStats['range-requests'] ?? 0, ok: r.ok };
}

for (const [seed, sack] of [[23, true], [11, false], [23, false]] as const) {
  test(`takeover over a hole the tap left (seed ${seed}, ${sack ? 'SACK' : 'no SACK'}): the client resends it at once`, () => {
    const w = worstPause(seed, sack);
    assert.ok(w.ok, 'every connection byte-exact');
    assert.ok(w.ranges > 0, 'the tap missed segments (the case under test)');
    assert.ok(w.pauseUs < 100_000, `longest client-visible pause ${w.pauseUs} µs (a retransmission timeout would make it 200 ms or more)`);
  });
}
