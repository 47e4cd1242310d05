import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import {
  emitControl, parseControl, ReplayWindow, CONTROL_MAX_PAYLOAD,
  type ControlEnvelope, type ControlMessage,
} from './control.js';

const key = new TextEncoder().encode('shared-secret-for-tests-0123456789');
const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`# fast-check seed ${seed} (replay: FC_SEED=${seed} npm test -- src/sttcp/control.test.ts)`);

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const tuple = fc.record({ localIp: u32, localPort: u16, remoteIp: u32, remotePort: u16 });
const payload = fc.uint8Array({ maxLength: CONTROL_MAX_PAYLOAD });
const wscale = fc.integer({ min: -1, max: 14 });

const message: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.record({ type: fc.constant('heartbeat' as const), role: fc.constantFrom('primary' as const, 'backup' as const, 'solo' as const), connections: u32, echo: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ type: fc.constant('connOpen' as const), tuple, iss: u32, irs: u32, mss: u16, sndWscale: wscale, rcvWscale: wscale, sack: fc.boolean(), timestamps: fc.boolean(), tsRecent: u32 }),
  fc.record({ type: fc.constant('connClose' as const), tuple, reason: fc.constantFrom('closed' as const, 'reset' as const, 'timeout' as const, 'aborted' as const) }),
  fc.record({ type: fc.constant('recvAck' as const), acks: fc.array(fc.record({ tuple, rcvNxt: u32 }), { maxLength: 64 }) }),
  fc.record({ type: fc.constant('rangeRequest' as const), tuple, seq: u32, length: u32 }),
  fc.record({ type: fc.constant('rangeData' as const), tuple, seq: u32, data: payload }),
  fc.record({ type: fc.constant('rangeData' as const), tuple, seq: u32, data: payload, fin: fc.constant(true as const) }),
  fc.record({ type: fc.constant('snapshotAck' as const), transferId: u32, next: u32 }),
  fc.record({ type: fc.constant('snapshotChunk' as const), transferId: u32, count: fc.integer({ min: 1, max: 1000 }), index: fc.nat(), data: payload })
    .map((m) => ({ ...m, index: m.index % m.count })),
);
const envelope: fc.Arbitrary<ControlEnvelope> = fc.record({
  sender: u32, epoch: u32, seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), message,
});

test('control: parse(emit(x)) is x for every message', () => {
  fc.assert(fc.property(envelope, (env) => {
    const bytes = emitControl(env, key);
    const r = parseControl(bytes, key);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.deepEqual(r.value, structuredClone(env)); // fast-check may build null-prototype records
  }), { seed, numRuns: 500 });
});

test('control: any modified byte or wrong key is rejected as bad-checksum', () => {
  fc.assert(fc.property(envelope, fc.nat(), fc.integer({ min: 1, max: 255 }), (env, at, x) => {
    const bytes = emitControl(env, key);
    const bad = bytes.slice();
    bad[at % bad.length] ^= x;
    const r = parseControl(bad, key);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'bad-checksum');
    const other = parseControl(bytes, new TextEncoder().encode('another key'));
    assert.ok(!other.ok && other.error.code === 'bad-checksum');
  }), { seed, numRuns: 300 });
});

test('control: random bytes never throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
    const r = parseControl(b, key);
    assert.ok(!r.ok);
  }), { seed, numRuns: 1000 });
});

test('control: authenticated but truncated bodies are typed errors, not throws', () => {
  // A sender with the key that emits a short body (e.g. an older, buggy build) must not crash us.
  const env: ControlEnvelope = { sender: 1, epoch: 1, seq: 1n, message: { type: 'rangeData', tuple: { localIp: 1, localPort: 2, remoteIp: 3, remotePort: 4 }, seq: 5, data: new Uint8Array(10) } };
  const full = emitControl(env, key);
  for (let cut = 18; cut < full.length - 16; cut++) {
    const body = full.subarray(0, cut);
    const mac = createHmac('sha256', key).update(body).digest().subarray(0, 16);
    const forged = new Uint8Array(cut + 16); forged.set(body); forged.set(mac, cut);
    const r = parseControl(forged, key);
    assert.ok(!r.ok, `cut ${cut}`);
    assert.ok(['truncated', 'malformed'].includes(r.error.code));
  }
});

test('replay window: each (epoch, seq) accepted once; old epochs and stale seqs refused', () => {
  const w = new ReplayWindow(64);
  assert.ok(w.accept(1, 10n));
  assert.ok(!w.accept(1, 10n));
  assert.ok(w.accept(1, 12n));
  assert.ok(w.accept(1, 11n)); // out of order within the window
  assert.ok(!w.accept(1, 11n));
  assert.ok(w.accept(1, 200n));
  assert.ok(!w.accept(1, 100n)); // fell out of the window
  assert.ok(w.accept(1, 150n)); // inside the window, unseen
  assert.ok(w.accept(2, 1n)); // a restarted sender starts a new epoch
  assert.ok(!w.accept(1, 500n)); // the old incarnation is never accepted again
});

test('replay window: property — accepts exactly the first occurrence of fresh seqs', () => {
  fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: 300n }), { maxLength: 400 }), (seqs) => {
    const w = new ReplayWindow(64);
    const seen = new Set<bigint>();
    let highest = -1n;
    for (const s of seqs) {
      const fresh = !seen.has(s) && (s > highest || highest - s < 64n);
      assert.equal(w.accept(7, s), fresh, `seq ${s} highest ${highest}`);
      if (fresh) { seen.add(s); if (s > highest) highest = s; }
    }
  }), { seed, numRuns: 300 });
});
