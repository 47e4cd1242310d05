// The media gateway (MG) engine: analog lines a script drives like phones, ephemeral
// RTP terminations, contexts, the per-party call records the controller asks it to
// keep, and the controller list it walks on failure (RFC 3525 §11.5). Sans-IO:
// datagrams and time in, datagrams out. Sockets live in the drivers.
import type { Rng } from '../../util/rng.js';
import type {
  ActionReply, ActionRequest, AmmDescriptors, CommandReply, CommandRequest, ContextId, ErrorDescriptor,
  MediaDescriptor, ServiceChangeMethod, StreamMode, TransactionReply, TransactionRequest,
} from '../h248/model.js';
import { ErrorCodes, ServiceChangeReasons, errorDescriptor, notify, sdp, serviceChange } from '../h248/model.js';
import { TransactionLink, defaultLinkConfig } from '../transport/transaction-link.js';
import type { LinkConfig } from '../transport/transaction-link.js';
import { RtpTermination, sdpAddress } from './rtp-termination.js';
import type { RtpDatagram } from './rtp-termination.js';
import { DigitMap } from './digit-map.js';
import { RECORD_PROPERTY } from '../record/call-record.js';
import { Pkg } from '../common/packages.js';
import type { G711Law } from '../rtp/g711.js';
import { keepGap } from '../rtp/receiver.js';
import type { RtpGap } from '../rtp/receiver.js';
import { addressOfMid, midOfAddress } from '../common/address.js';

export interface GatewayConfig {
  readonly mgId: string;
  readonly lines: number;
  /** Controller addresses "ip:port", in order of preference (RFC 3525 §11.5 pre-provisioned list). */
  readonly controllers: readonly string[];
  readonly rtpIp: string;
  /** Local RTP ports the driver has bound; one per RTP termination. */
  readonly rtpPorts: readonly number[];
  readonly law: G711Law;
  /** Silence from the controller after which it is declared lost (goal < 1 s). */
  readonly controllerTimeoutUs: number;
  /** Pause after a full unsuccessful walk of the controller list (§11.5 "random time"). */
  readonly registerRetryUs: number;
  readonly link?: Partial<Omit<LinkConfig, 'mId'>>;
  /** Bound on events waiting for a controller. */
  readonly pendingEventsMax?: number;
}

/** Bounds on the inactivity timer's mit (units of 10 ms): 50 ms .. 60 s. */
const MIT_MIN = 5;
const MIT_MAX = 6_000;

/** Digits kept while nobody collects them. */
const TYPE_AHEAD_MAX = 32;

interface LineEvents { requestId: number; names: Set<string>; digitMap: DigitMap | undefined }

interface Line {
  readonly termId: string;
  hook: 'on' | 'off';
  contextId: number | undefined;
  signals: string[];
  events: LineEvents | undefined;
  digits: string;
  record: string | undefined;
  typeAhead: string;
}

interface PendingEvent { termId: string; requestId: number; name: string; params?: Record<string, string>; tid?: number }

export type GatewayEvent =
  | { type: 'registered'; controller: string; method: ServiceChangeMethod; atUs: number }
  | { type: 'controller-lost'; controller: string; reason: 'silence' | 'transaction-timeout'; atUs: number; lastHeardUs: number }
  | { type: 'rejected-command'; from: string; atUs: number };

type RegState = 'idle' | 'registering' | 'registered';

export class MediaGateway {
  readonly link: TransactionLink;
  private readonly lines = new Map<string, Line>();
  private readonly rtp = new Map<string, RtpTermination>();
  private readonly contexts = new Map<number, Set<string>>();
  private readonly freePorts: number[];
  private nextContextId = 1;
  private nextRtpId = 1;
  private reg: RegState = 'idle';
  private ctlIndex = 0;
  private controller: string | undefined;       // the controller we are registered with
  private target: string | undefined;           // the controller we are registering with
  private lostController: string | undefined;   // the one we failed away from
  private regTid: number | undefined;
  private regMethod: ServiceChangeMethod = 'restart';
  private attemptsThisRound = 0;
  private retryAtUs: number | undefined;
  private lastHeardUs = 0;
  /** Silence bound the current controller armed with it/ito (undefined: cfg.controllerTimeoutUs). */
  private armedSilenceUs: number | undefined;

