// Test support: two TcpConnections joined by a seeded lossy, reordering, duplicating pipe
// on a virtual clock — not the simulator (src/sim), just enough to check that each side
// receives exactly what the other sent. Optional snapshot/restore every N segments.

import type { TcpRepr } from '../../wire/tcp.js';
import { SeededRng } from '../../util/rng.js';
import type { TcpConfig } from '../connection.js';
import { TcpConnection } from '../connection.js';
import type { FourTuple } from '../four-tuple.js';
import { reverseTuple } from '../four-tuple.js';

export interface PairOptions {
  seed: number;
  aToB: number;          // bytes the client sends
  bToA: number;          // bytes the server sends back
  lossRate?: number;     // per segment, each direction
  dupRate?: number;
  latencyUs?: number;
  jitterUs?: number;     // uniform extra delay: reorders segments
  cfgA?: Partial<TcpConfig>;
  cfgB?: Partial<TcpConfig>;
  isnA?: number;
  isnB?: number;
  /** Snapshot and restore a side after every this many segments it handles. */
  restoreEvery?: number;
  /** Stop after this much virtual time. */
  maxTimeUs?: number;
  /** Reader drains at most this many bytes per wake-up (0 = unlimited). */
  readChunk?: number;
  /** Application writes at most this many bytes per call. */
  writeChunk?: number;
  /** Per delivered segment, chance of also delivering a random segment outside the receiver's window. */
  garbageRate?: number;
  /** Called for every segment put on the pipe (debugging aid). */
  log?: (line: string) => void;
}

export interface PairResult {
  receivedByB: Uint8Array;
  receivedByA: Uint8Array;
  sentByA: Uint8Array;
  sentByB: Uint8Array;
  stateA: string;
  stateB: string;
  reasonA: string | undefined;
  reasonB: string | undefined;
  timeUs: number;
  segments: number;
  restores: number;
  retransmitsA: number;
  retransmitsB: number;
  violations: string[];
}

interface InFlight { atUs: number; order: number; seg: TcpRepr; toB: boolean }

const TUPLE_A: FourTuple = { localIp: 0x0a000001, localPort: 40000, remoteIp: 0x0a000002, remotePort: 7 };

function randomBytes(rng: SeededRng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = rng.nextU32();
    b[i] = v & 0xff; if (i + 1 < n) b[i + 1] = (v >>> 8) & 0xff;
    if (i + 2 < n) b[i + 2] = (v >>> 16) & 0xff; if (i + 3 < n) b[i + 3] = v >>> 24;
  }
  return b;
}

function clone(seg: TcpRepr): TcpRepr {
  return { ...seg, flags: { ...seg.flags }, options: structuredClone(seg.options), payload: seg.payload.slice() };
}

/**
 * A random segment whose sequence number lies outside the receiver's window (a blind
 * attacker's guess that missed): any flags, any ACK, random options and payload.
 */
function garbage(rng: SeededRng, c: TcpConnection, template: TcpRepr): TcpRepr {
  const info = c.info();
  const outside = rng.nextFloat() < 0.5
    ? (info.rcvNxt + info.rcvWnd + 1 + rng.nextInt(0x7000_0000)) >>> 0
    : (info.rcvNxt - 1 - rng.nextInt(0x7000_0000)) >>> 0;
  const flag = (): boolean => rng.nextFloat() < 0.3;
  const payload = new Uint8Array(rng.nextInt(3) === 0 ? rng.nextInt(2000) : 0);
  for (let i = 0; i < payload.length; i++) payload[i] = rng.nextInt(256);
  return {
    srcPort: template.srcPort, dstPort: template.dstPort, seq: outside, ack: rng.nextU32(),
    flags: { fin: flag(), syn: flag(), rst: flag(), psh: flag(), ack: rng.nextFloat() < 0.8, urg: flag(), ece: flag(), cwr: flag() },
    window: rng.nextInt(0x10000), urgentPointer: rng.nextInt(0x10000),
    options: {
      ...(rng.nextFloat() < 0.3 ? { sack: [{ left: rng.nextU32(), right: rng.nextU32() }] } : {}),
      ...(rng.nextFloat() < 0.3 ? { timestamp: { value: rng.nextU32(), echo: rng.nextU32() } } : {}),
      ...(rng.nextFloat() < 0.1 ? { mss: rng.nextInt(0x10000), windowScale: rng.nextInt(20) } : {}),
    },
    payload,
  };
}

class Side {
  conn: TcpConnection | undefined;
  readonly out: Uint8Array;
  written = 0;
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  closedCalled = false;
  handled = 0;
  peerFin = false;
  constructor(out: Uint8Array) { this.out = out; }
}

