// Seeded disruptions of a running transfer, in two phases as in FoundationDB-style
// simulation: safety while faults are on (nothing but an exact prefix ever arrives),
// liveness once they heal (the transfer completes, or fails with a stated reason, within
// a virtual-time bound). Partition then heal; server crash; server crash and restart.
import assert from 'node:assert/strict';
import { seededTest } from '../../src/sim/seeded-test.js';
import { runTransfer, SERVER, SERVER_PORT } from '../../src/sim/scenarios/transfer.js';
import { tcpConnectionFactory } from '../../src/stack/tcp-engine.js';
import { Host } from '../../src/stack/host.js';
import { SeededRng } from '../../src/util/rng.js';
import { TcpObserver } from '../../src/sim/tcp-observer.js';
import type { Simulator } from '../../src/sim/simulator.js';

const KEEPALIVE = { keepaliveIdleUs: 5_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 5 };

seededTest('a two-way partition of 0.2–20 s mid-transfer, then heal: the transfer completes byte-exact', (seed, t) => {
  const rng = new SeededRng(seed ^ 0x9a27);
  const atUs = 30_000 + rng.nextInt(300_000);
  const forUs = 200_000 + rng.nextInt(19_800_000);
  t.diagnostic(`partition at ${atUs} µs for ${forUs} µs`);
  let healedUs = 0;
  const r = runTransfer({
    seed,
    // 4 MB at 100 Mbit/s needs ≥ 335 ms, so the partition (≤ 330 ms in) always falls mid-transfer.
    clientBytes: 2_000_000,
    serverBytes: 4_000_000,
    faults: [{ kind: 'loss', rate: 0.01 }],
    setup: (sim) => {
      const link = sim.linkAt('client', 0)!;
      sim.partitionAt(atUs, link, atUs + forUs);
      healedUs = atUs + forUs;
    },
  });
  assert.equal(r.reason, undefined, r.reason);
  assert.ok(r.completeUs! > healedUs, 'completion came after the heal');
  const dropped = (r.counters['link.client:0>switch:0.drop-partition'] ?? 0) + (r.counters['link.switch:0>client:0.drop-partition'] ?? 0);
  assert.ok(dropped > 0, 'the partition dropped frames');
  t.diagnostic(`complete at ${r.completeUs} µs, ${r.wire.retransmits} retransmissions`);
}, { seeds: 8 });

/**
 * Crashes the server once it has sent `afterBytes` of payload (seen on its port), so the
 * crash always falls mid-transfer whatever ARP or loss did to the start; restarts it
 * `downUs` later with an empty Host when asked.
 */
function crashServerMidTransfer(sim: Simulator, afterBytes: number, restart?: { downUs: number }): { crashUs: () => number | undefined } {
  let sent = 0;
  let crashUs: number | undefined;
  sim.tapPort('server', 0, new TcpObserver((seg) => {
    if (crashUs !== undefined || !seg.flow.startsWith(`${SERVER.ip}:`)) return;
    sent += seg.payloadBytes;
    if (sent < afterBytes) return;
    crashUs = sim.nowUs;
    // Scheduled, not done inside the observer: the server is mid-drain right now.
    sim.at(sim.nowUs, () => sim.crash('server'));
    if (restart) {
      sim.restartAt(sim.nowUs + restart.downUs, 'server', (ctx) => {
        const h = new Host({ name: SERVER.name, mac: SERVER.mac, ip: SERVER.ip, prefixLen: 24, rng: ctx.rng, tcpFactory: tcpConnectionFactory({}) });
        h.listen(SERVER_PORT, (conn) => ({ onData() {}, onEnd() { conn.end(); } }));
        return h;
      });
    }
  }), 'tx');
  return { crashUs: () => crashUs };
}

seededTest('the server crashes mid-transfer and stays down: the client times out; what it got is an exact prefix', (seed, t) => {
  const rng = new SeededRng(seed ^ 0xc7a5);
  const afterBytes = 10_000 + rng.nextInt(2_000_000);
  let crash: { crashUs: () => number | undefined } | undefined;
  const r = runTransfer({
    seed,
    // The client is still sending when the server dies, so its retransmission timer notices.
    clientBytes: 3_000_000,
    serverBytes: 3_000_000,
    faults: [{ kind: 'loss', rate: 0.01 }],
    // A client that has sent everything only learns of a dead peer by keepalive (RFC 1122 §4.2.3.6).
    tcp: { maxRetransmits: 8, ...KEEPALIVE },
    until: 'client-closed',
    limitUs: 900_000_000,
    setup: (sim) => { crash = crashServerMidTransfer(sim, afterBytes); },
  });
  t.diagnostic(`crash at ${crash!.crashUs()} µs after ${afterBytes} bytes sent; ${r.reason}`);
  assert.ok(crash!.crashUs() !== undefined, 'the crash happened');
  assert.equal(r.clientClose, 'timeout');
  assert.match(r.reason ?? '', /client connection ended: timeout/);
  assert.ok(r.serverToClient.receivedBytes < r.serverToClient.sentBytes);
  assert.ok(r.serverToClient.prefix, 'the client received an exact prefix of the server\'s stream');
  assert.ok(r.clientToServer.prefix && r.clientToServer.receivedBytes < r.clientToServer.sentBytes);
  assert.ok(r.sim.nowUs < 900_000_000, 'within the bound');
}, { seeds: 6 });

seededTest('the server crashes and restarts empty: the client\'s next segment draws a RST; its data so far is an exact prefix', (seed, t) => {
  const rng = new SeededRng(seed ^ 0x7e57);
  const afterBytes = 10_000 + rng.nextInt(2_000_000);
  const downUs = 1000 + rng.nextInt(3_000_000);
  let crash: { crashUs: () => number | undefined } | undefined;
  const r = runTransfer({
    seed,
    clientBytes: 3_000_000,
    serverBytes: 3_000_000,
    faults: [{ kind: 'loss', rate: 0.02 }],
    tcp: KEEPALIVE,
    until: 'client-closed',
    setup: (sim) => { crash = crashServerMidTransfer(sim, afterBytes, { downUs }); },
  });
  t.diagnostic(`crash at ${crash!.crashUs()} µs after ${afterBytes} bytes sent, back ${downUs} µs later; ${r.reason}`);
  assert.equal(r.clientClose, 'reset');
  assert.ok(r.wire.rst > 0);
  assert.ok(r.serverToClient.prefix, 'the client received an exact prefix of the server\'s stream');
  assert.ok(r.serverToClient.receivedBytes < r.serverToClient.sentBytes);
}, { seeds: 6 });
