// Split splice (DESIGN §CRAFT, addition 3): a back end running our stack receives its
// connection's splice state from the splicer and rewrites its own return segments into the
// client's connection (service address as source, client's sequence space, timestamps,
// window, checksums patched by RFC 1624 — splice.ts's rewrite), sending them straight to the
// client: the splicer then carries only the client→server direction. Until the state
// arrives, and for every FIN or RST (the splicer's teardown bookkeeping needs them), segments
// go to the splicer as usual, so a lost state message only costs the shortcut.
// A FrameEndpoint wrapping the back end's Host.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import type { Host } from '../stack/host.js';
import type { TcpEngine } from '../stack/tcp-engine.js';
import { ETHERNET_HEADER_LEN } from '../wire/ethernet.js';
import { rewriteSegment, type SpliceState } from './splice.js';
import { parseControl } from './replication.js';
import { openControl, ReplayGuard } from './control-auth.js';

export const SPLIT_CONTROL_PORT = 7702;

export interface SplitBackendConfig {
  /** Key the splicers seal split-splice messages with (undefined: unauthenticated). */
  key?: Uint8Array;
  controlPort?: number;
  /** Splices held at most (each is a few hundred bytes). */
  maxSplices?: number;
}

const TIMERS = { finLingerUs: 5_000_000, rstLingerUs: 1_000_000 };

export class SplitSpliceBackend<C extends TcpEngine> implements FrameEndpoint {
  /** Splice state by "serviceIp:splicerPort" (the splicer's side of our connection). */
  private readonly table = new Map<string, SpliceState>();
  private readonly replay = new ReplayGuard();
  private readonly counter = new Map<string, number>();
  private readonly mac: Uint8Array;
  private readonly max: number;
  private nowUs = 0;

  constructor(readonly host: Host<C>, private readonly cfg: SplitBackendConfig = {}) {
    this.mac = host.mac;
    this.max = cfg.maxSplices ?? 65_536;
    host.udpBind(cfg.controlPort ?? SPLIT_CONTROL_PORT, (_src, _port, data) => this.onControl(data));
  }

  counters(): Record<string, number> { return Object.fromEntries(this.counter); }
  spliceCount(): number { return this.table.size; }
  private inc(k: string): void { this.counter.set(k, (this.counter.get(k) ?? 0) + 1); }

  private onControl(data: Uint8Array): void {
    let body = data;
    if (this.cfg.key !== undefined) {
      const o = openControl(data, this.cfg.key);
      if (!o.ok) { this.inc('split-auth-failed'); return; }
      if (!this.replay.accept(o.value)) { this.inc('split-replayed'); return; }
      body = o.value.body;
    }
    const r = parseControl(body);
    if (!r.ok) { this.inc('split-malformed'); return; }
    const m = r.value;
    if (m.t === 'splice') {
      const key = `${m.s.serviceIp}:${m.s.backend.localPort}`;
      if (!this.table.has(key) && this.table.size >= this.max) { this.inc('split-table-full'); return; }
      this.table.set(key, m.s);
      this.inc('split-installed');
    } else if (m.t === 'remove') {
      for (const [k, sp] of this.table) if (sp.client.ip === m.clientIp && sp.client.port === m.clientPort && sp.client.localPort === m.localPort) this.table.delete(k);
    }
  }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void { this.nowUs = nowUs; this.host.handleFrame(ifIndex, frame, nowUs); }
  handleTimeout(nowUs: number): void { this.nowUs = nowUs; this.host.handleTimeout(nowUs); }
  pollDeadline(): number | undefined { return this.host.pollDeadline(); }

  pollTransmit(): OutgoingFrame | undefined {
    const out = this.host.pollTransmit();
    if (out === undefined || this.table.size === 0) return out;
    const f = out.frame;
    if (f.length < ETHERNET_HEADER_LEN + 40 || f[12] !== 0x08 || f[13] !== 0x00 || f[ETHERNET_HEADER_LEN + 9] !== 6) return out;
    const ipOff = ETHERNET_HEADER_LEN;
    const tcpOff = ipOff + (f[ipOff]! & 0x0f) * 4;
    const dst = ((f[ipOff + 16]! << 24) | (f[ipOff + 17]! << 16) | (f[ipOff + 18]! << 8) | f[ipOff + 19]!) >>> 0;
    const sp = this.table.get(`${dst}:${(f[tcpOff + 2]! << 8) | f[tcpOff + 3]!}`);
    if (sp === undefined) return out;
    // FIN, RST, SYN go through the splicer: it tracks teardown.
    if ((f[tcpOff + 13]! & 0x07) !== 0) return out;
    const tcpEnd = ipOff + ((f[ipOff + 2]! << 8) | f[ipOff + 3]!);
    const copy = f.slice(0, tcpEnd);
    rewriteSegment(sp, 'b2c', copy, ipOff, tcpOff, tcpEnd, this.mac, this.nowUs, TIMERS);
    this.inc('split-rewritten');
    return { ifIndex: out.ifIndex, frame: copy };
  }
}

