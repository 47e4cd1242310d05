// RTP codec, G.711 companding, sender sequencing and receiver statistics tests.
// Property tests print their seed; media over sockets is tested in node/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emitRtp, parseRtp } from './packet.js';
import type { RtpPacket } from './packet.js';
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from './g711.js';
import { RtpSender, PTIME_US, SAMPLES_PER_PACKET } from './sender.js';
import { RtpReceiver } from './receiver.js';
import { SeededRng } from '../../util/rng.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`rtp property seed ${seed} (replay: FC_SEED=${seed} npm test -- src/calls/rtp/)`);

const arbPacket: fc.Arbitrary<RtpPacket> = fc.record({
  marker: fc.boolean(),
  payloadType: fc.integer({ min: 0, max: 127 }),
  sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
  payload: fc.uint8Array({ maxLength: 200 }),
}).chain((p) => fc.record({
  ext: fc.option(fc.record({ profile: fc.integer({ min: 0, max: 0xffff }), words: fc.integer({ min: 0, max: 4 }) }), { nil: undefined }),
  pad: fc.integer({ min: 0, max: 8 }),
}).map(({ ext, pad }) => ({
  ...p,
  ...(ext ? { extension: { profile: ext.profile, data: new Uint8Array(ext.words * 4).fill(7) } } : {}),
  ...(pad > 0 ? { paddingBytes: pad } : {}),
})));

test('RTP: emit then parse is the identity', () => {
  fc.assert(fc.property(arbPacket, (p) => {
    const r = parseRtp(emitRtp(p));
    assert.ok(r.ok);
    assert.deepEqual(r.value, p);
  }), { seed, numRuns: 500 });
});

test('RTP: arbitrary bytes never throw; truncations are typed errors', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
    const r = parseRtp(b);
    if (!r.ok) assert.ok(['truncated', 'malformed', 'unsupported'].includes(r.error.code));
  }), { seed, numRuns: 1000 });
  const full = emitRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [1, 2], payload: new Uint8Array(4) });
  for (let n = 0; n < 20; n++) {
    const r = parseRtp(full.subarray(0, n));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'truncated', `cut at ${n}`);
  }
  const v1 = full.slice(); v1[0] = (1 << 6);
  const r1 = parseRtp(v1); assert.ok(!r1.ok && r1.error.code === 'unsupported');
});

test('RTP: fixed header field layout matches RFC 3550 §5.1', () => {
  const b = emitRtp({ marker: true, payloadType: 8, sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, csrcs: [], payload: new Uint8Array([9]) });
  assert.deepEqual([...b], [0x80, 0x88, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 9]);
});

test('G.711: µ-law and A-law round trips stay within one quantisation step', () => {
  for (let s = -32768; s <= 32767; s += 7) {
    const mu = mulawToLinear(linearToMulaw(s));
    const a = alawToLinear(linearToAlaw(s));
    const tol = Math.max(16, Math.abs(s) / 16);
    assert.ok(Math.abs(mu - s) <= tol + 132, `mu ${s} -> ${mu}`);
    assert.ok(Math.abs(a - s) <= tol + 16, `a ${s} -> ${a}`);
  }
  // Known code points (G.711): µ-law 0xFF and A-law 0xD5 decode to ~0.
  assert.equal(mulawToLinear(0xff), 0);
  assert.equal(linearToMulaw(0), 0xff);
  assert.equal(linearToAlaw(0), 0xd5);
  assert.equal(alawToLinear(0xd5), 8);
});

test('RTP sender: 20 ms packets, +1 sequence, +160 timestamp, SSRC from the Rng', () => {
  const rng = new SeededRng(5);
  const expectSsrc = new SeededRng(5).nextU32();
  const s = new RtpSender(rng, 'pcmu', 1_000_000);
  assert.equal(s.ssrc, expectSsrc);
  const pkts: RtpPacket[] = [];
  for (let t = 1_000_000; t < 1_000_000 + 1_000_000; t += 5_000) {
    for (const b of s.poll(t)) { const r = parseRtp(b); assert.ok(r.ok); pkts.push(r.value); }
  }
  assert.equal(pkts.length, 1_000_000 / PTIME_US);
  for (let i = 1; i < pkts.length; i++) {
    assert.equal(pkts[i]!.sequenceNumber, (pkts[i - 1]!.sequenceNumber + 1) & 0xffff);
    assert.equal(pkts[i]!.timestamp, (pkts[i - 1]!.timestamp + SAMPLES_PER_PACKET) >>> 0);
    assert.equal(pkts[i]!.payload.length, 160);
    assert.equal(pkts[i]!.payloadType, 0);
    assert.equal(pkts[i]!.marker, false);
  }
  assert.equal(pkts[0]!.marker, true);
});

test('RTP receiver: gap, loss, reordering and duplicates', () => {
  const s = new RtpSender(new SeededRng(9), 'pcma', 0);
  const pkts: Uint8Array[] = [];
  for (let t = 0; t < 2_000_000; t += PTIME_US) pkts.push(...s.poll(t));
  const rx = new RtpReceiver();
  let t = 0;
  for (let i = 0; i < pkts.length; i++) {
    if (i === 10) continue; // lost
    if (i === 20) { rx.handleDatagram(pkts[21]!, t); rx.handleDatagram(pkts[20]!, t + 1); i++; t += PTIME_US * 2; continue; } // reordered
    if (i === 30) rx.handleDatagram(pkts[30]!, t); // duplicate
    if (i === 50) t += 300_000; // media pause of 300 ms
    rx.handleDatagram(pkts[i]!, t);
    t += PTIME_US;
  }
  const [st] = rx.stats();
  assert.ok(st);
  assert.equal(st.lost, 1);
  assert.equal(st.reordered, 1);
  assert.equal(st.duplicates, 1);
  assert.equal(st.largestGapUs, 320_000);
  assert.equal(st.packets, pkts.length - 1);
  assert.equal(rx.handleDatagram(new Uint8Array(3), t), false);
  assert.equal(rx.counters().parseErrors, 1);
});

test('RTP receiver: sequence wrap is not counted as loss', () => {
  const rx = new RtpReceiver();
  for (let i = 0; i < 10; i++) {
    const seq = (0xfffb + i) & 0xffff;
    rx.handleDatagram(emitRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: i * 160, ssrc: 1, csrcs: [], payload: new Uint8Array(160) }), i * PTIME_US);
  }
  const [st] = rx.stats();
  assert.equal(st!.lost, 0);
  assert.equal(st!.reordered, 0);
  assert.equal(st!.largestGapUs, PTIME_US);
});

test('RTP sender: idle time advances the timestamp, not the sequence, and marks the next talkspurt', () => {
  const s = new RtpSender(new SeededRng(3), 'pcmu', 0);
  const a = parseRtp(s.poll(0)[0]!); assert.ok(a.ok);
  s.idle(100_000);
  const [b0] = s.poll(120_000); const b = parseRtp(b0!); assert.ok(b.ok);
  assert.equal(b.value.sequenceNumber, (a.value.sequenceNumber + 1) & 0xffff);
  assert.equal(b.value.timestamp, (a.value.timestamp + 6 * SAMPLES_PER_PACKET) >>> 0);
  assert.equal(b.value.marker, true);
});
