// The calls-failover benchmark world: many concurrent calls across many gateways,
// one controller crash, in virtual time on the simulated datagram network — with
// each controller's measured CPU charged to virtual time, so a controller that
// needs 2 s of CPU to rebuild its calls takes 2 s of virtual time to do it (a
// single-threaded server: inputs queue while it is busy, its outputs leave when it
// finishes). Gateways run free (they are separate machines).
//
// Two designs in the same world: 'records' (ours: the alternate rebuilds every call
// from the records the gateways keep plus an audit) and 'replication' (the baseline:
// the primary copies every call-state change to the alternate, which adopts the
// copies at failover). Bench support; production code does not import it.
import { SeededRng } from '../../util/rng.js';
import { UdpNet } from '../sim/udp-net.js';
import { MediaGateway } from '../gateway/media-gateway.js';
import { CallController } from '../controller/controller.js';
import type { ControllerEvent } from '../controller/controller.js';
import { NumberingPlan, gatewayName, lineDigitsFor, numberOf } from '../common/numbering.js';
import type { CdrRecord } from '../cdr/record.js';
import { ReplicaStore, ReplicationSender } from '../controller/replication.js';
import { Pkg } from '../common/packages.js';
import { RECORD_PROPERTY } from '../record/call-record.js';
import { Fifo } from '../common/fifo.js';

export type FailoverDesign = 'records' | 'replication';

export interface FailoverBenchOptions {
  readonly seed: number;
  readonly design: FailoverDesign;
  readonly gateways: number;
  readonly calls: number;
  /** Offered setup rate (calls per virtual second). */
  readonly offeredPerS: number;
  /** Charge the controllers' measured CPU to virtual time (bench); false keeps a run deterministic (tests). */
  readonly chargeCpu: boolean;
  readonly keepaliveUs: number;
  readonly controllerTimeoutUs: number;
  /** Every n-th preserved call is put on hold and retrieved after the failover (0 = none). */
  readonly holdEvery: number;
  /** Progress callback (phase, done, total). */
  readonly progress?: (phase: string, done: number, total: number) => void;
}

export interface FailoverBenchReport {
  readonly design: FailoverDesign;
  readonly calls: number;
  readonly gateways: number;
  readonly answered: number;
  /** Virtual time from the first off-hook to the last answer. */
  readonly setupSpanUs: number;
  /** Primary CPU spent while the calls were set up, and per call. */
  readonly setupCpuUs: number;
  /** H.248 messages and bytes the primary sent during setup, per call. */
  readonly h248MsgsPerCall: number;
  readonly h248BytesPerCall: number;
  /** Bytes of call records inside those messages, per call (what the records design adds). */
  readonly recordBytesPerCall: number;
  /** Replication datagrams (both ways) and bytes per call; 0 for the records design. */
  readonly replMsgsPerCall: number;
  readonly replBytesPerCall: number;
  /** Alternate CPU before the crash (receiving replication). */
  readonly standbyCpuUs: number;
  readonly stableAtCrash: number;
  readonly preserved: number;
  readonly detectionMedianUs: number;
  readonly detectionMaxUs: number;
  /** Crash → last call controllable by the alternate. */
  readonly controllableUs: number | undefined;
  /** Alternate CPU from the crash until every call was controllable. */
  readonly failoverCpuUs: number;
  /** Times a gateway gave up on the busy alternate during the failover (and came back). */
  readonly alternateLostByGateways: number;
  /** Largest H.248 message the alternate received during the failover (audit replies). */
  readonly largestMessageBytes: number;
  readonly holdsAfterFailover: number;
  readonly cdrs: number;
  readonly cdrsByAlternateWithOriginalStart: number;
  readonly violations: string[];
}

interface Scheduled { atUs: number; seq: number; fn: () => void }
interface Inbound { atUs: number; from: string; port: number; bytes: Uint8Array }

const CTL_IP = ['10.0.1.1', '10.0.1.2'] as const;
const H248_PORT = 2944;
const REPL_PORT = 2950;
const RECORD_RE = new RegExp(`${RECORD_PROPERTY.replace('/', '\\/')}\\s*=\\s*[^ ,}\\r\\n]*`, 'g');

