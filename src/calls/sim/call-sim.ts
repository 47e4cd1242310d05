// Seeded simulation of controllers, gateways and scripted phones on the virtual
// datagram network (udp-net.ts): a call mix, a controller crash, failover, and the
// invariant checks the tests assert. Test support only; production code does not import it.
import { SeededRng } from '../../util/rng.js';
import { UdpNet } from './udp-net.js';
import { MediaGateway } from '../gateway/media-gateway.js';
import { CallController } from '../controller/controller.js';
import type { ControllerEvent } from '../controller/controller.js';
import { NumberingPlan, gatewayName, numberOf } from '../common/numbering.js';
import type { CdrRecord } from '../cdr/record.js';
import { parseRecord } from '../record/call-record.js';
import { planCallMix, stableCalls, ANSWER_DELAY_US, BUSY_HANGUP_US } from '../scenario/call-mix.js';
import type { PlannedCall } from '../scenario/call-mix.js';
import { Pkg } from '../common/packages.js';


export interface SimOptions {
  readonly seed: number;
  readonly gateways: number;
  readonly linesPerGateway: number;
  readonly calls: number;
  /** Virtual time of the primary's crash; undefined = no crash. */
  readonly crashAtUs: number | undefined;
  readonly durationUs: number;
  readonly rtp: boolean;
  readonly controllerTimeoutUs: number;
  readonly keepaliveUs: number;
  /** Restart the crashed primary at this time (fresh state, no gateways). */
  readonly restartPrimaryAtUs?: number;
  /** Tell the alternate to hand every gateway back to the primary at this time. */
  readonly failbackAtUs?: number;
  /** Instead of crashing it: cut the primary off from every gateway at crashAtUs, heal at this time. */
  readonly healPrimaryAtUs?: number;
  /** After the failover: cut the alternate off from gateway mg2 for flapMs (the gateway flaps back). */
  readonly flapAtUs?: number;
  readonly flapUs?: number;
  /**
   * When gateway mg2 registers with the alternate after the crash: everything the alternate
   * sends mg2 leaves this much later (a controller too busy to answer during its rebuild),
   * so mg2 gives up on it, walks its list and registers again while the rebuild runs.
   */
  readonly stallOnRebuildUs?: number;
  /** Sees every RTP datagram delivered to a gateway (gateway index from 1, its RTP port, time), e.g. for the demo's report. */
  readonly onRtp?: (gateway: number, port: number, tUs: number) => void;
}


interface Scheduled { atUs: number; seq: number; fn: () => void }

export interface SimReport {
  readonly seed: number;
  readonly violations: string[];
  readonly callsPlaced: number;
  readonly stableAtCrash: string[];
  readonly preserved: string[];
  readonly releasedAtFailover: number;
  readonly detectionUs: number | undefined;
  readonly controllableAgainUs: number | undefined;
  readonly largestRtpGapUs: number;
  readonly featuresAfterFailover: number;
  readonly cdrs: number;
  readonly kinds: Record<string, number>;
  readonly stableAtFailback: string[];
}

const CTL_IP = ['10.0.1.1', '10.0.1.2'];
/** One-way delay of every datagram: latency plus up to jitter. */
const NET = { latencyUs: 300, jitterUs: 200 } as const;

export class CallSim {
  readonly rng: SeededRng;
  readonly net: UdpNet;
  readonly plan: NumberingPlan;
  readonly gws: MediaGateway[] = [];
  readonly ctls: (CallController | undefined)[] = [undefined, undefined];
  private readonly ctlAddr = CTL_IP.map((ip) => `${ip}:2944`);
  nowUs = 0;
  private readonly sched: Scheduled[] = [];
  private seq = 0;
  readonly cdrs: CdrRecord[] = [];
  cdrDuplicates = 0;
  cdrRefusedFromOther = 0;
  readonly events: { ctl: number; e: ControllerEvent }[] = [];
  readonly violations: string[] = [];
  private readonly seenCalls = new Set<string>();
  private stableAtCrash: string[] = [];
  private stableAtFailback: string[] = [];
  private failbackStartUs = 0;
  private lostAtUs: number[] = [];
  readonly planned: PlannedCall[] = [];
  private readonly noAnswer = new Set<string>();
  private readonly answering = new Set<string>();
  private readonly hangingUp = new Set<string>();

