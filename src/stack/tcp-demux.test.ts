// The demultiplexer against a scripted fake engine: listener backlog, RSTs in LISTEN,
// event → StreamApp callbacks, app calls → engine calls, timers and table cleanup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpDemux, DEFAULT_TCP_DEMUX_LIMITS } from './tcp-demux.js';
import { Counters } from './counters.js';
import type { TcpEngine, TcpEngineFactory, TcpEvent } from './tcp-engine.js';
import type { StreamApp, StreamConnection } from './app.js';
import { tcpFlags, type TcpRepr } from '../wire/tcp.js';
import { isnFor } from '../tcp/isn.js';
import type { FourTuple } from '../tcp/four-tuple.js';

class FakeEngine implements TcpEngine {
  state = 'SYN-RECEIVED';
  events: TcpEvent[] = [];
  out: TcpRepr[] = [];
  inbox: Uint8Array[] = [];
  segments: TcpRepr[] = [];
  written: Uint8Array[] = [];
  space = 10;
  deadline: number | undefined;
  timeouts: number[] = [];
  calls: string[] = [];
  constructor(readonly tuple: FourTuple, readonly isn: number) {}
  handleSegment(seg: TcpRepr): void { this.segments.push(seg); }
  handleTimeout(nowUs: number): void { this.timeouts.push(nowUs); this.deadline = undefined; }
  pollTransmit(): TcpRepr | undefined { return this.out.shift(); }
  pollDeadline(): number | undefined { return this.deadline; }
  pollEvent(): TcpEvent | undefined { return this.events.shift(); }
  send(data: Uint8Array): number { const n = Math.min(this.space, data.length); this.space -= n; this.written.push(data.subarray(0, n)); return n; }
  sendSpace(): number { return this.space; }
  read(): Uint8Array { return this.inbox.shift() ?? new Uint8Array(0); }
  readableBytes(): number { return this.inbox.reduce((s, b) => s + b.length, 0); }
  close(): void { this.calls.push('close'); }
  abort(): void { this.calls.push('abort'); }
}

const LOCAL = 0x0a000002, REMOTE = 0x0a000001;
const KEY = new Uint8Array(16).fill(7);

function setup(limits = {}) {
  const made: FakeEngine[] = [];
  const factory: TcpEngineFactory<FakeEngine> = {
    connect: (t, isn) => { const e = new FakeEngine(t, isn); e.state = 'SYN-SENT'; made.push(e); return e; },
    accept: (t, _syn, isn) => { const e = new FakeEngine(t, isn); made.push(e); return e; },
  };
  const counters = new Counters();
  const sent: Array<{ tuple: FourTuple; seg: TcpRepr }> = [];
  const demux = new TcpDemux(factory, KEY, { ...DEFAULT_TCP_DEMUX_LIMITS, ...limits }, counters, (tuple, seg) => sent.push({ tuple, seg }), 5);
  return { demux, made, counters, sent };
}

function seg(p: Partial<TcpRepr>): TcpRepr {
  return { srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: tcpFlags({}), window: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0), ...p };
}

function drain(demux: TcpDemux<FakeEngine>, now = 0): TcpRepr[] {
  const out: TcpRepr[] = [];
  for (let s = demux.pollSegment(now); s !== undefined; s = demux.pollSegment(now)) out.push(s.seg);
  return out;
}

test('SYNs beyond the backlog are dropped; establishment frees a slot; ISN per RFC 6528', () => {
  const { demux, made, counters } = setup({ synBacklog: 2 });
  demux.listen(80, () => ({ onData() {}, onEnd() {} }));
  for (let p = 0; p < 3; p++) demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 40000 + p, flags: tcpFlags({ syn: true }) }), 100);
  assert.equal(made.length, 2);
  assert.equal(counters.get('drop-tcp-backlog-full'), 1);
  const tuple = { localIp: LOCAL, localPort: 80, remoteIp: REMOTE, remotePort: 40000 };
  assert.deepEqual(made[0]!.tuple, tuple);
  assert.equal(made[0]!.isn, isnFor(KEY, tuple, 100));
  made[0]!.events.push({ type: 'established' });
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ ack: true }) }), 200);
  demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 40009, flags: tcpFlags({ syn: true }) }), 300);
  assert.equal(made.length, 3, 'the established connection left the backlog');
  // A retransmitted SYN for an existing tuple goes to its engine, not a new one.
  demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 40001, flags: tcpFlags({ syn: true }) }), 400);
  assert.equal(made.length, 3);
  assert.equal(made[1]!.segments.length, 1);
});

