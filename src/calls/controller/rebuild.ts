// Call-preserving failover, controller side: when a gateway registers after a
// failover (or handoff), audit its contexts, read the call records its lines keep,
// merge the halves of each call across gateways by call id and peer gateway, then
// keep every stable call (normalising tones, modes and records) and release the
// rest with a CDR. Nothing here is replicated between controllers.
import type { AuditReply, StreamMode, TransactionReply } from '../h248/model.js';
import { ErrorCodes, action, auditValue, errorDescriptor, media, modify, subtract } from '../h248/model.js';
import type { CallController, GatewayEntry } from './controller.js';
import type { Call, Edge, Party } from './call-model.js';
import { edgeBetween, recordOf } from './call-model.js';
import { RECORD_PROPERTY, STABLE_PHASES, parseRecord } from '../record/call-record.js';
import type { CallRecord } from '../record/call-record.js';
import { sdpAddress } from '../gateway/rtp-termination.js';
import { Pkg } from '../common/packages.js';
import { EV_ANY_HOOK, EV_IDLE, EV_TALK, SG_NONE, recordMedia } from './descriptors.js';
import type { ActionRequest } from '../h248/model.js';
import { Fifo } from '../common/fifo.js';

interface RtpSeen { termId: string; localSdp: string; local: string | undefined; remote: string | undefined; mode: StreamMode | undefined }

export interface Fragment {
  readonly mgId: string;
  readonly ctx: number;
  readonly lineTerm: string | undefined;
  readonly num: string | undefined;
  readonly record: CallRecord | undefined;
  readonly rtps: RtpSeen[];
}

interface PendingCall {
  record: CallRecord;
  fragments: Fragment[];
  firstUs: number;
  queue: { num: string; event: string; params: Record<string, string> }[];
  /** A party hung up while the call waited; past forceAtUs the call is ended. */
  hungUp?: string;
  forceAtUs?: number;
  /**
   * Gateways whose half must come from a fresh audit before the call can merge: the merge
   * was tried, and these gateways did not answer it (they went away and may be back).
   */
  awaiting?: Set<string>;
}

const PENDING_QUEUE_MAX = 32;
/** Calls merged in one step of the controller (see tryMerge). */
const MERGE_SLICE = 100;
/** Actions of merged calls sharing one transaction to a gateway: about 10 KB of text. */
const ACTIONS_PER_TRANSACTION = 48;
/** Rebuild transactions in flight to one gateway, and overall (see sendPaced). */
const PACE_PER_GATEWAY = 2;
const PACE_TOTAL = 16;
/** Gateways with at most this many lines are audited in one transaction. */
const AUDIT_WHOLE_MAX_LINES = 40;
const LINES_PER_PAGE = 100;
const CONTEXTS_PER_PAGE = 40;
/** How long a hang-up waits for a half-reported call to merge before it ends the call. */
const HANGUP_GRACE_US = 1_000_000;

/** Parses an audit reply of ContextID=* into one fragment per context. */
export function fragmentsOf(mgId: string, reply: TransactionReply, numberAt: (mgId: string, termId: string) => string | undefined): Fragment[] {
  const out: Fragment[] = [];
  for (const a of reply.actions) {
    if (typeof a.contextId !== 'number') continue;
    let lineTerm: string | undefined; let record: CallRecord | undefined;
    const rtps: RtpSeen[] = [];
    for (const c of a.commands) {
      if (c.type !== 'auditValue') continue;
      const t = c.terminationIds[0];
      const m = (c as AuditReply).audit?.media;
      if (!t || !m) continue;
      const recText = m.terminationState?.properties?.[RECORD_PROPERTY];
      if (t.startsWith('al/')) {
        lineTerm = t;
        if (typeof recText === 'string') { const r = parseRecord(recText); if (r.ok) record = r.value; }
      } else {
        const s = m.streams[0];
        const la = s?.local ? sdpAddress(s.local.view) : undefined;
        const ra = s?.remote ? sdpAddress(s.remote.view) : undefined;
        rtps.push({ termId: t, localSdp: s?.local?.text ?? '', local: la && `${la.ip}:${la.port}`, remote: ra && `${ra.ip}:${ra.port}`, mode: s?.localControl?.mode });
      }
    }
    out.push({ mgId, ctx: a.contextId, lineTerm, num: lineTerm ? numberAt(mgId, lineTerm) : undefined, record, rtps });
  }
  return out;
}