  constructor(readonly opt: SimOptions) {
    this.rng = new SeededRng(opt.seed);
    this.net = new UdpNet({ ...NET, loss: 0, queueMax: 1_000_000 }, this.rng.fork());
    this.plan = new NumberingPlan(opt.gateways, opt.linesPerGateway);
    for (let g = 1; g <= opt.gateways; g++) {
      const ip = `10.0.0.${g}`;
      const ports = Array.from({ length: opt.linesPerGateway * 3 }, (_, i) => 20_000 + 2 * i);
      const gw = new MediaGateway({
        mgId: gatewayName(g), lines: opt.linesPerGateway, controllers: this.ctlAddr, rtpIp: ip, rtpPorts: ports, law: 'pcmu',
        controllerTimeoutUs: opt.controllerTimeoutUs, registerRetryUs: 200_000, link: { firstTransactionId: 1 + this.rng.nextInt(2 ** 30) },
      }, this.rng.fork());
      this.gws.push(gw);
      this.net.bind(`${ip}:2944`, (from, b, t) => gw.handleControl(from, b, t));
      for (const p of ports) this.net.bind(`${ip}:${p}`, (_f, b, t) => { opt.onRtp?.(g, p, t); gw.handleRtp(p, b, t); });
    }
    this.startController(0);
    this.startController(1);
    for (const gw of this.gws) gw.start(0);
  }

  startController(i: number): void {
    const c = new CallController({
      id: i === 0 ? 'mgc-a' : 'mgc-b', address: this.ctlAddr[i]!, plan: this.plan, keepaliveUs: this.opt.keepaliveUs, inactivityUs: this.opt.controllerTimeoutUs,
      noAnswerUs: 4_000_000, rebuildWaitUs: 2_000_000, callIdPrefix: `${i === 0 ? 'a' : 'b'}${this.nowUs.toString(36)}`,
      link: { firstTransactionId: 1 + this.rng.nextInt(2 ** 30) },
    });
    this.ctls[i] = c;
    this.net.bind(this.ctlAddr[i]!, (from, b, t) => c.handleDatagram(from, b, t));
  }

  crashController(i: number): void {
    this.ctls[i] = undefined;
    this.net.unbindHost(CTL_IP[i]!);
  }

  at(atUs: number, fn: () => void): void {
    const s = { atUs, seq: this.seq++, fn };
    let i = this.sched.length;
    this.sched.push(s);
    while (i > 0 && (this.sched[i - 1]!.atUs > atUs)) { this.sched[i] = this.sched[i - 1]!; i--; }
    this.sched[i] = s;
  }

  // ------------------------------------------------------------------ the call mix

  planCalls(): void {
    const mix = planCallMix(this.rng, this.opt.gateways, this.opt.linesPerGateway, this.opt.calls, this.opt.durationUs);
    this.planned.push(...mix.calls);
    for (const n of mix.noAnswer) this.noAnswer.add(n);
    for (const a of mix.actions) {
      const gw = this.gws[a.gw - 1]!;
      this.at(a.atUs, () => {
        if (a.op === 'offhook') gw.offHook(a.line, this.nowUs);
        else if (a.op === 'onhook') gw.onHook(a.line, this.nowUs);
        else if (a.op === 'flash') gw.flash(a.line, this.nowUs);
        else gw.dial(a.line, a.digits ?? '', this.nowUs);
      });
    }
  }

