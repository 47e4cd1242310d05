// Call flows of the controller: origination, answer, hang-up from either side,
// busy / no-answer, hold and retrieve, consultation, blind and attended transfer,
// three-way conference. Each step is one transaction per gateway; every step that
// changes the call pushes the new call record to every party's line.
import type { ActionRequest, TransactionReply } from '../h248/model.js';
import { action, add, media, modify, subtract } from '../h248/model.js';
import type { CallController } from './controller.js';
import type { Call, Edge, Party, RtpEnd } from './call-model.js';
import { edgeBetween, endOf, partyOf, recordOf } from './call-model.js';
import type { ReleaseReason } from '../cdr/record.js';
import { Pkg } from '../common/packages.js';
import {
  EV_IDLE, EV_TALK, EV_TONE, SG_BUSY, SG_DIAL_TONE, SG_NONE, SG_RING, SG_RINGBACK, recordMedia,
} from './descriptors.js';

const CALL_QUEUE_MAX = 32;

type Batch = Map<string, ActionRequest[]>;

function put(b: Batch, mgId: string, a: ActionRequest): void {
  const xs = b.get(mgId); if (xs) xs.push(a); else b.set(mgId, [a]);
}

function addedRtp(r: TransactionReply | undefined, cmdIndex: number): { ctx: number; end: RtpEnd } | undefined {
  const a = r?.actions[0];
  if (!r || r.error || !a || a.error || typeof a.contextId !== 'number') return undefined;
  const c = a.commands[cmdIndex];
  const local = c && 'audit' in c ? c.audit?.media?.streams[0]?.local?.text : undefined;
  if (!c || !local) return undefined;
  return { ctx: a.contextId, end: { termId: c.terminationIds[0]!, sdp: local } };
}

function okReply(r: TransactionReply | undefined): boolean {
  return !!r && !r.error && r.actions.every((a) => !a.error);
}

export class CallFlows {
  /** Calls with a no-answer timer (a superset: entries whose timer was cleared are dropped lazily). */
  private readonly ringing = new Set<Call>();
  /** Calls waiting to learn why a gateway did not answer (see failed). */
  private readonly stalled = new Set<Call>();
  constructor(private readonly c: CallController) {}

  // ------------------------------------------------------------------ lines outside calls

  onIdleLineEvent(mgId: string, termId: string, num: string, event: string, params: Record<string, string>, nowUs: number): void {
    if (event === Pkg.offHook) {
      this.c.lineMode.set(num, 'dialing');
      this.c.send(mgId, [action('-', modify(termId, { signals: SG_DIAL_TONE, events: this.c.evDial }))], nowUs, () => {});
    } else if (event === Pkg.digitCompletion) {
      this.originate(mgId, termId, num, params.ds ?? '', nowUs);
    } else if (event === Pkg.onHook) {
      this.c.lineMode.delete(num);
      this.c.send(mgId, [action('-', modify(termId, { signals: SG_NONE, events: EV_IDLE }))], nowUs, () => {});
    }
  }

  private tone(mgId: string, termId: string, num: string, nowUs: number): void {
    this.c.lineMode.set(num, 'tone');
    this.c.send(mgId, [action('-', modify(termId, { signals: SG_BUSY, events: EV_TONE }))], nowUs, () => {});
  }

  private lineFree(num: string): boolean {
    return !this.c.lineCall.has(num) && !this.c.lineMode.has(num) && !this.c.rebuild.holdsLine(num);
  }

