// The two-host transfer scenario: a client and a server Host (our stack) on a learning
// switch, seeded faults on the client's link, both sides sending a deterministic
// payload and verifying what arrives by length and SHA-256. Used by the seeded tests
// in test/sim/ and by `unbroken demo`; it builds and runs a simulation, nothing more.
import { Simulator } from '../simulator.js';
import { LearningSwitch, type MirrorConfig } from '../boxes.js';
import { TcpObserver, type ObservedSegment } from '../tcp-observer.js';
import type { LinkConfig, SimLink } from '../link.js';
import type { FaultSpec } from '../faults.js';
import type { PcapWriter } from '../pcap.js';
import { Host } from '../../stack/host.js';
import type { CloseReason, StreamApp, StreamConnection } from '../../stack/app.js';
import type { TcpConfig } from '../../tcp/connection.js';
import { PayloadSink, PayloadSource } from './payload.js';
import { tcpConnectionFactory } from '../../stack/tcp-engine.js';

export const CLIENT = { name: 'client', mac: '02:00:00:00:00:01', ip: '10.0.0.1' } as const;
export const SERVER = { name: 'server', mac: '02:00:00:00:00:02', ip: '10.0.0.2' } as const;
export const SERVER_PORT = 5001;

export const DEFAULT_TRANSFER_LINK: LinkConfig = { latencyUs: 1000, bandwidthBps: 100_000_000, queueFrames: 128, mtuBytes: 1500 };

export interface TransferOptions {
  seed: number;
  /** Bytes the client sends to the server. */
  clientBytes: number;
  /** Bytes the server sends to the client. */
  serverBytes: number;
  /** Both host↔switch links. */
  link?: LinkConfig;
  /** Fault rules on the client's link, in both directions (so end-to-end rates equal the rule's). */
  faults?: FaultSpec[];
  tcp?: Partial<TcpConfig>;
  /** Virtual-time bound for the whole run, including closing. Default 600 s. */
  limitUs?: number;
  /** Record a pcap at the client's port. */
  capture?: boolean;
  /** Narrative hook: connection events, progress quarters, retransmissions seen on the wire. */
  onEvent?: (e: TransferEvent) => void;
  /** When to open the connection (virtual µs). Default 1000. */
  startUs?: number;
  /** Switch size (client on port 0, server on port 1; default 2) and an optional mirror session. */
  switchPorts?: number;
  mirror?: MirrorConfig;
  /** Called once the client, server and switch exist, before anything runs: add nodes, links, faults. */
  setup?: (sim: Simulator) => void;
  /** Run until both connections closed (default), or only the client's (when the server is crashed on purpose). */
  until?: 'both-closed' | 'client-closed';
}

export type TransferEventKind = 'connect' | 'established' | 'progress' | 'retransmit' | 'fin' | 'rst' | 'closed' | 'complete';

export interface TransferEvent {
  tUs: number;
  kind: TransferEventKind;
  side: 'client' | 'server';
  text: string;
}

export interface DirectionResult {
  sentBytes: number;
  receivedBytes: number;
  sentSha256: string;
  receivedSha256: string;
  /** Every byte arrived, exactly once, in order. */
  match: boolean;
  /** What arrived is an exact prefix of what was sent (true when match; the safety half when a run fails). */
  prefix: boolean;
}

export interface TransferResult {
  seed: number;
  ok: boolean;
  /** Why not ok (undefined when ok). */
  reason: string | undefined;
  startUs: number;
  /** Both sides had every byte and the peer's FIN. */
  completeUs: number | undefined;
  /** Both connections reported closed. */
  closedUs: number | undefined;
  clientToServer: DirectionResult;
  serverToClient: DirectionResult;
  clientClose: CloseReason | undefined;
  serverClose: CloseReason | undefined;
  /** TCP as seen on the wire at the client's port. */
  wire: { segments: number; retransmits: number; rst: number; syn: number; fin: number; firstRstUs: number | undefined };
  /** Frames dropped, duplicated, … by the fault rules and links. */
  counters: Record<string, number>;
  traceHash: string;
  events: number;
  pcap: PcapWriter | undefined;
  sim: Simulator;
}


/** One side of the transfer: sends its payload, then FIN; hashes what it receives. */
class BulkPeer {
  readonly tx: PayloadSource;
  readonly rx = new PayloadSink();
  private pending: Uint8Array | undefined;
  ended = false; // our FIN queued
  peerEnded = false;
  closed: CloseReason | undefined;
  closedUs: number | undefined;
  private nextQuarter = 1;

