// Built-in L2 boxes the simulator can place between hosts: a hub (every frame to
// every other port) and a learning switch (MAC table with ageing, floods unknown and
// broadcast destinations, optional port mirroring to a monitor port — the tap an
// ST-TCP backup uses). Both are sans-IO FrameEndpoints with bounded state.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';

const ETH_HEADER_BYTES = 14;

/** Frames a box has decided to send, waiting for the driver to poll them. Bounded. */
class Outbox {
  private readonly q: OutgoingFrame[] = [];
  private head = 0;
  constructor(private readonly maxFrames: number, private readonly onOverflow: () => void) {}

  push(ifIndex: number, frame: Uint8Array): void {
    if (this.q.length - this.head >= this.maxFrames) {
      this.onOverflow();
      return;
    }
    this.q.push({ ifIndex, frame });
  }

  shift(): OutgoingFrame | undefined {
    if (this.head >= this.q.length) return undefined;
    const f = this.q[this.head]!;
    this.head++;
    if (this.head === this.q.length) {
      this.q.length = 0;
      this.head = 0;
    }
    return f;
  }
}

export type BoxCounters = Record<string, number>;

function bump(c: BoxCounters, key: string, n = 1): void {
  c[key] = (c[key] ?? 0) + n;
}

function checkPort(ports: number, ifIndex: number): boolean {
  return Number.isInteger(ifIndex) && ifIndex >= 0 && ifIndex < ports;
}

export interface HubOptions {
  ports: number;
  /** Bound on frames waiting to be polled. Default 4096. */
  outboxFrames?: number;
}

/** A repeater: every frame goes out of every port except the one it came in on. */
export class Hub implements FrameEndpoint {
  readonly ports: number;
  private readonly counters: BoxCounters = {};
  private readonly out: Outbox;

  constructor(opts: HubOptions) {
    this.ports = opts.ports;
    this.out = new Outbox(opts.outboxFrames ?? 4096, () => bump(this.counters, 'drop-outbox-full'));
  }

  handleFrame(ifIndex: number, frame: Uint8Array, _nowUs: number): void {
    if (!checkPort(this.ports, ifIndex)) {
      bump(this.counters, 'drop-bad-port');
      return;
    }
    bump(this.counters, 'frames-in');
    for (let p = 0; p < this.ports; p++) if (p !== ifIndex) this.out.push(p, frame);
  }

  handleTimeout(_nowUs: number): void {}
  pollTransmit(): OutgoingFrame | undefined {
    return this.out.shift();
  }
  pollDeadline(): number | undefined {
    return undefined;
  }
  stats(): Readonly<BoxCounters> {
    return { ...this.counters };
  }
}

export type MirrorDirection = 'ingress' | 'egress' | 'both';

export interface MirrorConfig {
  /** Ports whose traffic is copied. */
  sources: number[];
  /** Frames received on a source port (ingress), sent out of it (egress), or both. */
  direction: MirrorDirection;
  /** The port copies go to. */
  monitor: number;
  /**
   * Whether the monitor port also works as a normal port (learns, forwards what it
   * receives, gets flooded and addressed frames). Default false: a pure tap; frames
   * arriving on it are dropped and counted. Either way it gets at most one copy of
   * each frame.
   */
  monitorForwarding?: boolean;
}

export interface SwitchOptions {
  ports: number;
  /** A learned MAC is forgotten after this long without a frame from it. Default 300 s (IEEE 802.1D). */
  ageingUs?: number;
  /** MAC table bound; the least recently refreshed entry is evicted when full. Default 1024. */
  macTableMax?: number;
  outboxFrames?: number;
  mirror?: MirrorConfig;
}

interface MacEntry {
  port: number;
  lastSeenUs: number;
}

/** An IEEE 802.1D-style transparent learning bridge with optional port mirroring. */
export class LearningSwitch implements FrameEndpoint {
  readonly ports: number;
  readonly ageingUs: number;
  readonly macTableMax: number;
  private mirror: MirrorConfig | undefined;
  // Insertion order = refresh order (entries are re-inserted on refresh), so the
  // first key is always the least recently seen: eviction and ageing are O(1).
  private readonly table = new Map<string, MacEntry>();
  private readonly counters: BoxCounters = {};
  private readonly out: Outbox;

  constructor(opts: SwitchOptions) {
    this.ports = opts.ports;
    this.ageingUs = opts.ageingUs ?? 300_000_000;
    this.macTableMax = opts.macTableMax ?? 1024;
    this.out = new Outbox(opts.outboxFrames ?? 4096, () => bump(this.counters, 'drop-outbox-full'));
    if (opts.mirror) this.setMirror(opts.mirror);
  }