/** One controller as a single-threaded server: inputs queue; its CPU moves its clock. */
class ControllerHost {
  readonly inbox = new Fifo<Inbound>();
  busyUntilUs = 0;
  cpuUs = 0;
  sentMsgs = 0;
  sentBytes = 0;
  recordBytes = 0;
  receivedMax = 0;
  readonly out: { from: string; to: string; bytes: Uint8Array }[] = [];

  constructor(
    readonly index: number,
    readonly ctl: CallController,
    readonly sender: ReplicationSender | undefined,
    readonly replica: ReplicaStore | undefined,
    public charge: boolean,
    private readonly peerReplAddr: string,
  ) {}

  get addr(): string { return `${CTL_IP[this.index]}:${H248_PORT}`; }
  get replAddr(): string { return `${CTL_IP[this.index]}:${REPL_PORT}`; }

  nextWorkUs(): number | undefined {
    let t = this.inbox.peek()?.atUs;
    const d = Math.min(this.ctl.pollDeadline() ?? Infinity, this.sender?.pollDeadline() ?? Infinity);
    if (d !== Infinity && (t === undefined || d < t)) t = d;
    return t === undefined ? undefined : Math.max(t, this.busyUntilUs);
  }

  /** Runs what is due at `nowUs` if idle; returns the outputs' departure time. */
  work(nowUs: number): number | undefined {
    if (this.busyUntilUs > nowUs) return undefined;
    const c0 = process.cpuUsage();
    let n = 0;
    while (this.inbox.length > 0 && this.inbox.peek()!.atUs <= nowUs && n < 16) {
      const m = this.inbox.shift()!; n++;
      if (m.port === H248_PORT) { if (m.bytes.length > this.receivedMax) this.receivedMax = m.bytes.length; this.ctl.handleDatagram(m.from, m.bytes, nowUs); }
      else if (this.sender) this.sender.handleDatagram(m.bytes);
      else this.replica?.handleDatagram(m.bytes);
    }
    if ((this.ctl.pollDeadline() ?? Infinity) <= nowUs) this.ctl.handleTimeout(nowUs);
    if ((this.sender?.pollDeadline() ?? Infinity) <= nowUs) this.sender!.handleTimeout(nowUs);
    for (let o = this.ctl.pollTransmit(); o; o = this.ctl.pollTransmit()) this.out.push({ from: this.addr, to: o.peer, bytes: o.bytes });
    for (let b = this.sender?.pollTransmit(); b; b = this.sender!.pollTransmit()) this.out.push({ from: this.replAddr, to: this.peerReplAddr, bytes: b });
    for (let b = this.replica?.pollTransmit(); b; b = this.replica!.pollTransmit()) this.out.push({ from: this.replAddr, to: this.peerReplAddr, bytes: b });
    const c = process.cpuUsage(c0);
    const d = c.user + c.system;
    this.cpuUs += d;
    this.busyUntilUs = nowUs + (this.charge ? d : 0);
    return this.busyUntilUs;
  }
}

export class FailoverBench {
  readonly rng: SeededRng;
  readonly net: UdpNet;
  readonly plan: NumberingPlan;
  readonly lines: number;
  private readonly lineDigits: number;
  readonly gws: MediaGateway[] = [];
  readonly hosts: (ControllerHost | undefined)[] = [undefined, undefined];
  nowUs = 0;
  private readonly sched: Scheduled[] = [];
  private seq = 0;
  readonly cdrs: CdrRecord[] = [];
  private cdrDuplicates = 0;
  readonly events: { ctl: number; e: ControllerEvent }[] = [];
  private readonly lostAtUs: { mgId: string; controller: string; atUs: number }[] = [];
  private readonly preservedIds = new Set<string>();
  private answered = 0;
  private preserved = 0;
  private holds = 0;
  /** caller (gw, line), callee (gw, line) of each planned call. */
  private readonly callPlan: { a: [number, number]; b: [number, number] }[] = [];

