// H.248 text-encoding printer: model → text (RFC 3525 Annex B), long tokens with indentation
// or compact tokens without white space. Output always parses back to the same model.
// A model the grammar cannot express (a '"' in a quoted string, a bad name) is our own bug: H248EncodeError.

import type * as M from './model.js';
import { tokenText, type TokenForm, type TokenName } from './text-tokens.js';
import { isQuotableText, isWordText, textToBytes } from './text-scanner.js';

export interface PrintOptions {
  /** 'compact' (default): "!/1 [..]:2944 T=1{C=-{...}}"; 'long': "MEGACO/1 ... Transaction = 1 {" with line breaks. */
  readonly form?: TokenForm;
}

/** The caller built a model that has no valid text encoding (local misuse, not a peer's fault). */
export class H248EncodeError extends Error {
  override readonly name = 'H248EncodeError';
}

export function printMessage(m: M.Message, opts: PrintOptions = {}): string {
  return new Printer(opts.form ?? 'compact').message(m);
}

/** printMessage as bytes (Latin-1: one octet per character). */
export function encodeMessage(m: M.Message, opts: PrintOptions = {}): Uint8Array {
  return textToBytes(printMessage(m, opts));
}

const TERMINATION_ID = /^(?:\*?[A-Za-z][A-Za-z0-9_/*$]*(?:@[A-Za-z0-9*][A-Za-z0-9*.-]{0,63})?|\$|\*)$/;
const PKGD_NAME = /^(?:[A-Za-z][A-Za-z0-9_]{0,63}\/(?:[A-Za-z][A-Za-z0-9_]{0,63}|\*)|\*\/\*)$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

class Printer {
  private readonly long: boolean;
  constructor(private readonly form: TokenForm) {
    this.long = form === 'long';
  }

  private t(name: TokenName): string {
    return tokenText(name, this.form);
  }

  /** EQUAL: "=" compact, " = " long. */
  private get eq(): string {
    return this.long ? ' = ' : '=';
  }

  /** head{items} — compact on one line; long with one item per indented line. */
  private block(head: string, items: readonly string[], ind: number): string {
    if (!this.long) return `${head}{${items.join(',')}}`;
    if (items.length === 0) return `${head} { }`;
    const pad = '  '.repeat(ind + 1);
    return `${head} {\n${items.map((i) => pad + i).join(',\n')}\n${'  '.repeat(ind)}}`;
  }

  // megacoMessage = LWSP [authenticationHeader SEP] message
  // message = MegacopToken SLASH Version SEP mId SEP messageBody
  // messageBody = (errorDescriptor / transactionList)
  message(m: M.Message): string {
    if (!Number.isInteger(m.version) || m.version < 1 || m.version > 99) throw new H248EncodeError(`bad version ${m.version}`);
    let out = '';
    if (m.auth) out += `${this.t('Auth')}=${m.auth.spi}:${m.auth.sequence}:${m.auth.data}\n`;
    out += `${this.t('Megacop')}/${m.version} ${mIdOrPort(m.mId, false)}${this.long ? '\n' : ' '}`;
    if (m.body.kind === 'error') return out + this.error(m.body.error, 0) + (this.long ? '\n' : '');
    if (m.body.transactions.length === 0) throw new H248EncodeError('a message needs at least one transaction');
    out += m.body.transactions.map((t) => this.transaction(t)).join(this.long ? '\n' : '');
    return out + (this.long ? '\n' : '');
  }

  // transactionRequest = TransToken EQUAL TransactionID LBRKT actionRequest *(COMMA actionRequest) RBRKT
  // transactionReply = ReplyToken EQUAL TransactionID LBRKT [ImmAckRequiredToken COMMA] (errorDescriptor / actionReplyList) RBRKT
  // transactionPending = PendingToken EQUAL TransactionID LBRKT RBRKT
  // transactionResponseAck = ResponseAckToken LBRKT transactionAck *(COMMA transactionAck) RBRKT
  transaction(t: M.Transaction): string {
    switch (t.kind) {
      case 'request':
        if (t.actions.length === 0) throw new H248EncodeError('a transaction request needs at least one action');
        return this.block(`${this.t('Trans')}${this.eq}${uint(t.transactionId)}`, t.actions.map((a) => this.actionRequest(a, 1)), 0);
      case 'reply': {
        const items: string[] = [];
        if (t.immAckRequired) items.push(this.t('ImmAckRequired'));
        if (t.error) {
          if (t.actions.length > 0) throw new H248EncodeError('a reply carries an error or actions, not both');
          items.push(this.error(t.error, 1));
        } else {
          if (t.actions.length === 0) throw new H248EncodeError('a reply needs an error or at least one action reply');
          for (const a of t.actions) items.push(this.actionReply(a, 1));
        }
        return this.block(`${this.t('Reply')}${this.eq}${uint(t.transactionId)}`, items, 0);
      }
      case 'pending':
        return `${this.t('Pending')}${this.eq}${uint(t.transactionId)}${this.long ? ' { }' : '{}'}`;
      case 'responseAck': {
        if (t.acks.length === 0) throw new H248EncodeError('a response ack needs at least one id');
        const items = t.acks.map((a) => {
          if (a.last < a.first) throw new H248EncodeError('ack range ends before it starts');
          return a.first === a.last ? uint(a.first) : `${uint(a.first)}-${uint(a.last)}`;
        });
        return this.long ? `${this.t('ResponseAck')} { ${items.join(', ')} }` : `${this.t('ResponseAck')}{${items.join(',')}}`;
      }
    }
  }

  contextId(c: M.ContextId): string {
    return typeof c === 'number' ? uint(c) : c;
  }

  // contextProperty = (topologyDescriptor / priority / EmergencyToken / EmergencyOffToken / iepsValue)
  contextProperties(p: M.ContextProperties | undefined, ind: number): string[] {
    if (!p) return [];
    const out: string[] = [];
    if (p.topology) out.push(this.topology(p.topology, ind));
    if (p.priority !== undefined) out.push(`${this.t('Priority')}${this.eq}${uint(p.priority, 0xffff)}`);
    if (p.emergency !== undefined) out.push(this.t(p.emergency ? 'Emergency' : 'EmergencyOff'));
    if (p.iepsCall !== undefined) out.push(`${this.t('IEPS')}${this.eq}${p.iepsCall ? 'ON' : 'OFF'}`);
    return out;
  }

  // topologyDescriptor = TopologyToken LBRKT topologyTriple *(COMMA topologyTriple) RBRKT
  // topologyTriple = terminationA COMMA terminationB COMMA topologyDirection [COMMA eventStream]
  topology(triples: readonly M.TopologyTriple[], ind: number): string {
    if (triples.length === 0) throw new H248EncodeError('Topology needs at least one triple');
    const dir: Record<M.TopologyDirection, TokenName> = { bothway: 'Bothway', isolate: 'Isolate', oneway: 'Oneway', onewayExternal: 'OnewayExternal', onewayBoth: 'OnewayBoth' };
    const sep = this.long ? ', ' : ',';
    const items = triples.map((x) => [termId(x.from), termId(x.to), this.t(dir[x.direction]),
      ...(x.stream !== undefined ? [`${this.t('Stream')}${this.eq}${uint(x.stream, 0xffff)}`] : [])].join(sep));
    return this.block(this.t('Topology'), items, ind);
  }

  // actionRequest = CtxToken EQUAL ContextID LBRKT ((contextRequest [COMMA commandRequestList]) / commandRequestList) RBRKT
  actionRequest(a: M.ActionRequest, ind: number): string {
    const items = this.contextProperties(a.contextProperties, ind + 1);
    if (a.contextAudit) {
      const tok: Record<M.ContextAuditItem, TokenName> = { topology: 'Topology', emergency: 'Emergency', priority: 'Priority', iepsCall: 'IEPS' };
      if (a.contextAudit.length === 0) throw new H248EncodeError('ContextAudit needs at least one item');
      items.push(this.block(this.t('ContextAudit'), a.contextAudit.map((x) => this.t(tok[x])), ind + 1));
    }
    for (const c of a.commands) items.push(this.commandRequest(c, ind + 1));
    return this.block(`${this.t('Ctx')}${this.eq}${this.contextId(a.contextId)}`, items, ind);
  }

  // actionReply = CtxToken EQUAL ContextID [LBRKT (errorDescriptor / commandReply / (commandReply COMMA errorDescriptor)) RBRKT]
  actionReply(a: M.ActionReply, ind: number): string {
    const items = this.contextProperties(a.contextProperties, ind + 1);
    for (const c of a.commands) items.push(this.commandReply(c, ind + 1));
    if (a.error) items.push(this.error(a.error, ind + 1));
    const head = `${this.t('Ctx')}${this.eq}${this.contextId(a.contextId)}`;
    return items.length === 0 ? head : this.block(head, items, ind);
  }

  // termIDList = (TerminationID / LSBRKT TerminationID 1*(COMMA TerminationID) RSBRKT)
  termIds(ids: readonly M.TerminationId[]): string {
    if (ids.length === 0) throw new H248EncodeError('a command needs at least one TerminationID');
    const list = ids.map(termId);
    if (list.length === 1) return list[0]!;
    // termIDList (LSBRKT TerminationID 1*(COMMA TerminationID) RSBRKT) is H.248.1 version 2 syntax; a strict
    // version-1 peer wants one command per termination. Printed whatever the header says: refusing here would
    // turn a caller's harmless habit into an exception on the call path.
    return this.long ? `[${list.join(', ')}]` : `[${list.join(',')}]`;
  }

  commandHead(c: { readonly optional?: boolean; readonly wildcardReply?: boolean }, tok: TokenName): string {
    return `${c.optional ? 'O-' : ''}${c.wildcardReply ? 'W-' : ''}${this.t(tok)}`;
  }

  // commandRequest = (ammRequest / subtractRequest / auditRequest / notifyRequest / serviceChangeRequest)
  // ammRequest = (AddToken / MoveToken / ModifyToken) EQUAL termIDList [LBRKT ammParameter *(COMMA ammParameter) RBRKT]
  commandRequest(c: M.CommandRequest, ind: number): string {
    const tok: Record<M.CommandType, TokenName> = { add: 'Add', modify: 'Modify', move: 'Move', subtract: 'Subtract', auditValue: 'AuditValue', auditCapabilities: 'AuditCap', notify: 'Notify', serviceChange: 'ServiceChange' };
    const head = `${this.commandHead(c, tok[c.type])}${this.eq}${this.termIds(c.terminationIds)}`;
    switch (c.type) {
      case 'add': case 'modify': case 'move': {
        const items = this.ammDescriptors(c, ind + 1);
        return items.length === 0 ? head : this.block(head, items, ind);
      }
      case 'subtract':
        return c.audit ? this.block(head, [this.audit(c.audit, ind + 1)], ind) : head;
      case 'auditValue': case 'auditCapabilities':
        return this.block(head, [this.audit(c.audit, ind + 1)], ind);
      case 'notify':
        return this.block(head, [this.observedEvents(c.observedEvents, ind + 1), ...(c.error ? [this.error(c.error, ind + 1)] : [])], ind);
      case 'serviceChange':
        return this.block(head, [this.serviceChange(c.serviceChange, ind + 1)], ind);
    }
  }

  ammDescriptors(d: M.AmmDescriptors, ind: number): string[] {
    const out: string[] = [];
    if (d.media) out.push(this.media(d.media, ind));
    if (d.events) out.push(this.events(d.events, ind));
    if (d.signals) out.push(this.signals(d.signals, ind));
    if (d.digitMap) out.push(this.digitMap(d.digitMap, ind));
    if (d.eventBuffer) out.push(this.eventBuffer(d.eventBuffer, ind));
    if (d.audit) out.push(this.audit(d.audit, ind));
    if (d.statistics) out.push(this.statistics(d.statistics, ind));
    return out;
  }

  // commandReplys = (serviceChangeReply / auditReply / ammsReply / notifyReply)
  // ammsReply = (AddToken / MoveToken / ModifyToken / SubtractToken) EQUAL termIDList [LBRKT terminationAudit RBRKT]
  commandReply(c: M.CommandReply, ind: number): string {
    const tok: Record<M.CommandType, TokenName> = { add: 'Add', modify: 'Modify', move: 'Move', subtract: 'Subtract', auditValue: 'AuditValue', auditCapabilities: 'AuditCap', notify: 'Notify', serviceChange: 'ServiceChange' };
    const w = c.wildcardReply ? 'W-' : '';
    const start = `${w}${this.t(tok[c.type])}${this.eq}`;
    switch (c.type) {
      case 'add': case 'modify': case 'move': case 'subtract': {
        const head = start + this.termIds(c.terminationIds);
        return c.audit ? this.block(head, this.terminationAudit(c.audit, ind + 1), ind) : head;
      }
      case 'auditValue': case 'auditCapabilities': {
        if (c.contextTerminations || c.contextError) {
          if (c.terminationIds.length > 0 || c.audit) throw new H248EncodeError('context audit reply carries no termination audit');
          const items = c.contextError ? [this.error(c.contextError, ind + 1)] : (c.contextTerminations ?? []).map(termId);
          if (items.length === 0) throw new H248EncodeError('context audit reply needs terminations or an error');
          return this.block(start + this.t('Ctx'), items, ind);
        }
        const head = start + this.termIds(c.terminationIds);
        return c.audit ? this.block(head, this.terminationAudit(c.audit, ind + 1), ind) : head;
      }
      case 'notify': {
        const head = start + this.termIds(c.terminationIds);
        return c.error ? this.block(head, [this.error(c.error, ind + 1)], ind) : head;
      }
      case 'serviceChange': {
        const head = start + this.termIds(c.terminationIds);
        if (c.error && c.serviceChange) throw new H248EncodeError('ServiceChange reply carries an error or a descriptor, not both');
        if (c.error) return this.block(head, [this.error(c.error, ind + 1)], ind);
        if (c.serviceChange) return this.block(head, [this.serviceChangeReply(c.serviceChange, ind + 1)], ind);
        return head;
      }
    }
  }

  // terminationAudit = auditReturnParameter *(COMMA auditReturnParameter)
  terminationAudit(a: M.TerminationAudit, ind: number): string[] {
    const out: string[] = [];
    if (a.media) out.push(this.media(a.media, ind));
    if (a.events) out.push(this.events(a.events, ind));
    if (a.signals) out.push(this.signals(a.signals, ind));
    if (a.digitMap) out.push(this.digitMap(a.digitMap, ind));
    if (a.observedEvents) out.push(this.observedEvents(a.observedEvents, ind));
    if (a.eventBuffer) out.push(this.eventBuffer(a.eventBuffer, ind));
    if (a.statistics) out.push(this.statistics(a.statistics, ind));
    if (a.packages) {
      if (a.packages.length === 0) throw new H248EncodeError('Packages needs at least one item');
      out.push(this.block(this.t('Packages'), a.packages.map((p) => `${name(p.name)}-${uint(p.version, 0xffff)}`), ind));
    }
    const tok: Record<M.AuditReturnItem, TokenName> = { mux: 'Mux', modem: 'Modem', media: 'Media', digitMap: 'DigitMap', statistics: 'Stats', observedEvents: 'ObservedEvents', packages: 'Packages' };
    for (const e of a.emptyItems ?? []) out.push(this.t(tok[e]));
    if (a.error) out.push(this.error(a.error, ind));
    return out;
  }

  // errorDescriptor = ErrorToken EQUAL ErrorCode LBRKT [quotedString] RBRKT
  error(e: M.ErrorDescriptor, _ind: number): string {
    if (!Number.isInteger(e.code) || e.code < 0 || e.code > 9999) throw new H248EncodeError(`bad error code ${e.code}`);
    const head = `${this.t('Error')}${this.eq}${e.code}`;
    if (e.text === undefined) return this.long ? `${head} { }` : `${head}{}`;
    return this.long ? `${head} { ${quote(e.text)} }` : `${head}{${quote(e.text)}}`;
  }

  // mediaDescriptor = MediaToken LBRKT mediaParm *(COMMA mediaParm) RBRKT
  // streamDescriptor = StreamToken EQUAL StreamID LBRKT streamParm *(COMMA streamParm) RBRKT
  media(m: M.MediaDescriptor, ind: number): string {
    const items: string[] = [];
    if (m.terminationState) items.push(this.terminationState(m.terminationState, ind + 1));
    const direct = m.streams.filter((x) => x.id === undefined);
    if (direct.length > 0 && m.streams.length > 1) throw new H248EncodeError('Media: stream parameters without an id must be the only stream');
    for (const st of m.streams) {
      const parms = this.streamParms(st, ind + (st.id === undefined ? 1 : 2));
      if (st.id === undefined) items.push(...parms);
      else {
        if (parms.length === 0) throw new H248EncodeError(`Stream ${st.id} needs at least one parameter`);
        items.push(this.block(`${this.t('Stream')}${this.eq}${uint(st.id, 0xffff)}`, parms, ind + 1));
      }
    }
    if (items.length === 0) throw new H248EncodeError('Media needs at least one parameter');
    return this.block(this.t('Media'), items, ind);
  }

  streamParms(p: M.StreamParms, ind: number): string[] {
    const out: string[] = [];
    if (p.localControl) out.push(this.localControl(p.localControl, ind));
    if (p.local) out.push(this.octets('Local', p.local.text, ind));
    if (p.remote) out.push(this.octets('Remote', p.remote.text, ind));
    if (p.statistics) out.push(this.statistics(p.statistics, ind));
    return out;
  }

  /** Local/Remote { SDP } — the SDP is written verbatim, '}' escaped as "\}" (Annex B octetString). */
  octets(tok: 'Local' | 'Remote', text: string, ind: number): string {
    if (text.includes('\0')) throw new H248EncodeError('octet zero in SDP');
    if (/^[ \t\r\n]|[ \t\r\n]$/.test(text)) throw new H248EncodeError('SDP text must not begin or end with white space (LBRKT/RBRKT absorb it)');
    if (text.endsWith('\\')) throw new H248EncodeError('SDP text must not end with a backslash');
    if (/[^\x00-\xff]/.test(text)) throw new H248EncodeError('SDP text must be octets (Latin-1)');
    const escaped = text.replace(/}/g, '\\}');
    if (text === '') return `${this.t(tok)}{}`;
    return `${this.t(tok)}${this.long ? ' ' : ''}{\n${escaped}\n}`;
  }

  // localControlDescriptor = LocalControlToken LBRKT localParm *(COMMA localParm) RBRKT
  localControl(lc: M.LocalControlDescriptor, ind: number): string {
    const items: string[] = [];
    const mode: Record<M.StreamMode, TokenName> = { sendOnly: 'Sendonly', receiveOnly: 'Recvonly', sendReceive: 'Sendrecv', inactive: 'Inactive', loopback: 'Loopback' };
    if (lc.mode !== undefined) items.push(`${this.t('Mode')}${this.eq}${this.t(mode[lc.mode])}`);
    if (lc.reserveValue !== undefined) items.push(`${this.t('ReservedValue')}${this.eq}${lc.reserveValue ? 'ON' : 'OFF'}`);
    if (lc.reserveGroup !== undefined) items.push(`${this.t('ReservedGroup')}${this.eq}${lc.reserveGroup ? 'ON' : 'OFF'}`);
    items.push(...this.params(lc.properties, pkgdName));
    if (items.length === 0) throw new H248EncodeError('LocalControl needs at least one parameter');
    return this.block(this.t('LocalControl'), items, ind);
  }

  // terminationStateDescriptor = TerminationStateToken LBRKT terminationStateParm *(COMMA terminationStateParm) RBRKT
  terminationState(ts: M.TerminationStateDescriptor, ind: number): string {
    const items: string[] = [];
    const st: Record<M.ServiceState, TokenName> = { test: 'Test', outOfService: 'OutOfSvc', inService: 'InSvc' };
    if (ts.serviceState !== undefined) items.push(`${this.t('ServiceStates')}${this.eq}${this.t(st[ts.serviceState])}`);
    if (ts.bufferLockStep !== undefined) items.push(`${this.t('Buffer')}${this.eq}${ts.bufferLockStep ? this.t('LockStep') : 'OFF'}`);
    items.push(...this.params(ts.properties, pkgdName));
    if (items.length === 0) throw new H248EncodeError('TerminationState needs at least one parameter');
    return this.block(this.t('TerminationState'), items, ind);
  }

  /** name parmValue for each entry; `check` validates the name (pkgdName for properties, NAME for parameters). */
  params(p: M.Params | undefined, check: (n: string) => string): string[] {
    if (!p) return [];
    return Object.entries(p).map(([n, v]) => check(n) + this.parmValue(v));
  }

  // parmValue = (EQUAL alternativeValue / INEQUAL VALUE)
  parmValue(v: M.ParmValue): string {
    if (typeof v === 'string') return this.eq + value(v);
    const sep = this.long ? ', ' : ',';
    switch (v.op) {
      case '>': case '<': case '#': return (this.long ? ` ${v.op} ` : v.op) + value(v.value);
      case 'and':
        if (v.values.length === 0) throw new H248EncodeError('empty AND sublist');
        return `${this.eq}[${v.values.map(value).join(sep)}]`;
      case 'or':
        if (v.values.length === 0) throw new H248EncodeError('empty OR alternatives');
        return `${this.eq}{${v.values.map(value).join(sep)}}`;
      case 'range': return `${this.eq}[${value(v.low)}:${value(v.high)}]`;
    }
  }

  // eventsDescriptor = EventsToken [EQUAL RequestID LBRKT requestedEvent *(COMMA requestedEvent) RBRKT]
  events(e: M.EventsDescriptor, ind: number): string {
    if (e.events.length === 0) {
      if (e.requestId !== undefined) throw new H248EncodeError('an Events descriptor with a RequestID needs events');
      return this.t('Events');
    }
    if (e.requestId === undefined) throw new H248EncodeError('an Events descriptor with events needs a RequestID');
    const head = `${this.t('Events')}${this.eq}${e.requestId === '*' ? '*' : uint(e.requestId)}`;
    return this.block(head, e.events.map((x) => this.requestedEvent(x, ind + 1)), ind);
  }

  // requestedEvent = pkgdName [LBRKT eventParameter *(COMMA eventParameter) RBRKT]
  requestedEvent(e: M.RequestedEvent, ind: number): string {
    const items: string[] = [];
    if (e.stream !== undefined) items.push(`${this.t('Stream')}${this.eq}${uint(e.stream, 0xffff)}`);
    if (e.keepActive) items.push(this.t('KeepActive'));
    if (e.embed) {
      const emb: string[] = [];
      if (e.embed.signals) emb.push(this.signals(e.embed.signals, ind + 2));
      if (e.embed.events) emb.push(this.events(e.embed.events, ind + 2));
      if (emb.length === 0) throw new H248EncodeError('Embed needs Signals or Events');
      items.push(this.block(this.t('Embed'), emb, ind + 1));
    }
    if (e.digitMap) {
      const dm = e.digitMap;
      if ((dm.name === undefined) === (dm.value === undefined)) throw new H248EncodeError('an event DigitMap is a name or a value');
      items.push(dm.name !== undefined ? `${this.t('DigitMap')}${this.eq}${name(dm.name)}` : `${this.t('DigitMap')}${this.eq}{${digitMapText(dm.value!)}}`);
    }
    items.push(...this.params(e.params, paramName));
    return items.length === 0 ? pkgdName(e.name) : this.block(pkgdName(e.name), items, ind);
  }

  // signalsDescriptor = SignalsToken [LBRKT signalParm *(COMMA signalParm) RBRKT]
  signals(sg: M.SignalsDescriptor, ind: number): string {
    const items = sg.map((x) => {
      if (x.kind === 'signal') return this.signal(x, ind + 1);
      if (x.signals.length === 0) throw new H248EncodeError('SignalList needs at least one signal');
      return this.block(`${this.t('SignalList')}${this.eq}${uint(x.listId, 0xffff)}`, x.signals.map((y) => this.signal(y, ind + 2)), ind + 1);
    });
    return this.block(this.t('Signals'), items, ind);
  }

  // signalRequest = signalName [LBRKT sigParameter *(COMMA sigParameter) RBRKT]
  signal(sg: M.SignalRequest, ind: number): string {
    const items: string[] = [];
    const type: Record<M.SignalType, TokenName> = { onOff: 'OnOff', timeOut: 'TimeOut', brief: 'Brief' };
    const reason: Record<M.NotifyCompletionReason, TokenName> = { timeOut: 'TimeOut', interruptedByEvent: 'InterruptByEvent', interruptedByNewSignals: 'InterruptByNewSignalsDescr', otherReason: 'OtherReason' };
    const dir: Record<M.SignalDirection, TokenName> = { external: 'External', internal: 'Internal', both: 'Both' };
    if (sg.stream !== undefined) items.push(`${this.t('Stream')}${this.eq}${uint(sg.stream, 0xffff)}`);
    if (sg.signalType !== undefined) items.push(`${this.t('SignalType')}${this.eq}${this.t(type[sg.signalType])}`);
    if (sg.duration !== undefined) items.push(`${this.t('Duration')}${this.eq}${uint(sg.duration, 0xffff)}`);
    if (sg.notifyCompletion !== undefined) {
      if (sg.notifyCompletion.length === 0) throw new H248EncodeError('NotifyCompletion needs at least one reason');
      items.push(`${this.t('NotifyCompletion')}${this.eq}{${sg.notifyCompletion.map((r) => this.t(reason[r])).join(',')}}`);
    }
    if (sg.keepActive) items.push(this.t('KeepActive'));
    if (sg.direction !== undefined) items.push(`${this.t('Direction')}${this.eq}${this.t(dir[sg.direction])}`);
    if (sg.requestId !== undefined) items.push(`${this.t('RequestID')}${this.eq}${sg.requestId === '*' ? '*' : uint(sg.requestId)}`);
    items.push(...this.params(sg.params, paramName));
    return items.length === 0 ? pkgdName(sg.name) : this.block(pkgdName(sg.name), items, ind);
  }

  // observedEventsDescriptor = ObservedEventsToken EQUAL RequestID LBRKT observedEvent *(COMMA observedEvent) RBRKT
  observedEvents(oe: M.ObservedEventsDescriptor, ind: number): string {
    const head = `${this.t('ObservedEvents')}${this.eq}${oe.requestId === '*' ? '*' : uint(oe.requestId)}`;
    const items = oe.events.map((e) => {
      if (e.timestamp !== undefined && !/^[0-9]{8}T[0-9]{8}$/.test(e.timestamp)) throw new H248EncodeError(`bad TimeStamp ${e.timestamp}`);
      const prefix = e.timestamp !== undefined ? `${e.timestamp}:` : '';
      const parms: string[] = [];
      if (e.stream !== undefined) parms.push(`${this.t('Stream')}${this.eq}${uint(e.stream, 0xffff)}`);
      parms.push(...this.params(e.params, paramName));
      return parms.length === 0 ? prefix + pkgdName(e.name) : this.block(prefix + pkgdName(e.name), parms, ind + 1);
    });
    return this.block(head, items, ind);
  }

  // eventBufferDescriptor = EventBufferToken [LBRKT eventSpec *(COMMA eventSpec) RBRKT]
  eventBuffer(eb: M.EventBufferDescriptor, ind: number): string {
    if (eb.length === 0) return this.t('EventBuffer');
    return this.block(this.t('EventBuffer'), eb.map((e) => {
      const parms: string[] = [];
      if (e.stream !== undefined) parms.push(`${this.t('Stream')}${this.eq}${uint(e.stream, 0xffff)}`);
      parms.push(...this.params(e.params, paramName));
      return parms.length === 0 ? pkgdName(e.name) : this.block(pkgdName(e.name), parms, ind + 1);
    }), ind);
  }

  // digitMapDescriptor = DigitMapToken EQUAL ((LBRKT digitMapValue RBRKT) / (digitMapName [LBRKT digitMapValue RBRKT]))
  digitMap(dm: M.DigitMapDescriptor, _ind: number): string {
    if (dm.name === undefined && dm.value === undefined) throw new H248EncodeError('DigitMap needs a name or a value');
    let s = `${this.t('DigitMap')}${this.eq}`;
    if (dm.name !== undefined) s += name(dm.name);
    if (dm.value !== undefined) s += `${this.long && dm.name !== undefined ? ' ' : ''}{${digitMapText(dm.value)}}`;
    return s;
  }

  // auditDescriptor = AuditToken LBRKT [auditItem *(COMMA auditItem)] RBRKT
  audit(a: M.AuditDescriptor, ind: number): string {
    const tok: Record<M.AuditItem, TokenName> = { mux: 'Mux', modem: 'Modem', media: 'Media', signals: 'Signals', eventBuffer: 'EventBuffer', digitMap: 'DigitMap', statistics: 'Stats', events: 'Events', observedEvents: 'ObservedEvents', packages: 'Packages' };
    return this.block(this.t('Audit'), a.items.map((i) => this.t(tok[i])), ind);
  }

  // statisticsDescriptor = StatsToken LBRKT statisticsParameter *(COMMA statisticsParameter) RBRKT
  statistics(st: M.StatisticsDescriptor, ind: number): string {
    const items = Object.entries(st).map(([n, v]) => {
      if (v === null) return pkgdName(n);
      if (typeof v === 'string') return pkgdName(n) + this.eq + value(v);
      if (v.length === 0) throw new H248EncodeError('empty statistic value list');
      return `${pkgdName(n)}${this.eq}[${v.map(value).join(',')}]`;
    });
    if (items.length === 0) throw new H248EncodeError('Statistics needs at least one statistic');
    return this.block(this.t('Stats'), items, ind);
  }

  // serviceChangeDescriptor = ServicesToken LBRKT serviceChangeParm *(COMMA serviceChangeParm) RBRKT
  // serviceChangeReason = ReasonToken EQUAL VALUE ; quotedString: decimal code [SP text]
  serviceChange(sc: M.ServiceChangeDescriptor, ind: number): string {
    const method: Record<string, TokenName> = { failover: 'Failover', forced: 'Forced', graceful: 'Graceful', restart: 'Restart', disconnected: 'Disconnected', handOff: 'HandOff' };
    const m = method[sc.method];
    let methodText: string;
    if (m !== undefined) methodText = this.t(m);
    else if (/^X[-+][A-Za-z0-9]{1,6}$/.test(sc.method)) methodText = sc.method;
    else throw new H248EncodeError(`bad service change method ${sc.method}`);
    if (!Number.isInteger(sc.reason.code) || sc.reason.code < 0 || sc.reason.code > 9999) throw new H248EncodeError('bad reason code');
    const items = [
      `${this.t('Method')}${this.eq}${methodText}`,
      `${this.t('Reason')}${this.eq}${quote(sc.reason.text === undefined ? String(sc.reason.code) : `${sc.reason.code} ${sc.reason.text}`)}`,
    ];
    if (sc.delay !== undefined) items.push(`${this.t('Delay')}${this.eq}${uint(sc.delay)}`);
    items.push(...this.servChgCommon(sc));
    items.push(...this.params(sc.extensions, (n) => {
      if (!/^X[-+][A-Za-z0-9]{1,6}$/.test(n)) throw new H248EncodeError(`bad extension name ${n}`);
      return n;
    }));
    return this.block(this.t('Services'), items, ind);
  }

  servChgCommon(sc: M.ServiceChangeReplyDescriptor): string[] {
    const items: string[] = [];
    if (sc.address !== undefined && sc.mgcIdToTry !== undefined) throw new H248EncodeError('ServiceChangeAddress and MgcIdToTry are mutually exclusive');
    if (sc.address !== undefined) items.push(`${this.t('ServiceChangeAddress')}${this.eq}${mIdOrPort(sc.address)}`);
    if (sc.mgcIdToTry !== undefined) items.push(`${this.t('MgcId')}${this.eq}${mIdOrPort(sc.mgcIdToTry, false)}`);
    if (sc.profile !== undefined) {
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}\/[0-9]{1,2}$/.test(sc.profile)) throw new H248EncodeError(`bad profile ${sc.profile}`);
      items.push(`${this.t('Profile')}${this.eq}${sc.profile}`);
    }
    if (sc.version !== undefined) {
      if (!Number.isInteger(sc.version) || sc.version < 0 || sc.version > 99) throw new H248EncodeError('bad version');
      items.push(`${this.t('Version')}${this.eq}${sc.version}`);
    }
    if (sc.timestamp !== undefined) {
      if (!/^[0-9]{8}T[0-9]{8}$/.test(sc.timestamp)) throw new H248EncodeError(`bad TimeStamp ${sc.timestamp}`);
      items.push(sc.timestamp);
    }
    return items;
  }

  // serviceChangeReplyDescriptor = ServicesToken LBRKT servChgReplyParm *(COMMA servChgReplyParm) RBRKT
  serviceChangeReply(sc: M.ServiceChangeReplyDescriptor, ind: number): string {
    return this.block(this.t('Services'), this.servChgCommon(sc), ind);
  }
}