export class Rebuilder {
  private readonly pending = new Map<string, PendingCall>();
  private readonly lineHeld = new Map<string, string>();
  private readonly reauditing = new Set<GatewayEntry>();
  readonly stats = { preserved: 0, released: 0, orphansCleared: 0 };
  /** deadline()'s last answer, valid until a pending call comes, goes or gets a force time. */
  private cachedDeadline: number | undefined;
  private deadlineStale = true;
  private mergeWanted = false;
  /** Calls the last scan found mergeable, merged MERGE_SLICE a step from mergeHead on. */
  private readonly mergeList: string[] = [];
  private mergeHead = 0;

  constructor(private readonly c: CallController) {}

  holdsLine(num: string): boolean { return this.lineHeld.has(num); }

  queueEvent(num: string, event: string, params: Record<string, string>, nowUs: number): void {
    const callId = this.lineHeld.get(num)!;
    const p = this.pending.get(callId);
    if (!p) return;
    if (event === Pkg.onHook && p.hungUp === undefined) {
      // A party hung up while the call still waits for its other gateway. Within a short
      // grace the merge usually completes and the hang-up is replayed on the rebuilt call;
      // past it the user's decision wins: the call ends with what we have (onTimer).
      p.hungUp = num;
      p.forceAtUs = Math.max(nowUs, p.firstUs + HANGUP_GRACE_US);
      this.deadlineStale = true;
    }
    if (p.queue.length < PENDING_QUEUE_MAX) p.queue.push({ num, event, params });
    if (p.forceAtUs !== undefined && nowUs >= p.forceAtUs) this.resolveHungUp(callId, p, nowUs);
  }

  /** The lines a pending call held are free for the merged (or released) call. */
  private unhold(callId: string, p: PendingCall): void {
    for (const f of p.fragments) if (f.num && this.lineHeld.get(f.num) === callId) this.lineHeld.delete(f.num);
    for (const n of p.record.parties) if (this.lineHeld.get(n) === callId) this.lineHeld.delete(n);
  }

  private resolveHungUp(callId: string, p: PendingCall, nowUs: number): void {
    this.pending.delete(callId);
    this.deadlineStale = true;
    this.unhold(callId, p);
    this.merge(p, false, nowUs, p.hungUp);
  }

  forgetGateway(_mgId: string): void { /* pending calls resolve by timer */ }

  onRegistered(gw: GatewayEntry, nowUs: number): void {
    if (gw.method === 'restart') {
      // A cold-started gateway has no contexts: its calls (if we had any) are gone.
      for (const call of [...this.c.calls.values()]) if (call.parties.some((p) => p.mgId === gw.mgId)) this.c.flows.release(call, 'gateway-lost', undefined, nowUs);
      this.c.provisionLines(gw, this.c.cfg.plan.linesOf(gw.mgId), nowUs, (_ok, t) => { this.c.activate(gw, t); this.c.emit({ type: 'gateway-rebuilt', mgId: gw.mgId, atUs: t, fragments: 0 }); });
      return;
    }
    if (this.c.replica) { this.adopt(gw, nowUs); return; }
    this.auditContexts(gw, nowUs, (r, t) => {
      if (this.c.gateways.get(gw.mgId) !== gw) return;
      const frags = r && !r.error ? fragmentsOf(gw.mgId, r, (m, term) => this.c.cfg.plan.numberAt(m, term)) : [];
      this.absorb(gw, frags, t);
      this.c.activate(gw, t);
      this.c.emit({ type: 'gateway-rebuilt', mgId: gw.mgId, atUs: t, fragments: frags.length });
      this.tryMerge(t, false);
    });
  }