  constructor(
    readonly side: 'client' | 'server',
    readonly payloadSeed: number,
    bytes: number,
    private readonly expectBytes: number,
    private readonly now: () => number,
    private readonly emit: (kind: TransferEventKind, side: 'client' | 'server', text: string) => void,
    private readonly onChange: () => void,
  ) {
    this.tx = new PayloadSource(payloadSeed, bytes);
  }

  app(conn: StreamConnection): StreamApp {
    const pump = (): void => {
      for (let guard = 0; guard < 1_000_000; guard++) {
        if (!this.pending || this.pending.length === 0) {
          if (this.tx.remaining() === 0) break;
          this.pending = this.tx.next(64 * 1024);
        }
        const n = conn.write(this.pending);
        this.pending = this.pending.subarray(n);
        if (n === 0 || this.pending.length > 0) return; // wait for onWritable
      }
      if (!this.ended) {
        this.ended = true;
        conn.end();
      }
    };
    return {
      // Send only once established: a FIN queued in SYN-SENT would delete the TCB (RFC 9293 §3.10.4).
      onOpen: pump,
      onData: (d) => {
        this.rx.add(d);
        while (this.expectBytes > 0 && this.nextQuarter <= 4 && this.rx.bytes * 4 >= this.expectBytes * this.nextQuarter) {
          this.emit('progress', this.side, `${this.side} has received ${this.rx.bytes} of ${this.expectBytes} bytes (${this.nextQuarter * 25} %)`);
          this.nextQuarter++;
        }
      },
      onEnd: () => {
        this.peerEnded = true;
        this.onChange();
      },
      onWritable: pump,
      onClose: (reason) => {
        this.closed = reason;
        this.closedUs = this.now();
        this.emit('closed', this.side, `${this.side} connection closed (${reason})`);
        this.onChange();
      },
    };
  }
}

/** Whether the sink holds exactly the first sink.bytes bytes of the payload stream `seed`. */
function isPrefix(seed: number, totalBytes: number, sink: PayloadSink): boolean {
  if (sink.bytes > totalBytes) return false;
  const src = new PayloadSource(seed, totalBytes);
  for (let left = sink.bytes; left > 0;) left -= src.next(Math.min(left, 1 << 20)).length;
  return src.sha256() === sink.sha256();
}