function uint(n: number, max = 0xffffffff): string {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new H248EncodeError(`integer ${n} out of range 0..${max}`);
  return String(n);
}

function termId(t: string): string {
  if (t.length > 64 || !TERMINATION_ID.test(t)) throw new H248EncodeError(`bad TerminationID ${JSON.stringify(t)}`);
  return t;
}

function pkgdName(n: string): string {
  if (!PKGD_NAME.test(n)) throw new H248EncodeError(`bad package-qualified name ${JSON.stringify(n)}`);
  return n;
}

function name(n: string): string {
  if (!NAME.test(n)) throw new H248EncodeError(`bad NAME ${JSON.stringify(n)}`);
  return n;
}

/** Parameter names are NAMEs; a NAME spelling a token of the same position would be misread, so those are refused. */
const RESERVED_PARAM = /^(?:st|stream|ka|keepactive|em|embed|dm|digitmap|sy|signaltype|dr|duration|nc|notifycompletion|spadi|spadirection|sparq|sparequestid)$/i;
function paramName(n: string): string {
  name(n);
  if (RESERVED_PARAM.test(n)) throw new H248EncodeError(`parameter name ${n} collides with a token`);
  return n;
}

// VALUE = quotedString / 1*(SafeChar / %x80-FF)
function value(v: string): string {
  return isWordText(v) ? v : quote(v);
}