  /** How much silence from the controller means it is lost. */
  silenceBoundUs(): number { return this.armedSilenceUs ?? this.cfg.controllerTimeoutUs; }
  private readonly pending: PendingEvent[] = [];
  private readonly events: GatewayEvent[] = [];
  private closedMaxGap = { gapUs: 0, endUs: 0 };
  private readonly closedGaps: RtpGap[] = [];
  private readonly tidKind = new Map<number, 'register' | 'notify'>();
  readonly stats = { commandsAccepted: 0, commandsRejected: 0, notifiesSent: 0, failovers: 0 };

  constructor(readonly cfg: GatewayConfig, private readonly rng: Rng) {
    for (let i = 1; i <= cfg.lines; i++) {
      const termId = `al/${i}`;
      this.lines.set(termId, { termId, hook: 'on', contextId: undefined, signals: [], events: undefined, digits: '', record: undefined, typeAhead: '' });
    }
    this.freePorts = [...cfg.rtpPorts];
    const lc: LinkConfig = { ...defaultLinkConfig(cfg.mgId), ...(cfg.link ?? {}) };
    this.link = new TransactionLink(lc, {
      onRequest: (peer, mId, req, nowUs) => this.onRequest(peer, mId, req, nowUs),
      onReply: (peer, tid, reply, nowUs) => this.onReply(peer, tid, reply, nowUs),
    });
  }

  // ------------------------------------------------------------------ lifecycle

  /** Registers with the first controller (ServiceChange Restart, RFC 3525 §11.2). */
  start(nowUs: number): void {
    this.ctlIndex = 0;
    this.register(nowUs, 'restart', ServiceChangeReasons.coldBoot);
  }

  currentController(): string | undefined { return this.reg === 'registered' ? this.controller : undefined; }

  private register(nowUs: number, method: ServiceChangeMethod, reasonCode: number): void {
    const target = this.cfg.controllers[this.ctlIndex % this.cfg.controllers.length]!;
    this.reg = 'registering';
    this.armedSilenceUs = undefined; // each controller arms its own inactivity timer
    this.target = target;
    this.regMethod = method;
    this.retryAtUs = undefined;
    // RFC 3525 §7.2.8: ServiceChange on ROOT carries method, reason, our version and profile.
    const tid = this.link.sendRequest(target, [{ contextId: '-', commands: [serviceChange('ROOT', {
      method, reason: { code: reasonCode }, version: 1, profile: 'unbroken_calls/1',
    })] }], nowUs);
    this.regTid = tid;
    this.tidKind.set(tid, 'register');
  }

  /** §11.5: walk to the next controller on the list after `failed` stopped answering. */
  private failover(nowUs: number, reason: 'silence' | 'transaction-timeout'): void {
    const lost = this.controller!;
    this.events.push({ type: 'controller-lost', controller: lost, reason, atUs: nowUs, lastHeardUs: this.lastHeardUs });
    this.stats.failovers++;
    this.lostController = lost;
    this.controller = undefined;
    this.link.forgetPeer(lost);
    for (const p of this.pending) delete p.tid; // resend them to whoever takes over
    this.attemptsThisRound = 0;
    this.ctlIndex = (this.cfg.controllers.indexOf(lost) + 1) % this.cfg.controllers.length;
    // §11.5: Failover with reason 909 "MGC Impending Failure".
    this.register(nowUs, 'failover', ServiceChangeReasons.mgcImpendingFailure);
  }

  private onRegisterFailed(nowUs: number): void {
    this.attemptsThisRound++;
    if (this.target) this.link.forgetPeer(this.target);
    if (this.attemptsThisRound >= this.cfg.controllers.length) {
      // §11.5: nobody answered — wait a random time, then start over at the primary.
      this.attemptsThisRound = 0;
      this.ctlIndex = 0;
      this.reg = 'idle';
      this.retryAtUs = nowUs + this.cfg.registerRetryUs + (this.rng.nextU32() % Math.max(1, this.cfg.registerRetryUs));
      return;
    }
    this.ctlIndex = (this.ctlIndex + 1) % this.cfg.controllers.length;
    this.retryRegister(nowUs);
  }

