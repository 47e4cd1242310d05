// The call controller (MGC) engine: gateway registration and keepalive, the
// per-gateway transaction plumbing, line events dispatched to the call flows
// (call-flows.ts) and rebuild after failover (rebuild.ts). Sans-IO; its outputs are
// values: datagrams (pollTransmit), CDRs (pollCdr) and events (pollEvent).
import type { ActionRequest, ServiceChangeMethod, TransactionReply, TransactionRequest, CommandReply } from '../h248/model.js';
import { ErrorCodes, action, auditValue, errorDescriptor, events, modify, serviceChange } from '../h248/model.js';
import { TransactionLink, defaultLinkConfig } from '../transport/transaction-link.js';
import type { LinkConfig } from '../transport/transaction-link.js';
import type { NumberingPlan } from '../common/numbering.js';
import { midOfAddress } from '../common/address.js';
import type { CdrRecord, ReleaseReason } from '../cdr/record.js';
import type { Call } from './call-model.js';
import { CallFlows } from './call-flows.js';
import { Rebuilder } from './rebuild.js';
import { Pkg } from '../common/packages.js';
import { evDial } from './descriptors.js';
import { Fifo } from '../common/fifo.js';
import type { EventsDescriptor } from '../h248/model.js';

export interface ControllerConfig {
  /** Name written into CDRs, e.g. 'mgc-a'. */
  readonly id: string;
  /** Our own transport address "ip:port" (gives our mId). */
  readonly address: string;
  readonly plan: NumberingPlan;
  /** Interval of the ROOT audit each gateway sees from us; must be well under its controller timeout. */
  readonly keepaliveUs: number;
  readonly noAnswerUs: number;
  /** How long a half-reported call waits for its other gateway after a failover. */
  readonly rebuildWaitUs: number;
  /** Makes call ids unique across controller incarnations (e.g. start time in base 36). */
  readonly callIdPrefix: string;
  readonly link?: Partial<Omit<LinkConfig, 'mId'>>;
  readonly queueMax?: number;
  /**
   * Give each party's gateway the call record (default true). Only the per-change
   * replication baseline of the bench turns it off: without records there is nothing
   * to rebuild from, so such a controller depends on its replica.
   */
  readonly keepRecords?: boolean;
  /**
   * Silence bound armed on each gateway with the inactivity timer package (it/ito,
   * parameter mit in units of 10 ms) once it is ours; undefined = leave the gateway's own
   * bound. Must exceed keepaliveUs by a margin.
   */
  readonly inactivityUs?: number;
  /** Silence after which a gateway is considered dead and its calls' other halves released (default 10 s). */
  readonly gatewayLostUs?: number;
  /** How many of the latest billed call ids are remembered so none is billed twice (default 200,000). */
  readonly billedMemory?: number;
}

export type GatewayStatus = 'rebuilding' | 'active';

export interface GatewayEntry {
  readonly mgId: string;
  addr: string;
  status: GatewayStatus;
  method: ServiceChangeMethod;
  registeredAtUs: number;
  lastOkUs: number;
  /** Keepalives sent and not yet answered (bounded by KEEPALIVES_IN_FLIGHT_MAX). */
  keepalivesInFlight: number;
  nextKeepaliveUs: number;
  queued: { termId: string; event: string; params: Record<string, string> }[];
  /** First unanswered keepalive of the current silence. */
  silentSinceUs?: number;
  /** A command of ours got no answer: audit the gateway again once it answers (see send). */
  auditWanted?: boolean;
}

export type ControllerEvent =
  | { type: 'gateway-registered'; mgId: string; method: ServiceChangeMethod; atUs: number }
  | { type: 'gateway-rebuilt'; mgId: string; atUs: number; fragments: number }
  | { type: 'gateway-lost'; mgId: string; why: 'timeout' | 'moved' | 'handed-off'; atUs: number }
  | { type: 'call-preserved'; callId: string; phase: string; atUs: number }
  | { type: 'call-answered'; callId: string; atUs: number }
  | { type: 'call-released'; callId: string; reason: ReleaseReason; atUs: number }
  | { type: 'feature'; callId: string; feature: string; atUs: number };

