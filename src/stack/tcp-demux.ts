// TCP demultiplexing for one host: the connection table keyed by 4-tuple, listeners
// with a bounded SYN backlog, RSTs for segments that match nothing (RFC 9293
// §3.10.7.1/2), timers, and the adapter from engine events to StreamApp callbacks.
// IP/Ethernet framing and ARP are the host's (host.ts); TCP itself is src/tcp/.
import { tcpFlags, type TcpRepr } from '../wire/tcp.js';
import { formatIpv4 } from '../wire/addr.js';
import { isnFor } from '../tcp/isn.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import type { StreamApp, StreamConnection } from './app.js';
import type { Counters } from './counters.js';
import { DeadlineHeap } from './deadline-heap.js';
import type { TcpEngine, TcpEngineFactory } from './tcp-engine.js';

export interface TcpDemuxLimits {
  /** Half-open (SYN-RECEIVED) connections per listener (RFC 9293 §3.10.7.2: a full backlog drops the SYN). */
  synBacklog: number;
  /** Connections in the table, all states. */
  maxConnections: number;
  /** First and last ephemeral port for active opens (RFC 6335 §6 dynamic range). */
  ephemeralLow: number;
  ephemeralHigh: number;
  /** Events delivered per connection per dispatch round (a guard against a looping app). */
  maxEventsPerRound: number;
}

export const DEFAULT_TCP_DEMUX_LIMITS: TcpDemuxLimits = {
  synBacklog: 128, maxConnections: 16_384, ephemeralLow: 49_152, ephemeralHigh: 65_535, maxEventsPerRound: 1024,
};

/**
 * The host's StreamConnection, with receive flow control for adapters such as
 * net.ts: while reading is paused the engine keeps the bytes and its window closes.
 */
export interface HostStreamConnection extends StreamConnection {
  readonly tuple: FourTuple;
  /** Stop onData() calls; bytes stay in the TCP receive buffer (the advertised window shrinks). */
  pauseReading(): void;
  /** Resume onData(); waiting bytes are delivered on the host's next handle* call (drivers: kick()). */
  resumeReading(): void;
  /**
   * The host's own hold on reading (ST-TCP's retention buffer full), apart from the app's
   * pause: onData() waits while either is on, so neither lifts the other's.
   */
  holdReading(on: boolean): void;
}

/** A service that may use the host's flow-control extension (a plain StreamService fits too). */
export type HostStreamService = (conn: HostStreamConnection) => StreamApp;

interface Listener { port: number; service: HostStreamService; halfOpen: number }

/** TcpStats retransmission counters summed over connections (TcpDemux.statsTotal). */
export interface TcpStatsTotal { connections: number; retransmits: number; rtoExpirations: number; spuriousRtos: number; fastRetransmits: number; sackReneging: number }

/** One row of the connection table. */
export class TcpEntry<C extends TcpEngine> {
  app: StreamApp | undefined;
  /** Set for passive opens until 'established' (counts against the listener's backlog). */
  listener: Listener | undefined;
  /** write() accepted less than offered: the app wants onWritable(). */
  wantWritable = false;
  /** The app asked not to get onData() for now (bytes stay in the engine; its window closes). */
  readPaused = false;
  /** The host holds onData() back (holdReading), whatever the app asked. */
  readHeld = false;
  /** Resumed while bytes are waiting: deliver on the next dispatch. */
  redeliver = false;
  /** FIN received; onEnd() goes out once every byte before it has been delivered. */
  peerFin = false;
  endDelivered = false;
  /**
   * end() before the handshake completed: the FIN waits for 'established'. A CLOSE in
   * SYN-SENT deletes the TCB and drops queued data (RFC 9293 §3.10.4); StreamConnection
   * promises a FIN after every queued byte.
   */
  endWhenOpen = false;
  closed = false;
  deadlineUs: number | undefined;
  readonly stream: HostStreamConnection;

  constructor(readonly key: string, readonly tuple: FourTuple, readonly conn: C, demux: TcpDemux<C>) {
    const id = `${formatIpv4(tuple.localIp)}:${tuple.localPort}>${formatIpv4(tuple.remoteIp)}:${tuple.remotePort}`;
    const entry = this;
    const stream: HostStreamConnection = {
      id,
      tuple,
      pauseReading(): void {
        entry.readPaused = true;
      },
      resumeReading(): void {
        if (!entry.readPaused) return;
        entry.readPaused = false;
        entry.redeliver = true;
        demux.touch(entry);
      },
      holdReading(on: boolean): void {
        if (entry.readHeld === on) return;
        entry.readHeld = on;
        if (!on) { entry.redeliver = true; demux.touch(entry); }
      },
      write(data: Uint8Array): number {
        if (entry.closed) return 0;
        const n = entry.conn.send(data);
        if (n < data.length) entry.wantWritable = true;
        if (n > 0) demux.touch(entry);
        return n;
      },
      writableBytes(): number {
        return entry.closed ? 0 : entry.conn.sendSpace();
      },
      end(): void {
        if (entry.closed) return;
        if (entry.conn.state === 'SYN-SENT') { entry.endWhenOpen = true; return; }
        entry.conn.close();
        demux.touch(entry);
      },
      destroy(): void {
        if (entry.closed) return;
        entry.conn.abort();
        demux.touch(entry);
      },
    };
    this.stream = stream;
  }
}