  private retryRegister(nowUs: number): void {
    const next = this.cfg.controllers[this.ctlIndex % this.cfg.controllers.length]!;
    // §11.5: back with the controller we lost contact with → Disconnected (900).
    if (next === this.lostController) this.register(nowUs, 'disconnected', ServiceChangeReasons.serviceRestored);
    else if (this.lostController !== undefined) this.register(nowUs, 'failover', ServiceChangeReasons.mgcImpendingFailure);
    else this.register(nowUs, 'restart', ServiceChangeReasons.coldBoot);
  }

  // ------------------------------------------------------------------ phone side (scripted lines)

  offHook(line: number, nowUs: number): void { const l = this.line(line); if (l.hook === 'off') return; l.hook = 'off'; l.digits = ''; l.typeAhead = ''; this.detect(l, Pkg.offHook, undefined, nowUs); }
  onHook(line: number, nowUs: number): void { const l = this.line(line); if (l.hook === 'on') return; l.hook = 'on'; l.digits = ''; l.typeAhead = ''; this.detect(l, Pkg.onHook, undefined, nowUs); }
  flash(line: number, nowUs: number): void { const l = this.line(line); if (l.hook !== 'off') return; this.detect(l, Pkg.flashHook, undefined, nowUs); }

  dial(line: number, digits: string, nowUs: number): void {
    const l = this.line(line);
    if (l.hook !== 'off') return;
    for (const d of digits) {
      if (!/[0-9*#]/.test(d)) continue;
      const ev = l.events;
      if (!ev || !ev.names.has(Pkg.digitCompletion) || !ev.digitMap) {
        // Digits before digit collection is armed (e.g. the controller is failing over) are
        // buffered and replayed when it is (RFC 3525 §7.1.9 event buffer, lock-step style).
        if (l.typeAhead.length < TYPE_AHEAD_MAX) l.typeAhead += d;
        continue;
      }
      if (l.signals.includes(Pkg.dialTone)) l.signals = l.signals.filter((s) => s !== Pkg.dialTone);
      l.digits += d;
      const v = ev.digitMap.match(l.digits);
      if (v === 'partial') continue;
      // RFC 3525 E.6.2: dd/ce with ds (digit string) and Meth (FM full match / UM unambiguous mismatch).
      this.detect(l, Pkg.digitCompletion, { ds: l.digits, Meth: v === 'complete' ? 'FM' : 'UM' }, nowUs);
      l.digits = '';
    }
  }

  lineView(line: number): { hook: 'on' | 'off'; signals: readonly string[]; contextId: number | undefined; record: string | undefined } {
    const l = this.line(line);
    return { hook: l.hook, signals: l.signals, contextId: l.contextId, record: l.record };
  }

  private line(n: number): Line {
    const l = this.lines.get(`al/${n}`);
    if (!l) throw new RangeError(`no line ${n}`);
    return l;
  }

  private detect(l: Line, name: string, params: Record<string, string> | undefined, nowUs: number): void {
    if (!l.events || !l.events.names.has(name)) return;
    // RFC 3525 §7.1.17: detecting a requested event stops the active signals (no KeepActive used).
    l.signals = [];
    if (this.pending.length >= (this.cfg.pendingEventsMax ?? 10_000)) return;
    this.pending.push({ termId: l.termId, requestId: l.events.requestId, name, ...(params ? { params } : {}) });
    this.flushEvents(nowUs);
  }

  private flushEvents(nowUs: number): void {
    if (this.reg !== 'registered' || !this.controller) return;
    for (const p of this.pending) {
      if (p.tid !== undefined) continue;
      const tid = this.link.sendRequest(this.controller, [{ contextId: this.lines.get(p.termId)?.contextId ?? '-', commands: [
        notify(p.termId, p.requestId, [{ name: p.name, ...(p.params ? { params: p.params } : {}) }]),
      ] }], nowUs);
      p.tid = tid;
      this.tidKind.set(tid, 'notify');
      this.stats.notifiesSent++;
    }
  }

  // ------------------------------------------------------------------ network side

  private pendingAfterReply = false;

  handleControl(peer: string, bytes: Uint8Array, nowUs: number): void {
    this.link.handleDatagram(peer, bytes, nowUs);
    if (this.pendingAfterReply) { this.pendingAfterReply = false; for (const f of this.afterReply.splice(0)) f(); }
  }

  handleRtp(port: number, bytes: Uint8Array, nowUs: number): void {
    for (const t of this.rtp.values()) if (t.port === port) { t.receiver.handleDatagram(bytes, nowUs); return; }
  }

  handleTimeout(nowUs: number): void {
    this.link.handleTimeout(nowUs);
    if (this.reg === 'registered' && nowUs - this.lastHeardUs >= this.silenceBoundUs()) this.failover(nowUs, 'silence');
    if (this.reg === 'idle' && this.retryAtUs !== undefined && nowUs >= this.retryAtUs) this.retryRegister(nowUs);
    this.runHandoff(nowUs);
  }

  pollDeadline(): number | undefined {
    const ds: number[] = [];
    const l = this.link.pollDeadline(); if (l !== undefined) ds.push(l);
    if (this.reg === 'registered') ds.push(this.lastHeardUs + this.silenceBoundUs());
    if (this.reg === 'idle' && this.retryAtUs !== undefined) ds.push(this.retryAtUs);
    if (this.handoffTo !== undefined) ds.push(0);
    return ds.length ? Math.min(...ds) : undefined;
  }

  pollRtpDeadline(): number | undefined {
    let d: number | undefined;
    for (const t of this.rtp.values()) { const x = t.deadline(); if (x !== undefined && (d === undefined || x < d)) d = x; }
    return d;
  }

  /** RTP datagrams due now. */
  pollRtp(nowUs: number): RtpDatagram[] {
    const out: RtpDatagram[] = [];
    for (const t of this.rtp.values()) t.poll(nowUs, out);
    return out;
  }

  pollControl(): { peer: string; bytes: Uint8Array } | undefined { return this.link.pollTransmit(); }
  pollEvent(): GatewayEvent | undefined { return this.events.shift(); }

  private onReply(peer: string, tid: number, reply: TransactionReply | undefined, nowUs: number): void {
    const kind = this.tidKind.get(tid);
    this.tidKind.delete(tid);
    if (kind === 'register') {
      if (tid !== this.regTid) return;
      this.regTid = undefined;
      const scErr = reply?.error ?? firstError(reply);
      const redirect = reply?.actions[0]?.commands[0]?.type === 'serviceChange'
        ? (reply.actions[0]!.commands[0] as { serviceChange?: { mgcIdToTry?: string } }).serviceChange?.mgcIdToTry : undefined;
      if (!reply || scErr) { this.onRegisterFailed(nowUs); return; }
      if (redirect) {
        // §7.2.8 ServiceChangeMgcId in the reply: register there instead.
        const addr = addressOfMid(redirect);
        const idx = addr ? this.cfg.controllers.indexOf(addr) : -1;
        if (idx >= 0 && addr !== peer) { this.ctlIndex = idx; this.register(nowUs, 'handOff', ServiceChangeReasons.mgcDirectedChange); return; }
      }
      this.accepted(peer, nowUs);
      return;
    }
    if (kind === 'notify') {
      const i = this.pending.findIndex((p) => p.tid === tid);
      if (i < 0) return;
      if (reply) { this.pending.splice(i, 1); this.lastHeardUs = Math.max(this.lastHeardUs, nowUs); return; }
      // A transport-level failure of our own transaction is a controller failure too (§11.5).
      delete this.pending[i]!.tid;
      if (this.reg === 'registered' && peer === this.controller) this.failover(nowUs, 'transaction-timeout');
    }
  }

  private accepted(peer: string, nowUs: number): void {
    if (this.controller !== peer) this.link.forgetPeerReplies(peer);
    this.reg = 'registered';
    this.controller = peer;
    this.lastHeardUs = nowUs;
    this.lostController = undefined;
    this.events.push({ type: 'registered', controller: peer, method: this.regMethod, atUs: nowUs });
    this.flushEvents(nowUs);
  }

  private onRequest(peer: string, _mId: string, req: TransactionRequest, nowUs: number): TransactionReply {
    // A command from the controller we are registering with means it accepted us; its
    // ServiceChange reply may simply arrive later (datagrams reorder).
    if (this.reg === 'registering' && peer === this.target && this.regTid !== undefined) {
      this.tidKind.delete(this.regTid);
      this.link.forgetRequest(this.regTid, nowUs);
      this.regTid = undefined;
      this.accepted(peer, nowUs);
    }
    if (this.reg !== 'registered' || peer !== this.controller) {
      // No split brain: only the controller we are registered with may command us.
      this.stats.commandsRejected++;
      this.events.push({ type: 'rejected-command', from: peer, atUs: nowUs });
      const by = this.controller ? midOfAddress(this.controller) : 'none';
      return { kind: 'reply', transactionId: req.transactionId, error: errorDescriptor(ErrorCodes.unauthorized, `controlled by ${by}`), actions: [] };
    }
    this.lastHeardUs = nowUs;
    this.stats.commandsAccepted++;
    const actions: ActionReply[] = [];
    for (const a of req.actions) actions.push(...this.runAction(a, nowUs));
    if (this.afterReply.length > 0) this.pendingAfterReply = true;
    return { kind: 'reply', transactionId: req.transactionId, actions };
  }

  // ------------------------------------------------------------------ commands

  private runAction(a: ActionRequest, nowUs: number): ActionReply[] {
    const only = a.commands.length === 1 && a.commands[0]!.type === 'auditValue' ? a.commands[0]!.terminationIds[0] : undefined;
    if (a.contextId === '*' && only !== undefined && only !== '*') {
      // ContextID ALL with one termination: the reply names the context it is in (NULL if none),
      // which lets a controller find the contexts of many lines in small pages.
      const l = this.lines.get(only);
      if (!l && !this.rtp.has(only)) return [{ contextId: '*', commands: [], error: errorDescriptor(ErrorCodes.unknownTerminationId, only) }];
      const ctx = l ? l.contextId : [...this.contexts.entries()].find(([, m]) => m.has(only))?.[0];
      return [{ contextId: ctx ?? '-', commands: [{ type: 'auditValue', terminationIds: [only] }] }];
    }
    if (typeof a.contextId === 'number' && only === '*') {
      // Every termination of one context with its media (a page of a paged context audit).
      const m = this.contexts.get(a.contextId);
      if (!m) return [{ contextId: a.contextId, commands: [], error: errorDescriptor(ErrorCodes.unknownContextId) }];
      return [{ contextId: a.contextId, commands: [...m].sort().map((t) => ({ type: 'auditValue' as const, terminationIds: [t], audit: { media: this.mediaOf(t) } })) }];
    }
    if (a.contextId === '*') {
      // Audit of every context (RFC 3525 §7.2.5 with ContextID ALL).
      if (a.commands.length !== 1 || a.commands[0]!.type !== 'auditValue') return [{ contextId: '*', commands: [], error: errorDescriptor(ErrorCodes.unsupportedCommand, 'only AuditValue on *') }];
      // No context at all: an empty answer on ROOT in the NULL context (a reply needs one action).
      if (this.contexts.size === 0) return [{ contextId: '-', commands: [{ type: 'auditValue', terminationIds: ['ROOT'] }] }];
      return [...this.contexts.keys()].sort((x, y) => x - y).map((id) => ({
        contextId: id,
        commands: [...this.contexts.get(id)!].sort().map((t) => ({ type: 'auditValue' as const, terminationIds: [t], audit: { media: this.mediaOf(t) } })),
      }));
    }
    let ctx: ContextId = a.contextId;
    const replies: CommandReply[] = [];
    for (const c of a.commands) {
      const r = this.runCommand(ctx, c, nowUs);
      if ('error' in r) {
        // A context this action created and then failed in is rolled back whole: the
        // controller never learns its id, so nobody could ever subtract it.
        if (a.contextId === '$' && typeof ctx === 'number') {
          for (const t of [...(this.contexts.get(ctx) ?? [])]) this.removeTermination(ctx, t);
          this.contexts.delete(ctx);
          return [{ contextId: '-', commands: [], error: r.error }];
        }
        if (typeof ctx === 'number' && this.contexts.get(ctx)?.size === 0) this.contexts.delete(ctx);
        return [{ contextId: ctx, commands: replies, error: r.error }];
      }
      ctx = r.ctx;
      replies.push(r.reply);
    }
    // A context whose last termination left is deleted (RFC 3525 §6.1).
    if (typeof ctx === 'number' && this.contexts.get(ctx)?.size === 0) this.contexts.delete(ctx);
    return [{ contextId: ctx, commands: replies }];
  }

  private runCommand(ctx: ContextId, c: CommandRequest, nowUs: number): { ctx: ContextId; reply: CommandReply } | { error: ErrorDescriptor } {
    const tid = c.terminationIds[0] ?? '';
    switch (c.type) {
      case 'add': {
        if (ctx === '-' || ctx === '*') return { error: errorDescriptor(ErrorCodes.unknownContextId, 'Add needs a context') };
        if (tid !== 'rtp/$') {
          // Validate the physical termination before a CHOOSE context is created for it.
          const l0 = this.lines.get(tid);
          if (!l0) return { error: errorDescriptor(ErrorCodes.unknownTerminationId, tid) };
          if (l0.contextId !== undefined) return { error: errorDescriptor(ErrorCodes.terminationAlreadyInContext, tid) };
        }
        let id: number;
        if (ctx === '$') { id = this.nextContextId++; this.contexts.set(id, new Set()); ctx = id; }
        else { id = ctx; if (!this.contexts.has(id)) return { error: errorDescriptor(ErrorCodes.unknownContextId) }; }
        const members = this.contexts.get(id)!;
        if (members.size >= 4) return { error: errorDescriptor(ErrorCodes.maxTerminationsInContext) };
        if (tid === 'rtp/$') {
          const port = this.freePorts.shift();
          if (port === undefined) { if (members.size === 0) this.contexts.delete(id); return { error: errorDescriptor(ErrorCodes.outOfTerminationIds, 'no RTP port') }; }
          const t = new RtpTermination(`rtp/${this.nextRtpId++}`, port, this.cfg.rtpIp, this.cfg.law, this.rng, nowUs);
          this.rtp.set(t.termId, t);
          members.add(t.termId);
          const err = this.applyRtp(t, c);
          if (err) return { error: err };
          return { ctx, reply: { type: 'add', terminationIds: [t.termId], audit: { media: { streams: [{ local: sdp(t.localSdp()) }] } } } };
        }
        const l = this.lines.get(tid);
        if (!l) return { error: errorDescriptor(ErrorCodes.unknownTerminationId, tid) };
        if (l.contextId !== undefined) return { error: errorDescriptor(ErrorCodes.terminationAlreadyInContext, tid) };
        l.contextId = id;
        members.add(tid);
        this.applyLine(l, c, nowUs);
        return { ctx, reply: { type: 'add', terminationIds: [tid] } };
      }
      case 'modify': {
        if (tid === 'ROOT') {
          // Inactivity timer package (it/ito): the controller tells us how much silence from it
          // means it is gone. Past that bound we fail over at once — a Notify ito to a controller
          // that is down would only wait out its own retransmissions.
          if (ctx !== '-') return { error: errorDescriptor(ErrorCodes.unknownTerminationId, 'ROOT is in the NULL context') };
          const ito = c.type === 'modify' ? c.events?.events.find((e) => e.name === Pkg.inactivityTimeout) : undefined;
          const mit = ito ? Number(typeof ito.params?.mit === 'string' ? ito.params.mit : NaN) : undefined;
          if (ito && !(Number.isInteger(mit) && mit! >= MIT_MIN && mit! <= MIT_MAX)) return { error: errorDescriptor(ErrorCodes.unsupportedParameter, `mit must be ${MIT_MIN}..${MIT_MAX}`) };
          if (c.type === 'modify' && c.events) this.armedSilenceUs = mit !== undefined ? mit * 10_000 : undefined;
          return { ctx, reply: { type: 'modify', terminationIds: ['ROOT'] } };
        }
        if (typeof ctx === 'number' && !this.contexts.has(ctx)) return { error: errorDescriptor(ErrorCodes.unknownContextId) };
        const l = this.lines.get(tid);
        if (l) {
          if (ctx !== '-' && ctx !== l.contextId) return { error: errorDescriptor(ErrorCodes.terminationNotInContext, tid) };
          this.applyLine(l, c, nowUs);
          return { ctx, reply: { type: 'modify', terminationIds: [tid] } };
        }
        const t = this.rtp.get(tid);
        if (!t || typeof ctx !== 'number' || !this.contexts.get(ctx)?.has(tid)) return { error: errorDescriptor(ErrorCodes.unknownTerminationId, tid) };
        const err = this.applyRtp(t, c);
        if (err) return { error: err };
        return { ctx, reply: { type: 'modify', terminationIds: [tid] } };
      }
      case 'subtract': {
        if (typeof ctx !== 'number' || !this.contexts.has(ctx)) return { error: errorDescriptor(ErrorCodes.unknownContextId) };
        const members = this.contexts.get(ctx)!;
        const victims = tid === '*' ? [...members] : members.has(tid) ? [tid] : [];
        if (victims.length === 0) return { error: errorDescriptor(ErrorCodes.terminationNotInContext, tid) };
        for (const v of victims) this.removeTermination(ctx, v);
        return { ctx, reply: { type: 'subtract', terminationIds: [tid] } };
      }
      case 'auditValue': {
        if (tid === 'ROOT') return { ctx, reply: { type: 'auditValue', terminationIds: ['ROOT'] } }; // keepalive
        if (!this.lines.has(tid) && !this.rtp.has(tid)) return { error: errorDescriptor(ErrorCodes.unknownTerminationId, tid) };
        return { ctx, reply: { type: 'auditValue', terminationIds: [tid], audit: { media: this.mediaOf(tid) } } };
      }
      case 'serviceChange': {
        if (tid !== 'ROOT' || c.serviceChange.method !== 'handOff' || !c.serviceChange.mgcIdToTry) return { error: errorDescriptor(ErrorCodes.unsupportedParameter, 'only HandOff to ROOT') };
        const addr = addressOfMid(c.serviceChange.mgcIdToTry);
        const idx = addr ? this.cfg.controllers.indexOf(addr) : -1;
        if (idx < 0) return { error: errorDescriptor(ErrorCodes.unsupportedParameter, 'MgcIdToTry not on our list') };
        // §11.5 Handoff: register with the named controller (after this reply goes out).
        this.handoffTo = idx;
        return { ctx, reply: { type: 'serviceChange', terminationIds: ['ROOT'] } };
      }
      default:
        return { error: errorDescriptor(ErrorCodes.unsupportedCommand, c.type) };
    }
  }

  private handoffTo: number | undefined;
  /** Work to run once the current request's reply is queued (so events follow the reply). */
  private readonly afterReply: (() => void)[] = [];

  /** Runs a pending Handoff (from handleTimeout, so the reply leaves first). */
  private runHandoff(nowUs: number): void {
    if (this.handoffTo === undefined) return;
    const idx = this.handoffTo;
    this.handoffTo = undefined;
    this.controller = undefined;
    this.lostController = undefined;
    this.ctlIndex = idx;
    for (const p of this.pending) delete p.tid;
    this.register(nowUs, 'handOff', ServiceChangeReasons.mgcDirectedChange);
  }

  private removeTermination(ctx: number, termId: string): void {
    this.contexts.get(ctx)?.delete(termId);
    const l = this.lines.get(termId);
    if (l) { l.contextId = undefined; l.record = undefined; l.signals = []; return; }
    const t = this.rtp.get(termId);
    if (t) {
      for (const x of t.receiver.gaps) keepGap(this.closedGaps, x, 2_000);
      const g = t.receiver.largestGap();
      if (g.gapUs > this.closedMaxGap.gapUs) this.closedMaxGap = g;
      this.rtp.delete(termId);
      this.freePorts.push(t.port);
    }
  }

  private applyLine(l: Line, d: AmmDescriptors, nowUs: number): void {
    if (d.signals !== undefined) l.signals = d.signals.flatMap((s) => (s.kind === 'signal' ? [s.name] : s.signals.map((x) => x.name)));
    if (d.events !== undefined) {
      if (d.events.events.length === 0) l.events = undefined;
      else {
        const dmText = d.events.events.find((e) => e.digitMap?.value)?.digitMap?.value ?? d.digitMap?.value;
        l.events = { requestId: typeof d.events.requestId === 'number' ? d.events.requestId : 0, names: new Set(d.events.events.map((e) => e.name)), digitMap: dmText ? DigitMap.parse(dmText) : undefined };
        l.digits = '';
        if (l.typeAhead && l.events.digitMap && l.events.names.has(Pkg.digitCompletion)) {
          const ahead = l.typeAhead; l.typeAhead = '';
          const n = Number(l.termId.slice(3));
          this.afterReply.push(() => this.dial(n, ahead, nowUs));
        }
      }
    }
    const rec = d.media?.terminationState?.properties?.[RECORD_PROPERTY];
    if (typeof rec === 'string') l.record = rec === '' || rec === '""' ? undefined : rec;
  }

  private applyRtp(t: RtpTermination, d: AmmDescriptors): ErrorDescriptor | undefined {
    const s = d.media?.streams[0];
    if (!s) return undefined;
    if (s.localControl?.mode) t.mode = s.localControl.mode;
    if (s.remote) {
      const a = sdpAddress(s.remote.view);
      if (!a) return errorDescriptor(ErrorCodes.missingRemoteOrLocal, 'remote SDP without address');
      t.remote = a;
    }
    return undefined;
  }

  private mediaOf(termId: string): MediaDescriptor {
    const l = this.lines.get(termId);
    if (l) return { terminationState: { properties: l.record ? { [RECORD_PROPERTY]: l.record } : {} }, streams: [] };
    const t = this.rtp.get(termId)!;
    const mode: StreamMode = t.mode;
    return { streams: [{ localControl: { mode }, local: sdp(t.localSdp()), ...(t.remote ? { remote: sdp(`v=0\r\nc=IN IP4 ${t.remote.ip}\r\nm=audio ${t.remote.port} RTP/AVP ${t.law === 'pcmu' ? 0 : 8}`) } : {}) }] };
  }

  // ------------------------------------------------------------------ reporting

  /** Contexts with their terminations and records (what an audit would return). */
  contextsView(): { id: number; terms: string[]; records: string[] }[] {
    return [...this.contexts.entries()].map(([id, m]) => ({ id, terms: [...m], records: [...m].flatMap((t) => { const r = this.lines.get(t)?.record; return r ? [r] : []; }) }));
  }

  /** Largest RTP inter-arrival gap over every termination this gateway ever had. */
  largestRtpGapUs(): number { return this.largestRtpGap().gapUs; }

  largestRtpGap(): { gapUs: number; endUs: number } {
    let g = this.closedMaxGap;
    for (const t of this.rtp.values()) { const x = t.receiver.largestGap(); if (x.gapUs > g.gapUs) g = x; }
    return g;
  }

  /** Logged RTP gaps (≥ GAP_LOG_MIN_US) of every termination, for windows such as a failover. */
  rtpGaps(): RtpGap[] { return [...this.closedGaps, ...[...this.rtp.values()].flatMap((t) => t.receiver.gaps)]; }

  rtpTerminations(): readonly RtpTermination[] { return [...this.rtp.values()]; }
}

function firstError(r: TransactionReply | undefined): ErrorDescriptor | undefined {
  if (!r) return undefined;
  for (const a of r.actions) {
    if (a.error) return a.error;
    for (const c of a.commands) if ('error' in c && c.error) return c.error;
  }
  return undefined;
}