/**
 * Told of every call-state change (created, each completed step, ended). Only the
 * per-change replication baseline the bench compares against uses it (replication.ts);
 * the call-preserving design needs no copy of call state outside the gateways.
 */
export interface CallObserver {
  changed(call: Call, nowUs: number): void;
  ended(call: Call, nowUs: number): void;
}

/** Calls a replica already holds (replication baseline): adopted at registration instead of audited. */
export interface CallReplica {
  /** Replicated calls with a party on `mgId`, as controller calls. */
  callsOn(mgId: string): Call[];
}

/** RequestID of the inactivity timer event on ROOT. */
const RID_INACTIVITY = 2;
/**
 * Keepalives one gateway may have unanswered at once (each is its own transaction). Enough
 * to keep them on schedule for as long as a transaction lives before it is given up: a
 * controller with a backlog of replies to read reads the keepalives' answers late, and if
 * it stopped sending keepalives meanwhile its gateways would hear nothing and leave.
 */
const KEEPALIVES_IN_FLIGHT_MAX = 16;

type Continuation = (reply: TransactionReply | undefined, nowUs: number) => void;

export class CallController {
  readonly link: TransactionLink;
  readonly gateways = new Map<string, GatewayEntry>();
  private readonly byAddr = new Map<string, string>();
  readonly calls = new Map<string, Call>();
  /** Line number → call id it belongs to. */
  readonly lineCall = new Map<string, string>();
  /** Line number → 'dialing' | 'tone' for lines off-hook outside a call. */
  readonly lineMode = new Map<string, 'dialing' | 'tone'>();
  private readonly waits = new Map<number, Continuation>();
  /** Transactions in flight to each registration of a gateway (answered by failPending when it goes). */
  private readonly inFlight = new Map<GatewayEntry, Set<number>>();
  private readonly soon = new Fifo<(nowUs: number) => void>();
  private readonly cdrs: CdrRecord[] = [];
  private readonly events: ControllerEvent[] = [];
  readonly flows: CallFlows;
  readonly rebuild: Rebuilder;
  private callCounter = 0;
  observer: CallObserver | undefined;
  get keepsRecords(): boolean { return this.cfg.keepRecords !== false; }
  replica: CallReplica | undefined;
  /** Dialling events with the plan's digit map. */
  readonly evDial: EventsDescriptor;

  constructor(readonly cfg: ControllerConfig) {
    const lc: LinkConfig = { ...defaultLinkConfig(midOfAddress(cfg.address)), ...(cfg.link ?? {}) };
    this.link = new TransactionLink(lc, {
      onRequest: (peer, mId, req, nowUs) => this.onRequest(peer, mId, req, nowUs),
      onReply: (_peer, tid, reply, nowUs) => { const k = this.waits.get(tid); this.waits.delete(tid); k?.(reply, nowUs); },
    });
    this.evDial = evDial(cfg.plan.digitMap);
    this.flows = new CallFlows(this);
    this.rebuild = new Rebuilder(this);
  }

  newCallId(): string { return `${this.cfg.callIdPrefix}.${++this.callCounter}`; }

  // ------------------------------------------------------------------ outputs

  emitCdr(r: CdrRecord): void {
    this.billed.add(r.callId);
    this.billedOrder.push(r.callId);
    const max = this.cfg.billedMemory ?? 200_000;
    if (this.billedOrder.length - this.billedHead > max) {
      this.billed.delete(this.billedOrder[this.billedHead++]!);
      if (this.billedHead >= max) { this.billedOrder.splice(0, this.billedHead); this.billedHead = 0; }
    }
    this.cdrs.push(r);
  }

  /**
   * Calls we wrote the CDR of (the most recent billedMemory of them). A call ends once: a
   * context of one that a gateway still reports (its Subtract never got there — the gateway
   * was away) is cleared, never rebuilt and billed again.
   */
  private readonly billed = new Set<string>();
  private readonly billedOrder: string[] = [];
  private billedHead = 0;
  wasBilled(callId: string): boolean { return this.billed.has(callId); }

  private readonly cdrWaits = new Map<string, () => void>();
  /** Time of the latest input (for work resumed by cdrStored). */
  lastNowUs = 0;