export function runTransfer(o: TransferOptions): TransferResult {
  const sim = new Simulator({ seed: o.seed });
  const link = o.link ?? DEFAULT_TRANSFER_LINK;
  const limitUs = o.limitUs ?? 600_000_000;
  const startUs = o.startUs ?? 1000;
  let events = 0;
  const emit = (kind: TransferEventKind, side: 'client' | 'server', text: string): void => {
    events++;
    o.onEvent?.({ tUs: sim.nowUs, kind, side, text });
  };

  const factory = tcpConnectionFactory(o.tcp ?? {});
  sim.addNode('switch', new LearningSwitch({ ports: o.switchPorts ?? 2, ...(o.mirror ? { mirror: o.mirror } : {}) }));
  const client = sim.addNode(CLIENT.name, (ctx) => new Host({ name: CLIENT.name, mac: CLIENT.mac, ip: CLIENT.ip, prefixLen: 24, rng: ctx.rng, tcpFactory: factory }));
  const server = sim.addNode(SERVER.name, (ctx) => new Host({ name: SERVER.name, mac: SERVER.mac, ip: SERVER.ip, prefixLen: 24, rng: ctx.rng, tcpFactory: factory }));
  const clientLink: SimLink = sim.link([CLIENT.name, 0], ['switch', 0], link);
  sim.link([SERVER.name, 0], ['switch', 1], link);
  for (const f of o.faults ?? []) sim.addFault(clientLink, f);

  // Payload seeds come from the run's seed, so the bytes differ per seed too.
  const payloadRng = sim.forkRng();
  let completeUs: number | undefined;
  let closedUs: number | undefined;
  const peers: BulkPeer[] = [];
  const onChange = (): void => {
    if (completeUs === undefined && peers.every((p) => p.peerEnded)) {
      completeUs = sim.nowUs;
      emit('complete', 'client', 'both sides have every byte and the peer\'s FIN');
    }
    if (closedUs === undefined && peers.every((p) => p.closed !== undefined)) closedUs = sim.nowUs;
  };
  const cPeer = new BulkPeer('client', payloadRng.nextU32(), o.clientBytes, o.serverBytes, () => sim.nowUs, emit, onChange);
  const sPeer = new BulkPeer('server', payloadRng.nextU32(), o.serverBytes, o.clientBytes, () => sim.nowUs, emit, onChange);
  peers.push(cPeer, sPeer);

  // The wire, as seen at the client's port: narrative events and retransmission counts.
  const clientFlowPrefix = `${CLIENT.ip}:`;
  let announcedRetransmits = 0;
  let firstRstUs: number | undefined;
  const observer = new TcpObserver((s: ObservedSegment) => {
    const side = s.flow.startsWith(clientFlowPrefix) ? 'client' : 'server';
    if (s.flags.syn && !s.flags.ack && !s.retransmit) emit('connect', side, `${side} sends SYN (${s.flow})`);
    else if (s.flags.syn && s.flags.ack && !s.retransmit) emit('established', side, `${side} answers SYN-ACK: connection open`);
    if (s.flags.rst) {
      firstRstUs ??= s.timeUs;
      const closedAlready = (side === 'client' ? cPeer : sPeer).closed !== undefined;
      emit('rst', side, closedAlready
        ? `${side} sends RST (its connection is already closed: this answers a late duplicate)`
        : `${side} sends RST`);
    }
    if (s.flags.fin && !s.retransmit) emit('fin', side, `${side} sends FIN after ${side === 'client' ? o.clientBytes : o.serverBytes} bytes`);
    // Name the first few retransmissions; the rest show in the totals.
    if (s.retransmit && announcedRetransmits < 5) {
      announcedRetransmits++;
      const what = s.payloadBytes > 0 ? `${s.payloadBytes} bytes` : s.flags.fin ? 'its FIN' : 'its SYN';
      emit('retransmit', side, `${side} retransmits ${what} at seq ${s.seq}${announcedRetransmits === 5 ? ' (further ones are only counted)' : ''}`);
    }
  });
  sim.tapPort(CLIENT.name, 0, observer);
  const pcap = o.capture ? sim.capturePort(CLIENT.name, 0) : undefined;

  o.setup?.(sim);
  server.as<Host>().listen(SERVER_PORT, (conn) => sPeer.app(conn));
  sim.at(startUs, () => {
    client.as<Host>().connect(SERVER.ip, SERVER_PORT, (conn) => cPeer.app(conn), sim.nowUs);
  });
  if (o.until === 'client-closed') sim.runWhile(() => cPeer.closed === undefined, limitUs);
  else sim.runWhile(() => closedUs === undefined, limitUs);

  const dir = (from: BulkPeer, to: BulkPeer): DirectionResult => {
    const match = to.rx.bytes === from.tx.totalBytes && to.rx.sha256() === from.tx.sha256();
    return {
      sentBytes: from.tx.totalBytes,
      receivedBytes: to.rx.bytes,
      sentSha256: from.tx.sha256(),
      receivedSha256: to.rx.sha256(),
      match,
      prefix: match || isPrefix(from.payloadSeed, from.tx.totalBytes, to.rx),
    };
  };
  const c2s = dir(cPeer, sPeer);
  const s2c = dir(sPeer, cPeer);
  let reason: string | undefined;
  if (o.until === 'client-closed' && cPeer.closed !== undefined) {
    reason = cPeer.closed === 'closed' && c2s.match && s2c.match ? undefined
      : `client connection ended: ${cPeer.closed}; received ${s2c.receivedBytes}/${s2c.sentBytes} bytes${s2c.prefix ? ' (an exact prefix)' : ' (NOT a prefix of what was sent)'}`;
  } else if (closedUs === undefined) {
    const states = [client, server].map((n) => `${n.name}: ${n.as<Host>().tcpConnections().map((c) => c.state).join(',') || 'none'}`).join('; ');
    reason = `not closed within ${limitUs} µs of virtual time (${states})`;
  } else if (cPeer.closed !== 'closed' || sPeer.closed !== 'closed') {
    reason = `connection ended abnormally: client ${cPeer.closed}, server ${sPeer.closed}`;
  } else if (!c2s.match || !s2c.match) {
    reason = `byte streams differ: client→server ${c2s.receivedBytes}/${c2s.sentBytes}${c2s.match ? '' : ' MISMATCH'}, server→client ${s2c.receivedBytes}/${s2c.sentBytes}${s2c.match ? '' : ' MISMATCH'}`;
  }
  const t = observer.totals();
  return {
    seed: o.seed,
    ok: reason === undefined,
    reason,
    startUs,
    completeUs,
    closedUs,
    clientToServer: c2s,
    serverToClient: s2c,
    clientClose: cPeer.closed,
    serverClose: sPeer.closed,
    wire: { segments: t.segments, retransmits: t.retransmits, rst: t.rst, syn: t.syn, fin: t.fin, firstRstUs },
    counters: sim.counters(),
    traceHash: sim.traceHash(),
    events,
    pcap,
    sim,
  };
}