test('RFC 9293 §3.10.7.2 in LISTEN: RST ignored, ACK answered with RST, plain segment dropped', () => {
  const { demux, made, counters, sent } = setup();
  demux.listen(80, () => ({ onData() {}, onEnd() {} }));
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ rst: true }) }), 0);
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ ack: true }), ack: 555 }), 0);
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ psh: true }) }), 0);
  assert.equal(made.length, 0);
  assert.equal(sent.length, 1);
  assert.deepEqual([sent[0]!.seg.seq, sent[0]!.seg.flags.rst, sent[0]!.seg.flags.ack], [555, true, false]);
  assert.equal(counters.get('drop-tcp-listen-rst'), 1);
  assert.equal(counters.get('drop-tcp-listen-no-syn'), 1);
  demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 0, flags: tcpFlags({ syn: true }) }), 0);
  assert.equal(counters.get('drop-tcp-port-zero'), 1);
  assert.equal(made.length, 0);
  demux.unlisten(80);
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ syn: true }) }), 0);
  assert.equal(sent.length, 2, 'closed port: RST');
});

test('engine events become StreamApp callbacks; app calls become engine calls', () => {
  const { demux, made, counters } = setup();
  const log: string[] = [];
  let conn: StreamConnection | undefined;
  demux.listen(80, (c) => {
    conn = c;
    log.push(`open ${c.id}`);
    return {
      onData(d) { log.push(`data ${d.length}`); if (c.write(new Uint8Array(15)) < 15) log.push('short'); },
      onEnd() { log.push('end'); c.end(); },
      onWritable() { log.push('writable'); },
      onClose(r) { log.push(`close ${r}`); },
    } satisfies StreamApp;
  });
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ syn: true }) }), 0);
  const e = made[0]!;
  e.events.push({ type: 'established' }, { type: 'readable' });
  e.inbox.push(new Uint8Array(3), new Uint8Array(4));
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ ack: true }) }), 10);
  assert.deepEqual(log, ['open 10.0.0.2:80>10.0.0.1:40000', 'data 3', 'short', 'data 4', 'short']);
  assert.equal(e.written.reduce((s, b) => s + b.length, 0), 10);
  e.space = 100;
  e.events.push({ type: 'writable' }, { type: 'writable' }, { type: 'peer-fin' });
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ ack: true, fin: true }) }), 20);
  assert.deepEqual(log.slice(5), ['writable', 'end'], 'onWritable once per short write; end() from onEnd');
  assert.deepEqual(e.calls, ['close']);
  // Close: the final segment still goes out, then the row is removed.
  e.events.push({ type: 'closed', reason: 'closed' });
  e.out.push(seg({ flags: tcpFlags({ ack: true }) }));
  demux.handleSegment(LOCAL, REMOTE, seg({ flags: tcpFlags({ ack: true }) }), 30);
  assert.equal(log.at(-1), 'close closed');
  assert.equal(demux.size(), 1);
  assert.equal(drain(demux).length, 1);
  assert.equal(demux.size(), 0);
  assert.equal(conn!.write(new Uint8Array(1)), 0, 'write after close returns 0');
  conn!.destroy();
  assert.deepEqual(e.calls, ['close'], 'destroy after close is a no-op');
  assert.equal(counters.get('tcp-closed-closed'), 1);
});

