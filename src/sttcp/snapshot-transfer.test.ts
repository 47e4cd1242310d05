// Snapshot transfer to a joining backup: record encoding round trip and validation
// (corrupt input is a typed error, never a throw), the chunked transfer over a lossy,
// reordering channel, and the scenario apps' snapshot/restore continuing exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRecords, decodeSnapshot, encodeRecords, SnapshotReceiver, SnapshotSender, type ConnRecord } from './snapshot-transfer.js';
import { decodeState, encodeState, appSnapshot, type AppRestore } from './app-state.js';
import { CONTROL_MAX_PAYLOAD } from './control.js';
import { downloadRestore, downloadService, echoRestore, echoService } from './scenario.js';
import type { StreamConnection, StreamService } from '../stack/app.js';
import { SeededRng } from '../util/rng.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const record: fc.Arbitrary<ConnRecord> = fc.record({
  tuple: fc.record({ localIp: u32, localPort: u16, remoteIp: u32, remotePort: u16 }, { noNullPrototype: true }),
  irs: u32, iss: u32,
  syn: fc.record({ mss: u16, windowScale: fc.integer({ min: -1, max: 14 }), sack: fc.boolean(), timestamps: fc.boolean() }, { noNullPrototype: true }),
  phase: fc.constantFrom('handshake' as const, 'open' as const),
  rcvNxt: u32, acked: u32, finReceived: fc.boolean(), peerFinSeq: fc.option(u32, { nil: null }),
  sndUna: u32, outStart: u32, out: fc.uint8Array({ maxLength: 3000 }), appFin: fc.boolean(), skipOut: fc.nat({ max: 100_000 }),
  wndRaw: u16, wl1: u32, wl2: u32, tsRecent: fc.option(u32, { nil: null }), tsVal: fc.option(u32, { nil: null }),
  app: fc.oneof(fc.constant(null), fc.record({ app: fc.constant('echo'), pending: fc.uint8Array({ maxLength: 500 }), ended: fc.boolean() }, { noNullPrototype: true })),
}, { noNullPrototype: true });

test('snapshot records: decode(encode(x)) is x, in chunks that fit a control message', () => {
  fc.assert(fc.property(fc.array(record, { maxLength: 8 }), (recs) => {
    const chunks = encodeRecords(recs);
    for (const c of chunks) assert.ok(c.length <= CONTROL_MAX_PAYLOAD);
    const all = Buffer.concat(chunks);
    const r = decodeRecords(new Uint8Array(all));
    assert.ok(r.ok);
    assert.deepEqual(r.value, recs);
  }), { numRuns: 100 });
});

test('snapshot records: truncated, corrupted or foreign input is a typed error', () => {
  const recs: ConnRecord[] = [{
    tuple: { localIp: 1, localPort: 7, remoteIp: 2, remotePort: 4000 }, irs: 10, iss: 20,
    syn: { mss: 1460, windowScale: 7, sack: true, timestamps: true }, phase: 'open', rcvNxt: 11, acked: 11, finReceived: false, peerFinSeq: null,
    sndUna: 21, outStart: 21, out: new Uint8Array([1, 2, 3]), appFin: false, skipOut: 0, wndRaw: 100, wl1: 11, wl2: 21, tsRecent: 5, tsVal: 6,
    app: { app: 'echo', pending: new Uint8Array(0), ended: false },
  }];
  const bytes = new Uint8Array(Buffer.concat(encodeRecords(recs)));
  fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.nat({ max: 255 }), fc.boolean(), (at, v, cut) => {
    const b = cut ? bytes.subarray(0, at) : bytes.slice();
    if (!cut) b[at] = v;
    const r = decodeRecords(b);
    if (!r.ok) assert.ok(['malformed', 'unsupported'].includes(r.error.code));
  }), { numRuns: 300 });
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.equal(decodeRecords(text('{"v":2,"records":[]}')).ok, false);
  assert.equal(decodeRecords(text('{"v":1,"records":[{"tuple":1}]}')).ok, false);
  assert.equal(decodeRecords(text('[' .repeat(100) + ']'.repeat(100))).ok, false);
  assert.equal(decodeState('{"$b64":"not base64!"}').ok, false);
  assert.throws(() => encodeState({ x: Number.NaN }), RangeError);
});

test('shared application state travels with the records, by port; a malformed shared part fails the snapshot', () => {
  const kv = { entries: [[new Uint8Array([107]), new Uint8Array([1, 2, 3])]] };
  const r = decodeSnapshot(new Uint8Array(Buffer.concat(encodeRecords([], [{ port: 6379, state: kv }]))));
  assert.ok(r.ok);
  assert.deepEqual(r.value, { records: [], shared: [{ port: 6379, state: kv }] });
  const none = decodeSnapshot(new Uint8Array(Buffer.concat(encodeRecords([]))));
  assert.ok(none.ok);
  assert.deepEqual(none.value.shared, []);
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.equal(decodeSnapshot(text('{"v":1,"records":[],"shared":{}}')).ok, false);
  assert.equal(decodeSnapshot(text('{"v":1,"records":[],"shared":[{"port":70000,"state":1}]}')).ok, false);
  assert.equal(decodeSnapshot(text('{"v":1,"records":[],"shared":[{"port":1,"state":1},{"port":1,"state":2}]}')).ok, false);
  assert.equal(decodeSnapshot(text('{"v":1,"records":[],"shared":[{"port":1}]}')).ok, false);
});