  constructor(readonly opt: FailoverBenchOptions) {
    this.rng = new SeededRng(opt.seed);
    this.net = new UdpNet({ latencyUs: 300, jitterUs: 200, loss: 0, queueMax: 5_000_000 }, this.rng.fork());
    const used = Array.from({ length: opt.gateways }, () => 0);
    for (let k = 0; k < opt.calls; k++) {
      const g = k % opt.gateways;
      // Most calls span two gateways (their halves are merged at rebuild); every tenth stays on one.
      const h = opt.gateways === 1 || k % 10 === 9 ? g : (g + 1 + (Math.floor(k / opt.gateways) % (opt.gateways - 1))) % opt.gateways;
      this.callPlan.push({ a: [g + 1, ++used[g]!], b: [h + 1, ++used[h]!] });
    }
    this.lines = Math.max(2, ...used);
    this.lineDigits = lineDigitsFor(this.lines);
    this.plan = new NumberingPlan(opt.gateways, this.lines);
    for (let g = 1; g <= opt.gateways; g++) {
      const ip = `10.0.0.${g}`;
      const ports = Array.from({ length: this.lines }, (_, i) => 20_000 + 2 * i);
      const gw = new MediaGateway({
        mgId: gatewayName(g), lines: this.lines, controllers: CTL_IP.map((c) => `${c}:${H248_PORT}`), rtpIp: ip, rtpPorts: ports, law: 'pcmu',
        controllerTimeoutUs: opt.controllerTimeoutUs, registerRetryUs: 200_000, link: { firstTransactionId: 1 + this.rng.nextInt(2 ** 30), outstandingMax: 200_000, replyCacheMax: 200_000 },
        pendingEventsMax: 100_000,
      }, this.rng.fork());
      this.gws.push(gw);
      this.net.bind(`${ip}:${H248_PORT}`, (from, b, t) => gw.handleControl(from, b, t));
    }
    for (const i of [0, 1]) this.startController(i);
    for (const gw of this.gws) gw.start(0);
  }

  private startController(i: number): void {
    const c = new CallController({
      id: i === 0 ? 'mgc-a' : 'mgc-b', address: `${CTL_IP[i]}:${H248_PORT}`, plan: this.plan, keepaliveUs: this.opt.keepaliveUs, inactivityUs: this.opt.controllerTimeoutUs,
      noAnswerUs: 30_000_000, rebuildWaitUs: 2_000_000, callIdPrefix: i === 0 ? 'a' : 'b', queueMax: 1_000_000,
      keepRecords: this.opt.design === 'records',
      link: { firstTransactionId: 1 + this.rng.nextInt(2 ** 30), outstandingMax: 200_000, replyCacheMax: 200_000 },
    });
    const repl = this.opt.design === 'replication';
    const sender = repl && i === 0 ? new ReplicationSender({ retransmitUs: 200_000, maxUnacked: 1_000_000, maxTries: 5 }) : undefined;
    const replica = repl && i === 1 ? new ReplicaStore(1_000_000) : undefined;
    c.observer = sender;
    c.replica = replica;
    const host = new ControllerHost(i, c, sender, replica, this.opt.chargeCpu, `${CTL_IP[1 - i]}:${REPL_PORT}`);
    this.hosts[i] = host;
    this.net.bind(host.addr, (from, bytes, atUs) => { if (host.inbox.length < 5_000_000) host.inbox.push({ atUs, from, port: H248_PORT, bytes }); });
    this.net.bind(host.replAddr, (from, bytes, atUs) => { if (host.inbox.length < 5_000_000) host.inbox.push({ atUs, from, port: REPL_PORT, bytes }); });
  }

  private at(atUs: number, fn: () => void): void {
    const s = { atUs, seq: this.seq++, fn };
    let i = this.sched.length;
    this.sched.push(s);
    while (i > 0 && this.sched[i - 1]!.atUs > atUs) { this.sched[i] = this.sched[i - 1]!; i--; }
    this.sched[i] = s;
  }