  /** Runs `f` once the driver reports the call's CDR stored (or failed: calls are never held hostage to billing). */
  afterCdr(callId: string, f: () => void): void {
    if (this.cdrWaits.size >= (this.cfg.queueMax ?? 100_000)) { f(); return; }
    this.cdrWaits.set(callId, f);
  }

  /** The driver's answer to pollCdr: the record is durable (or the store failed). */
  cdrStored(callId: string, nowUs: number): void {
    this.lastNowUs = nowUs;
    const f = this.cdrWaits.get(callId);
    this.cdrWaits.delete(callId);
    f?.();
  }
  emit(e: ControllerEvent): void { if (this.events.length < (this.cfg.queueMax ?? 100_000)) this.events.push(e); }
  pollCdr(): CdrRecord | undefined { return this.cdrs.shift(); }
  pollEvent(): ControllerEvent | undefined { return this.events.shift(); }
  pollTransmit(): { peer: string; bytes: Uint8Array } | undefined { return this.link.pollTransmit(); }

  /** Runs `f` from the next handleTimeout (after replies now queued have left). */
  later(f: (nowUs: number) => void): void { this.soon.push(f); }

  // ------------------------------------------------------------------ requests to gateways

  /**
   * Sends one transaction to a gateway; `k` runs with the reply (undefined = no answer /
   * gateway gone). A command that got no answer may still have been carried out (our
   * messages can reach a gateway late, e.g. while we were too busy to send them on time): a
   * gateway that is ours (in this registration or a later one) is audited again once it
   * answers, so a context created that way is found and cleared. `readOnly` (audits) skips that.
   */
  send(mgId: string, actions: readonly ActionRequest[], nowUs: number, k: Continuation, readOnly = false): void {
    const gw = this.gateways.get(mgId);
    if (!gw) { this.later((t) => k(undefined, t)); return; }
    const tid = this.link.sendRequest(gw.addr, actions, nowUs);
    let mine = this.inFlight.get(gw);
    if (!mine) { mine = new Set(); this.inFlight.set(gw, mine); }
    mine.add(tid);
    this.waits.set(tid, (reply, t) => {
      mine.delete(tid);
      if (mine.size === 0 && this.inFlight.get(gw) === mine) this.inFlight.delete(gw);
      if (reply && reply.error?.code === ErrorCodes.unauthorized) {
        // Refused: the gateway was not ours when it got this. A refusal of a request sent to
        // an earlier registration (the gateway left and has registered with us again since)
        // says nothing about the current one.
        if (this.gateways.get(mgId) === gw) this.forgetGateway(mgId, 'moved', t);
        k(undefined, t);
        return;
      }
      if (reply) gw.lastOkUs = t;
      else if (!readOnly) { const cur = this.gateways.get(mgId); if (cur) cur.auditWanted = true; }
      k(reply, t);
    });
  }

  /** Sends one transaction per gateway in parallel; `k` gets the replies in the same order. */
  batch(parts: Map<string, ActionRequest[]>, nowUs: number, k: (replies: Map<string, TransactionReply | undefined>, nowUs: number) => void): void {
    const out = new Map<string, TransactionReply | undefined>();
    let left = parts.size;
    if (left === 0) { this.later((t) => k(out, t)); return; }
    for (const [mgId, actions] of parts) {
      this.send(mgId, actions, nowUs, (r, t) => { out.set(mgId, r); if (--left === 0) k(out, t); });
    }
  }

  // ------------------------------------------------------------------ requests from gateways

  private onRequest(peer: string, mId: string, req: TransactionRequest, nowUs: number): TransactionReply {
    const replies = [];
    for (const a of req.actions) {
      const cmds: CommandReply[] = [];
      for (const c of a.commands) {
        if (c.type === 'serviceChange') {
          cmds.push(this.onServiceChange(peer, mId, c.serviceChange.method, nowUs));
        } else if (c.type === 'notify') {
          const mgId = this.byAddr.get(peer);
          if (!mgId || this.gateways.get(mgId)?.addr !== peer) {
            // RFC 3525 §11.2: nothing before the ServiceChange.
            return { kind: 'reply', transactionId: req.transactionId, error: errorDescriptor(ErrorCodes.requestBeforeServiceChangeReply), actions: [] };
          }
          const termId = c.terminationIds[0] ?? '';
          for (const ev of c.observedEvents.events) {
            const params: Record<string, string> = {};
            for (const [k, v] of Object.entries(ev.params ?? {})) if (typeof v === 'string') params[k] = v.replace(/^"|"$/g, '');
            this.later((t) => this.onLineEvent(mgId, termId, ev.name, params, t));
          }
          cmds.push({ type: 'notify', terminationIds: c.terminationIds });
        } else {
          return { kind: 'reply', transactionId: req.transactionId, error: errorDescriptor(ErrorCodes.unsupportedCommand, c.type), actions: [] };
        }
      }
      replies.push({ contextId: a.contextId, commands: cmds });
    }
    return { kind: 'reply', transactionId: req.transactionId, actions: replies };
  }