/** A segment the host must frame and send for `tuple` (RSTs for no connection, and engine output). */
export type TcpSend = (tuple: FourTuple, seg: TcpRepr) => void;

export class TcpDemux<C extends TcpEngine = TcpEngine> {
  private readonly table = new Map<string, TcpEntry<C>>();
  private readonly listeners = new Map<number, Listener>();
  private readonly closedStats: TcpStatsTotal = { connections: 0, retransmits: 0, rtoExpirations: 0, spuriousRtos: 0, fastRetransmits: 0, sackReneging: 0 };
  /** Entries whose engine may have output or a changed deadline. */
  private readonly touchedTx = new Set<TcpEntry<C>>();
  /** Entries whose engine may have events for the app. */
  private readonly touchedEv = new Set<TcpEntry<C>>();
  private readonly timers = new DeadlineHeap<TcpEntry<C>>((e) => (e.closed || this.table.get(e.key) !== e ? undefined : e.deadlineUs));
  private nextEphemeral: number;
  private dispatching = false;

  constructor(
    private readonly factory: TcpEngineFactory<C>,
    private readonly isnKey: Uint8Array,
    private readonly limits: TcpDemuxLimits,
    private readonly counters: Counters,
    private readonly send: TcpSend,
    ephemeralSeed: number,
    private readonly onAppError?: (err: unknown, connectionId: string) => void,
  ) {
    const span = limits.ephemeralHigh - limits.ephemeralLow + 1;
    this.nextEphemeral = limits.ephemeralLow + (ephemeralSeed % span);
  }

  listen(port: number, service: HostStreamService): void {
    const old = this.listeners.get(port);
    this.listeners.set(port, { port, service, halfOpen: old?.halfOpen ?? 0 });
  }

  unlisten(port: number): void {
    this.listeners.delete(port);
  }

  /**
   * Active open from the next free ephemeral port. `usable` can refuse a tuple the table
   * does not know is taken (a CRAFT splicer's splices use tuples of this address that are
   * not connections of this stack); a refused port is skipped before any connection or
   * application exists for it.
   */
  connect(localIp: number, remoteIp: number, remotePort: number, makeApp: HostStreamService, nowUs: number, usable?: (tuple: FourTuple) => boolean): HostStreamConnection {
    if (this.table.size >= this.limits.maxConnections) throw new Error('connection table full');
    const span = this.limits.ephemeralHigh - this.limits.ephemeralLow + 1;
    for (let tries = 0; tries < span; tries++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port >= this.limits.ephemeralHigh ? this.limits.ephemeralLow : port + 1;
      const tuple: FourTuple = { localIp, localPort: port, remoteIp, remotePort };
      const key = tupleKey(tuple);
      if (this.table.has(key) || this.listeners.has(port) || (usable !== undefined && !usable(tuple))) continue;
      const conn = this.factory.connect(tuple, isnFor(this.isnKey, tuple, nowUs), nowUs);
      const e = new TcpEntry(key, tuple, conn, this);
      this.table.set(key, e);
      e.app = makeApp(e.stream);
      this.counters.inc('tcp-active-opens');
      this.touch(e);
      return e.stream;
    }
    throw new Error(`no free ephemeral port towards ${formatIpv4(remoteIp)}:${remotePort}`);
  }

  /**
   * Installs a connection that was built elsewhere (restored from a snapshot: an
   * ST-TCP takeover, a CRAFT splice) and binds an application to it. The engine keeps
   * its own sequence numbers; the table only learns its 4-tuple. The app gets onOpen()
   * at once when the engine is past the handshake.
   */
  adopt(tuple: FourTuple, conn: C, makeApp: HostStreamService): HostStreamConnection {
    const key = tupleKey(tuple);
    if (this.table.get(key)?.closed === false) throw new Error(`adopt: ${key} is already in the connection table`);
    if (this.table.size >= this.limits.maxConnections) throw new Error('connection table full');
    const e = new TcpEntry(key, { ...tuple }, conn, this);
    this.table.set(key, e);
    this.counters.inc('tcp-adopted');
    e.app = makeApp(e.stream);
    if (conn.state !== 'SYN-SENT' && conn.state !== 'SYN-RECEIVED') e.app.onOpen?.();
    this.touch(e);
    this.dispatch();
    return e.stream;
  }