test('timers: the earliest engine deadline is reported and fired; stale deadlines are skipped', () => {
  const { demux, made } = setup();
  demux.listen(80, () => ({ onData() {}, onEnd() {} }));
  for (let p = 0; p < 3; p++) demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 40000 + p, flags: tcpFlags({ syn: true }) }), 0);
  made[0]!.deadline = 500; made[1]!.deadline = 300; made[2]!.deadline = 900;
  assert.equal(demux.pollDeadline(0), 0, 'undrained engines: call back at once');
  drain(demux);
  assert.equal(demux.pollDeadline(0), 300);
  made[1]!.deadline = 700;                                // re-armed later by a segment
  demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 40001, flags: tcpFlags({ ack: true }) }), 10);
  drain(demux, 10);
  assert.equal(demux.pollDeadline(10), 500);
  demux.handleTimeout(600);
  assert.deepEqual(made.map((m) => m.timeouts), [[600], [], []]);
  drain(demux, 600);
  assert.equal(demux.pollDeadline(600), 700);
  demux.handleTimeout(1000);
  assert.deepEqual(made.map((m) => m.timeouts), [[600], [1000], [1000]]);
  drain(demux, 1000);
  assert.equal(demux.pollDeadline(1000), undefined);
});

test('active open: ephemeral ports are distinct and the app exists before establishment', () => {
  const { demux, made } = setup({ ephemeralLow: 50000, ephemeralHigh: 50002 });
  const ports = new Set<number>();
  for (let i = 0; i < 3; i++) demux.connect(LOCAL, REMOTE, 80, () => ({ onData() {}, onEnd() {} }), 0);
  for (const m of made) ports.add(m.tuple.localPort);
  assert.equal(ports.size, 3);
  assert.throws(() => demux.connect(LOCAL, REMOTE, 80, () => ({ onData() {}, onEnd() {} }), 0), /no free ephemeral port/);
  const c = demux.connect(LOCAL, REMOTE, 81, () => ({ onData() {}, onEnd() {} }), 0);
  assert.match(c.id, /^10\.0\.0\.2:5000\d>10\.0\.0\.1:81$/);
});

test('paused reading keeps bytes in the engine; resume delivers them, then onEnd; onOpen on establishment', () => {
  const { demux, made } = setup();
  const log: string[] = [];
  let conn: import('./tcp-demux.js').HostStreamConnection | undefined;
  demux.connect(LOCAL, REMOTE, 80, (c) => {
    conn = c;
    return { onOpen() { log.push('open'); }, onData(d) { log.push(`data ${d.length}`); c.pauseReading(); }, onEnd() { log.push('end'); } };
  }, 0);
  const e = made[0]!;
  e.events.push({ type: 'established' }, { type: 'readable' }, { type: 'peer-fin' });
  e.inbox.push(new Uint8Array(1), new Uint8Array(2));
  demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 80, dstPort: e.tuple.localPort, flags: tcpFlags({ ack: true }) }), 0);
  assert.deepEqual(log, ['open', 'data 1'], 'paused after the first chunk: no more data, no end yet');
  assert.equal(e.readableBytes(), 2);
  conn!.resumeReading();
  demux.handleTimeout(1);                                    // what a driver's kick() does
  assert.deepEqual(log, ['open', 'data 1', 'data 2', 'end'], 'end follows the last byte even while paused again');
});

test("the host's hold on reading and the app's pause are independent: neither lifts the other", () => {
  const { demux, made } = setup();
  const log: string[] = [];
  let conn: import('./tcp-demux.js').HostStreamConnection | undefined;
  demux.connect(LOCAL, REMOTE, 80, (c) => {
    conn = c;
    return { onData(d) { log.push(`data ${d.length}`); }, onEnd() { log.push('end'); } };
  }, 0);
  const e = made[0]!;
  e.events.push({ type: 'established' });
  demux.handleSegment(LOCAL, REMOTE, seg({ srcPort: 80, dstPort: e.tuple.localPort, flags: tcpFlags({ ack: true }) }), 0);
  conn!.pauseReading();
  conn!.holdReading(true);
  e.events.push({ type: 'readable' });
  e.inbox.push(new Uint8Array(3));
  demux.handleTimeout(1);
  assert.deepEqual(log, [], 'paused and held');
  conn!.holdReading(false);
  demux.handleTimeout(2);
  assert.deepEqual(log, [], 'the hold lifted, the app still paused');
  conn!.holdReading(true);
  conn!.resumeReading();
  demux.handleTimeout(3);
  assert.deepEqual(log, [], 'the app resumed, the host still holds');
  conn!.holdReading(false);
  demux.handleTimeout(4);
  assert.deepEqual(log, ['data 3'], 'both lifted: delivered');
});
