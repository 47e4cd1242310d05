// Point-to-point full-duplex links: configuration, and the state of one direction
// (transmitter busy/idle, bounded FIFO with tail drop, fault rules, counters).
// The timing itself (serialization, propagation) is driven by the simulator.
import type { SeededRng } from '../util/rng.js';
import type { FaultRule } from './faults.js';

export interface LinkConfig {
  /** One-way propagation delay, integer microseconds. */
  latencyUs: number;
  /** Transmit rate in bits per second; undefined = unlimited (no serialization delay, no queue). */
  bandwidthBps?: number;
  /** Frames that may wait behind the one being serialized (tail drop beyond). Default 1000. */
  queueFrames?: number;
  /** Bytes that may wait behind the one being serialized. Default unlimited. */
  queueBytes?: number;
  /**
   * Largest IP packet (Ethernet payload) carried: frames longer than mtuBytes + 14
   * (+ 4 with an 802.1Q tag) are dropped and counted. Default 1500.
   */
  mtuBytes?: number;
  /** Name in counters; default "<a>:<if>-<b>:<if>". */
  name?: string;
}

export const LINK_DIRECTION_STATS = [
  'sent', // accepted by the transmitter (on the wire now or queued)
  'delivered', // handed to the receiving node (or box)
  'bytes-delivered',
  'drop-queue', // tail drop: the FIFO was full
  'drop-mtu', // longer than the link's MTU allows
  'drop-partition', // the direction was partitioned
  'drop-fault', // a fault rule dropped it
  'drop-crash', // waiting in the queue of a node that crashed
  'drop-node-down', // arrived at a crashed node
  'drop-stalled', // arrived at a stalled node whose backlog was full
  'duplicated', // extra copies made by fault rules
] as const;

export type LinkDirectionStat = (typeof LINK_DIRECTION_STATS)[number];

/** Anything that wants to see frames at a port: a pcap writer, a protocol observer. */
export interface FrameSink {
  record(timeUs: number, frame: Uint8Array): void;
}

/** An endpoint of a link: a node's interface. */
export interface PortRef {
  readonly node: string;
  readonly ifIndex: number;
}

export interface QueuedFrame {
  frame: Uint8Array;
  /** Incarnation of the sending node when the frame was queued. */
  incarnation: number;
}

/** One direction of a link; owned and driven by the simulator. */
export class LinkDirection {
  /** Counter prefix, e.g. "h1:0>sw:2". */
  readonly key: string;
  readonly rules: FaultRule[] = [];
  /** Partitioned: everything leaving the transmitter is dropped. */
  blocked = false;
  /** True while a frame is being serialized. */
  busy = false;
  readonly queue: QueuedFrame[] = [];
  queueHead = 0;
  queuedBytes = 0;
  /** Largest number of frames that waited at once. */
  maxQueueFrames = 0;
  /** The frame being serialized now (undefined when idle). */
  onWire: Uint8Array | undefined;
  readonly stats: Record<LinkDirectionStat, number>;
  /** Taps at the sending port (frames as they go onto the wire). */
  readonly captureTx: FrameSink[] = [];
  /** Taps at the receiving port (frames as they arrive). */
  readonly captureRx: FrameSink[] = [];

  constructor(
    readonly link: SimLink,
    readonly from: PortRef,
    readonly to: PortRef,
    readonly rng: SeededRng,
  ) {
    this.key = `${from.node}:${from.ifIndex}>${to.node}:${to.ifIndex}`;
    this.stats = Object.fromEntries(LINK_DIRECTION_STATS.map((s) => [s, 0])) as Record<LinkDirectionStat, number>;
  }

  queuedFrames(): number {
    return this.queue.length - this.queueHead;
  }

  enqueue(q: QueuedFrame): void {
    this.queue.push(q);
    this.queuedBytes += q.frame.length;
    const n = this.queuedFrames();
    if (n > this.maxQueueFrames) this.maxQueueFrames = n;
  }

  dequeue(): QueuedFrame | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const q = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined as unknown as QueuedFrame;
    this.queueHead++;
    if (this.queueHead === this.queue.length || this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.queuedBytes -= q.frame.length;
    return q;
  }

  /** Empties the queue, returning how many frames were discarded. */
  purge(): number {
    const n = this.queuedFrames();
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
    return n;
  }
}

/** A full-duplex point-to-point link between two ports. */
export class SimLink {
  readonly name: string;
  readonly latencyUs: number;
  readonly bandwidthBps: number | undefined;
  readonly queueFrames: number;
  readonly queueBytes: number;
  readonly mtuBytes: number;
  /** a → b */
  readonly ab: LinkDirection;
  /** b → a */
  readonly ba: LinkDirection;

  constructor(readonly a: PortRef, readonly b: PortRef, cfg: LinkConfig, rngAb: SeededRng, rngBa: SeededRng) {
    const intUs = (n: string, v: number): void => {
      if (!(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`link ${n} must be a non-negative integer, got ${v}`);
    };
    intUs('latencyUs', cfg.latencyUs);
    if (cfg.bandwidthBps !== undefined && !(cfg.bandwidthBps > 0 && Number.isFinite(cfg.bandwidthBps))) {
      throw new RangeError(`link bandwidthBps must be positive, got ${cfg.bandwidthBps}`);
    }
    this.name = cfg.name ?? `${a.node}:${a.ifIndex}-${b.node}:${b.ifIndex}`;
    this.latencyUs = cfg.latencyUs;
    this.bandwidthBps = cfg.bandwidthBps;
    this.queueFrames = cfg.queueFrames ?? 1000;
    this.queueBytes = cfg.queueBytes ?? Number.POSITIVE_INFINITY;
    this.mtuBytes = cfg.mtuBytes ?? 1500;
    intUs('queueFrames', this.queueFrames);
    intUs('mtuBytes', this.mtuBytes);
    this.ab = new LinkDirection(this, a, b, rngAb);
    this.ba = new LinkDirection(this, b, a, rngBa);
  }

  /** Serialization time of a frame, rounded up to whole microseconds. */
  txTimeUs(frameBytes: number): number {
    if (this.bandwidthBps === undefined) return 0;
    return Math.ceil((frameBytes * 8 * 1_000_000) / this.bandwidthBps);
  }

  /** Longest frame this link carries (Ethernet header, optional 802.1Q tag, MTU). */
  maxFrameBytes(frame: Uint8Array): number {
    const tagged = frame.length >= 14 && frame[12] === 0x81 && frame[13] === 0x00;
    return this.mtuBytes + 14 + (tagged ? 4 : 0);
  }

  /** The direction that leaves `port`. */
  directionFrom(port: PortRef): LinkDirection {
    return samePort(port, this.a) ? this.ab : this.ba;
  }
}

export function samePort(x: PortRef, y: PortRef): boolean {
  return x.node === y.node && x.ifIndex === y.ifIndex;
}