  private originate(mgId: string, termId: string, num: string, digits: string, nowUs: number): void {
    const callee = this.c.cfg.plan.lookup(digits);
    const id = this.c.newCallId();
    const bill = (reason: ReleaseReason): void => {
      this.c.emitCdr({ callId: id, caller: num, callee: digits, connectedTo: '', startUs: nowUs, answerUs: null, endUs: nowUs, releaseReason: reason, writtenBy: this.c.cfg.id, features: '' });
      this.c.emit({ type: 'call-released', callId: id, reason, atUs: nowUs });
      this.tone(mgId, termId, num, nowUs);
    };
    if (!callee) { bill('unallocated-number'); return; }
    if (callee.number === num || !this.lineFree(callee.number) || this.c.gateways.get(callee.mgId)?.status !== 'active') { bill('busy'); return; }
    this.c.lineMode.delete(num);
    const call: Call = {
      id, seq: 1, phase: 'ringing', startUs: nowUs, answerUs: null, caller: num, callee: digits,
      parties: [{ num, mgId, termId, ctx: undefined }, { num: callee.number, mgId: callee.mgId, termId: callee.termId, ctx: undefined }],
      edges: [], controller: null, features: new Set(), busy: true, queue: [], noAnswerAtUs: undefined, ended: false,
    };
    this.c.calls.set(id, call);
    this.c.observer?.changed(call, nowUs);
    this.c.lineCall.set(num, id);
    this.c.lineCall.set(callee.number, id);
    const [a, b] = call.parties as [Party, Party];
    this.ringParty(call, a, b, SG_RINGBACK, nowUs, (ok, t, timedOut) => {
      if (!ok) { this.failed(call, timedOut, t); return; }
      call.noAnswerAtUs = t + this.c.cfg.noAnswerUs;
      this.ringing.add(call);
      this.done(call, t);
    });
  }

  /**
   * Media toward a new party `b` from `a`, and ring `b`: an RTP termination in a's
   * context (created with a's context when a has none yet), b's line and RTP in a
   * new context, then a's RTP pointed at b's (three steps, SDP exchange).
   */
  private ringParty(call: Call, a: Party, b: Party, aSignals: typeof SG_RINGBACK, nowUs: number, k: (ok: boolean, nowUs: number, timedOut: string | undefined) => void): void {
    const rec = (): { media?: ReturnType<typeof recordMedia> } => (this.c.keepsRecords ? { media: recordMedia(recordOf(call)) } : {});
    const step1: ActionRequest = a.ctx === undefined
      ? action('$', add(a.termId, { signals: aSignals, events: EV_TALK, ...rec() }), add('rtp/$', { media: media({ mode: 'sendReceive' }) }))
      : action(a.ctx, add('rtp/$', { media: media({ mode: 'sendReceive' }) }), modify(a.termId, { signals: aSignals, events: EV_TALK }));
    const rtpIndex = a.ctx === undefined ? 1 : 0;
    this.c.send(a.mgId, [step1], nowUs, (r1, t1) => {
      const ra = addedRtp(r1, rtpIndex);
      if (!ra) { k(false, t1, r1 ? undefined : a.mgId); return; }
      a.ctx = ra.ctx;
      const edge: Edge = { a: a.num, b: b.num, aRtp: ra.end, bRtp: undefined };
      call.edges.push(edge);
      this.c.send(b.mgId, [action('$', add(b.termId, { signals: SG_RING, events: EV_IDLE, ...rec() }), add('rtp/$', { media: media({ mode: 'sendReceive', remote: ra.end.sdp }) }))], t1, (r2, t2) => {
        const rb = addedRtp(r2, 1);
        if (!rb) { k(false, t2, r2 ? undefined : b.mgId); return; }
        b.ctx = rb.ctx;
        edge.bRtp = rb.end;
        this.c.send(a.mgId, [action(a.ctx!, modify(ra.end.termId, { media: media({ remote: rb.end.sdp }) }))], t2, (r3, t3) => k(okReply(r3), t3, r3 ? undefined : a.mgId));
      });
    });
  }

  // ------------------------------------------------------------------ events in calls