  private onServiceChange(peer: string, mgId: string, method: ServiceChangeMethod, nowUs: number): CommandReply {
    if (!this.cfg.plan.knowsGateway(mgId)) {
      return { type: 'serviceChange', terminationIds: ['ROOT'], error: errorDescriptor(ErrorCodes.unknownTerminationId, `gateway ${mgId} not provisioned`) };
    }
    const old = this.gateways.get(mgId);
    if (old && old.addr !== peer) this.byAddr.delete(old.addr);
    const gw: GatewayEntry = {
      mgId, addr: peer, status: 'rebuilding', method, registeredAtUs: nowUs, lastOkUs: nowUs, keepalivesInFlight: 0,
      nextKeepaliveUs: nowUs + this.cfg.keepaliveUs, queued: old?.queued ?? [],
      // Commands sent to the previous registration may still land after this one's audit.
      ...(old?.auditWanted ? { auditWanted: true } : {}),
    };
    this.gateways.set(mgId, gw);
    this.byAddr.set(peer, mgId);
    this.emit({ type: 'gateway-registered', mgId, method, atUs: nowUs });
    // After our reply has gone: a cold-started gateway is provisioned; anything else
    // (Failover, Disconnected, HandOff) may hold calls and is audited (rebuild.ts).
    this.later((t) => this.rebuild.onRegistered(gw, t));
    return { type: 'serviceChange', terminationIds: ['ROOT'], serviceChange: { address: midOfAddress(this.cfg.address) } };
  }

  /** Marks a gateway usable and replays the events that arrived while it was rebuilt. */
  activate(gw: GatewayEntry, nowUs: number): void {
    gw.status = 'active';
    this.rebuild.gatewayActivated();
    if (this.cfg.inactivityUs !== undefined) {
      // H.248.1 Annex E inactivity timer package: expect traffic from us at least every mit × 10 ms.
      const mit = Math.max(1, Math.round(this.cfg.inactivityUs / 10_000));
      this.send(gw.mgId, [action('-', modify('ROOT', { events: events(RID_INACTIVITY, { name: Pkg.inactivityTimeout, params: { mit: String(mit) } }) }))], nowUs, () => {});
    }
    const q = gw.queued.splice(0);
    for (const e of q) this.onLineEvent(gw.mgId, e.termId, e.event, e.params, nowUs);
  }

  onLineEvent(mgId: string, termId: string, event: string, params: Record<string, string>, nowUs: number): void {
    const gw = this.gateways.get(mgId);
    if (!gw) return;
    if (gw.status === 'rebuilding') {
      if (gw.queued.length < (this.cfg.queueMax ?? 100_000)) gw.queued.push({ termId, event, params });
      return;
    }
    const num = this.cfg.plan.numberAt(mgId, termId);
    if (!num) return;
    if (this.rebuild.holdsLine(num)) { this.rebuild.queueEvent(num, event, params, nowUs); return; }
    const callId = this.lineCall.get(num);
    const call = callId ? this.calls.get(callId) : undefined;
    if (call) { this.flows.onCallEvent(call, num, event, params, nowUs); return; }
    this.flows.onIdleLineEvent(mgId, termId, num, event, params, nowUs);
  }

  // ------------------------------------------------------------------ time

