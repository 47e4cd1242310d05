// ST-TCP with the relay app in the simulator: each box relays the echo port to its own
// simulated local server — an echo server that reads at a limited rate and answers after
// a delay, so replies reach the relay asynchronously, later on the backup than on the
// primary or the other way round, and the relay pauses reading when the server falls
// behind. The primary crashes at a random point; every connection must still receive
// exactly the failure-free bytes (DESIGN §ST-TCP 4: the backup's output from the
// client's last ACK, replies it has not produced yet skipped when they come).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededTest } from '../../src/sim/seeded-test.js';
import { RelayApp, type UpstreamConnector, type UpstreamHandlers } from '../../src/apps/relay/relay-app.js';
import { downloadRestore, downloadService, DOWNLOAD_PORT, ECHO_PORT, runStTcpScenario, type BoxEnv } from '../../src/sttcp/scenario.js';
import { ACCESS_LINK, crashOptions, promiseKept } from './workload.js';
import { SeededRng } from '../../src/util/rng.js';

/** Bytes the simulated server reads per tick, the tick, and its reply delay. */
const READ_BYTES_PER_TICK = 2500;
const TICK_US = 1_000;
const REPLY_DELAY_US = 300;

/** One box's local echo server: each upstream connection a queue drained at a limited rate. */
function slowEchoServer(env: BoxEnv, seedJitter: number): { connector: UpstreamConnector } {
  const connector: UpstreamConnector = (h: UpstreamHandlers) => {
    const queue: Uint8Array[] = [];
    let pending = 0;
    let ended = false;
    let gone = false;
    let readPaused = false;
    const replies: Uint8Array[] = [];
    let ticking = false;
    const flushReplies = (): void => {
      while (!readPaused && replies.length > 0 && !gone) h.onData(replies.shift()!);
    };
    const tick = (): void => {
      ticking = false;
      if (gone) return;
      let budget = READ_BYTES_PER_TICK;
      const took: Uint8Array[] = [];
      while (budget > 0 && queue.length > 0) {
        const head = queue[0]!;
        const n = Math.min(budget, head.length);
        took.push(head.subarray(0, n));
        if (n === head.length) queue.shift(); else queue[0] = head.subarray(n);
        budget -= n;
        pending -= n;
      }
      if (took.length > 0) {
        h.onDrain();
        // The two boxes' servers answer with different delays: replies are not in lockstep.
        env.after(REPLY_DELAY_US + seedJitter, () => { replies.push(...took); flushReplies(); });
      }
      if (queue.length > 0) schedule();
      else if (ended) env.after(REPLY_DELAY_US + seedJitter + 1, () => { if (!gone) h.onEnd(); });
    };
    const schedule = (): void => { if (!ticking) { ticking = true; env.after(TICK_US, tick); } };
    return {
      write: (d) => { if (gone || ended) return; queue.push(d); pending += d.length; schedule(); },
      pendingBytes: () => pending,
      end: () => { if (ended) return; ended = true; schedule(); },
      destroy: () => { gone = true; },
      pauseReading: () => { readPaused = true; },
      resumeReading: () => { readPaused = false; env.after(0, flushReplies); },
    };
  };
  return { connector };
}

type Relays = Partial<Record<'primary' | 'backup', RelayApp>>;

/** Each box (each incarnation) relays the echo port to its own slow server; downloads stay built in. */
function relayServices(relays: Relays) {
  return (box: 'primary' | 'backup', env: BoxEnv) => {
    const server = slowEchoServer(env, box === 'primary' ? 0 : 150);
    // A small mark, so that both boxes' relays pause and resume their connections.
    const relay = new RelayApp({ connector: server.connector, pendingHighBytes: 2048 });
    relays[box] = relay;
    return [
      { port: ECHO_PORT, service: relay.service },
      { port: DOWNLOAD_PORT, service: downloadService, restore: downloadRestore },
    ];
  };
}

function relayErrors(relays: Relays): string[] {
  return Object.entries(relays).flatMap(([box, a]) => Object.keys(a.counters())
    .filter((k) => k.startsWith('upstream-') && k !== 'upstream-read-paused').map((k) => `${box}: ${k}`));
}

seededTest('sttcp relay: the primary crashes at a random point while replies arrive asynchronously from each box\'s own server; every connection byte-exact, no RST', (seed) => {
  const relays: Relays = {};
  const r = runStTcpScenario(crashOptions(seed, { mode: 'sync', servicesFor: relayServices(relays) }));
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.ok(r.takeoverUs !== undefined, 'the backup took over');
  assert.deepEqual(relayErrors(relays), []);
  const paused = (b: 'primary' | 'backup'): number => relays[b]?.counters()['client-read-paused'] ?? 0;
  assert.ok(paused('primary') > 0 && paused('backup') > 0, `both relays paused reading at least once: ${paused('primary')}, ${paused('backup')}`);
}, { seeds: 8 });

