// Seeded disruptions of a running transfer, in two phases as in FoundationDB-style
// simulation: safety while faults are on (nothing but an exact prefix ever arrives),
// liveness once they heal (the transfer completes, or fails with a stated reason, within
// a virtual-time bound). Partition then heal; server crash; server crash and restart.
import assert from 'node:assert/strict';
import { seededTest } from '../../src/sim/seeded-test.js';
import { runTransfer, tcpEngineFactory, SERVER, SERVER_PORT } from '../../src/sim/scenarios/transfer.js';
import { Host } from '../../src/stack/host.js';
import { SeededRng } from '../../src/util/rng.js';

const KEEPALIVE = { keepaliveIdleUs: 5_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 5 };

seededTest('a two-way partition of 0.2–20 s mid-transfer, then heal: the transfer completes byte-exact', (seed, t) => {
  const rng = new SeededRng(seed ^ 0x9a27);
  const atUs = 30_000 + rng.nextInt(300_000);
  const forUs = 200_000 + rng.nextInt(19_800_000);
  t.diagnostic(`partition at ${atUs} µs for ${forUs} µs`);
  let healedUs = 0;
  const r = runTransfer({
    seed,
    clientBytes: 400_000,
    serverBytes: 800_000,
    faults: [{ kind: 'loss', rate: 0.01 }],
    setup: (sim) => {
      const link = sim.linkAt('client', 0)!;
      sim.partitionAt(atUs, link, atUs + forUs);
      healedUs = atUs + forUs;
    },
  });
  assert.equal(r.reason, undefined, r.reason);
  assert.ok(r.completeUs! > healedUs || r.completeUs! < atUs, 'completion happened with the link up');
  const dropped = r.counters['link.client:0>switch:0.drop-partition'] ?? 0;
  if (r.completeUs! > atUs) assert.ok(dropped + (r.counters['link.switch:0>client:0.drop-partition'] ?? 0) > 0, 'the partition dropped frames');
  t.diagnostic(`complete at ${r.completeUs} µs, ${r.wire.retransmits} retransmissions`);
}, { seeds: 8 });

seededTest('the server crashes mid-transfer and stays down: the client times out; what it got is an exact prefix', (seed, t) => {
  const rng = new SeededRng(seed ^ 0xc7a5);
  const crashUs = 20_000 + rng.nextInt(200_000);
  const r = runTransfer({
    seed,
    // The client is still sending when the server dies, so its retransmission timer notices.
    clientBytes: 3_000_000,
    serverBytes: 3_000_000,
    // A client that has sent everything only learns of a dead peer by keepalive (RFC 1122 §4.2.3.6).
    tcp: { maxRetransmits: 8, ...KEEPALIVE },
    until: 'client-closed',
    limitUs: 900_000_000,
    setup: (sim) => sim.crashAt(crashUs, 'server'),
  });
  t.diagnostic(`crash at ${crashUs} µs; ${r.reason}`);
  assert.equal(r.clientClose, 'timeout');
  assert.match(r.reason ?? '', /client connection ended: timeout/);
  assert.ok(r.serverToClient.receivedBytes < r.serverToClient.sentBytes);
  assert.ok(r.serverToClient.prefix, 'the client received an exact prefix of the server\'s stream');
  assert.ok(r.sim.nowUs < 900_000_000, 'within the bound');
}, { seeds: 6 });

seededTest('the server crashes and restarts empty: the client\'s next segment draws a RST; its data so far is an exact prefix', (seed, t) => {
  const rng = new SeededRng(seed ^ 0x7e57);
  const crashUs = 20_000 + rng.nextInt(200_000);
  const downUs = 1000 + rng.nextInt(3_000_000);
  const r = runTransfer({
    seed,
    clientBytes: 3_000_000,
    serverBytes: 3_000_000,
    faults: [{ kind: 'loss', rate: 0.02 }],
    tcp: KEEPALIVE,
    until: 'client-closed',
    setup: (sim) => {
      sim.crashAt(crashUs, 'server');
      sim.restartAt(crashUs + downUs, 'server', (ctx) => {
        const h = new Host({ name: SERVER.name, mac: SERVER.mac, ip: SERVER.ip, prefixLen: 24, rng: ctx.rng, tcpFactory: tcpEngineFactory() });
        h.listen(SERVER_PORT, () => ({ onData() {}, onEnd() {} }));
        return h;
      });
    },
  });
  t.diagnostic(`crash at ${crashUs} µs, back ${downUs} µs later; ${r.reason}`);
  assert.equal(r.clientClose, 'reset');
  assert.ok(r.wire.rst > 0);
  assert.ok(r.serverToClient.prefix, 'the client received an exact prefix of the server\'s stream');
  assert.ok(r.serverToClient.receivedBytes < r.serverToClient.sentBytes);
}, { seeds: 6 });