  /** Phone users: answer a ringing phone, hang up on busy tone. */
  private bots(): void {
    for (let g = 1; g <= this.gws.length; g++) {
      const gw = this.gws[g - 1]!;
      for (let l = 1; l <= this.opt.linesPerGateway; l++) {
        const v = gw.lineView(l); const num = numberOf(g, l);
        if (v.hook === 'on' && v.signals.includes(Pkg.ring) && !this.noAnswer.has(num) && !this.answering.has(num)) {
          this.answering.add(num);
          this.at(this.nowUs + ANSWER_DELAY_US, () => { this.answering.delete(num); if (gw.lineView(l).signals.includes(Pkg.ring)) gw.offHook(l, this.nowUs); });
        }
        if (v.hook === 'off' && v.signals.includes(Pkg.busyTone) && !this.hangingUp.has(num)) {
          this.hangingUp.add(num);
          this.at(this.nowUs + BUSY_HANGUP_US, () => { this.hangingUp.delete(num); gw.onHook(l, this.nowUs); });
        }
      }
    }
  }

  // ------------------------------------------------------------------ running

  run(untilUs: number): void {
    let nextBotUs = this.nowUs;
    let guard = 0;
    for (;;) {
      let t = Math.min(nextBotUs, this.net.nextAtUs() ?? Infinity, this.sched[0]?.atUs ?? Infinity);
      for (const gw of this.gws) {
        t = Math.min(t, gw.pollDeadline() ?? Infinity);
        if (this.opt.rtp) t = Math.min(t, gw.pollRtpDeadline() ?? Infinity);
      }
      for (const c of this.ctls) if (c) t = Math.min(t, c.pollDeadline() ?? Infinity);
      if (t > untilUs) { this.nowUs = untilUs; return; }
      if (t <= this.nowUs) { if (++guard > 100_000) throw new Error(`sim stuck at ${this.nowUs}`); } else guard = 0;
      this.nowUs = Math.max(this.nowUs, t);
      this.net.deliver(this.nowUs);
      while (this.sched.length > 0 && this.sched[0]!.atUs <= this.nowUs) this.sched.shift()!.fn();
      for (const gw of this.gws) { if ((gw.pollDeadline() ?? Infinity) <= this.nowUs) gw.handleTimeout(this.nowUs); }
      for (const c of this.ctls) if (c && (c.pollDeadline() ?? Infinity) <= this.nowUs) c.handleTimeout(this.nowUs);
      if (this.nowUs >= nextBotUs) { this.bots(); nextBotUs = this.nowUs + 20_000; this.checkSplitBrain(); }
      this.drain();
    }
  }

  private drain(): void {
    for (let g = 0; g < this.gws.length; g++) {
      const gw = this.gws[g]!; const ip = `10.0.0.${g + 1}`;
      for (let o = gw.pollControl(); o; o = gw.pollControl()) this.net.send(`${ip}:2944`, o.peer, o.bytes, this.nowUs);
      if (this.opt.rtp) for (const d of gw.pollRtp(this.nowUs)) this.net.send(`${ip}:${d.fromPort}`, `${d.toIp}:${d.toPort}`, d.bytes, this.nowUs);
      for (let e = gw.pollEvent(); e; e = gw.pollEvent()) if (e.type === 'controller-lost') this.lostAtUs.push(e.atUs);
      for (const cv of gw.contextsView()) for (const r of cv.records) { const p = parseRecord(r); if (p.ok) this.seenCalls.add(p.value.callId); }
    }
    for (let i = 0; i < this.ctls.length; i++) {
      const c = this.ctls[i]; if (!c) continue;
      for (let o = c.pollTransmit(); o; o = c.pollTransmit()) this.net.send(this.ctlAddr[i]!, o.peer, o.bytes, this.nowUs);
      for (let r = c.pollCdr(); r; r = c.pollCdr()) {
        // The store's unique call id: a second record for a call is refused, as in SQLite/PostgreSQL.
        // Refused from another controller, it is the write-ahead billing at work (a primary that
        // billed a call and died before its Subtract left); from the same one, a call ended twice.
        const first = this.cdrs.find((x) => x.callId === r!.callId);
        if (!first) this.cdrs.push(r);
        else if (first.writtenBy === r.writtenBy) this.cdrDuplicates++;
        else this.cdrRefusedFromOther++;
        c.cdrStored(r.callId, this.nowUs);
      }
      // What storing the CDRs released (the Subtracts of ended calls) leaves in this step, as a real driver does.
      for (let o = c.pollTransmit(); o; o = c.pollTransmit()) this.net.send(this.ctlAddr[i]!, o.peer, o.bytes, this.nowUs);
      for (let e = c.pollEvent(); e; e = c.pollEvent()) {
        this.events.push({ ctl: i, e });
        if (e.type === 'call-released' || e.type === 'call-answered' || e.type === 'call-preserved') this.seenCalls.add(e.callId);
      }
    }
  }

