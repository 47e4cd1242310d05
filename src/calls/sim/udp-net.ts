// A small in-process datagram network in virtual time for seeded call tests:
// endpoints bound to "ip:port", per-datagram latency with seeded jitter, optional
// loss, and hosts that can be crashed (their sockets vanish). No real I/O.
import type { SeededRng } from '../../util/rng.js';

export type DatagramHandler = (from: string, bytes: Uint8Array, nowUs: number) => void;

interface Delivery { atUs: number; seq: number; to: string; from: string; bytes: Uint8Array }

export interface NetConfig {
  readonly latencyUs: number;
  readonly jitterUs: number;
  /** Probability a datagram is dropped (0 = none). */
  readonly loss: number;
  readonly queueMax: number;
}

export class UdpNet {
  private readonly sockets = new Map<string, DatagramHandler>();
  private readonly heap: Delivery[] = [];
  private seq = 0;
  readonly counters = { sent: 0, delivered: 0, dropped: 0, unreachable: 0 };

  constructor(private readonly cfg: NetConfig, private readonly rng: SeededRng) {}

  private readonly cut = new Set<string>();

  /** Drops every datagram between host `a` and each of `others` (both ways) until healed. */
  partition(a: string, others: readonly string[]): void { for (const b of others) { this.cut.add(`${a}|${b}`); this.cut.add(`${b}|${a}`); } }
  heal(): void { this.cut.clear(); this.stalls.clear(); }

  private readonly stalls = new Map<string, number>();

  /**
   * Holds every datagram host `from` sends to each of `to` until `untilUs`, then delivers
   * them (a peer too busy to send: its outputs leave late, in order). Ends at heal() too.
   */
  stall(from: string, to: readonly string[], untilUs: number): void { for (const b of to) this.stalls.set(`${from}|${b}`, untilUs); }

  bind(addr: string, h: DatagramHandler): void { this.sockets.set(addr, h); }
  unbindHost(ip: string): void { for (const k of [...this.sockets.keys()]) if (k.startsWith(`${ip}:`)) this.sockets.delete(k); }

  send(from: string, to: string, bytes: Uint8Array, nowUs: number): void {
    this.counters.sent++;
    if (this.cut.size > 0 && this.cut.has(`${from.slice(0, from.lastIndexOf(':'))}|${to.slice(0, to.lastIndexOf(':'))}`)) { this.counters.dropped++; return; }
    if (this.cfg.loss > 0 && this.rng.nextFloat() < this.cfg.loss) { this.counters.dropped++; return; }
    if (this.heap.length >= this.cfg.queueMax) { this.counters.dropped++; return; }
    if (this.stalls.size > 0) {
      const until = this.stalls.get(`${from.slice(0, from.lastIndexOf(':'))}|${to.slice(0, to.lastIndexOf(':'))}`);
      if (until !== undefined && nowUs < until) nowUs = until;
    }
    const atUs = nowUs + this.cfg.latencyUs + (this.cfg.jitterUs > 0 ? this.rng.nextInt(this.cfg.jitterUs) : 0);
    this.push({ atUs, seq: this.seq++, to, from, bytes });
  }

  nextAtUs(): number | undefined { return this.heap[0]?.atUs; }

  /** Delivers every datagram due at or before `nowUs`. */
  deliver(nowUs: number): void {
    while (this.heap.length > 0 && this.heap[0]!.atUs <= nowUs) {
      const d = this.pop();
      const h = this.sockets.get(d.to);
      if (!h) { this.counters.unreachable++; continue; }
      this.counters.delivered++;
      h(d.from, d.bytes, d.atUs);
    }
  }

  private less(a: Delivery, b: Delivery): boolean { return a.atUs < b.atUs || (a.atUs === b.atUs && a.seq < b.seq); }

  private push(d: Delivery): void {
    const h = this.heap; h.push(d);
    let i = h.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(h[i]!, h[p]!)) break; [h[i], h[p]] = [h[p]!, h[i]!]; i = p; }
  }

  private pop(): Delivery {
    const h = this.heap; const top = h[0]!; const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last; let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1; let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!]; i = m;
      }
    }
    return top;
  }
}
