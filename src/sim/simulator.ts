// The deterministic network simulator: a virtual clock (integer µs), one event
// queue, one seeded Rng that every random choice is drawn from, nodes (FrameEndpoints)
// driven exactly per the endpoint contract, links, faults, crashes, captures and the
// runner API. Boxes (switch, hub) live in boxes.ts; fault rules in faults.ts.
import type { FrameEndpoint } from '../stack/endpoint.js';
import { SeededRng } from '../util/rng.js';
import { EventQueue, type QueuedEvent } from './event-queue.js';
import { FaultRule, applyRules, type FaultSpec } from './faults.js';
import { LinkDirection, SimLink, type FrameSink, type LinkConfig, type LinkDirectionStat, type PortRef } from './link.js';
import { PcapWriter, type PcapOptions } from './pcap.js';
import { Trace } from './trace.js';

export interface SimulatorOptions {
  seed: number;
  /** Bound on events processed by one run* call. Default 50 million. */
  maxEventsPerRun?: number;
  /** Bound on frames drained from one node after one handle* call. Default 1 million. */
  maxFramesPerDrain?: number;
  /** Bound on timer firings of one node at one virtual time (a busy-looping node). Default 10,000. */
  maxTimerFiringsPerInstant?: number;
}

/** Frames a stalled node's backlog holds (a socket buffer's worth); more are dropped. */
const STALL_QUEUE_MAX = 4096;

/** What a node factory gets: a fresh Rng fork per incarnation. */
export interface NodeContext {
  name: string;
  rng: SeededRng;
  nowUs: number;
  /** 0 for the first object, +1 per restart. */
  incarnation: number;
}

export type NodeFactory = (ctx: NodeContext) => FrameEndpoint;

/** A node as the simulator tracks it. */
export class SimNode {
  alive = true;
  incarnation = 0;
  /** The deadline a timer event is pending for (undefined: none). */
  timerDeadlineUs: number | undefined;
  /** The node is stalled (not running) until this time: frames wait for it, timers fire late. */
  stalledUntilUs: number | undefined;
  /** How many frames may wait during the current stall. */
  stallBacklogMax = 0;
  /** Frames that reached the node while it was stalled, in arrival order. */
  readonly stallQueue: Array<{ ifIndex: number; frame: Uint8Array }> = [];
  firingsAtInstant = 0;
  lastFiringUs = -1;
  readonly ports = new Map<number, SimLink>();

  constructor(
    readonly name: string,
    readonly index: number,
    public endpoint: FrameEndpoint,
    readonly rngRoot: SeededRng,
    public factory: NodeFactory | undefined,
  ) {}

  /** The current endpoint, typed by the caller (e.g. sim.node('h1').as<Host>()). */
  as<T extends FrameEndpoint>(): T {
    return this.endpoint as T;
  }
}

type SimEvent =
  | (QueuedEvent & { kind: 'deliver'; dir: LinkDirection; frame: Uint8Array })
  | (QueuedEvent & { kind: 'tx-done'; dir: LinkDirection })
  | (QueuedEvent & { kind: 'timer'; node: SimNode; incarnation: number; deadlineUs: number })
  | (QueuedEvent & { kind: 'call'; fn: (sim: Simulator) => void });

/** Where a fault or partition applies: a whole link, one direction, or a port's egress/ingress. */
export type FaultTarget =
  | SimLink
  | LinkDirection
  | { node: string; ifIndex: number; direction?: 'egress' | 'ingress' | 'both' };

export type PortSpec = readonly [node: string | SimNode, ifIndex: number];

export class SimLimitError extends Error {
  override readonly name = 'SimLimitError';
}

export class Simulator {
  readonly seed: number;
  /** The root of all randomness in the run. */
  readonly rng: SeededRng;
  readonly trace = new Trace();
  private now = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes = new Map<string, SimNode>();
  private readonly links: SimLink[] = [];
  private readonly maxEventsPerRun: number;
  private readonly maxFramesPerDrain: number;
  private readonly maxTimerFiringsPerInstant: number;
  private eventsProcessed = 0;