  onCallEvent(call: Call, num: string, event: string, params: Record<string, string>, nowUs: number): void {
    if (call.ended) return;
    if (call.busy) { if (call.queue.length < CALL_QUEUE_MAX) call.queue.push({ num, event, params }); return; }
    const ringing = call.parties[call.parties.length - 1]!.num;
    const ctl = call.controller;
    const on = event === Pkg.onHook, off = event === Pkg.offHook, flash = event === Pkg.flashHook, digits = event === Pkg.digitCompletion;
    switch (call.phase) {
      case 'ringing':
        if (off && num === ringing) this.answer(call, nowUs);
        else if (on && num !== ringing) this.release(call, call.answerUs === null ? 'caller-abandoned' : 'normal', num, nowUs);
        return;
      case 'talking':
        if (on) this.release(call, 'normal', num, nowUs);
        else if (flash) this.hold(call, num, nowUs);
        return;
      case 'held':
        if (on) this.release(call, 'normal', num, nowUs);
        else if (flash && num === ctl) this.retrieve(call, nowUs);
        else if (digits && num === ctl) this.consult(call, params.ds ?? '', nowUs);
        return;
      case 'consult-ringing':
        if (off && num === ringing) this.answer(call, nowUs);
        else if (on && num === ctl) this.join(call, num, 'transfer', nowUs);          // blind transfer
        else if (on) this.leave(call, num, 'idle', nowUs);                           // held party gave up
        else if (flash && num === ctl) this.leave(call, ringing, 'idle', nowUs);     // cancel consultation
        return;
      case 'consult-talking':
        if (flash && num === ctl) this.conference(call, nowUs);
        else if (on && num === ctl) this.join(call, num, 'transfer', nowUs);          // attended transfer
        else if (on) this.leave(call, num, 'idle', nowUs);
        return;
      case 'conference':
        if (on && num === ctl) this.join(call, num, null, nowUs);
        else if (on) this.leave(call, num, 'idle', nowUs);
        return;
    }
  }

  /** Ends an operation: the call accepts events again; queued ones run in order. */
  done(call: Call, nowUs: number): void {
    call.busy = false;
    if (!call.ended) this.c.observer?.changed(call, nowUs);
    while (!call.busy && !call.ended && call.queue.length > 0) {
      const e = call.queue.shift()!;
      this.onCallEvent(call, e.num, e.event, e.params, nowUs);
    }
  }

  /** Runs one step on every gateway of `b`; success continues, failure releases the call. */
  private step(call: Call, b: Batch, nowUs: number, k: (nowUs: number) => void): void {
    call.busy = true;
    this.c.batch(b, nowUs, (replies, t) => {
      if (call.ended) return;
      if ([...replies.values()].every(okReply)) { k(t); return; }
      this.failed(call, [...replies].find(([, r]) => r === undefined)?.[0], t);
    });
  }

  /**
   * A step failed. An error reply means the gateway refused: release now. No reply at
   * all means we cannot tell a dead gateway from being cut off ourselves — then the call
   * stalls (events wait) until the controller knows: the gateway answers again (release,
   * billing is ours), it was taken over by another controller (drop, unbilled), or it
   * stays silent past gatewayLostUs (controller.ts decides).
   */
  private failed(call: Call, timedOutOn: string | undefined, nowUs: number): void {
    if (timedOutOn === undefined || !this.c.gateways.has(timedOutOn)) {
      if (timedOutOn !== undefined && !this.c.gateways.has(timedOutOn) && !call.ended) { this.c.dropCall(call); return; }
      this.release(call, 'gateway-lost', undefined, nowUs);
      return;
    }
    call.busy = true;
    call.stalledOn = timedOutOn;
    this.stalled.add(call);
  }

  /** A gateway answered again: stalled calls on it can be ended by us, with their CDR. */
  onGatewayAnswered(mgId: string, nowUs: number): void {
    if (this.stalled.size === 0) return;
    for (const call of [...this.stalled]) {
      if (call.ended || this.c.calls.get(call.id) !== call) { this.stalled.delete(call); continue; }
      if (call.stalledOn === mgId) { this.stalled.delete(call); this.release(call, 'gateway-lost', undefined, nowUs); }
    }
  }

  /** Adds `Modify(line){record}` for every party (except those in `skip`) to the batch. */
  private pushRecords(call: Call, b: Batch, extra: Map<string, Partial<Parameters<typeof modify>[1]>> = new Map()): void {
    const rec = this.c.keepsRecords ? { media: recordMedia(recordOf(call)) } : undefined;
    for (const p of call.parties) {
      if (p.ctx === undefined) continue;
      const x = extra.get(p.num);
      if (!rec && !x) continue;
      put(b, p.mgId, action(p.ctx, modify(p.termId, { ...(x ?? {}), ...(rec ?? {}) })));
    }
  }