  handleDatagram(peer: string, bytes: Uint8Array, nowUs: number): void {
    this.lastNowUs = nowUs;
    this.link.handleDatagram(peer, bytes, nowUs);
    this.runSoon(nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.lastNowUs = nowUs;
    this.link.handleTimeout(nowUs);
    this.runSoon(nowUs);
    for (const gw of [...this.gateways.values()]) {
      // Rebuilding gateways get keepalives too: a large rebuild keeps us busy for a while, and
      // the gateway must keep hearing from us within its silence bound or it moves on.
      // On schedule, not after the previous answer: a controller with a backlog of audit
      // replies reads a keepalive's answer late, and the gateway must not go silent meanwhile.
      if (gw.keepalivesInFlight >= KEEPALIVES_IN_FLIGHT_MAX || nowUs < gw.nextKeepaliveUs) continue;
      gw.keepalivesInFlight++;
      gw.nextKeepaliveUs = nowUs + this.cfg.keepaliveUs;
      // Keepalive: an AuditValue of ROOT (RFC 3525 §7.2.5) the gateway's inactivity watch sees.
      this.send(gw.mgId, [action('-', auditValue('ROOT'))], nowUs, (r, t) => {
        gw.keepalivesInFlight--;
        if (this.gateways.get(gw.mgId) !== gw) return;
        if (r) {
          gw.silentSinceUs = undefined;
          this.flows.onGatewayAnswered(gw.mgId, t);
          if (gw.auditWanted && gw.status === 'active') { gw.auditWanted = false; this.rebuild.reaudit(gw, t); }
          return;
        }
        // One lost keepalive is not a dead gateway (it may be slow, or re-registering with
        // us); only silence longer than gatewayLostUs is.
        gw.silentSinceUs ??= t;
        if (t - gw.silentSinceUs >= (this.cfg.gatewayLostUs ?? 10_000_000)) this.gatewayTimedOut(gw, t);
      }, true);
    }
    this.flows.onTimer(nowUs);
    this.rebuild.onTimer(nowUs);
    this.runSoon(nowUs);
  }

  private runSoon(nowUs: number): void {
    for (let i = 0; i < 10_000 && this.soon.length > 0; i++) this.soon.shift()!(nowUs);
  }

  pollDeadline(): number | undefined {
    if (this.soon.length > 0) return 0;
    const ds: number[] = [];
    const l = this.link.pollDeadline(); if (l !== undefined) ds.push(l);
    for (const gw of this.gateways.values()) if (gw.keepalivesInFlight < KEEPALIVES_IN_FLIGHT_MAX) ds.push(gw.nextKeepaliveUs);
    const f = this.flows.deadline(); if (f !== undefined) ds.push(f);
    const r = this.rebuild.deadline(); if (r !== undefined) ds.push(r);
    return ds.length ? Math.min(...ds) : undefined;
  }

  // ------------------------------------------------------------------ losing gateways

  /**
   * The link abandons what is outstanding to a gateway we stop controlling; whoever waits
   * for those answers hears "no answer" (from the next handleTimeout), or calls would stay
   * busy forever with their events queued behind an answer that never comes.
   */
  private failPending(gw: GatewayEntry): void {
    this.link.forgetPeer(gw.addr);
    const tids = this.inFlight.get(gw);
    this.inFlight.delete(gw);
    for (const tid of tids ?? []) {
      const k = this.waits.get(tid);
      this.waits.delete(tid);
      if (k) this.later((t) => k(undefined, t));
    }
  }

  /** The gateway registered elsewhere (it rejected us) or was handed off: drop it and its calls, no CDR (the new controller owns them). */
  forgetGateway(mgId: string, why: 'moved' | 'handed-off', nowUs: number): void {
    const gw = this.gateways.get(mgId);
    if (!gw) return;
    this.gateways.delete(mgId);
    this.byAddr.delete(gw.addr);
    this.failPending(gw);
    const others = new Set<string>();
    for (const call of [...this.calls.values()]) {
      if (!call.parties.some((p) => p.mgId === mgId)) continue;
      const kept = why === 'moved' ? call.parties.filter((p) => p.mgId !== mgId && this.gateways.get(p.mgId)?.status === 'active').map((p) => p.mgId) : [];
      // Halves on gateways we keep wait in the rebuild, with the events the call had queued
      // (a hang-up must not be lost while the gateway's fate is unknown).
      if (kept.length > 0) this.rebuild.requeue(call, [], new Set(kept), nowUs);
      else this.dropCall(call);
      for (const p of call.parties) if (p.mgId !== mgId) others.add(p.mgId);
    }
    this.rebuild.forgetGateway(mgId);
    this.emit({ type: 'gateway-lost', mgId, why, atUs: nowUs });
    // The halves of those calls on gateways we still control become pending again: if the
    // gateway was only flapping and registers back, the calls are merged and kept; if it
    // really moved, they are released after rebuildWaitUs.
    if (why === 'moved') for (const m of others) { const g = this.gateways.get(m); if (g && g.status === 'active') this.rebuild.reaudit(g, nowUs); }
  }

  private gatewayTimedOut(gw: GatewayEntry, nowUs: number): void {
    this.gateways.delete(gw.mgId);
    this.byAddr.delete(gw.addr);
    this.failPending(gw);
    this.emit({ type: 'gateway-lost', mgId: gw.mgId, why: 'timeout', atUs: nowUs });
    // Lost contact: either the gateway died, or we are the one cut off and it moved to
    // another controller. We bill (and clear the other half) only when the call's other
    // gateways still answer us; otherwise the call is dropped from our state unbilled, for
    // the controller the gateways moved to owns it now (no split brain in billing).
    const freshUs = nowUs - 2 * this.cfg.keepaliveUs;
    for (const call of [...this.calls.values()]) {
      if (!call.parties.some((p) => p.mgId === gw.mgId)) continue;
      const others = call.parties.filter((p) => p.mgId !== gw.mgId).map((p) => this.gateways.get(p.mgId));
      if (others.length > 0 && others.every((g) => g && g.status === 'active' && g.lastOkUs >= freshUs)) this.flows.release(call, 'gateway-lost', undefined, nowUs);
      else this.dropCall(call);
    }
    this.rebuild.forgetGateway(gw.mgId);
  }

  /** Removes a call from our state without touching gateways or billing. */
  dropCall(call: Call): void {
    call.ended = true;
    this.calls.delete(call.id);
    this.observer?.ended(call, this.lastNowUs);
    for (const p of call.parties) if (this.lineCall.get(p.num) === call.id) this.lineCall.delete(p.num);
  }

  /** Failback on command: ask every gateway to register with `target` (RFC 3525 §11.5 Handoff). */
  handoffAll(target: string, nowUs: number): void {
    for (const gw of [...this.gateways.values()]) {
      this.send(gw.mgId, [action('-', serviceChange('ROOT', {
        method: 'handOff', reason: { code: 903, text: 'MGC directed change' }, mgcIdToTry: midOfAddress(target),
      }))], nowUs, (r, t) => {
        if (r && !r.error) this.forgetGateway(gw.mgId, 'handed-off', t);
      });
    }
  }

  /** Provisioning of a cold-started gateway's lines: every line waits for off-hook. */
  provisionLines(gw: GatewayEntry, lines: readonly string[], nowUs: number, k: (ok: boolean, nowUs: number) => void): void {
    if (lines.length === 0) { k(true, nowUs); return; }
    // In pages of 100 lines: a message stays far below 64 KB and the parser's list bounds.
    const pages: string[][] = [];
    for (let i = 0; i < lines.length; i += 100) pages.push(lines.slice(i, i + 100) as string[]);
    let left = pages.length; let ok = true;
    for (const p of pages) {
      this.send(gw.mgId, [action('-', ...p.map((t) => modify(t, { events: { requestId: 1, events: [{ name: Pkg.offHook }] } })))], nowUs, (r, t) => {
        ok &&= !!r && !r.error && r.actions.every((a) => !a.error);
        if (--left === 0) k(ok, t);
      });
    }
  }

  /** Every gateway of the call is ours, active, and answered within two keepalive intervals. */
  answeringLately(call: Call, nowUs: number): boolean {
    return call.parties.every((p) => { const g = this.gateways.get(p.mgId); return !!g && g.status === 'active' && nowUs - g.lastOkUs <= 2 * this.cfg.keepaliveUs; });
  }

  /** Gateways that are registered with us and answered within the keepalive bound. */
  controlledGateways(nowUs: number, freshUs: number): string[] {
    return [...this.gateways.values()].filter((g) => nowUs - g.lastOkUs <= freshUs).map((g) => g.mgId);
  }
}