export function runPair(o: PairOptions): PairResult {
  const rng = new SeededRng(o.seed);
  const netRng = rng.fork();
  const a = new Side(randomBytes(rng, o.aToB));
  const b = new Side(randomBytes(rng, o.bToA));
  const latency = o.latencyUs ?? 1_000;
  const jitter = o.jitterUs ?? 0;
  const loss = o.lossRate ?? 0;
  const dup = o.dupRate ?? 0;
  const maxTime = o.maxTimeUs ?? 600_000_000;
  const writeChunk = o.writeChunk ?? 1 << 30;
  const readChunk = o.readChunk ?? 0;
  const violations: string[] = [];
  const cfgA = { ...(o.cfgA ?? {}) };
  const cfgB = { ...(o.cfgB ?? {}) };
  let now = 0;
  let order = 0;
  let segments = 0;
  let restores = 0;
  const pipe: InFlight[] = [];

  a.conn = TcpConnection.connect(cfgA, TUPLE_A, o.isnA ?? rng.nextU32(), now);

  const send = (seg: TcpRepr, toB: boolean): void => {
    segments++;
    const lost = netRng.nextFloat() < loss;
    if (o.log) {
      const f = Object.entries(seg.flags).filter(([, v]) => v).map(([k]) => k).join(',');
      o.log(`${now} ${toB ? 'A>B' : 'B>A'} ${lost ? 'LOST ' : ''}[${f}] seq=${seg.seq} ack=${seg.ack} win=${seg.window} len=${seg.payload.length} ${JSON.stringify(seg.options)}`);
    }
    if (lost) return;
    const copies = netRng.nextFloat() < dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      pipe.push({ atUs: now + latency + Math.floor(netRng.nextFloat() * jitter), order: order++, seg: clone(seg), toB });
    }
  };

  const pump = (s: Side, toB: boolean): void => {
    const c = s.conn;
    if (c === undefined) return;
    for (let i = 0; i < 100_000; i++) {
      // Application: write what fits, close when all is written, read everything.
      while (s.written < s.out.length && c.sendSpace() > 0) {
        const n = c.send(s.out.subarray(s.written, Math.min(s.out.length, s.written + writeChunk)));
        if (n === 0) break;
        s.written += n;
      }
      if (s.written === s.out.length && !s.closedCalled && (c.state === 'ESTABLISHED' || c.state === 'CLOSE-WAIT')) {
        c.close();
        s.closedCalled = true;
      }
      const seg = c.pollTransmit(now);
      let ev = c.pollEvent();
      while (ev !== undefined) {
        if (ev.type === 'peer-fin') s.peerFin = true;
        ev = c.pollEvent();
      }
      while (c.readableBytes() > 0) {
        const d = c.read(readChunk > 0 ? readChunk : undefined);
        s.received.push(d.slice());
        s.receivedBytes += d.length;
        if (readChunk > 0) break;
      }
      if (seg === undefined) return;
      send(seg, toB);
    }
    violations.push('pollTransmit did not drain');
  };

  const maybeRestore = (s: Side): void => {
    if (o.restoreEvery === undefined || s.conn === undefined) return;
    if (s.handled % o.restoreEvery === 0) {
      const snap = s.conn.snapshot();
      s.conn = TcpConnection.restore(snap);
      restores++;
    }
  };

  pump(a, true);
  for (let iter = 0; iter < 20_000_000; iter++) {
    let next = Infinity;
    for (const f of pipe) if (f.atUs < next) next = f.atUs;
    const da = a.conn?.pollDeadline();
    const db = b.conn?.pollDeadline();
    if (da !== undefined) next = Math.min(next, da);
    if (db !== undefined) next = Math.min(next, db);
    if (next === Infinity || next > maxTime) break;
    now = Math.max(now, next);
    // Deliver every segment due now, in (time, order).
    pipe.sort((x, y) => x.atUs - y.atUs || x.order - y.order);
    while (pipe.length > 0 && pipe[0]!.atUs <= now) {
      const f = pipe.shift()!;
      const dst = f.toB ? b : a;
      if (f.toB && b.conn === undefined) {
        if (f.seg.flags.syn && !f.seg.flags.ack) {
          b.conn = TcpConnection.accept(cfgB, reverseTuple(TUPLE_A), f.seg, o.isnB ?? rng.nextU32(), now);
        }
      } else if (dst.conn !== undefined) {
        const peerMss = f.toB ? (cfgB.mss ?? 1460) : (cfgA.mss ?? 1460);
        if (f.seg.payload.length > peerMss) violations.push(`segment of ${f.seg.payload.length} > mss ${peerMss}`);
        if (o.garbageRate !== undefined && netRng.nextFloat() < o.garbageRate) {
          dst.conn.handleSegment(garbage(netRng, dst.conn, f.seg), now);
        }
        dst.conn.handleSegment(f.seg, now);
        dst.handled++;
        maybeRestore(dst);
      }
      pump(dst, !f.toB);
    }
    if (a.conn && da !== undefined && da <= now) { a.conn.handleTimeout(now); pump(a, true); }
    if (b.conn && db !== undefined && db <= now) { b.conn.handleTimeout(now); pump(b, false); }
  }
  // The application reads whatever is still queued (a slow reader finishes eventually).
  for (const s of [a, b]) {
    while (s.conn !== undefined && s.conn.readableBytes() > 0) {
      const d = s.conn.read();
      s.received.push(d.slice());
      s.receivedBytes += d.length;
    }
  }
  const cat = (parts: Uint8Array[], n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  };
  return {
    receivedByB: cat(b.received, b.receivedBytes),
    receivedByA: cat(a.received, a.receivedBytes),
    sentByA: a.out,
    sentByB: b.out,
    stateA: a.conn?.state ?? 'none',
    stateB: b.conn?.state ?? 'none',
    reasonA: a.conn?.closeReason,
    reasonB: b.conn?.closeReason,
    timeUs: now,
    segments,
    restores,
    retransmitsA: a.conn?.stats().retransmits ?? 0,
    retransmitsB: b.conn?.stats().retransmits ?? 0,
    violations,
  };
}
