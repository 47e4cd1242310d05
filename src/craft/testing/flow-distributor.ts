// An ECMP-like front for several active splicers in the simulator (test support): port 0
// faces the LAN, ports 1..N the splicers, which all use the one service MAC and address.
// Frames for the service MAC go to one live splicer: a client's flow (to the service port)
// by a hash of its address and port; a back end's flow (to an ephemeral port) to the
// splicer owning that port range, or by hash when the owner is withdrawn. Broadcasts reach
// every splicer; ICMP to the service address reaches one, by a hash of the source address
// (as a router's ECMP hash does for packets without ports); splicer↔splicer frames (their own
// MACs, the control channel) are switched between their ports. `withdraw(i)` models a
// routing daemon removing a failed next hop, or (`adopt`) a live splicer taking over the
// lost one's address as the lab does.
import type { FrameEndpoint, OutgoingFrame } from '../../stack/endpoint.js';

export interface FlowDistributorConfig {
  serviceMac: Uint8Array;
  servicePort: number;
  splicers: number;
  /** Ephemeral port range of splicer i (1-based port index i+1): [low, high]. */
  portRange: (i: number) => [number, number];
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) >>> 0;
}

export class FlowDistributor implements FrameEndpoint {
  private readonly out: OutgoingFrame[] = [];
  private readonly live: boolean[];
  private readonly ownMacs = new Map<string, number>();
  readonly delivered: number[];

  constructor(private readonly cfg: FlowDistributorConfig) {
    this.live = Array.from({ length: cfg.splicers }, () => true);
    this.delivered = Array.from({ length: cfg.splicers }, () => 0);
  }

  /** The splicer that now gets withdrawn splicer i's flows (adopt mode), if any. */
  private readonly adopter = new Map<number, number>();

  /**
   * A failed next hop goes. Default: a routing daemon withdraws it and every flow is hashed
   * again over the live ones (one connection's two directions may then reach different
   * splicers). `adopt`: a live splicer takes over the lost one's address, as in the lab
   * (gratuitous ARP): the lost one's flows, both directions, go to the lowest live splicer
   * and every other flow stays where it was.
   */
  withdraw(i: number, mode: 'rehash' | 'adopt' = 'rehash'): void {
    this.live[i] = false;
    if (mode === 'adopt') {
      const to = this.liveList()[0];
      if (to !== undefined) this.adopter.set(i, to);
    }
  }
  isLive(i: number): boolean { return this.live[i] === true; }

  /** A lost splicer is back (its own announcement moves its next hop back to it). */
  restore(i: number): void {
    this.live[i] = true;
    this.adopter.delete(i);
  }

  /** Where a flow hashed (or owned) by splicer i goes: i, its adopter, or undefined (rehash). */
  private resolve(i: number): number | undefined {
    for (let hops = 0; hops <= this.cfg.splicers; hops++) {
      if (this.live[i]) return i;
      const a = this.adopter.get(i);
      if (a === undefined) return undefined;
      i = a;
    }
    return undefined;
  }

  private liveList(): number[] {
    const l: number[] = [];
    for (let i = 0; i < this.live.length; i++) if (this.live[i]) l.push(i);
    return l;
  }

  private isService(f: Uint8Array): boolean {
    for (let i = 0; i < 6; i++) if (f[i] !== this.cfg.serviceMac[i]) return false;
    return true;
  }

  /** The splicer for a frame to the service MAC, or undefined to send it to all. */
  private pick(f: Uint8Array): number | undefined {
    const live = this.liveList();
    if (live.length === 0) return undefined;
    if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return undefined;                  // ARP: everyone
    const src = ((f[26]! << 24) | (f[27]! << 16) | (f[28]! << 8) | f[29]!) >>> 0;
    if (f[23] !== 6) return live[mix(src) % live.length];                                 // ICMP and the rest: an L3 hash, one splicer
    const t = 14 + (f[14]! & 15) * 4;
    const sport = (f[t]! << 8) | f[t + 1]!;
    const dport = (f[t + 2]! << 8) | f[t + 3]!;
    if (dport !== this.cfg.servicePort) {
      for (let i = 0; i < this.cfg.splicers; i++) {
        const [lo, hi] = this.cfg.portRange(i);
        if (dport < lo || dport > hi) continue;
        const to = this.resolve(i);
        if (to !== undefined) return to;
      }
      return live[mix(dport) % live.length];
    }
    const h = mix(src ^ Math.imul(sport, 0x9e3779b1));
    if (this.adopter.size > 0) {
      // Adopt mode: the hash over every next hop, as before the loss; a lost one's share is its adopter's.
      const to = this.resolve(h % this.cfg.splicers);
      if (to !== undefined) return to;
    }
    return live[h % live.length];
  }

  handleFrame(inPort: number, f: Uint8Array): void {
    if (f.length < 14) return;
    const dstKey = Array.from(f.subarray(0, 6)).join(':');
    if (inPort > 0) {
      if ((f[6]! & 1) === 0 && !this.isServiceSrc(f)) this.ownMacs.set(Array.from(f.subarray(6, 12)).join(':'), inPort);
      const own = this.ownMacs.get(dstKey);
      if (own !== undefined && own !== inPort) { this.out.push({ ifIndex: own, frame: f }); return; }
      this.out.push({ ifIndex: 0, frame: f });
      if ((f[0]! & 1) === 1) for (let p = 1; p <= this.cfg.splicers; p++) if (p !== inPort) this.out.push({ ifIndex: p, frame: f });
      return;
    }
    const own = this.ownMacs.get(dstKey);
    if (own !== undefined) { this.out.push({ ifIndex: own, frame: f }); return; }
    const i = (f[0]! & 1) === 0 && this.isService(f) ? this.pick(f) : undefined;
    if (i !== undefined) { this.delivered[i]!++; this.out.push({ ifIndex: i + 1, frame: f }); return; }
    for (let p = 1; p <= this.cfg.splicers; p++) if (this.live[p - 1]) this.out.push({ ifIndex: p, frame: f });
  }

  private isServiceSrc(f: Uint8Array): boolean {
    for (let i = 0; i < 6; i++) if (f[6 + i] !== this.cfg.serviceMac[i]) return false;
    return true;
  }

  handleTimeout(): void {}
  pollTransmit(): OutgoingFrame | undefined { return this.out.shift(); }
  pollDeadline(): number | undefined { return undefined; }
}