  /** Runs until `untilUs`, or until `done()` holds (checked after each step). */
  run(untilUs: number, done?: () => boolean): void {
    let guard = 0;
    for (;;) {
      if (done?.()) return;
      let t = Math.min(this.net.nextAtUs() ?? Infinity, this.sched[0]?.atUs ?? Infinity);
      for (const gw of this.gws) t = Math.min(t, gw.pollDeadline() ?? Infinity);
      for (const h of this.hosts) if (h) t = Math.min(t, h.nextWorkUs() ?? Infinity);
      if (t > untilUs) { this.nowUs = untilUs; return; }
      if (t <= this.nowUs) { if (++guard > 1_000_000) throw new Error(`bench stuck at ${this.nowUs}`); } else guard = 0;
      this.nowUs = Math.max(this.nowUs, t);
      this.net.deliver(this.nowUs);
      while (this.sched.length > 0 && this.sched[0]!.atUs <= this.nowUs) this.sched.shift()!.fn();
      for (const gw of this.gws) if ((gw.pollDeadline() ?? Infinity) <= this.nowUs) gw.handleTimeout(this.nowUs);
      for (const h of this.hosts) {
        if (!h) continue;
        const w = h.nextWorkUs();
        if (w === undefined || w > this.nowUs) continue;
        const leaveUs = h.work(this.nowUs);
        if (leaveUs === undefined) continue;
        for (const o of h.out) {
          this.net.send(o.from, o.to, o.bytes, leaveUs);
          if (o.from === h.addr) {
            h.sentMsgs++; h.sentBytes += o.bytes.length;
            const text = Buffer.from(o.bytes).toString('latin1');
            for (const m of text.matchAll(RECORD_RE)) h.recordBytes += m[0].length;
          }
        }
        h.out.length = 0;
        this.drainController(h);
      }
      this.drainGateways();
    }
  }

  private drainGateways(): void {
    for (let g = 0; g < this.gws.length; g++) {
      const gw = this.gws[g]!; const ip = `10.0.0.${g + 1}`;
      for (let o = gw.pollControl(); o; o = gw.pollControl()) this.net.send(`${ip}:${H248_PORT}`, o.peer, o.bytes, this.nowUs);
      for (let e = gw.pollEvent(); e; e = gw.pollEvent()) if (e.type === 'controller-lost') this.lostAtUs.push({ mgId: gw.cfg.mgId, controller: e.controller, atUs: e.atUs });
    }
  }

  private drainController(h: ControllerHost): void {
    const c = h.ctl;
    for (let r = c.pollCdr(); r; r = c.pollCdr()) {
      if (this.cdrSeen.has(r.callId)) this.cdrDuplicates++; else { this.cdrSeen.add(r.callId); this.cdrs.push(r); }
      c.cdrStored(r.callId, this.nowUs);
    }
    for (let e = c.pollEvent(); e; e = c.pollEvent()) {
      if (e.type === 'call-answered' && h.index === 0) this.answered++;
      if (e.type === 'call-preserved' && h.index === 1 && !this.preservedIds.has(e.callId)) { this.preservedIds.add(e.callId); this.preserved++; this.events.push({ ctl: h.index, e }); }
      if (e.type === 'feature' && h.index === 1 && e.feature === 'hold') this.holds++;
      if (e.type === 'gateway-registered' || e.type === 'gateway-lost') this.events.push({ ctl: h.index, e });
    }
  }

  private readonly cdrSeen = new Set<string>();

  private num(gl: [number, number]): string { return numberOf(gl[0], gl[1], this.lineDigits); }

  /** The callee's phone: answers once it rings (checked every 50 ms). */
  private answerWhenRinging(g: number, l: number, tries: number): void {
    const gw = this.gws[g - 1]!;
    if (gw.lineView(l).signals.includes(Pkg.ring)) { gw.offHook(l, this.nowUs); return; }
    if (tries > 0) this.at(this.nowUs + 50_000, () => this.answerWhenRinging(g, l, tries - 1));
  }