  private answer(call: Call, nowUs: number): void {
    const consult = call.phase === 'consult-ringing';
    call.phase = consult ? 'consult-talking' : 'talking';
    if (call.answerUs === null) call.answerUs = nowUs;
    call.noAnswerAtUs = undefined;
    call.seq++;
    const b: Batch = new Map();
    const last = call.parties[call.parties.length - 1]!.num;
    const extra = new Map<string, Partial<Parameters<typeof modify>[1]>>();
    for (const p of call.parties) if (!consult || p.num === call.controller || p.num === last) extra.set(p.num, { signals: SG_NONE, events: EV_TALK });
    this.pushRecords(call, b, extra);
    this.step(call, b, nowUs, (t) => { this.c.emit({ type: 'call-answered', callId: call.id, atUs: t }); this.done(call, t); });
  }

  private hold(call: Call, num: string, nowUs: number): void {
    const other = call.parties.find((p) => p.num !== num)!;
    const me = partyOf(call, num)!;
    const e = edgeBetween(call, num, other.num);
    const mine = e ? endOf(e, num) : undefined;
    if (!mine || me.ctx === undefined) return;
    call.phase = 'held'; call.controller = num; call.seq++; call.features.add('hold');
    const b: Batch = new Map();
    // Hold: our side only sends (music on hold), the held party's audio is not played (RFC 3525 §7.1.7 Mode).
    put(b, me.mgId, action(me.ctx, modify(mine.termId, { media: media({ mode: 'sendOnly' }) })));
    this.pushRecords(call, b, new Map([[num, { signals: SG_DIAL_TONE, events: this.c.evDial }]]));
    this.step(call, b, nowUs, (t) => { this.c.emit({ type: 'feature', callId: call.id, feature: 'hold', atUs: t }); this.done(call, t); });
  }

  private retrieve(call: Call, nowUs: number): void {
    const me = partyOf(call, call.controller!)!;
    const other = call.parties.find((p) => p.num !== me.num)!;
    const e = edgeBetween(call, me.num, other.num);
    const mine = e ? endOf(e, me.num) : undefined;
    if (!mine || me.ctx === undefined) return;
    call.phase = 'talking'; call.controller = null; call.seq++;
    const b: Batch = new Map();
    put(b, me.mgId, action(me.ctx, modify(mine.termId, { media: media({ mode: 'sendReceive' }) })));
    this.pushRecords(call, b, new Map([[me.num, { signals: SG_NONE, events: EV_TALK }]]));
    this.step(call, b, nowUs, (t) => { this.c.emit({ type: 'feature', callId: call.id, feature: 'retrieve', atUs: t }); this.done(call, t); });
  }

  private consult(call: Call, digits: string, nowUs: number): void {
    const me = partyOf(call, call.controller!)!;
    const target = this.c.cfg.plan.lookup(digits);
    if (!target || !this.lineFree(target.number) || this.c.gateways.get(target.mgId)?.status !== 'active') {
      // Busy or unknown: the consulting party hears busy and flashes back to the held party.
      if (me.ctx !== undefined) this.c.send(me.mgId, [action(me.ctx, modify(me.termId, { signals: SG_BUSY }))], nowUs, () => {});
      return;
    }
    const c: Party = { num: target.number, mgId: target.mgId, termId: target.termId, ctx: undefined };
    call.parties.push(c);
    call.phase = 'consult-ringing'; call.seq++;
    this.c.lineCall.set(c.num, call.id);
    call.busy = true;
    this.ringParty(call, me, c, SG_RINGBACK, nowUs, (ok, t, timedOut) => {
      if (call.ended) return;
      if (!ok) { this.failed(call, timedOut, t); return; }
      call.noAnswerAtUs = t + this.c.cfg.noAnswerUs;
      this.ringing.add(call);
      const b: Batch = new Map();
      this.pushRecords(call, b);
      this.step(call, b, t, (t2) => this.done(call, t2));
    });
  }

