// ST-TCP with boxes that stall without crashing (a GC pause, a starved CPU), with the
// library's default liveness (10 ms heartbeats, failure after 3 misses, 25 ms lease).
// A stalled box's timer fires late, before the input that queued meanwhile is read
// (Simulator.stall models exactly that event-loop order): a stalled backup must not take
// its own stall for the primary's silence, and a primary that stalls past its lease must
// hand over cleanly — never two hosts on the service address, every byte delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStTcpScenario, type ClientPlan } from '../../src/sttcp/scenario.js';
import { promiseKept } from './workload.js';

const clients: ClientPlan[] = [
  { kind: 'echo', startUs: 5_000, bytes: 120_000, chunkBytes: 1500, intervalUs: 2000 },
  { kind: 'download', startUs: 6_000, bytes: 3_000_000 },
];

// Without fencing the primary does not give up on a silent backup: its lease lapses and it
// waits. (With fencing it would fence the backup after 30 ms of silence — a backup stalled
// that long cannot be told from a dead one — and serve alone.)
test('a backup stalled for 45 ms (past the 30 ms detection) does not declare a live primary failed: it reads the waiting heartbeats first', () => {
  for (const seed of [41, 42, 43]) {
    const r = runStTcpScenario({ seed, clients, fencing: false, controlLink: true, stalls: [{ box: 'backup', atUs: 60_000 + seed * 100, durationUs: 45_000 }] });
    const label = `seed ${seed}`;
    assert.deepEqual(promiseKept(r, 'sync'), [], label);
    assert.equal(r.events.filter((e) => e.kind === 'failover.detected').length, 0, `${label}: no failure declared (${r.events.map((e) => e.kind).join(', ')})`);
    assert.equal(r.takeoverUs, undefined, `${label}: no takeover`);
    assert.ok((r.backupStats['own-stall'] ?? 0) >= 1, `${label}: the backup saw its own stall: ${JSON.stringify(r.backupStats)}`);
    assert.ok((r.backupStats['heartbeat-gap'] ?? 0) >= 1, `${label}: the gap in the primary's heartbeats is counted`);
    assert.equal(r.primaryStats['heartbeat-sent-late'] ?? 0, 0, `${label}: the primary sent every heartbeat on time`);
  }
});

test('the primary crashes while its backup is stalled: the takeover comes at most one heartbeat later than without the stall', () => {
  for (const seed of [44, 45]) {
    const crashUs = 70_000;
    const stallEnd = 100_000;
    const r = runStTcpScenario({ seed, clients, fencing: true, controlLink: true, crashPrimaryAtUs: crashUs, stalls: [{ box: 'backup', atUs: 65_000, durationUs: stallEnd - 65_000 }] });
    const label = `seed ${seed}`;
    assert.deepEqual(promiseKept(r, 'sync'), [], label);
    assert.ok(r.detectedUs !== undefined && r.takeoverUs !== undefined, `${label}: taken over`);
    // Silent since ≤ 70 ms: due at ≤ 100 ms without the stall; the stall excuses one more interval.
    assert.ok(r.detectedUs! <= stallEnd + 10_000, `${label}: detected at ${r.detectedUs} µs`);
  }
});

test('a primary stalled past its lease is taken over, then finds it no longer serves: never two hosts on the service address', () => {
  for (const seed of [46, 47, 48]) {
    const r = runStTcpScenario({ seed, clients, fencing: false, controlLink: true, stalls: [{ box: 'primary', atUs: 60_000 + seed * 100, durationUs: 80_000 }] });
    const label = `seed ${seed}`;
    assert.deepEqual(promiseKept(r, 'sync'), [], label);
    assert.ok(r.takeoverUs !== undefined, `${label}: the backup took over from the silent primary`);
    assert.equal(r.dualServiceFrames, 0, `${label}: one host on the service address at a time`);
    assert.ok(r.events.some((e) => e.kind === 'stepped.down' || e.kind === 'lease.lapsed'), `${label}: the old primary stood back (${r.events.map((e) => e.kind).join(', ')})`);
    assert.ok((r.primaryStats['heartbeat-sent-late'] ?? 0) >= 1, `${label}: the primary counted its own late heartbeat: ${JSON.stringify(r.primaryStats)}`);
  }
});

// A stall of 20–24 ms lapses the 25 ms lease (it runs from the send time of the last echoed
// heartbeat) without reaching the backup's 30 ms detection. The primary's timer runs first
// after the stall and finds the lease lapsed; the echo that renews it is read just after.
test('a primary whose lease lapses in a short stall holds its output until the lease returns: no segment is lost, no retransmission timeout', () => {
  for (const [seed, durationUs] of [[50, 20_000], [51, 22_000], [52, 24_000]] as const) {
    const r = runStTcpScenario({ seed, clients: [{ kind: 'download', startUs: 6_000, bytes: 12_000_000 }], fencing: false, controlLink: true, stalls: [{ box: 'primary', atUs: 40_000 + seed * 100, durationUs }] });
    const label = `seed ${seed}, stall ${durationUs} µs`;
    assert.deepEqual(promiseKept(r, 'sync'), [], label);
    assert.ok(r.events.some((e) => e.kind === 'lease.lapsed'), `${label}: the lease lapsed in the stall (${r.events.map((e) => e.kind).join(', ')})`);
    assert.equal(r.takeoverUs, undefined, `${label}: no takeover`);
    // The download stops for the stall itself and no longer: segments pulled and dropped
    // while the lease was out cost a 200 ms retransmission timeout.
    const gap = r.connections[0]!.maxGapUs;
    assert.ok(gap < durationUs + 10_000, `${label}: the client's longest gap was ${gap} µs`);
  }
});