  /** Something outside the host changed a connection (e.g. its ACK limit): poll it for output. */
  poke(tuple: FourTuple): boolean {
    const e = this.table.get(tupleKey(tuple));
    if (e === undefined || e.closed) return false;
    this.touch(e);
    return true;
  }

  /** A parsed, checksum-verified segment addressed to this host. */
  handleSegment(localIp: number, remoteIp: number, seg: TcpRepr, nowUs: number): void {
    // Port 0 is reserved (RFC 6335 §6): no connection can use it; Linux drops such segments too.
    if (seg.srcPort === 0 || seg.dstPort === 0) { this.counters.inc('drop-tcp-port-zero'); return; }
    const tuple: FourTuple = { localIp, localPort: seg.dstPort, remoteIp, remotePort: seg.srcPort };
    const key = tupleKey(tuple);
    const e = this.table.get(key);
    if (e !== undefined && !e.closed) {
      e.conn.handleSegment(seg, nowUs);
      this.touch(e);
      this.dispatch();
      return;
    }
    const l = this.listeners.get(seg.dstPort);
    if (l === undefined) {
      this.replyRst(tuple, seg, 'tcp-rst-no-connection');
      return;
    }
    // RFC 9293 §3.10.7.2 (LISTEN): ignore RST; RST any ACK; accept a SYN.
    if (seg.flags.rst) { this.counters.inc('drop-tcp-listen-rst'); return; }
    if (seg.flags.ack) { this.replyRst(tuple, seg, 'tcp-rst-listen-ack'); return; }
    if (!seg.flags.syn) { this.counters.inc('drop-tcp-listen-no-syn'); return; }
    if (l.halfOpen >= this.limits.synBacklog) { this.counters.inc('drop-tcp-backlog-full'); return; }
    if (this.table.size >= this.limits.maxConnections) { this.counters.inc('drop-tcp-table-full'); return; }
    const conn = this.factory.accept(tuple, seg, isnFor(this.isnKey, tuple, nowUs), nowUs);
    const ne = new TcpEntry(key, tuple, conn, this);
    ne.listener = l;
    l.halfOpen++;
    this.table.set(key, ne);
    this.counters.inc('tcp-passive-opens');
    this.touch(ne);
    this.dispatch();
  }

  /** RFC 9293 §3.10.7.1: a segment for no connection gets a RST, unless it is one. */
  private replyRst(tuple: FourTuple, seg: TcpRepr, counter: string): void {
    if (seg.flags.rst) { this.counters.inc('drop-tcp-rst-no-connection'); return; }
    const segLen = seg.payload.length + (seg.flags.syn ? 1 : 0) + (seg.flags.fin ? 1 : 0);
    const rst: TcpRepr = seg.flags.ack
      ? { srcPort: tuple.localPort, dstPort: tuple.remotePort, seq: seg.ack, ack: 0, flags: tcpFlags({ rst: true }),
          window: 0, urgentPointer: 0, options: {}, payload: new Uint8Array(0) }
      : { srcPort: tuple.localPort, dstPort: tuple.remotePort, seq: 0, ack: (seg.seq + segLen) >>> 0,
          flags: tcpFlags({ rst: true, ack: true }), window: 0, urgentPointer: 0, options: {}, payload: new Uint8Array(0) };
    this.counters.inc(counter);
    this.send(tuple, rst);
  }

  touch(e: TcpEntry<C>): void {
    this.touchedTx.add(e);
    this.touchedEv.add(e);
  }

  handleTimeout(nowUs: number): void {
    for (const e of this.timers.takeDue(nowUs)) {
      e.conn.handleTimeout(nowUs);
      this.touch(e);
    }
    this.timers.compact(this.table.size);
    this.dispatch();
  }