seededTest('sttcp relay async with 2% tap loss: any reset connection is one the backup reported', (seed) => {
  const relays: Relays = {};
  const r = runStTcpScenario(crashOptions(seed, { mode: 'async', servicesFor: relayServices(relays), backupPortFaults: [{ kind: 'loss', rate: 0.02 }] }));
  assert.deepEqual(promiseKept(r, 'async'), []);
  assert.deepEqual(relayErrors(relays), []);
}, { seeds: 4 });

test('sttcp relay: a replacement backup is refused (the server\'s state cannot be copied), reported, and the survivor stays degraded', () => {
  const relays: Relays = {};
  const r = runStTcpScenario({
    seed: 41, fencing: true, crashPrimaryAtUs: 60_000, schedule: [{ atUs: 150_000, action: 'restart', box: 'primary' }],
    servicesFor: relayServices(relays), joinRefusal: 'relayed: the server state cannot be copied', link: ACCESS_LINK,
    clients: [{ kind: 'echo', startUs: 5_000, bytes: 200_000, chunkBytes: 2000, intervalUs: 2000 }],
  });
  assert.deepEqual(promiseKept(r, 'sync'), []);
  const refused = r.events.filter((e) => e.kind === 'backup.join-abandoned' && e.node === 'backup');
  assert.equal(refused.length, 1, 'reported once');
  assert.match(refused[0]!.text, /cannot join: relayed/);
  assert.equal(r.events.filter((e) => e.kind === 'backup.synced' && e.node === 'backup').length, 0, 'never claims the joining box is in sync');
  assert.equal(r.backupStats['joins-refused'], 1);
  assert.equal(r.events.filter((e) => e.kind === 'snapshot.applied').length, 0);
  assert.equal(r.events.filter((e) => e.kind === 'protection.changed' && e.node === 'backup').at(-1)?.text, 'degraded');
});

// A spurious failover: the primary is not dead, only stalled (20–120 ms: around the
// lease and the detection time, and well past them). A stall past the detection time
// hands the service to the backup while the old primary still holds its connections and
// its own server's replies; when it runs again it must find it no longer serves.
seededTest('sttcp relay: the primary stalls (no crash), often past its lease, and the backup may take over a live primary\'s connections; every connection byte-exact, no RST', (seed) => {
  const relays: Relays = {};
  const base = crashOptions(seed, { mode: 'sync', servicesFor: relayServices(relays) });
  const durationUs = 20_000 + new SeededRng(seed * 31).nextInt(100_000);
  const r = runStTcpScenario({ ...base, crashPrimaryAtUs: undefined, fencing: false, stalls: [{ box: 'primary', atUs: base.crashPrimaryAtUs!, durationUs }] });
  assert.deepEqual(promiseKept(r, 'sync'), [], `stall of ${durationUs} µs`);
  if (durationUs > 60_000) assert.ok(r.takeoverUs !== undefined, `the backup took over from a primary silent for ${durationUs} µs`);
  assert.deepEqual(relayErrors(relays), []);
}, { seeds: 8 });

// The backup stalls (a process still warming up, a starved CPU) long enough that its input
// queue overflows and tapped frames are lost, and the primary crashes in the middle of the
// stall: the backup takes over with gaps in what the tap showed it (client bytes and the
// client's ACKs of the primary's output), filled from nothing but the client itself.
seededTest('sttcp relay: the primary crashes while the backup is stalled and its tap queue overflows; every connection byte-exact, no RST', (seed) => {
  const relays: Relays = {};
  const base = crashOptions(seed, { mode: 'sync', servicesFor: relayServices(relays) });
  const rng = new SeededRng(seed * 131);
  // The crash comes 2–20 ms into the stall: before the primary could judge its silent
  // backup failed and fence it (30 ms), which would leave no box after the crash.
  const stallAt = Math.max(10_000, base.crashPrimaryAtUs! - 2_000 - rng.nextInt(18_000));
  const r = runStTcpScenario({ ...base, stalls: [{ box: 'backup', atUs: stallAt, durationUs: 60_000 + rng.nextInt(150_000), backlogFrames: 16 + rng.nextInt(64) }] });
  assert.deepEqual(promiseKept(r, 'sync'), [], `events: ${r.events.filter((e) => !/shadowed/.test(e.kind)).map((e) => `${e.tUs} ${e.node} ${e.kind} ${e.text}`).join('; ')}; backup: ${JSON.stringify(r.backupStats)}; relays: ${JSON.stringify(relays.backup?.counters())}`);
  assert.ok(r.takeoverUs !== undefined, 'the backup took over');
  assert.deepEqual(relayErrors(relays), []);
}, { seeds: 8 });