  /** No split brain: a gateway is never controlled (registered and fresh) by two live controllers. */
  private checkSplitBrain(): void {
    for (const gw of this.gws) {
      // A controller's last answer from a gateway is stamped when it arrives, up to one
      // network latency after the gateway last heard from it — and the gateway leaves after
      // a full silence bound from that. Freshness within the bound less that latency is
      // control; at the very boundary both can look fresh without either being wrong.
      const freshUs = this.opt.controllerTimeoutUs - (NET.latencyUs + NET.jitterUs);
      const n = this.ctls.filter((c) => c && c.controlledGateways(this.nowUs, freshUs).includes(gw.cfg.mgId)).length;
      if (n > 1) this.violations.push(`split brain: ${gw.cfg.mgId} controlled by ${n} controllers at ${this.nowUs}`);
    }
  }

  /** Calls whose freshest record on the gateways is stable (see stableCalls). */
  snapshotStable(): string[] {
    return stableCalls(this.gws.flatMap((g) => g.contextsView().flatMap((c) => c.records)));
  }

  // ------------------------------------------------------------------ the scenario

  scenario(): SimReport {
    const o = this.opt;
    this.planCalls();
    if (o.crashAtUs !== undefined) {
      this.run(o.crashAtUs);
      this.stableAtCrash = this.snapshotStable();
      if (o.healPrimaryAtUs !== undefined) {
        this.net.partition(CTL_IP[0]!, this.gws.map((_, g) => `10.0.0.${g + 1}`));
        this.run(o.healPrimaryAtUs);
        this.net.heal();
      } else this.crashController(0);
    }
    if (o.stallOnRebuildUs !== undefined && o.crashAtUs !== undefined) {
      // Bounded wait (in 1 ms steps) for mg2's registration with the alternate.
      const registered = (): boolean => this.events.some((x) => x.ctl === 1 && x.e.type === 'gateway-registered' && x.e.mgId === 'mg2' && x.e.atUs >= o.crashAtUs!);
      for (let i = 0; i < 5_000 && !registered(); i++) this.run(this.nowUs + 1_000);
      if (!registered()) this.violations.push('mg2 never registered with the alternate');
      this.net.stall(CTL_IP[1]!, ['10.0.0.2'], this.nowUs + o.stallOnRebuildUs);
    }
    if (o.flapAtUs !== undefined) {
      this.run(o.flapAtUs);
      this.net.partition(CTL_IP[1]!, ['10.0.0.2']);
      this.run(o.flapAtUs + (o.flapUs ?? 800_000));
      this.net.heal();
    }
    if (o.restartPrimaryAtUs !== undefined) { this.run(o.restartPrimaryAtUs); this.startController(0); }
    if (o.failbackAtUs !== undefined) {
      this.run(o.failbackAtUs);
      this.stableAtFailback = this.snapshotStable();
      this.failbackStartUs = this.nowUs;
      this.ctls[1]?.handoffAll(this.ctlAddr[0]!, this.nowUs);
    }
    this.run(o.durationUs);
    // Everyone hangs up; then quiet time for the last releases.
    for (const gw of this.gws) for (let l = 1; l <= o.linesPerGateway; l++) gw.onHook(l, this.nowUs);
    this.run(o.durationUs + 3_000_000);
    return this.check();
  }