  constructor(opts: SimulatorOptions) {
    this.seed = opts.seed >>> 0;
    this.rng = new SeededRng(this.seed);
    this.maxEventsPerRun = opts.maxEventsPerRun ?? 50_000_000;
    this.maxFramesPerDrain = opts.maxFramesPerDrain ?? 1_000_000;
    this.maxTimerFiringsPerInstant = opts.maxTimerFiringsPerInstant ?? 10_000;
  }

  /** Current virtual time, integer microseconds. */
  get nowUs(): number {
    return this.now;
  }

  /** A new independent Rng stream drawn from the run's seed (for hosts, ISN keys, workloads). */
  forkRng(): SeededRng {
    return this.rng.fork();
  }

  // ---------------------------------------------------------------- topology

  /**
   * Adds a node. Pass an endpoint, or a factory that is called now (and again on
   * every restart) with a fresh Rng fork.
   */
  addNode(name: string, endpointOrFactory: FrameEndpoint | NodeFactory, opts: { restart?: NodeFactory } = {}): SimNode {
    if (this.nodes.has(name)) throw new Error(`node ${name} already exists`);
    const rngRoot = this.rng.fork();
    let endpoint: FrameEndpoint;
    let factory = opts.restart;
    if (typeof endpointOrFactory === 'function') {
      factory = factory ?? endpointOrFactory;
      endpoint = endpointOrFactory({ name, rng: rngRoot.fork(), nowUs: this.now, incarnation: 0 });
    } else {
      endpoint = endpointOrFactory;
    }
    const node = new SimNode(name, this.nodes.size, endpoint, rngRoot, factory);
    this.nodes.set(name, node);
    this.flush(node);
    return node;
  }