  /** Delivers engine events to apps until none are left (apps may write from callbacks). */
  dispatch(): void {
    if (this.dispatching) return;                  // an app callback re-entered via write(): the outer loop continues
    this.dispatching = true;
    let firstError: { err: unknown } | undefined;
    try {
      for (let round = 0; this.touchedEv.size > 0 && round < 64; round++) {
        const batch = [...this.touchedEv];
        this.touchedEv.clear();
        for (const e of batch) {
          try {
            this.drainEvents(e);
          } catch (err) {
            // An app bug must not stall other connections: abort this one, go on, report.
            this.counters.inc('tcp-app-exception');
            if (!e.closed) { e.conn.abort(); this.touch(e); }
            if (this.onAppError !== undefined) this.onAppError(err, e.stream.id);
            else firstError ??= { err };
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
    if (firstError !== undefined) throw firstError.err;
  }

  private drainEvents(e: TcpEntry<C>): void {
    if (e.redeliver) {
      e.redeliver = false;
      this.deliver(e);
    }
    for (let n = 0; n < this.limits.maxEventsPerRound; n++) {
      const ev = e.conn.pollEvent();
      if (ev === undefined) return;
      switch (ev.type) {
        case 'established':
          if (e.listener !== undefined) {
            e.listener.halfOpen--;
            const service = e.listener.service;
            e.listener = undefined;
            this.counters.inc('tcp-established-passive');
            e.app = service(e.stream);
          } else {
            this.counters.inc('tcp-established-active');
          }
          if (e.endWhenOpen) { e.endWhenOpen = false; e.conn.close(); }
          e.app?.onOpen?.();
          break;
        case 'readable':
          this.deliver(e);
          break;
        case 'writable':
          if (e.wantWritable && e.app !== undefined) {
            e.wantWritable = false;
            e.app.onWritable?.();
          }
          break;
        case 'peer-fin':
          e.peerFin = true;
          this.deliver(e);
          break;
        case 'closed':
          this.addStats(this.closedStats, e.conn);
          this.deliver(e, true);
          if (e.listener !== undefined) { e.listener.halfOpen--; e.listener = undefined; }
          e.closed = true;
          this.counters.inc(`tcp-closed-${ev.reason}`);
          e.app?.onClose?.(ev.reason);
          e.app = undefined;
          this.touchedTx.add(e);                   // final segments (RST, last ACK) still go out, then the row goes
          return;
      }
    }
    this.touchedEv.add(e);                         // more events than one round allows: continue next round
  }

  /** Hands in-order bytes to the app (unless paused, or `final` at close), then onEnd() after a FIN. */
  private deliver(e: TcpEntry<C>, final = false): void {
    const app = e.app;
    if (app === undefined) return;
    for (let n = 0; n < 1024 && (final || !e.readPaused && !e.readHeld) && e.conn.readableBytes() > 0; n++) {
      const data = e.conn.read();
      if (data.length === 0) break;
      app.onData(data);
    }
    if (e.conn.readableBytes() > 0 && !e.readPaused && !e.readHeld && !final) {
      this.touchedEv.add(e);                       // more than one round's worth: continue next round
      e.redeliver = true;
      return;
    }
    if (e.peerFin && !e.endDelivered && e.conn.readableBytes() === 0) {
      e.endDelivered = true;
      app.onEnd();
    }
  }

  /** The next engine segment to send, or undefined when every touched engine is drained. */
  pollSegment(nowUs: number): { tuple: FourTuple; seg: TcpRepr } | undefined {
    for (;;) {
      const it = this.touchedTx.values().next();
      if (it.done === true) return undefined;
      const e = it.value;
      const seg = e.conn.pollTransmit(nowUs);
      if (seg !== undefined) return { tuple: e.tuple, seg };
      this.touchedTx.delete(e);
      if (e.closed) {
        if (this.table.get(e.key) === e) this.table.delete(e.key);
        e.deadlineUs = undefined;
        continue;
      }
      const d = e.conn.pollDeadline();
      if (d !== e.deadlineUs) {
        e.deadlineUs = d;
        if (d !== undefined) {
          this.timers.push(d, e);
          this.timers.compact(this.table.size);      // O(1) unless stale slots piled up
        }
      }
    }
  }

  /**
   * Earliest engine deadline; `nowUs` if some engine has not been drained yet or has
   * events for its app (an app call made outside a handle* call, e.g. destroy(): the
   * driver's prompt handleTimeout() then delivers them).
   */
  pollDeadline(nowUs: number): number | undefined {
    if (this.touchedTx.size > 0 || this.touchedEv.size > 0) return nowUs;
    return this.timers.peek();
  }

  /**
   * Retransmission counters summed over every connection this host has had, closed and
   * open: what a capture's retransmissions can be checked against (why they were sent).
   */
  statsTotal(): TcpStatsTotal {
    const t = { ...this.closedStats };
    for (const e of this.table.values()) if (!e.closed) this.addStats(t, e.conn);
    return t;
  }

  private addStats(t: TcpStatsTotal, conn: C): void {
    const s = conn.stats?.();
    if (s === undefined) return;
    t.connections++;
    t.retransmits += s.retransmits;
    t.rtoExpirations += s.rtoExpirations;
    t.spuriousRtos += s.spuriousRtos;
    t.fastRetransmits += s.fastRetransmits;
    t.sackReneging += s.sackReneging;
  }

  entries(): Array<TcpEntry<C>> {
    return [...this.table.values()];
  }

  /** The table's engine for a 4-tuple (one lookup, not a walk of the table). */
  connection(tuple: FourTuple): C | undefined {
    return this.table.get(tupleKey(tuple))?.conn;
  }

  size(): number {
    return this.table.size;
  }
}