function quote(v: string): string {
  if (!isQuotableText(v)) throw new H248EncodeError(`value cannot be quoted: ${JSON.stringify(v)}`);
  return `"${v}"`;
}

function digitMapText(v: string): string {
  if (!/^(?:[TSLZ]:[0-9]{1,2},)*[0-9A-Ka-kLSTZx.|()[\]-]+$/i.test(v)) throw new H248EncodeError(`bad digit map ${JSON.stringify(v)}`);
  return v;
}

function mIdOrPort(a: string, portOk = true): string {
  const ok = (portOk && /^[0-9]{1,5}$/.test(a) && Number(a) <= 0xffff)
    || /^\[[0-9A-Fa-f.:]{2,45}\](?::[0-9]{1,5})?$/.test(a)
    || /^<[A-Za-z0-9][A-Za-z0-9.-]{0,63}>(?::[0-9]{1,5})?$/.test(a)
    || /^MTP\{[0-9A-Fa-f]{4,8}\}$/i.test(a)
    || (/^\*?[A-Za-z][A-Za-z0-9_/*$]*(?:@[A-Za-z0-9*][A-Za-z0-9*.-]{0,63})?$/.test(a) && a.length <= 64);
  if (!ok) throw new H248EncodeError(`bad mId ${JSON.stringify(a)}`);
  return a;
}