  /**
   * The replication baseline (bench only): the calls were copied to us on every change,
   * so a registering gateway needs no audit; a call is ours again once every gateway it
   * spans has registered.
   */
  private adopt(gw: GatewayEntry, nowUs: number): void {
    this.c.activate(gw, nowUs);
    this.c.emit({ type: 'gateway-rebuilt', mgId: gw.mgId, atUs: nowUs, fragments: 0 });
    for (const call of this.c.replica!.callsOn(gw.mgId)) {
      if (this.c.calls.has(call.id)) continue;
      if (!call.parties.every((p) => this.c.gateways.get(p.mgId)?.status === 'active')) continue;
      this.c.calls.set(call.id, call);
      for (const q of call.parties) if (q.ctx !== undefined) this.c.lineCall.set(q.num, call.id);
      call.preservedAtUs = nowUs;
      this.stats.preserved++;
      this.c.emit({ type: 'call-preserved', callId: call.id, phase: call.phase, atUs: nowUs });
    }
  }

  /**
   * Every context of a gateway with its terminations and media, as one reply. A gateway
   * with a few lines answers one AuditValue on ContextID=* (RFC 3525 §7.2.5); a large
   * one would overflow a message (64 KB over UDP and in one TPKT frame), so it is asked
   * in pages: which context each line is in (ContextID=* with one termination, 100 lines
   * a transaction), then the contexts' terminations and media, 40 contexts a transaction.
   */
  auditContexts(gw: GatewayEntry, nowUs: number, k: (reply: TransactionReply | undefined, nowUs: number) => void): void {
    const lines = this.c.cfg.plan.linesOf(gw.mgId);
    if (lines.length <= AUDIT_WHOLE_MAX_LINES) { this.sendPaced(gw.mgId, [action('*', auditValue('*', ['media']))], nowUs, k, true); return; }
    const pages = (xs: readonly (string | number)[], n: number): (string | number)[][] => { const out = []; for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n)); return out; };
    const gather = (reqs: ActionRequest[][], t0: number, done: (replies: TransactionReply[] | undefined, t: number) => void): void => {
      const got: TransactionReply[] = [];
      let left = reqs.length; let failed = false;
      if (left === 0) { this.c.later((t) => done([], t)); return; }
      for (const acts of reqs) {
        this.sendPaced(gw.mgId, acts, t0, (r, t) => {
          if (!r || r.error) failed = true; else got.push(r);
          if (--left === 0) done(failed ? undefined : got, t);
        }, true);
      }
    };
    gather(pages(lines, LINES_PER_PAGE).map((p) => p.map((term) => action('*', auditValue(String(term))))), nowUs, (rs, t1) => {
      if (!rs) { k(undefined, t1); return; }
      const ctxs = new Set<number>();
      for (const r of rs) for (const a of r.actions) if (typeof a.contextId === 'number' && !a.error) ctxs.add(a.contextId);
      gather(pages([...ctxs].sort((x, y) => x - y), CONTEXTS_PER_PAGE).map((p) => p.map((id) => action(Number(id), auditValue('*', ['media'])))), t1, (rs2, t2) => {
        if (!rs2) { k(undefined, t2); return; }
        // Contexts that ended between the two rounds answer "unknown context": skipped.
        k({ kind: 'reply', transactionId: 0, actions: rs2.flatMap((r) => r.actions.filter((a) => !a.error)) }, t2);
      });
    });
  }

  /** Audits a gateway we keep controlling and takes in the halves of calls we no longer hold. */
  reaudit(gw: GatewayEntry, nowUs: number): void {
    // One at a time per registration: a context that exists when a later audit would be
    // sent exists for the one in flight too (a call's contexts stay until it is released).
    if (this.reauditing.has(gw)) return;
    this.reauditing.add(gw);
    this.auditContexts(gw, nowUs, (r, t) => {
      this.reauditing.delete(gw);
      if (this.c.gateways.get(gw.mgId) !== gw || !r || r.error) return;
      // Only contexts that carry a record of a call we do not hold; never clear orphans here
      // (a half set up call of ours may be in flight on this gateway).
      this.absorb(gw, fragmentsOf(gw.mgId, r, (m, term) => this.c.cfg.plan.numberAt(m, term)).filter((f) => f.record && f.num && !this.c.calls.has(f.record.callId)), t);
      this.tryMerge(t, false);
    });
  }

  private absorb(gw: GatewayEntry, frags: Fragment[], nowUs: number): void {
    const orphans: Fragment[] = [];
    for (const f of frags) {
      // A context of a call we already billed: its Subtract never reached the gateway (it was
      // away at the time). The call ended once; its leftovers are cleared, not rebuilt.
      if (!f.record || !f.num || this.c.wasBilled(f.record.callId)) { orphans.push(f); continue; }
      const ours = this.c.calls.get(f.record.callId);
      if (ours) {
        // Already ours (a registration again, our state kept). A line of it that is no party
        // any more kept the leg that left (the gateway was away when it was cleared): clear it.
        const q = ours.parties.find((x) => x.num === f.num);
        if (!q) orphans.push(f);
        // Its context, if the command that created it got no answer (it reached the gateway
        // late): known now, so whatever ends the call also clears it.
        else if (q.ctx === undefined && q.mgId === gw.mgId) q.ctx = f.ctx;
        continue;
      }
      let p = this.pending.get(f.record.callId);
      if (!p) { p = { record: f.record, fragments: [], firstUs: nowUs, queue: [] }; this.pending.set(f.record.callId, p); this.deadlineStale = true; }
      if (f.record.seq > p.record.seq) p.record = f.record;
      p.fragments = p.fragments.filter((x) => !(x.mgId === f.mgId && x.ctx === f.ctx));
      p.fragments.push(f);
      this.lineHeld.set(f.num, f.record.callId);
    }
    // This audit is complete: calls that waited for this gateway's half have it now, or it is gone.
    for (const p of this.pending.values()) if (p.awaiting?.delete(gw.mgId) && p.awaiting.size === 0) { p.awaiting = undefined; this.mergeWanted = true; }
    if (orphans.length > 0) {
      // Contexts without a record were half set up: clear them; their lines wait for either hook event.
      const acts: ActionRequest[] = [];
      for (const o of orphans) {
        acts.push(action(o.ctx, subtract('*')));
        if (o.lineTerm) acts.push(action('-', modify(o.lineTerm, { signals: SG_NONE, events: EV_ANY_HOOK })));
      }
      this.stats.orphansCleared += orphans.length;
      for (let i = 0; i < acts.length; i += ACTIONS_PER_TRANSACTION) this.sendPaced(gw.mgId, acts.slice(i, i + ACTIONS_PER_TRANSACTION), nowUs, () => {});
    }
  }

  /** A gateway became active: calls waiting for it may merge now. */
  gatewayActivated(): void { this.mergeWanted = true; }

  /** Whether a pending call can merge now: 'ready' (every half can be there), 'due' (waited long enough), or not. */
  private readiness(p: PendingCall, nowUs: number, force: boolean): 'ready' | 'due' | undefined {
    let ready = p.awaiting === undefined;
    for (const n of p.record.parties) if (ready && this.c.gateways.get(this.c.cfg.plan.lookup(n)?.mgId ?? '?')?.status !== 'active') ready = false;
    for (const f of p.fragments) if (ready && this.c.gateways.get(f.mgId)?.status !== 'active') ready = false;
    if (ready) return 'ready';
    return force && nowUs - p.firstUs >= this.c.cfg.rebuildWaitUs ? 'due' : undefined;
  }

  /**
   * Merges the calls that can be merged — a slice per step: a gateway coming up can make
   * thousands ready at once, and a controller that spent seconds merging them in one go
   * would send nobody a keepalive meanwhile (its gateways would give up on it). The rest
   * follow on the next steps (deadline() answers "now" while a scan's list lasts).
   */
  private tryMerge(nowUs: number, force: boolean): void {
    if (this.mergeHead >= this.mergeList.length) {
      this.mergeList.length = 0;
      this.mergeHead = 0;
      this.mergeWanted = false;
      for (const [callId, p] of this.pending) if (this.readiness(p, nowUs, force)) this.mergeList.push(callId);
    }
    // Paced: no new slice while the last ones' commands still wait for a slot.
    if (this.mergeBacklogFull()) return;
    this.collecting = new Map();
    for (let n = 0; n < MERGE_SLICE && this.mergeHead < this.mergeList.length;) {
      const callId = this.mergeList[this.mergeHead++]!;
      const p = this.pending.get(callId);
      const how = p && this.readiness(p, nowUs, force);
      if (!p || !how) continue;
      n++;
      this.pending.delete(callId);
      this.deadlineStale = true;
      this.unhold(callId, p);
      // A call taken back (requeue) that no gateway of ours reported in the whole wait: its
      // gateways moved to another controller, which owns it now — not ours to end or bill.
      if (p.fragments.length === 0) continue;
      this.merge(p, how === 'ready', nowUs);
    }
    this.flushCollected(nowUs);
  }

  // ------------------------------------------------------------------ pacing

  /** Rebuild transactions waiting for a slot, per gateway; served round robin. */
  private readonly paceQueues = new Map<string, Fifo<{ actions: ActionRequest[]; k: (r: TransactionReply | undefined, t: number) => void; readOnly: boolean }>>();
  private readonly paceInFlight = new Map<string, number>();
  private paceTotal = 0;
  private paceWaiting = 0;

  /**
   * Sends a rebuild transaction (audit page, merged calls' commands, clearing) when a slot
   * is free: at most PACE_PER_GATEWAY in flight to a gateway and PACE_TOTAL overall. A
   * controller rebuilding thousands of calls that sent everything at once would queue
   * seconds of replies in front of itself, time its own transactions out while their
   * answers wait to be read, retransmit them and drown in the duplicate answers; paced,
   * its replies are read as they come and the rebuild goes as fast as the CPU allows.
   */
  private sendPaced(mgId: string, actions: ActionRequest[], nowUs: number, k: (r: TransactionReply | undefined, t: number) => void, readOnly = false): void {
    let q = this.paceQueues.get(mgId);
    if (!q) { q = new Fifo(); this.paceQueues.set(mgId, q); }
    q.push({ actions, k, readOnly });
    this.paceWaiting++;
    this.pump(nowUs);
  }

  private pump(nowUs: number): void {
    for (let progress = true; progress && this.paceWaiting > 0 && this.paceTotal < PACE_TOTAL;) {
      progress = false;
      for (const [mgId, q] of this.paceQueues) {
        if (this.paceTotal >= PACE_TOTAL) break;
        const busy = this.paceInFlight.get(mgId) ?? 0;
        if (q.length === 0 || busy >= PACE_PER_GATEWAY) continue;
        const x = q.shift()!;
        this.paceWaiting--;
        if (q.length === 0) this.paceQueues.delete(mgId);
        this.paceInFlight.set(mgId, busy + 1);
        this.paceTotal++;
        progress = true;
        this.c.send(mgId, x.actions, nowUs, (r, t) => {
          this.paceTotal--;
          const n = (this.paceInFlight.get(mgId) ?? 1) - 1;
          if (n > 0) this.paceInFlight.set(mgId, n); else this.paceInFlight.delete(mgId);
          x.k(r, t);
          this.pump(t);
        }, x.readOnly);
      }
    }
  }

  /** Merged calls whose commands wait for a pacing slot: tryMerge builds more only below this. */
  private mergeBacklogFull(): boolean { return this.paceWaiting >= PACE_TOTAL; }

  /** Per gateway, the commands of the calls merged in this step (see sendAll). */
  private collecting: Map<string, { actions: ActionRequest[]; done: (r: TransactionReply | undefined, t: number) => void }[]> | undefined;

  /**
   * Like CallController.batch, but while a step merges many calls their commands to one
   * gateway share transactions (flushCollected): one message carries tens of calls'
   * normalisation instead of one message per call and gateway — fewer messages to
   * encode, send, parse and acknowledge on both sides, which is what the failover of
   * thousands of calls costs. Each call's actions are its own actions (independent in
   * H.248), and each call still sees only its own replies.
   */
  private sendAll(parts: Map<string, ActionRequest[]>, nowUs: number, k: (replies: Map<string, TransactionReply | undefined>, nowUs: number) => void): void {
    const col = this.collecting;
    if (!col) { this.c.batch(parts, nowUs, k); return; }
    const out = new Map<string, TransactionReply | undefined>();
    let left = parts.size;
    if (left === 0) { this.c.later((t) => k(out, t)); return; }
    for (const [m, actions] of parts) {
      let xs = col.get(m);
      if (!xs) { xs = []; col.set(m, xs); }
      xs.push({ actions, done: (r, t) => { out.set(m, r); if (--left === 0) k(out, t); } });
    }
  }

  private flushCollected(nowUs: number): void {
    const col = this.collecting;
    this.collecting = undefined;
    for (const [m, parts] of col ?? []) {
      for (let i = 0; i < parts.length;) {
        const chunk: typeof parts = [];
        let n = 0;
        while (i < parts.length && (chunk.length === 0 || n + parts[i]!.actions.length <= ACTIONS_PER_TRANSACTION)) { n += parts[i]!.actions.length; chunk.push(parts[i++]!); }
        this.sendPaced(m, chunk.flatMap((x) => x.actions), nowUs, (r, t) => {
          let off = 0;
          for (const x of chunk) {
            const len = x.actions.length;
            const mine = r?.actions.slice(off, off + len);
            off += len;
            if (!r || r.error) x.done(r, t);
            else if (mine!.length === len) x.done({ kind: 'reply', transactionId: r.transactionId, actions: mine! }, t);
            else x.done({ kind: 'reply', transactionId: r.transactionId, error: errorDescriptor(ErrorCodes.internalFailure, 'reply without our actions'), actions: [] }, t);
          }
        });
      }
    }
  }

  /**
   * Takes a call we hold back into the rebuild: out of the controller's calls (unbilled),
   * waiting like a half-reported call after a failover until the halves on `awaiting`
   * gateways are read again by an audit and every gateway it spans is ours (or, failing
   * that, until the rebuild wait runs out; a hang-up meanwhile ends it after a short grace).
   * `fragments` are halves already known to be current. Events the call had queued, and
   * those of its lines from now on, wait with it and are replayed on the merged call.
   * Used when a gateway of the call went away while we may keep the call: it did not
   * answer the merge's normalisation, or it refused us (it may be coming back).
   */
  requeue(call: Call, fragments: readonly Fragment[], awaiting: ReadonlySet<string>, nowUs: number): void {
    const queued = call.queue.slice(0, PENDING_QUEUE_MAX);
    this.c.dropCall(call);
    // Our view of the call is the fallback record; any record a gateway reports replaces it.
    const p: PendingCall = { record: { ...recordOf(call), seq: fragments.length > 0 ? call.seq : 0 }, fragments: [...fragments], firstUs: nowUs, queue: [], awaiting: awaiting.size > 0 ? new Set(awaiting) : undefined };
    this.pending.set(call.id, p);
    this.deadlineStale = true;
    for (const f of p.fragments) if (f.num) this.lineHeld.set(f.num, call.id);
    for (const q of call.parties) this.lineHeld.set(q.num, call.id);
    for (const e of queued) this.queueEvent(e.num, e.event, e.params, nowUs);
    for (const m of awaiting) {
      const g = this.c.gateways.get(m);
      if (g && g.status === 'active') this.reaudit(g, nowUs);
    }
  }

  onTimer(nowUs: number): void {
    if (this.pending.size === 0) { this.mergeWanted = false; this.mergeList.length = 0; this.mergeHead = 0; return; }
    // The controller's timer fires for keepalives and retransmissions many times a second
    // while thousands of calls wait here: scan them only when a wait ran out or a gateway
    // came up (a call becomes ready only then), not on every tick.
    const due = (this.timeDeadline() ?? Infinity) <= nowUs;
    if (due) for (const [id, p] of [...this.pending]) if (p.forceAtUs !== undefined && nowUs >= p.forceAtUs) this.resolveHungUp(id, p, nowUs);
    if (due || this.mergeWanted || this.mergeHead < this.mergeList.length) this.tryMerge(nowUs, true);
  }

  deadline(): number | undefined {
    if (this.pending.size > 0 && (this.mergeWanted || this.mergeHead < this.mergeList.length) && !this.mergeBacklogFull()) return 0;
    return this.timeDeadline();
  }

  /** The earliest rebuild wait or hang-up grace to run out. */
  private timeDeadline(): number | undefined {
    if (!this.deadlineStale) return this.cachedDeadline;
    let d: number | undefined;
    for (const p of this.pending.values()) {
      const x = Math.min(p.firstUs + this.c.cfg.rebuildWaitUs, p.forceAtUs ?? Infinity);
      if (d === undefined || x < d) d = x;
    }
    this.cachedDeadline = d;
    this.deadlineStale = false;
    return d;
  }

  private merge(p: PendingCall, complete: boolean, nowUs: number, hungUp?: string): void {
    const r = p.record;
    const byNum = new Map<string, Fragment>();
    const extras: Fragment[] = [];
    for (const f of p.fragments) { if (f.num && r.parties.includes(f.num) && !byNum.has(f.num)) byNum.set(f.num, f); else extras.push(f); }
    const parties: Party[] = [];
    for (const n of r.parties) {
      const e = this.c.cfg.plan.lookup(n);
      if (e) parties.push({ num: n, mgId: e.mgId, termId: e.termId, ctx: byNum.get(n)?.ctx });
    }
    // Merge the halves: an RTP termination whose remote is the other's local, both ways, is one media edge.
    const edges: Edge[] = [];
    const used = new Set<string>();
    const frs = [...byNum.values()];
    for (let i = 0; i < frs.length; i++) for (let j = i + 1; j < frs.length; j++) {
      const f = frs[i]!, g = frs[j]!;
      for (const x of f.rtps) for (const y of g.rtps) {
        // One direction suffices: a crash may fall between the two Modify commands that point them at each other.
        if ((x.remote !== undefined && x.remote === y.local) || (y.remote !== undefined && y.remote === x.local)) {
          edges.push({ a: f.num!, b: g.num!, aRtp: { termId: x.termId, sdp: x.localSdp }, bRtp: { termId: y.termId, sdp: y.localSdp } });
          used.add(`${f.mgId}|${x.termId}`); used.add(`${g.mgId}|${y.termId}`);
        }
      }
    }
    const call: Call = {
      id: r.callId, seq: r.seq + 1, phase: r.phase, startUs: r.startUs, answerUs: r.answerUs, caller: r.caller, callee: r.callee,
      parties, edges, controller: r.controller, features: new Set(r.features), busy: true, queue: [...p.queue],
      noAnswerAtUs: undefined, ended: false,
    };
    this.c.calls.set(call.id, call);
    for (const q of parties) if (q.ctx !== undefined) this.c.lineCall.set(q.num, call.id);

    const acts = new Map<string, ActionRequest[]>();
    const put = (mgId: string, a: ActionRequest): void => { const xs = acts.get(mgId); if (xs) xs.push(a); else acts.set(mgId, [a]); };
    // Subtracts that clear what the call no longer uses: one that finds its context or
    // termination already gone (a merge tried before, whose gateway did answer) has its effect.
    const clearing = new Set<ActionRequest>();
    const clear = (mgId: string, a: ActionRequest): void => { clearing.add(a); put(mgId, a); };
    // Fragments that are not parties of the freshest record (a party already left) are cleared.
    for (const x of extras) {
      clear(x.mgId, action(x.ctx, subtract('*')));
      if (x.lineTerm) put(x.mgId, action('-', modify(x.lineTerm, { signals: SG_NONE, events: EV_ANY_HOOK })));
    }

    const allThere = complete && parties.length === r.parties.length && parties.every((q) => q.ctx !== undefined);
    const linked = (x: string, y: string): boolean => !!edgeBetween(call, x, y);
    let keep = false;
    if (allThere && STABLE_PHASES.has(r.phase)) {
      if (parties.length === 2) keep = linked(parties[0]!.num, parties[1]!.num);
      else if (parties.length === 3 && r.controller) keep = parties.filter((q) => q.num !== r.controller).every((q) => linked(r.controller!, q.num));
    } else if (complete && r.phase === 'consult-ringing' && parties.length === 3 && r.controller) {
      // Transfer/consultation still ringing: keep the stable held call, release the consultation leg.
      const held = parties.find((q) => q.num !== r.controller && q.num !== parties[2]!.num)!;
      const ringing = parties[2]!;
      if (parties[0]!.ctx !== undefined && parties[1]!.ctx !== undefined && linked(r.controller, held.num)) {
        keep = true;
        if (ringing.ctx !== undefined) clear(ringing.mgId, action(ringing.ctx, subtract('*')));
        put(ringing.mgId, action('-', modify(ringing.termId, { signals: SG_NONE, events: EV_IDLE })));
        this.c.lineCall.delete(ringing.num);
        call.parties = parties.filter((q) => q !== ringing);
        call.edges = edges.filter((e) => e.a !== ringing.num && e.b !== ringing.num);
        call.phase = 'held';
      }
    }

    if (!keep) {
      this.stats.released++;
      this.sendAll(acts, nowUs, () => {});
      const stable = STABLE_PHASES.has(r.phase);
      this.c.flows.release(call, hungUp !== undefined ? (stable ? 'normal' : r.answerUs === null ? 'caller-abandoned' : 'normal') : complete ? 'failover-unstable' : 'gateway-lost', hungUp, nowUs);
      return;
    }
    // Normalise: stray RTP terminations go, modes follow the phase, tones stop, records are re-pushed.
    for (const q of call.parties) {
      const f = byNum.get(q.num)!;
      for (const x of f.rtps) {
        if (!used.has(`${f.mgId}|${x.termId}`) || (call.phase === 'held' && !call.edges.some((e) => e.aRtp?.termId === x.termId || e.bRtp?.termId === x.termId))) clear(q.mgId, action(q.ctx!, subtract(x.termId)));
      }
    }
    const held = call.controller ? call.parties.find((q) => q.num !== call.controller && q.num !== (call.parties.length === 3 ? call.parties[2]!.num : undefined)) : undefined;
    const rec = recordMedia(recordOf(call));
    for (const e of call.edges) {
      for (const [num, end, other] of [[e.a, e.aRtp, e.bRtp], [e.b, e.bRtp, e.aRtp]] as const) {
        const q = call.parties.find((x) => x.num === num)!;
        const sendOnly = (call.phase === 'held' || call.phase === 'consult-talking') && num === call.controller && held && (e.a === held.num || e.b === held.num);
        put(q.mgId, action(q.ctx!, modify(end!.termId, { media: media({ mode: sendOnly ? 'sendOnly' : 'sendReceive', remote: other!.sdp }) })));
      }
    }
    for (const q of call.parties) {
      const ev = call.phase === 'held' && q.num === call.controller ? this.c.evDial : EV_TALK;
      put(q.mgId, action(q.ctx!, modify(q.termId, { signals: SG_NONE, events: ev, media: rec })));
    }
    this.sendAll(acts, nowUs, (replies, t) => {
      if (call.ended) return;
      const alreadyGone = (code: number | undefined): boolean => code === ErrorCodes.unknownContextId || code === ErrorCodes.terminationNotInContext;
      const okReply = (m: string, x: TransactionReply | undefined): boolean => !!x && !x.error
        && x.actions.every((a, i) => !a.error || (clearing.has(acts.get(m)?.[i] as ActionRequest) && alreadyGone(a.error.code)));
      // A gateway that did not answer and holds none of the kept parties only missed the
      // clearing of a leg that left (absorb clears that leftover when it registers again).
      const silent = [...replies].filter(([m, x]) => x === undefined && call.parties.some((q) => q.mgId === m)).map(([m]) => m);
      const answered = [...replies].filter(([, x]) => x !== undefined);
      if (silent.length > 0 && answered.every(([m, x]) => okReply(m, x))) {
        // Some gateway did not answer: it may have given up on us (a busy controller) and be
        // registering again. Not a reason to end a stable call: it waits for that gateway's
        // next audit (or, failing that, the rebuild wait) like any half-reported call.
        const gone = new Set(silent);
        // Halves that left the call (cleared by this batch where their gateway answered) stay out.
        this.requeue(call, p.fragments.filter((f) => !gone.has(f.mgId) && call.parties.some((q) => q.num === f.num && q.ctx === f.ctx)), gone, t);
        return;
      }
      if (!answered.every(([m, x]) => okReply(m, x))) { this.c.flows.release(call, 'gateway-lost', undefined, t); return; }
      call.preservedAtUs = t;
      this.stats.preserved++;
      this.c.emit({ type: 'call-preserved', callId: call.id, phase: call.phase, atUs: t });
      this.c.flows.done(call, t);
    });
  }
}