test('chunked transfer over a channel that loses, duplicates and reorders: complete and exact, window bounded', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 400 }), (seed, n) => {
    const rng = new SeededRng(seed);
    const chunks = Array.from({ length: n }, (_, i) => new Uint8Array([i & 255, (i >> 8) & 255, rng.nextInt(256)]));
    let now = 0;
    const tx = new SnapshotSender(7, chunks, 2_000, now);
    const rx = new SnapshotReceiver();
    let got: Uint8Array | undefined;
    let inFlight: Array<{ index: number; data: Uint8Array }> = [];
    for (let round = 0; round < 5_000 && !tx.done(); round++) {
      now += 500;
      const sent = tx.poll(now);
      const highestAckable = sent.length > 0 ? Math.max(...sent.map((c) => c.index)) : 0;
      assert.ok(highestAckable < tx.ackedChunks() + 64, 'at most 64 chunks beyond the acknowledged ones');
      inFlight.push(...sent.filter(() => rng.nextFloat() > 0.2));
      if (rng.nextFloat() < 0.1 && inFlight.length > 0) inFlight.push(inFlight[0]!); // duplicate
      inFlight.sort(() => rng.nextFloat() - 0.5);
      const deliver = inFlight;
      inFlight = [];
      for (const c of deliver) {
        const a = rx.onChunk(7, c.index, n, c.data);
        assert.ok(a);
        if (a.complete) { assert.equal(got, undefined, 'completed once'); got = a.complete; }
        if (rng.nextFloat() > 0.2) tx.onAck(a.next, now);
      }
    }
    assert.ok(tx.done(), 'the transfer completes');
    assert.deepEqual(got, new Uint8Array(Buffer.concat(chunks)));
  }), { numRuns: 60 });
});

/** A StreamConnection that records output and accepts at most `room` bytes per write call. */
function fakeConn(room: () => number): StreamConnection & { out: number[]; ended: boolean } {
  const c = {
    id: 'fake', out: [] as number[], ended: false,
    write(d: Uint8Array): number { const n = Math.min(d.length, room()); for (let i = 0; i < n; i++) c.out.push(d[i]!); return n; },
    writableBytes: () => room(),
    end(): void { c.ended = true; },
    destroy(): void { c.ended = true; },
  };
  return c;
}

function continuesExactly(service: StreamService, restore: AppRestore, input: Uint8Array[], cut: number, room: number): void {
  const drive = (feed: Uint8Array[], conn: ReturnType<typeof fakeConn>, app = service(conn)) => {
    for (const d of feed) { app.onData(d); app.onWritable?.(); }
    return app;
  };
  // Drains an app that has ended: onWritable until its output stops growing (`room` bytes
  // a write, so a fixed count of calls could stop one run short of the other).
  const drain = (app: ReturnType<typeof service>, conn: ReturnType<typeof fakeConn>): void => {
    app.onEnd();
    for (let i = 0, before = -1; i < 1_000_000 && conn.out.length !== before; i++) { before = conn.out.length; app.onWritable?.(); }
  };
  const whole = fakeConn(() => room);
  const a = drive(input, whole);
  drain(a, whole);
  const first = fakeConn(() => room);
  const b = drive(input.slice(0, cut), first);
  const state = appSnapshot(b);
  assert.ok(state !== undefined);
  const decoded = decodeState(encodeState(state));
  assert.ok(decoded.ok);
  const second = fakeConn(() => room);
  second.out.push(...first.out);
  second.ended = first.ended;
  const c = restore(second, decoded.value);
  assert.ok(c, 'restored');
  drive(input.slice(cut), second, c);
  drain(c, second);
  assert.deepEqual(second.out, whole.out);
  assert.equal(second.ended, whole.ended);
}

test('echo and download: a restored application continues exactly where the snapshot was taken', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 10 }), fc.nat(), fc.integer({ min: 1, max: 500 }),
    (input, cutRaw, room) => continuesExactly(echoService, echoRestore, input, cutRaw % (input.length + 1), room)), { numRuns: 100 });
  fc.assert(fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1000, max: 40_000 }), (size, split, room) => {
    const req = new TextEncoder().encode(`${size}\n`);
    const parts = [req.subarray(0, Math.min(split, req.length)), req.subarray(Math.min(split, req.length))].filter((p) => p.length > 0);
    continuesExactly(downloadService, downloadRestore, parts, 1, room);
  }), { numRuns: 50 });
  assert.equal(echoRestore(fakeConn(() => 1), { app: 'download' }), undefined);
  assert.equal(downloadRestore(fakeConn(() => 1), { app: 'download', head: '', total: 5, sent: 9 }), undefined);
});