  private check(): SimReport {
    const v = this.violations;
    const alt = 1;
    const preserved = this.events.filter((x) => x.ctl === alt && x.e.type === 'call-preserved').map((x) => (x.e as { callId: string }).callId);
    const preservedSet = new Set(preserved);
    if (this.opt.crashAtUs !== undefined) {
      for (const id of this.stableAtCrash) if (!preservedSet.has(id)) v.push(`stable call ${id} not preserved`);
    }
    if (this.opt.failbackAtUs !== undefined) {
      const back = new Set(this.events.filter((x) => x.ctl === 0 && x.e.type === 'call-preserved' && x.e.atUs >= this.failbackStartUs).map((x) => (x.e as { callId: string }).callId));
      for (const id of this.stableAtFailback) if (!back.has(id)) v.push(`stable call ${id} not preserved by the failback`);
      for (const gw of this.gws) if (gw.currentController() !== this.ctlAddr[0]) v.push(`${gw.cfg.mgId} did not fail back`);
    }
    if (this.opt.healPrimaryAtUs !== undefined) {
      for (const r of this.cdrs) if (r.writtenBy === 'mgc-a' && r.endUs >= this.opt.crashAtUs!) v.push(`cut-off primary billed ${r.callId} (${r.releaseReason})`);
      const a = this.ctls[0];
      if (a && a.gateways.size > 0) v.push(`healed primary still holds gateways ${[...a.gateways.keys()].join(',')}`);
    }
    const perCall = new Map<string, number>();
    for (const r of this.cdrs) perCall.set(r.callId, (perCall.get(r.callId) ?? 0) + 1);
    for (const [id, n] of perCall) if (n !== 1) v.push(`call ${id} has ${n} CDRs`);
    // The store refused these (unique call id), but a controller that bills a call twice is wrong.
    if (this.cdrDuplicates > 0) v.push(`${this.cdrDuplicates} second CDRs for calls the same controller already billed`);
    for (const id of this.seenCalls) if (!perCall.has(id)) v.push(`call ${id} ended without CDR`);
    for (const r of this.cdrs) {
      if (r.endUs < r.startUs) v.push(`CDR ${r.callId} ends before it starts`);
    }
    for (const gw of this.gws) {
      const cs = gw.contextsView();
      if (cs.length > 0) v.push(`${gw.cfg.mgId}: ${cs.length} orphaned contexts ${JSON.stringify(cs.slice(0, 3))}`);
    }
    for (const c of this.ctls) if (c && c.calls.size > 0) v.push(`${c.cfg.id} still tracks ${c.calls.size} calls`);
    const crash = this.opt.crashAtUs;
    const detect = crash !== undefined && this.lostAtUs.length > 0 ? Math.max(...this.lostAtUs) - crash : undefined;
    const lastPreserved = this.events.filter((x) => x.ctl === alt && x.e.type === 'call-preserved').map((x) => x.e.atUs);
    const released = this.events.filter((x) => x.ctl === alt && x.e.type === 'call-released' && x.e.reason === 'failover-unstable').length;
    const feats = this.events.filter((x) => x.ctl === alt && x.e.type === 'feature' && preservedSet.has(x.e.callId)).length;
    const kinds: Record<string, number> = {};
    for (const p of this.planned) kinds[p.kind] = (kinds[p.kind] ?? 0) + 1;
    return {
      seed: this.opt.seed, violations: v, callsPlaced: this.planned.length, stableAtCrash: this.stableAtCrash, preserved,
      releasedAtFailover: released, detectionUs: detect,
      controllableAgainUs: crash !== undefined && lastPreserved.length > 0 ? Math.max(...lastPreserved) - crash : undefined,
      largestRtpGapUs: Math.max(0, ...this.gws.map((g) => g.largestRtpGapUs())), featuresAfterFailover: feats, cdrs: this.cdrs.length, kinds, stableAtFailback: this.stableAtFailback,
    };
  }
}