  private conference(call: Call, nowUs: number): void {
    const me = partyOf(call, call.controller!)!;
    const held = call.parties[1]!;
    const e = edgeBetween(call, me.num, held.num);
    const mine = e ? endOf(e, me.num) : undefined;
    if (!mine || me.ctx === undefined) return;
    call.phase = 'conference'; call.seq++; call.features.add('conference');
    const b: Batch = new Map();
    // Three-way: the host's context bridges both RTP terminations (RFC 3525 §6.1 context mixing).
    put(b, me.mgId, action(me.ctx, modify(mine.termId, { media: media({ mode: 'sendReceive' }) })));
    this.pushRecords(call, b);
    this.step(call, b, nowUs, (t) => { this.c.emit({ type: 'feature', callId: call.id, feature: 'conference', atUs: t }); this.done(call, t); });
  }

  /**
   * `leaver` leaves a three-party call and the other two are connected directly:
   * each one's RTP termination that pointed at the leaver is pointed at the other.
   * Used for blind/attended transfer and for the host leaving a conference.
   */
  private join(call: Call, leaver: string, feature: 'transfer' | null, nowUs: number): void {
    const x = partyOf(call, leaver)!;
    const rest = call.parties.filter((p) => p.num !== leaver);
    if (rest.length !== 2) { this.release(call, 'normal', leaver, nowUs); return; }
    const [p, q] = rest as [Party, Party];
    const ep = edgeBetween(call, leaver, p.num), eq = edgeBetween(call, leaver, q.num);
    const pe = ep ? endOf(ep, p.num) : undefined, qe = eq ? endOf(eq, q.num) : undefined;
    if (!pe || !qe || p.ctx === undefined || q.ctx === undefined) { this.release(call, 'normal', leaver, nowUs); return; }
    const qRinging = call.phase === 'consult-ringing';
    call.parties = [p, q];
    call.edges = [{ a: p.num, b: q.num, aRtp: pe, bRtp: qe }];
    call.phase = qRinging ? 'ringing' : 'talking';
    call.controller = null; call.seq++;
    if (feature) call.features.add(feature);
    this.c.lineCall.delete(leaver);
    const b: Batch = new Map();
    put(b, p.mgId, action(p.ctx, modify(pe.termId, { media: media({ mode: 'sendReceive', remote: qe.sdp }) })));
    put(b, q.mgId, action(q.ctx, modify(qe.termId, { media: media({ mode: 'sendReceive', remote: pe.sdp }) })));
    this.pushRecords(call, b, new Map([[p.num, { signals: qRinging ? SG_RINGBACK : SG_NONE, events: EV_TALK }]]));
    if (x.ctx !== undefined) put(b, x.mgId, action(x.ctx, subtract('*')));
    put(b, x.mgId, action('-', modify(x.termId, { signals: SG_NONE, events: EV_IDLE })));
    this.step(call, b, nowUs, (t) => {
      if (feature) this.c.emit({ type: 'feature', callId: call.id, feature, atUs: t });
      this.done(call, t);
    });
  }

  /** `num` leaves a three-party call; the remaining two keep the media they have. */
  leave(call: Call, num: string, after: 'idle' | 'tone', nowUs: number): void {
    const x = partyOf(call, num);
    if (!x || call.parties.length !== 3) { this.release(call, 'normal', num, nowUs); return; }
    const ctl = call.controller;
    const last = call.parties[2]!.num;
    const b: Batch = new Map();
    for (const e of call.edges.filter((e) => e.a === num || e.b === num)) {
      const y = partyOf(call, e.a === num ? e.b : e.a);
      const ye = y ? endOf(e, y.num) : undefined;
      if (y && ye && y.ctx !== undefined) put(b, y.mgId, action(y.ctx, subtract(ye.termId)));
    }
    call.edges = call.edges.filter((e) => e.a !== num && e.b !== num);
    call.parties = call.parties.filter((p) => p.num !== num);
    this.c.lineCall.delete(num);
    if (x.ctx !== undefined) put(b, x.mgId, action(x.ctx, subtract('*')));
    put(b, x.mgId, action('-', modify(x.termId, after === 'idle' ? { signals: SG_NONE, events: EV_IDLE } : { signals: SG_BUSY, events: EV_TONE })));
    if (after === 'tone') this.c.lineMode.set(num, 'tone');
    const extra = new Map<string, Partial<Parameters<typeof modify>[1]>>();
    if ((call.phase === 'consult-ringing' || call.phase === 'consult-talking') && num === last) {
      // Consultation over (cancelled, unanswered, or the consulted party hung up): back to hold.
      call.phase = 'held';
      if (ctl) extra.set(ctl, { signals: SG_NONE, events: this.c.evDial });
    } else if (call.phase === 'consult-ringing') {
      // The held party gave up while the consultation rings: the consulting party now simply calls.
      call.phase = 'ringing'; call.controller = null;
    } else {
      // The held party left a consultation, or a guest left the conference.
      call.phase = 'talking'; call.controller = null;
      for (const p of call.parties) extra.set(p.num, { events: EV_TALK });
    }
    call.seq++;
    this.pushRecords(call, b, extra);
    this.step(call, b, nowUs, (t) => this.done(call, t));
  }

