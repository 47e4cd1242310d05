// `calls run` with real processes and sockets on loopback, and its pcap read by tshark.
// Figures are reported; only correctness is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCalls } from './calls-run.js';
import { tsharkSkipReason } from '../../sim/tshark.js';

// Real processes and sockets on loopback: 2 controllers + 4 gateways, 40 calls,
// the primary SIGKILLed mid-run. Replay a failing seed with CALLS_SEED=N.
test('calls run: SIGKILL of the primary loses no stable call (4 gateways, 40 calls)', async () => {
  const seed = Number(process.env.CALLS_SEED ?? (Date.now() % 100_000));
  console.log(`calls run seed ${seed} (replay: CALLS_SEED=${seed} npm test -- src/calls/node/)`);
  const r = await runCalls({
    gateways: 4, calls: 40, crashPrimaryAtS: 5, durationS: 12, seed, cdr: undefined, pcap: undefined,
    controllerTimeoutMs: 300, port: 0, log: (s) => console.log(s),
  });
  console.log(JSON.stringify(r));
  assert.ok(r.stableAtCrash > 0, 'some calls were stable at the crash');
  assert.deepEqual(r.lostStableCalls, []);
  assert.equal(r.preserved, r.stableAtCrash);
  assert.ok(r.rebuiltByAlternate > 0);
  assert.equal(r.cdrErrors, 0);
  assert.deepEqual(r.callsWithoutCdr, []);
  assert.equal(r.orphanContexts, 0);
  assert.equal(r.callsStillTracked, 0);
  // Detection and RTP-gap figures are reported, not asserted: on a loaded 2-core machine
  // they measure the scheduler (the seeded simulation asserts detection < 1 s in virtual time).
  assert.ok(r.failoverDetectionMs !== null);
  assert.ok(r.hangupsAfterFailover > 0);
});

test('calls run --pcap: tshark decodes every H.248 message we sent as Megaco, none malformed', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  // The project's rule for tshark-dependent tests: skip with the reason, or fail in CI (UNBROKEN_LAB=required).
  const skip = tsharkSkipReason();
  if (skip !== undefined) { t.skip(skip); return; }
  const dir = mkdtempSync(join(tmpdir(), 'calls-pcap-'));
  try {
    const file = join(dir, 'h248.pcap');
    const r = await runCalls({ gateways: 2, calls: 8, crashPrimaryAtS: 3, durationS: 6, seed: 11, cdr: undefined, pcap: file, controllerTimeoutMs: 300, port: 0, log: () => {} });
    assert.ok(r.pcapMessages !== null && r.pcapMessages > 50);
    // Our ports are ephemeral: tell tshark they carry Megaco.
    const ports = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'udp.srcport'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const decodeAs = [...new Set(ports)].flatMap((p) => ['-d', `udp.port==${p},megaco`]);
    const protos = spawnSync('tshark', ['-r', file, ...decodeAs, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.equal(protos.length, r.pcapMessages);
    assert.ok(protos.every((p) => p.includes('megaco')), 'every frame decodes as Megaco');
    const verbose = spawnSync('tshark', ['-r', file, ...decodeAs, '-V'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout;
    assert.equal((verbose.match(/Malformed/gi) ?? []).length, 0);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

// The same over TCP with TPKT framing (RFC 3525 Annex D.2): controllers listen, gateways
// connect; the primary's death closes the connections and the gateways move on.
test('calls run --transport tcp: SIGKILL of the primary loses no stable call (2 gateways, 12 calls)', async () => {
  const seed = Number(process.env.CALLS_SEED ?? (Date.now() % 100_000));
  console.log(`calls run tcp seed ${seed} (replay: CALLS_SEED=${seed} npm test -- src/calls/node/)`);
  const r = await runCalls({
    gateways: 2, calls: 12, crashPrimaryAtS: 4, durationS: 8, seed, cdr: undefined, pcap: undefined,
    controllerTimeoutMs: 300, transport: 'tcp', port: 0, log: (s) => console.log(s),
  });
  console.log(JSON.stringify(r));
  assert.ok(r.stableAtCrash > 0, 'some calls were stable at the crash');
  assert.deepEqual(r.lostStableCalls, []);
  assert.equal(r.preserved, r.stableAtCrash);
  assert.equal(r.cdrErrors, 0);
  assert.deepEqual(r.callsWithoutCdr, []);
  assert.equal(r.orphanContexts, 0);
  assert.equal(r.callsStillTracked, 0);
  assert.ok(r.hangupsAfterFailover > 0);
});
