// Test support for packet-trace style TCP tests (smoltcp's habit): fixtures named by
// state, segments built from a template, recv()/expectSend() helpers, a virtual clock.
// Only tests import this; it drives TcpConnection through its public API alone.

import assert from 'node:assert/strict';
import type { TcpFlags, TcpOptions, TcpRepr } from '../../wire/tcp.js';
import { tcpFlags } from '../../wire/tcp.js';
import type { TcpConfig, TcpEvent, TcpStateName } from '../connection.js';
import { TcpConnection } from '../connection.js';
import type { FourTuple } from '../four-tuple.js';

export const LOCAL_PORT = 49152;
export const REMOTE_PORT = 80;
export const TUPLE: FourTuple = { localIp: 0x0a000001, localPort: LOCAL_PORT, remoteIp: 0x0a000002, remotePort: REMOTE_PORT };
export const LOCAL_ISS = 10_000;
export const REMOTE_ISS = 50_000;

/** A plain configuration for traces: no options unless a test turns them on. */
export function traceConfig(over: Partial<TcpConfig> = {}): Partial<TcpConfig> {
  return {
    mss: 1000, windowScale: false, sack: false, timestamps: false, nagle: false,
    sndBufBytes: 64 * 1024, rcvBufBytes: 64 * 1024, delayedAckUs: 40_000, timeWaitUs: 1_000_000,
    ...over,
  };
}

export interface SegSpec {
  seq?: number;
  ack?: number;
  flags?: Partial<TcpFlags>;
  window?: number;
  options?: TcpOptions;
  payload?: Uint8Array | string;
}

function bytes(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

/** A segment from the peer (remote → local). Default: a bare ACK with a 64 KiB-1 window. */
export function fromPeer(s: SegSpec): TcpRepr {
  return {
    srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq: (s.seq ?? 0) >>> 0, ack: (s.ack ?? 0) >>> 0,
    flags: tcpFlags(s.flags ?? { ack: true }), window: s.window ?? 0xffff, urgentPointer: 0,
    options: s.options ?? {}, payload: bytes(s.payload),
  };
}

export function fill(len: number, start = 0): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (start + i * 7 + (i >> 8)) & 0xff;
  return b;
}

/** One connection on a virtual clock, driven the way a host drives it. */
export class Trace {
  nowUs: number;
  readonly conn: TcpConnection;
  readonly events: TcpEvent[] = [];

  constructor(conn: TcpConnection, nowUs: number) {
    this.conn = conn;
    this.nowUs = nowUs;
  }

  get state(): TcpStateName { return this.conn.state; }

  recv(s: SegSpec): void {
    this.conn.handleSegment(fromPeer(s), this.nowUs);
    this.drainEvents();
  }

  /** Advance the clock and fire due timers. */
  advance(us: number): void {
    this.nowUs += us;
    this.conn.handleTimeout(this.nowUs);
    this.drainEvents();
  }

  /** Jump to the next deadline and fire it; returns how far the clock moved. */
  advanceToDeadline(): number {
    const d = this.conn.pollDeadline();
    assert.ok(d !== undefined, 'expected a pending deadline');
    const step = Math.max(0, d - this.nowUs);
    this.advance(step);
    return step;
  }

  drainEvents(): TcpEvent[] {
    const out: TcpEvent[] = [];
    for (let e = this.conn.pollEvent(); e !== undefined; e = this.conn.pollEvent()) out.push(e);
    this.events.push(...out);
    return out;
  }

  takeEvents(): TcpEvent[] {
    this.drainEvents();
    return this.events.splice(0);
  }

  poll(): TcpRepr | undefined {
    const s = this.conn.pollTransmit(this.nowUs);
    this.drainEvents();
    return s;
  }

  /**
   * The next segment must match: flags exactly, seq/ack/window/options when given, payload
   * (empty unless given). Returns it for further checks.
   */
  expectSend(s: SegSpec, msg = ''): TcpRepr {
    const seg = this.poll();
    assert.ok(seg !== undefined, `expected a segment ${JSON.stringify(s.flags)} ${msg}`);
    assert.equal(seg.srcPort, LOCAL_PORT);
    assert.equal(seg.dstPort, REMOTE_PORT);
    assert.deepEqual(seg.flags, tcpFlags(s.flags ?? { ack: true }), `flags ${msg}`);
    if (s.seq !== undefined) assert.equal(seg.seq, s.seq >>> 0, `seq ${msg}`);
    if (s.ack !== undefined) assert.equal(seg.ack, s.ack >>> 0, `ack ${msg}`);
    if (s.window !== undefined) assert.equal(seg.window, s.window, `window ${msg}`);
    if (s.options !== undefined) assert.deepEqual(seg.options, s.options, `options ${msg}`);
    assert.deepEqual(seg.payload, bytes(s.payload), `payload ${msg}`);
    return seg;
  }

  expectNoSend(msg = ''): void {
    const seg = this.poll();
    assert.equal(seg, undefined, `expected nothing to send ${msg}, got ${seg ? describe(seg) : ''}`);
  }

  /** All segments pending now. */
  drainSend(): TcpRepr[] {
    const out: TcpRepr[] = [];
    for (let s = this.poll(); s !== undefined; s = this.poll()) out.push(s);
    return out;
  }
}

export function describe(s: TcpRepr): string {
  const f = Object.entries(s.flags).filter(([, v]) => v).map(([k]) => k).join(',');
  return `[${f}] seq=${s.seq} ack=${s.ack} win=${s.window} len=${s.payload.length} opts=${JSON.stringify(s.options)}`;
}

// --- fixtures named by state ---

/** connect() called; the SYN not yet polled. */
export function synSentUnpolled(cfg: Partial<TcpConfig> = {}, iss = LOCAL_ISS, nowUs = 0): Trace {
  return new Trace(TcpConnection.connect(traceConfig(cfg), TUPLE, iss, nowUs), nowUs);
}

/** SYN sent (and checked). */
export function synSent(cfg: Partial<TcpConfig> = {}, iss = LOCAL_ISS): Trace {
  const tr = synSentUnpolled(cfg, iss);
  tr.expectSend({ seq: iss, flags: { syn: true } });
  return tr;
}

/** accept() of a bare SYN with the given options; SYN-ACK sent. */
export function synReceived(cfg: Partial<TcpConfig> = {}, iss = LOCAL_ISS, synOptions: TcpOptions = { mss: 1000 }, remoteIss = REMOTE_ISS): Trace {
  const syn = fromPeer({ seq: remoteIss, flags: { syn: true }, options: synOptions });
  const tr = new Trace(TcpConnection.accept(traceConfig(cfg), TUPLE, syn, iss, 0), 0);
  tr.expectSend({ seq: iss, ack: remoteIss + 1, flags: { syn: true, ack: true } });
  return tr;
}

/** An ESTABLISHED connection (active open), events drained. Peer window 65535, MSS 1000. */
export function established(cfg: Partial<TcpConfig> = {}, iss = LOCAL_ISS, remoteIss = REMOTE_ISS, peerOptions: TcpOptions = { mss: 1000 }): Trace {
  const tr = synSent(cfg, iss);
  tr.recv({ seq: remoteIss, ack: iss + 1, flags: { syn: true, ack: true }, options: peerOptions });
  assert.equal(tr.state, 'ESTABLISHED');
  tr.expectSend({ seq: iss + 1, ack: remoteIss + 1 });
  tr.takeEvents();
  return tr;
}