  /** Installs (or with undefined, removes) the mirror session. */
  setMirror(m: MirrorConfig | undefined): void {
    if (m) {
      if (!checkPort(this.ports, m.monitor)) throw new RangeError(`mirror monitor port ${m.monitor} out of range`);
      for (const s of m.sources) {
        if (!checkPort(this.ports, s)) throw new RangeError(`mirror source port ${s} out of range`);
        if (s === m.monitor) throw new RangeError('a mirror source cannot be the monitor port');
      }
    }
    this.mirror = m ? { ...m, sources: [...m.sources] } : undefined;
  }

  handleFrame(inPort: number, frame: Uint8Array, nowUs: number): void {
    if (!checkPort(this.ports, inPort)) {
      bump(this.counters, 'drop-bad-port');
      return;
    }
    if (frame.length < ETH_HEADER_BYTES) {
      bump(this.counters, 'drop-runt');
      return;
    }
    const m = this.mirror;
    const monitor = m ? m.monitor : -1;
    const monitorIsPort = m ? m.monitorForwarding === true : true;
    if (inPort === monitor && !monitorIsPort) {
      bump(this.counters, 'drop-from-monitor');
      return;
    }
    bump(this.counters, 'frames-in');
    this.expire(nowUs);
    const src = macKey(frame, 6);
    const dst = macKey(frame, 0);
    // Learn the source (a multicast source address is invalid and never learned).
    if ((frame[6]! & 1) === 0) this.learn(src, inPort, nowUs);

    let outPorts: number[];
    const known = (frame[0]! & 1) === 0 ? this.table.get(dst) : undefined;
    if (known !== undefined) {
      // Filtering: a frame for a station on the port it came from goes nowhere.
      outPorts = known.port === inPort ? [] : [known.port];
      if (known.port === inPort) bump(this.counters, 'filtered');
      else bump(this.counters, 'forwarded');
    } else {
      outPorts = [];
      for (let p = 0; p < this.ports; p++) {
        if (p !== inPort && (p !== monitor || monitorIsPort)) outPorts.push(p);
      }
      bump(this.counters, 'flooded');
    }

    for (const p of outPorts) this.out.push(p, frame);
    if (m && !outPorts.includes(monitor) && inPort !== monitor) {
      const ingress = m.direction !== 'egress' && m.sources.includes(inPort);
      const egress = m.direction !== 'ingress' && outPorts.some((p) => m.sources.includes(p));
      if (ingress || egress) {
        this.out.push(monitor, frame);
        bump(this.counters, 'mirrored');
      }
    }
  }

  handleTimeout(_nowUs: number): void {}
  pollTransmit(): OutgoingFrame | undefined {
    return this.out.shift();
  }
  /** Ageing is checked lazily on each frame, so the switch never needs a timer. */
  pollDeadline(): number | undefined {
    return undefined;
  }

  /** The port a MAC (as "aa:bb:cc:dd:ee:ff") is learned on, if it is and has not aged out. */
  lookup(mac: string, nowUs: number): number | undefined {
    this.expire(nowUs);
    return this.table.get(mac.toLowerCase())?.port;
  }

  macTableSize(): number {
    return this.table.size;
  }

  stats(): Readonly<BoxCounters> {
    return { ...this.counters };
  }

  private learn(mac: string, port: number, nowUs: number): void {
    const e = this.table.get(mac);
    if (e) {
      if (e.port !== port) bump(this.counters, 'mac-moved');
      this.table.delete(mac);
    } else if (this.table.size >= this.macTableMax) {
      const oldest = this.table.keys().next().value as string;
      this.table.delete(oldest);
      bump(this.counters, 'mac-evicted');
    }
    this.table.set(mac, { port, lastSeenUs: nowUs });
  }

  private expire(nowUs: number): void {
    for (const [mac, e] of this.table) {
      if (nowUs - e.lastSeenUs < this.ageingUs) break;
      this.table.delete(mac);
      bump(this.counters, 'mac-aged');
    }
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function macKey(frame: Uint8Array, off: number): string {
  return `${HEX[frame[off]!]}:${HEX[frame[off + 1]!]}:${HEX[frame[off + 2]!]}:${HEX[frame[off + 3]!]}:${HEX[frame[off + 4]!]}:${HEX[frame[off + 5]!]}`;
}