  scenario(): FailoverBenchReport {
    const o = this.opt;
    const v: string[] = [];
    const prog = (phase: string, done: number, total: number): void => o.progress?.(phase, done, total);
    // Registration and provisioning of every line (not measured, not charged: a cold start).
    for (const h of this.hosts) if (h) h.charge = false;
    this.run(60_000_000, () => this.hosts[0]!.ctl.gateways.size === o.gateways && [...this.hosts[0]!.ctl.gateways.values()].every((g) => g.status === 'active'));
    if (this.hosts[0]!.ctl.gateways.size !== o.gateways) v.push(`only ${this.hosts[0]!.ctl.gateways.size} gateways registered`);
    for (const h of this.hosts) if (h) h.charge = o.chargeCpu;
    // Setup at the offered rate.
    const t0 = this.nowUs + 10_000;
    const gapUs = 1e6 / o.offeredPerS;
    this.callPlan.forEach((c, k) => {
      const at = t0 + Math.round(k * gapUs);
      this.at(at, () => this.gws[c.a[0] - 1]!.offHook(c.a[1], this.nowUs));
      this.at(at + 30_000, () => this.gws[c.a[0] - 1]!.dial(c.a[1], this.num(c.b), this.nowUs));
      this.at(at + 100_000, () => this.answerWhenRinging(c.b[0], c.b[1], 400));
    });
    const p0 = this.hosts[0]!; const s0 = this.hosts[1]!;
    const cpu0 = p0.cpuUs; const msgs0 = p0.sentMsgs; const bytes0 = p0.sentBytes; const rec0 = p0.recordBytes; const standby0 = s0.cpuUs;
    let lastAnsweredUs = t0;
    const deadline = t0 + Math.round(o.calls * gapUs) + 60_000_000;
    while (this.answered < o.calls && this.nowUs < deadline) {
      const before = this.answered;
      this.run(Math.min(deadline, this.nowUs + 100_000), () => this.answered >= o.calls);
      if (this.answered > before) lastAnsweredUs = this.nowUs;
      prog('setting up calls', this.answered, o.calls);
    }
    if (this.answered < o.calls) v.push(`only ${this.answered} of ${o.calls} calls answered`);
    const setupCpuUs = p0.cpuUs - cpu0;
    const h248Msgs = p0.sentMsgs - msgs0; const h248Bytes = p0.sentBytes - bytes0; const recBytes = p0.recordBytes - rec0;
    // Let the last records and replication settle, then crash the primary.
    this.run(this.nowUs + 500_000);
    const repl = p0.sender?.counters; const rack = s0.replica?.counters;
    const standbyCpuUs = s0.cpuUs - standby0;
    const stableAtCrash = this.stableCount();
    const crashUs = this.nowUs;
    this.hosts[0] = undefined;
    this.net.unbindHost(CTL_IP[0]);
    const altCpu0 = s0.cpuUs;
    s0.receivedMax = 0;
    let failoverCpuUs = 0;
    const preservedBefore = this.preserved;
    const fDeadline = crashUs + 30_000_000;
    while (this.preserved - preservedBefore < stableAtCrash && this.nowUs < fDeadline) {
      this.run(Math.min(fDeadline, this.nowUs + 100_000), () => this.preserved - preservedBefore >= stableAtCrash);
      prog('failover', this.preserved - preservedBefore, stableAtCrash);
    }
    failoverCpuUs = s0.cpuUs - altCpu0;
    const largest = s0.receivedMax;
    const preservedAt = this.events.filter((x) => x.ctl === 1 && x.e.type === 'call-preserved').map((x) => x.e.atUs);
    const controllableUs = this.preserved - preservedBefore >= stableAtCrash && preservedAt.length > 0 ? Math.max(...preservedAt) - crashUs : undefined;
    if (this.preserved < stableAtCrash) v.push(`${stableAtCrash - this.preserved} stable calls not preserved`);
    // Detection: each gateway's first loss of the primary after the crash. Losses of the
    // alternate during the failover (a controller too busy to be heard) are counted apart.
    const firstLoss = new Map<string, number>();
    for (const x of this.lostAtUs) if (x.atUs >= crashUs && x.controller.startsWith(CTL_IP[0]) && !firstLoss.has(x.mgId)) firstLoss.set(x.mgId, x.atUs - crashUs);
    const lost = [...firstLoss.values()].sort((a, b) => a - b);
    const alternateLost = this.lostAtUs.filter((x) => x.atUs >= crashUs && x.controller.startsWith(CTL_IP[1])).length;
    if (lost.length < o.gateways) v.push(`only ${lost.length} gateways detected the failure`);
    // Features on preserved calls: hold and retrieve some, then everyone hangs up.
    this.run(this.nowUs + 500_000);
    const holdCalls = o.holdEvery > 0 ? this.callPlan.filter((_, k) => k % o.holdEvery === 0) : [];
    holdCalls.forEach((c, k) => {
      const at = this.nowUs + 1_000 + Math.round(k * gapUs);
      this.at(at, () => this.gws[c.a[0] - 1]!.flash(c.a[1], this.nowUs));
      this.at(at + 400_000, () => this.gws[c.a[0] - 1]!.flash(c.a[1], this.nowUs));
    });
    this.run(this.nowUs + 1_000_000 + Math.round(holdCalls.length * gapUs));
    if (this.holds < holdCalls.length) v.push(`${holdCalls.length - this.holds} holds after failover did not happen`);
    this.callPlan.forEach((c, k) => this.at(this.nowUs + 1_000 + Math.round(k * gapUs / 2), () => { this.gws[c.a[0] - 1]!.onHook(c.a[1], this.nowUs); }));
    const hDeadline = this.nowUs + Math.round(o.calls * gapUs) + 30_000_000;
    while (this.cdrs.length < o.calls && this.nowUs < hDeadline) {
      this.run(Math.min(hDeadline, this.nowUs + 100_000), () => this.cdrs.length >= o.calls);
      prog('hanging up', this.cdrs.length, o.calls);
    }
    for (const c of this.callPlan) this.at(this.nowUs + 1_000, () => this.gws[c.b[0] - 1]!.onHook(c.b[1], this.nowUs));
    this.run(this.nowUs + 2_000_000);
    const fromAlt = this.cdrs.filter((r) => r.writtenBy === 'mgc-b' && r.startUs < crashUs && r.answerUs !== null && r.answerUs < crashUs).length;
    if (this.cdrs.length !== o.calls) v.push(`${this.cdrs.length} CDRs for ${o.calls} calls`);
    if (this.cdrDuplicates > 0) v.push(`${this.cdrDuplicates} duplicate CDRs`);
    for (const gw of this.gws) { const n = gw.contextsView().length; if (n > 0) v.push(`${gw.cfg.mgId}: ${n} orphaned contexts`); }
    const replMsgs = (repl?.messages ?? 0) + (rack?.acks ?? 0);
    const replBytes = (repl?.bytes ?? 0) + (rack?.ackBytes ?? 0);
    return {
      design: o.design, calls: o.calls, gateways: o.gateways, answered: this.answered, setupSpanUs: lastAnsweredUs - t0, setupCpuUs,
      h248MsgsPerCall: h248Msgs / o.calls, h248BytesPerCall: h248Bytes / o.calls, recordBytesPerCall: recBytes / o.calls,
      replMsgsPerCall: replMsgs / o.calls, replBytesPerCall: replBytes / o.calls, standbyCpuUs,
      stableAtCrash, preserved: this.preserved - preservedBefore,
      detectionMedianUs: lost[Math.floor(lost.length / 2)] ?? NaN, detectionMaxUs: lost.at(-1) ?? NaN,
      controllableUs, failoverCpuUs, largestMessageBytes: largest, alternateLostByGateways: alternateLost, holdsAfterFailover: this.holds,
      cdrs: this.cdrs.length, cdrsByAlternateWithOriginalStart: fromAlt, violations: v,
    };
  }

  /** Calls both of whose parties' lines hold a talking record (stable) right now. */
  private stableCount(): number {
    let n = 0;
    // Records where the design keeps them; the replica's copies for the baseline.
    const replica = this.hosts[1]?.replica;
    for (const c of this.callPlan) {
      const ga = this.gws[c.a[0] - 1]!.lineView(c.a[1]); const gb = this.gws[c.b[0] - 1]!.lineView(c.b[1]);
      if (ga.contextId === undefined || gb.contextId === undefined) continue;
      if (replica) { if (replica.phaseOfLine(gatewayName(c.a[0]), `al/${c.a[1]}`) === 'talking') n++; continue; }
      if (ga.record?.includes('talking') && gb.record?.includes('talking')) n++;
    }
    return n;
  }
}