  // ------------------------------------------------------------------ ending calls

  /**
   * Ends the call: one CDR, every context subtracted, every line left waiting for
   * the right hook event (the one who hung up and a ringing line: off-hook; the
   * others hear busy until they hang up).
   */
  release(call: Call, reason: ReleaseReason, hungUp: string | undefined, nowUs: number): void {
    if (call.ended) return;
    call.ended = true;
    const ringing = call.phase === 'ringing' || call.phase === 'consult-ringing' ? call.parties[call.parties.length - 1]!.num : undefined;
    this.c.emitCdr({
      callId: call.id, caller: call.caller, callee: call.callee,
      connectedTo: call.parties.map((p) => p.num).filter((n) => n !== call.caller).join('+'),
      startUs: call.startUs, answerUs: call.answerUs, endUs: Math.max(nowUs, call.startUs),
      releaseReason: reason, writtenBy: this.c.cfg.id, features: [...call.features].sort().join(','),
    });
    this.c.emit({ type: 'call-released', callId: call.id, reason, atUs: nowUs });
    const b: Batch = new Map();
    for (const p of call.parties) {
      if (this.c.lineCall.get(p.num) === call.id) this.c.lineCall.delete(p.num);
      if (!this.c.gateways.has(p.mgId)) continue;
      if (p.ctx !== undefined) put(b, p.mgId, action(p.ctx, subtract('*')));
      const idle = p.num === hungUp || p.num === ringing;
      if (!idle) this.c.lineMode.set(p.num, 'tone');
      put(b, p.mgId, action('-', modify(p.termId, idle ? { signals: SG_NONE, events: EV_IDLE } : { signals: SG_BUSY, events: EV_TONE })));
    }
    this.c.calls.delete(call.id);
    this.c.observer?.ended(call, nowUs);
    // Write-ahead billing: the contexts go only once the CDR is stored (cdrStored), so a
    // crash in between leaves the call on the gateways for the alternate, whose second
    // insert the store refuses — never a call that ended without its record.
    this.c.afterCdr(call.id, () => this.c.batch(b, this.c.lastNowUs, () => {}));
  }

  onTimer(nowUs: number): void {
    for (const call of [...this.ringing]) {
      if (call.ended || call.noAnswerAtUs === undefined) { this.ringing.delete(call); continue; }
      if (call.busy || nowUs < call.noAnswerAtUs) continue;
      if (!this.c.answeringLately(call, nowUs)) {
        // A gateway of the call has not answered us lately: we may be the one cut off, and
        // the call may belong to another controller by now (which bills it). Ask again later;
        // meanwhile the gateway answers (we end the call), moves or is lost (controller.ts).
        call.noAnswerAtUs = nowUs + this.c.cfg.keepaliveUs;
        continue;
      }
      this.ringing.delete(call);
      call.noAnswerAtUs = undefined;
      if (call.phase === 'ringing') this.release(call, 'no-answer', undefined, nowUs);
      else if (call.phase === 'consult-ringing') this.leave(call, call.parties[2]!.num, 'idle', nowUs);
    }
  }

  deadline(): number | undefined {
    let d: number | undefined;
    for (const call of this.ringing) if (!call.ended && !call.busy && call.noAnswerAtUs !== undefined && (d === undefined || call.noAnswerAtUs < d)) d = call.noAnswerAtUs;
    return d;
  }
}