  node(name: string | SimNode): SimNode {
    if (typeof name !== 'string') return name;
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  allNodes(): SimNode[] {
    return [...this.nodes.values()];
  }

  /** Connects two ports with a full-duplex link. */
  link(a: PortSpec, b: PortSpec, cfg: LinkConfig): SimLink {
    const na = this.node(a[0]);
    const nb = this.node(b[0]);
    for (const [n, i] of [[na, a[1]], [nb, b[1]]] as const) {
      if (!(Number.isInteger(i) && i >= 0)) throw new RangeError(`bad ifIndex ${i}`);
      if (n.ports.has(i)) throw new Error(`port ${n.name}:${i} already has a link`);
    }
    if (na === nb && a[1] === b[1]) throw new Error('a link needs two different ports');
    const link = new SimLink({ node: na.name, ifIndex: a[1] }, { node: nb.name, ifIndex: b[1] }, cfg, this.rng.fork(), this.rng.fork());
    na.ports.set(a[1], link);
    nb.ports.set(b[1], link);
    this.links.push(link);
    return link;
  }

  allLinks(): readonly SimLink[] {
    return this.links;
  }

  /** The link attached to a port, if any. */
  linkAt(node: string | SimNode, ifIndex: number): SimLink | undefined {
    return this.node(node).ports.get(ifIndex);
  }

  // ---------------------------------------------------------------- faults

  /** Installs a fault rule on every direction the target names; returns the installed rules. */
  addFault(target: FaultTarget, spec: FaultSpec): FaultRule[] {
    return this.directions(target).map((d) => {
      const r = new FaultRule(spec, d.rules.length);
      d.rules.push(r);
      return r;
    });
  }

  /** Partitions the target's directions now (one-way for a direction or a port's egress/ingress). */
  partition(target: FaultTarget): void {
    for (const d of this.directions(target)) d.blocked = true;
  }

  heal(target: FaultTarget): void {
    for (const d of this.directions(target)) d.blocked = false;
  }

  partitionAt(tUs: number, target: FaultTarget, healAtUs?: number): void {
    this.at(tUs, () => this.partition(target));
    if (healAtUs !== undefined) this.at(healAtUs, () => this.heal(target));
  }

  healAt(tUs: number, target: FaultTarget): void {
    this.at(tUs, () => this.heal(target));
  }

  private directions(t: FaultTarget): LinkDirection[] {
    if (t instanceof SimLink) return [t.ab, t.ba];
    if (t instanceof LinkDirection) return [t];
    const link = this.linkAt(t.node, t.ifIndex);
    if (!link) throw new Error(`no link at ${t.node}:${t.ifIndex}`);
    const port = { node: t.node, ifIndex: t.ifIndex };
    const egress = link.directionFrom(port);
    const ingress = egress === link.ab ? link.ba : link.ab;
    const which = t.direction ?? 'both';
    return which === 'egress' ? [egress] : which === 'ingress' ? [ingress] : [egress, ingress];
  }

  // ---------------------------------------------------------------- crash / restart

  /** The node stops now: it receives and sends nothing, its timers and queued frames are discarded. */
  crash(name: string | SimNode): void {
    const node = this.node(name);
    if (!node.alive) return;
    node.alive = false;
    node.incarnation++;
    node.timerDeadlineUs = undefined;
    node.stalledUntilUs = undefined;
    node.stallQueue.length = 0;
    this.trace.count(`node.${node.name}.crash`);
    for (const [ifIndex, link] of node.ports) {
      const d = link.directionFrom({ node: node.name, ifIndex });
      const n = d.purge();
      if (n > 0) this.bump(d, 'drop-crash', n);
    }
  }

  /** Brings a crashed node back with a fresh endpoint from `factory` (or the node's own factory). */
  restart(name: string | SimNode, factory?: NodeFactory): FrameEndpoint {
    const node = this.node(name);
    if (node.alive) throw new Error(`node ${node.name} is running; crash it first`);
    const f = factory ?? node.factory;
    if (!f) throw new Error(`node ${node.name} has no factory to restart from`);
    node.factory = f;
    node.endpoint = f({ name: node.name, rng: node.rngRoot.fork(), nowUs: this.now, incarnation: node.incarnation });
    node.alive = true;
    this.trace.count(`node.${node.name}.restart`);
    this.flush(node);
    return node.endpoint;
  }

  /**
   * The node stops running for `durationUs` without losing anything (a GC pause, CPU
   * starvation): frames that reach it wait, its timer fires late. At the end, as in an
   * event loop, a timer that fell due runs first and the waiting frames after it.
   * At most `backlogFrames` (default STALL_QUEUE_MAX) frames wait; more are dropped, as an
   * overflowing socket buffer or TAP queue would.
   */
  stall(name: string | SimNode, durationUs: number, backlogFrames = STALL_QUEUE_MAX): void {
    const node = this.node(name);
    if (!node.alive) return;
    const until = this.now + durationUs;
    if (node.stalledUntilUs !== undefined && node.stalledUntilUs >= until) return;
    node.stalledUntilUs = until;
    node.stallBacklogMax = Math.max(0, Math.min(backlogFrames, STALL_QUEUE_MAX));
    this.trace.count(`node.${node.name}.stall`);
    const incarnation = node.incarnation;
    this.at(until, () => this.endStall(node, incarnation, until));
  }

  stallAt(tUs: number, name: string | SimNode, durationUs: number, backlogFrames?: number): void {
    this.at(tUs, () => this.stall(name, durationUs, backlogFrames));
  }

  private endStall(node: SimNode, incarnation: number, until: number): void {
    // Extended by a later stall, or ended by a crash (which discarded the backlog).
    if (node.stalledUntilUs !== until || node.incarnation !== incarnation) return;
    node.stalledUntilUs = undefined;
    if (node.timerDeadlineUs !== undefined && node.timerDeadlineUs <= this.now) {
      node.timerDeadlineUs = undefined;
      node.endpoint.handleTimeout(this.now);
      this.flush(node);
    }
    for (const q of node.stallQueue.splice(0)) {
      if (!node.alive) break;
      node.endpoint.handleFrame(q.ifIndex, q.frame, this.now);
      this.flush(node);
    }
  }

  crashAt(tUs: number, name: string | SimNode): void {
    this.at(tUs, () => this.crash(name));
  }

  restartAt(tUs: number, name: string | SimNode, factory?: NodeFactory): void {
    this.at(tUs, () => {
      this.restart(name, factory);
    });
  }

  // ---------------------------------------------------------------- captures

  /** Records every frame leaving and arriving at a port (as seen on the wire there) in pcap format. */
  capturePort(name: string | SimNode, ifIndex: number, opts?: PcapOptions): PcapWriter {
    const w = new PcapWriter(opts);
    this.tapPort(name, ifIndex, w, 'both');
    return w;
  }

  /**
   * Shows a sink every frame leaving the port (tx: when it starts onto the wire) and/or
   * arriving at it (rx: at delivery, even to a crashed node). Sinks must not throw.
   */
  tapPort(name: string | SimNode, ifIndex: number, sink: FrameSink, which: 'tx' | 'rx' | 'both' = 'both'): void {
    const node = this.node(name);
    const link = node.ports.get(ifIndex);
    if (!link) throw new Error(`no link at ${node.name}:${ifIndex}; tap a port after linking it`);
    const out = link.directionFrom({ node: node.name, ifIndex });
    const inc = out === link.ab ? link.ba : link.ab;
    if (which !== 'rx') out.captureTx.push(sink);
    if (which !== 'tx') inc.captureRx.push(sink);
  }

  /** Records a link as seen from its `side` end (default a). */
  captureLink(link: SimLink, side: 'a' | 'b' = 'a', opts?: PcapOptions): PcapWriter {
    const p = side === 'a' ? link.a : link.b;
    return this.capturePort(p.node, p.ifIndex, opts);
  }

  // ---------------------------------------------------------------- driving nodes

  /** Calls fn on a node's endpoint now (outside any event), then drains what it wants to send. */
  act<T>(name: string | SimNode, fn: (endpoint: FrameEndpoint, nowUs: number) => T): T {
    const node = this.node(name);
    if (!node.alive) throw new Error(`node ${node.name} is down`);
    const r = fn(node.endpoint, this.now);
    this.flush(node);
    return r;
  }

  /** Schedules fn at virtual time tUs; afterwards every running node is drained. */
  at(tUs: number, fn: (sim: Simulator) => void): void {
    if (tUs < this.now) throw new RangeError(`cannot schedule at ${tUs} µs, now is ${this.now} µs`);
    this.queue.push({ kind: 'call', timeUs: tUs, seq: 0, fn });
  }

  /** Drains every running node and re-arms its timer (after calls made on endpoints directly). */
  flushAll(): void {
    for (const n of this.nodes.values()) if (n.alive) this.flush(n);
  }

  private flush(node: SimNode): void {
    let n = 0;
    for (;;) {
      if (!node.alive) return; // crashed from inside a callback: sends nothing more
      const out = node.endpoint.pollTransmit();
      if (out === undefined) break;
      if (++n > this.maxFramesPerDrain) {
        throw new SimLimitError(`node ${node.name} produced more than ${this.maxFramesPerDrain} frames in one drain at ${this.now} µs`);
      }
      this.transmit(node, out.ifIndex, out.frame);
    }
    this.armTimer(node);
  }

  private armTimer(node: SimNode): void {
    const d = node.endpoint.pollDeadline();
    if (d === undefined) {
      node.timerDeadlineUs = undefined;
      return;
    }
    if (!Number.isSafeInteger(d)) {
      throw new RangeError(`node ${node.name} returned deadline ${d}; deadlines are integer microseconds`);
    }
    if (d === node.timerDeadlineUs) return;
    node.timerDeadlineUs = d;
    this.queue.push({ kind: 'timer', timeUs: Math.max(d, this.now), seq: 0, node, incarnation: node.incarnation, deadlineUs: d });
  }

  // ---------------------------------------------------------------- links

  private transmit(node: SimNode, ifIndex: number, frame: Uint8Array): void {
    const link = node.ports.get(ifIndex);
    if (!link) {
      this.trace.count(`node.${node.name}.drop-no-link`);
      return;
    }
    const d = link.directionFrom({ node: node.name, ifIndex });
    if (frame.length > link.maxFrameBytes(frame)) {
      this.bump(d, 'drop-mtu');
      return;
    }
    // The link owns its own copy: the sender may reuse its buffer.
    const copy = frame.slice();
    if (link.bandwidthBps === undefined) {
      this.bump(d, 'sent');
      this.recordCaptures(d.captureTx, copy);
      this.propagate(d, copy);
      return;
    }
    if (!d.busy) {
      this.bump(d, 'sent');
      this.startSerializing(d, copy);
      return;
    }
    if (d.queuedFrames() >= link.queueFrames || d.queuedBytes + copy.length > link.queueBytes) {
      this.bump(d, 'drop-queue'); // tail drop
      return;
    }
    this.bump(d, 'sent');
    d.enqueue({ frame: copy, incarnation: node.incarnation });
  }

  private startSerializing(d: LinkDirection, frame: Uint8Array): void {
    d.busy = true;
    d.onWire = frame;
    this.recordCaptures(d.captureTx, frame);
    this.queue.push({ kind: 'tx-done', timeUs: this.now + d.link.txTimeUs(frame.length), seq: 0, dir: d });
  }

  private onTxDone(d: LinkDirection): void {
    const frame = d.onWire!;
    d.onWire = undefined;
    d.busy = false;
    this.propagate(d, frame);
    const next = d.dequeue();
    if (next) this.startSerializing(d, next.frame);
  }

  /** The frame has left the transmitter: partition, fault rules, then propagation delay. */
  private propagate(d: LinkDirection, frame: Uint8Array): void {
    if (d.blocked) {
      this.bump(d, 'drop-partition');
      return;
    }
    const outs = d.rules.length === 0 ? [{ frame, extraDelayUs: 0 }] : applyRules(d.rules, frame, d.rng, this.now);
    if (outs.length === 0) {
      this.bump(d, 'drop-fault');
      return;
    }
    if (outs.length > 1) this.bump(d, 'duplicated', outs.length - 1);
    for (const o of outs) {
      if (!(Number.isSafeInteger(o.extraDelayUs) && o.extraDelayUs >= 0)) {
        throw new RangeError(`fault rule on ${d.key} produced delay ${o.extraDelayUs}`);
      }
      this.queue.push({ kind: 'deliver', timeUs: this.now + d.link.latencyUs + o.extraDelayUs, seq: 0, dir: d, frame: o.frame });
    }
  }

  private deliver(d: LinkDirection, frame: Uint8Array): void {
    this.recordCaptures(d.captureRx, frame);
    const node = this.nodes.get(d.to.node)!;
    if (!node.alive) {
      this.bump(d, 'drop-node-down');
      return;
    }
    if (node.stalledUntilUs !== undefined) {
      if (node.stallQueue.length >= node.stallBacklogMax) { this.bump(d, 'drop-stalled'); return; }
      node.stallQueue.push({ ifIndex: d.to.ifIndex, frame });
    }
    this.bump(d, 'delivered');
    this.bump(d, 'bytes-delivered', frame.length);
    this.trace.recordDelivery(this.now, node.index, d.to.ifIndex, frame);
    if (node.stalledUntilUs !== undefined) return;
    node.endpoint.handleFrame(d.to.ifIndex, frame, this.now);
    this.flush(node);
  }

  private onTimer(node: SimNode, incarnation: number, deadlineUs: number): void {
    // Stale: the node crashed since, or its deadline changed (a newer event exists).
    if (!node.alive || incarnation !== node.incarnation || deadlineUs !== node.timerDeadlineUs) return;
    if (node.stalledUntilUs !== undefined) return;  // fires when the stall ends (endStall)
    if (this.now === node.lastFiringUs) {
      if (++node.firingsAtInstant > this.maxTimerFiringsPerInstant) {
        throw new SimLimitError(`node ${node.name} asked for its timer more than ${this.maxTimerFiringsPerInstant} times at ${this.now} µs`);
      }
    } else {
      node.lastFiringUs = this.now;
      node.firingsAtInstant = 0;
    }
    node.timerDeadlineUs = undefined;
    node.endpoint.handleTimeout(this.now);
    this.flush(node);
  }

  private recordCaptures(ws: FrameSink[], frame: Uint8Array): void {
    for (const w of ws) w.record(this.now, frame);
  }

  private bump(d: LinkDirection, stat: LinkDirectionStat, n = 1): void {
    d.stats[stat] += n; // folded into counters() as link.<key>.<stat>
  }

  // ---------------------------------------------------------------- running

  /** Processes the next event; false if there is none. */
  step(): boolean {
    const ev = this.queue.pop();
    if (!ev) return false;
    this.now = ev.timeUs;
    this.eventsProcessed++;
    switch (ev.kind) {
      case 'deliver': this.deliver(ev.dir, ev.frame); break;
      case 'tx-done': this.onTxDone(ev.dir); break;
      case 'timer': this.onTimer(ev.node, ev.incarnation, ev.deadlineUs); break;
      case 'call': ev.fn(this); this.flushAll(); break;
    }
    return true;
  }

  /** Runs every event up to and including time tUs, then sets the clock to tUs. */
  runUntil(tUs: number): void {
    this.checkTarget(tUs);
    let budget = this.maxEventsPerRun;
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.timeUs > tUs) break;
      if (budget-- <= 0) this.limit('runUntil');
      this.step();
    }
    this.now = tUs;
  }

  /** Runs for `durationUs` of virtual time from now. */
  runFor(durationUs: number): void {
    this.runUntil(this.now + durationUs);
  }

  /**
   * Runs until no event is pending, but not past time `limitUs`.
   * Returns true if the simulation went idle, false if the limit came first (clock = limitUs).
   */
  runUntilIdle(limitUs: number): boolean {
    this.checkTarget(limitUs);
    let budget = this.maxEventsPerRun;
    for (;;) {
      const next = this.queue.peek();
      if (!next) return true;
      if (next.timeUs > limitUs) {
        this.now = limitUs;
        return false;
      }
      if (budget-- <= 0) this.limit('runUntilIdle');
      this.step();
    }
  }

  /**
   * Runs while pred() holds (checked before every event), but not past time limitUs.
   * Returns true if pred became false, false if the limit came or the simulation went idle first.
   */
  runWhile(pred: () => boolean, limitUs: number): boolean {
    this.checkTarget(limitUs);
    let budget = this.maxEventsPerRun;
    for (;;) {
      if (!pred()) return true;
      const next = this.queue.peek();
      if (!next) return false;
      if (next.timeUs > limitUs) {
        this.now = limitUs;
        return false;
      }
      if (budget-- <= 0) this.limit('runWhile');
      this.step();
    }
  }

  /** Events still waiting (including stale timers). */
  pendingEvents(): number {
    return this.queue.size;
  }

  totalEvents(): number {
    return this.eventsProcessed;
  }

  /** Every counter (links, nodes, fault rules), keys sorted. */
  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.trace.counterSnapshot() };
    for (const l of this.links) {
      for (const d of [l.ab, l.ba]) {
        for (const [k, v] of Object.entries(d.stats)) if (v !== 0) out[`link.${d.key}.${k}`] = v;
        for (const r of d.rules) {
          for (const [k, v] of Object.entries(r.stats())) out[`fault.${d.key}.${r.label}.${k}`] = v;
        }
      }
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Hex SHA-256 over every frame delivered so far (time, receiver, bytes). */
  traceHash(): string {
    return this.trace.hashHex();
  }

  private checkTarget(tUs: number): void {
    if (!Number.isSafeInteger(tUs)) throw new RangeError(`times are integer microseconds, got ${tUs}`);
    if (tUs < this.now) throw new RangeError(`cannot run to ${tUs} µs, now is ${this.now} µs`);
  }

  private limit(what: string): never {
    throw new SimLimitError(`${what}: more than ${this.maxEventsPerRun} events in one run at ${this.now} µs (seed ${this.seed})`);
  }
}

