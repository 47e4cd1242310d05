// Scripted ST-TCP failure scenarios in the simulator: crash inside the handshake and
// inside the close, backup crash, an isolated backup (with and without fencing), and a
// thousand concurrent connections through one failover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runStTcpScenario, type ClientPlan } from '../../src/sttcp/scenario.js';
import { promiseKept } from './workload.js';

const longEcho: ClientPlan = { kind: 'echo', startUs: 5_000, bytes: 150_000, chunkBytes: 1500, intervalUs: 2000 };

test('crash while a client is in the middle of its handshake', () => {
  // Connections open every 50 µs across the crash instant: some SYNs reach only the
  // primary, some SYN-ACKs die with it, some handshakes complete after the takeover.
  const clients: ClientPlan[] = [longEcho];
  for (let i = 0; i < 40; i++) clients.push({ kind: 'echo', startUs: 99_000 + i * 50, bytes: 3000, chunkBytes: 1000, intervalUs: 500 });
  const r = runStTcpScenario({ seed: 11, clients, crashPrimaryAtUs: 100_000, fencing: true });
  assert.deepEqual(promiseKept(r, 'sync'), []);
});

test('crash while connections are closing', () => {
  const clients: ClientPlan[] = [longEcho];
  // Short downloads that end (FIN both ways) around the crash.
  for (let i = 0; i < 30; i++) clients.push({ kind: 'download', startUs: 95_000 + i * 200, bytes: 20_000 });
  const r = runStTcpScenario({ seed: 12, clients, crashPrimaryAtUs: 100_500, fencing: true });
  assert.deepEqual(promiseKept(r, 'sync'), []);
});

test('backup crash: the primary fences it and serves alone without ACK gating', () => {
  const r = runStTcpScenario({ seed: 13, clients: [longEcho, { kind: 'download', startUs: 6_000, bytes: 1_000_000 }], crashBackupAtUs: 50_000, fencing: true });
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.ok(r.events.some((e) => e.kind === 'backup.lost'), 'the primary reported the backup lost');
  assert.equal(r.takeoverUs, undefined);
});

test('isolated backup with fencing: the primary fences it and keeps every connection', () => {
  const r = runStTcpScenario({ seed: 14, clients: [longEcho], partitionBackupAtUs: 60_000, fencing: true });
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.equal(r.dualServiceFrames, 0);
});

test('isolated backup without fencing: never two hosts on the service address', () => {
  // The primary's lease lapses and it stops using the address; the isolated backup takes
  // over into the void. After the heal the old primary sees the new one and steps down.
  const r = runStTcpScenario({ seed: 15, clients: [longEcho], partitionBackupAtUs: 60_000, healBackupAtUs: 400_000, fencing: false, limitUs: 5_000_000 });
  assert.equal(r.dualServiceFrames, 0);
  assert.ok(r.events.some((e) => e.kind === 'lease.lapsed' && e.node === 'primary'), 'the primary stopped serving when its lease lapsed');
});

test('1,000 concurrent connections all survive one failover', () => {
  const clients: ClientPlan[] = [];
  for (let i = 0; i < 1000; i++) clients.push({ kind: 'echo', startUs: 5_000 + i * 20, bytes: 4000, chunkBytes: 500, intervalUs: 20_000 });
  const r = runStTcpScenario({ seed: 16, clients, crashPrimaryAtUs: 80_000, fencing: true, limitUs: 30_000_000 });
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.equal(r.backupStats['connections-taken-over'], 1000);
});

test('the backup misses a new connection\'s SYN on the tap and its open notice (sync): the primary holds its SYN-ACK until the backup has the connection, which survives a later crash', () => {
  // The backup hears nothing for a millisecond as the connection opens: the SYN and the
  // connOpen notice are lost to it. The primary's SYN-ACK acknowledges the client's SYN,
  // so in sync mode it waits until the backup acknowledges the connection (the notice told
  // again, or the client's SYN retransmission on the tap). Before, the handshake completed
  // with the primary alone and the connection waited for ever (its input never
  // acknowledged); a crash then found no shadow for it.
  const late: ClientPlan = { kind: 'echo', startUs: 20_000, bytes: 200_000, chunkBytes: 1000, intervalUs: 1000 };
  const r = runStTcpScenario({
    seed: 17, clients: [longEcho, late], crashPrimaryAtUs: 150_000, fencing: true,
    backupPortFaults: [{ kind: 'partition', fromUs: 19_990, untilUs: 21_000 }],
  });
  assert.deepEqual(promiseKept(r, 'sync'), []);
  assert.ok((r.primaryStats['syn-ack-held'] ?? 0) >= 2, JSON.stringify(r.primaryStats));
  assert.equal(r.backupStats['connections-taken-over'], 2);
});

test('the same in async mode (no SYN-ACK held): the primary announces the connection again with the bytes it retained', () => {
  const late: ClientPlan = { kind: 'echo', startUs: 20_000, bytes: 200_000, chunkBytes: 1000, intervalUs: 1000 };
  const r = runStTcpScenario({
    seed: 17, mode: 'async', clients: [longEcho, late], crashPrimaryAtUs: 150_000, fencing: true,
    backupPortFaults: [{ kind: 'partition', fromUs: 19_990, untilUs: 21_000 }],
  });
  assert.deepEqual(promiseKept(r, 'async'), []);
  assert.equal(r.primaryStats['syn-ack-held'] ?? 0, 0);
  assert.ok((r.primaryStats['conn-open-resent'] ?? 0) >= 1, JSON.stringify(r.primaryStats));
  assert.equal(r.backupStats['connections-taken-over'], 2);
});
