// Seeded simulation: many transfers in both directions between two of our Hosts on a
// switch, with loss (≤ 10 %), reordering, duplication and jitter drawn from the seed,
// and TCP options/congestion control varied. Invariant: each side receives exactly the
// bytes the other sent (length + SHA-256), both connections close normally, no RST,
// all within a virtual-time bound. SIM_SEEDS=N for soaks; SIM_SEED=x replays one.
import assert from 'node:assert/strict';
import { seededTest } from '../../src/sim/seeded-test.js';
import { runTransfer, type TransferOptions } from '../../src/sim/scenarios/transfer.js';
import { SeededRng } from '../../src/util/rng.js';
import { congestionByName } from '../../src/tcp/congestion/index.js';
import type { FaultSpec } from '../../src/sim/faults.js';

const LIMIT_US = 600_000_000; // 10 minutes of virtual time, TIME-WAIT included

/** Sizes from 0 bytes up to 1.5 MB, log-spread; 10 MB from the client on every 15th seed. */
function size(rng: SeededRng, seed: number, big: boolean): number {
  if (big && seed % 15 === 0) return 10 * 1024 * 1024;
  const k = rng.nextInt(7); // 0 → 0..2 bytes, k → up to 1.5·10^k bytes
  return k === 0 ? rng.nextInt(3) : rng.nextInt(10 ** (k - 1) * 15) + 1;
}

export function transferParams(seed: number): Omit<TransferOptions, 'seed'> & { describe: string } {
  const rng = new SeededRng(seed ^ 0x5eed_7a11);
  const faults: FaultSpec[] = [];
  const loss = rng.nextInt(11) / 100; // 0..10 %
  if (loss > 0) faults.push({ kind: 'loss', rate: loss });
  const reorder = rng.nextInt(3) === 0 ? 0 : rng.nextInt(11) / 100;
  if (reorder > 0) faults.push({ kind: 'reorder', rate: reorder, delayUs: 500 + rng.nextInt(5000) });
  const dup = rng.nextInt(3) === 0 ? 0 : rng.nextInt(6) / 100;
  if (dup > 0) faults.push({ kind: 'duplicate', rate: dup, delayUs: rng.nextInt(200) });
  const jitter = rng.nextInt(2) === 0 ? 0 : rng.nextInt(2000);
  if (jitter > 0) faults.push({ kind: 'jitter', maxUs: jitter });
  const cc = rng.nextInt(2) === 0 ? 'newreno' : 'cubic';
  const tcp = {
    sack: rng.nextInt(4) !== 0,
    timestamps: rng.nextInt(4) !== 0,
    windowScale: rng.nextInt(4) !== 0,
    nagle: rng.nextInt(2) === 0,
    congestion: congestionByName(cc),
  };
  const clientBytes = size(rng, seed, true);
  const serverBytes = size(rng, seed + 7, false);
  const latencyUs = 100 + rng.nextInt(5000);
  const describe = `c→s ${clientBytes} B, s→c ${serverBytes} B, loss ${loss * 100}%, reorder ${reorder * 100}%, dup ${dup * 100}%, jitter ${jitter} µs, latency ${latencyUs} µs, ${cc}, sack ${tcp.sack}, ts ${tcp.timestamps}, wscale ${tcp.windowScale}, nagle ${tcp.nagle}`;
  return {
    clientBytes, serverBytes, faults, tcp, limitUs: LIMIT_US, describe,
    link: { latencyUs, bandwidthBps: 100_000_000, queueFrames: 128, mtuBytes: 1500 },
  };
}

seededTest('seeded transfers: every byte arrives exactly once, in order, both ways', (seed, t) => {
  const { describe, ...p } = transferParams(seed);
  t.diagnostic(describe);
  const r = runTransfer({ seed, ...p });
  t.diagnostic(`complete at ${r.completeUs} µs, closed at ${r.closedUs} µs, ${r.wire.segments} segments, ${r.wire.retransmits} retransmitted`);
  // Safety first (whatever else happened, nothing but an exact prefix of each stream arrived),
  // then liveness (everything arrived and both sides closed normally).
  assert.ok(r.clientToServer.prefix, `client→server bytes corrupted: ${r.reason}`);
  assert.ok(r.serverToClient.prefix, `server→client bytes corrupted: ${r.reason}`);
  assert.equal(r.reason, undefined, `${describe}: ${r.reason}`);
  assert.ok(r.ok);
  assert.equal(r.clientToServer.receivedBytes, p.clientBytes);
  assert.equal(r.clientToServer.receivedSha256, r.clientToServer.sentSha256);
  assert.equal(r.serverToClient.receivedBytes, p.serverBytes);
  assert.equal(r.serverToClient.receivedSha256, r.serverToClient.sentSha256);
  assert.equal(r.clientClose, 'closed');
  assert.equal(r.serverClose, 'closed');
  // A RST may answer a delayed duplicate after a side has fully closed (RFC 9293 §3.10.7.1),
  // never earlier.
  assert.ok(r.wire.firstRstUs === undefined || r.wire.firstRstUs > r.completeUs!, `RST at ${r.wire.firstRstUs} µs, before completion`);
  assert.ok(r.closedUs !== undefined && r.closedUs <= LIMIT_US);
  // The faults really happened (a test that cannot fail is no test): where the rule saw
  // enough frames that zero drops would be a 1-in-10^8 event, it must have dropped some.
  const lossIndex = p.faults!.findIndex((f) => f.kind === 'loss');
  if (lossIndex >= 0) {
    const rate = (p.faults![lossIndex] as { rate: number }).rate;
    const sum = (suffix: string): number => Object.entries(r.counters)
      .filter(([k]) => k.startsWith('fault.') && k.endsWith(`.${lossIndex}-loss.${suffix}`)).reduce((a, [, v]) => a + v, 0);
    assert.ok(sum('seen') > 0, 'the loss rule saw the traffic');
    if (rate * sum('seen') >= 20) assert.ok(sum('dropped') > 0, 'the loss rule dropped frames');
  }
}, { seeds: 30 });
