// H.248 text-encoding parser: bytes/text → model, one function per RFC 3525 Annex B rule
// (the ABNF is quoted above each); this file holds message, transaction, action and command
// structure, text-parse-descriptors.ts the descriptors. Never throws: errors carry the H.248 code.

import type * as M from './model.js';
import { ErrorCodes } from './model.js';
import { DescriptorParser, type Mutable } from './text-parse-descriptors.js';
import { isToken, matchToken, type TokenName } from './text-tokens.js';
import {
  Abort, DEFAULT_LIMITS, Scanner, bytesToText, parseUint, UINT16_MAX, UINT32_MAX,
  type H248ParseError, type H248ParseResult, type ParseLimits,
} from './text-scanner.js';

export type { H248ParseError, H248ParseResult, ParseLimits } from './text-scanner.js';

/** Highest protocol version whose syntax this parser reads (1, 2 and the v3 forms listed in the report). */
export const MAX_VERSION = 3;

/** Parse one H.248 text message. Never throws. */
export function parseMessage(input: Uint8Array | string, limits: ParseLimits = {}): H248ParseResult<M.Message> {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > lim.maxMessageBytes) {
    return { ok: false, error: { code: 'unsupported', layer: 'h248-text', detail: `message of ${size} bytes exceeds ${lim.maxMessageBytes}`, h248Code: ErrorCodes.badRequestFormat, offset: 0 } };
  }
  const text = typeof input === 'string' ? input : bytesToText(input);
  const p = new Parser(new Scanner(text, lim));
  try {
    return { ok: true, value: p.megacoMessage() };
  } catch (e) {
    const base = { layer: 'h248-text' as const, ...p.header(), ...(p.transactionId !== undefined ? { transactionId: p.transactionId } : {}) };
    if (e instanceof Abort) {
      const error: H248ParseError = { ...base, code: e.code, detail: e.detail, h248Code: e.h248Code, offset: e.offset };
      return { ok: false, error };
    }
    // A RangeError (stack) or a bug: still a typed error, never a crash of the caller.
    return { ok: false, error: { ...base, code: 'malformed', detail: `parser failure: ${String(e)}`, h248Code: ErrorCodes.badRequestFormat, offset: p.s.pos } };
  }
}


class Parser extends DescriptorParser {
  /** Set while inside a transaction request so an error can be answered per transaction. */
  transactionId: number | undefined;
  private version: number | undefined;
  private mId: string | undefined;


  header(): { version?: number; mId?: string } {
    return { ...(this.version !== undefined ? { version: this.version } : {}), ...(this.mId !== undefined ? { mId: this.mId } : {}) };
  }

  // megacoMessage = LWSP [authenticationHeader SEP] message
  // authenticationHeader = AuthToken EQUAL SecurityParmIndex COLON SequenceNum COLON AuthData
  // message = MegacopToken SLASH Version SEP mId SEP messageBody
  megacoMessage(): M.Message {
    const s: Scanner = this.s;
    let first = s.word('MEGACO header');
    let auth: M.Message['auth'];
    if (isToken(first, 'Auth')) {
      s.expect('=', 'after Authentication');
      const spi = s.word('SecurityParmIndex');
      s.expect(':', 'in authentication header');
      const sequence = s.word('SequenceNum');
      s.expect(':', 'in authentication header');
      const data = s.word('AuthData');
      if (!/^0x[0-9a-f]{8}$/i.test(spi) || !/^0x[0-9a-f]{8}$/i.test(sequence) || !/^0x[0-9a-f]{24,64}$/i.test(data)) s.fail('malformed authentication header');
      auth = { spi, sequence, data };
      if (!s.lwsp()) s.fail('expected SEP after authentication header');
      first = s.word('MEGACO header');
    }
    const slash = first.indexOf('/');
    if (slash < 0 || !isToken(first.slice(0, slash), 'Megacop')) s.fail(`expected MEGACO/<version>, found ${JSON.stringify(first.slice(0, 20))}`);
    const vText = first.slice(slash + 1);
    // Version = 1*2(DIGIT)
    if (!/^[0-9]{1,2}$/.test(vText)) s.fail(`bad version ${JSON.stringify(vText)}`);
    const version = Number(vText);
    this.version = version;
    if (version < 1 || version > MAX_VERSION) s.fail(`version ${version} not supported`, ErrorCodes.versionNotSupported, 'unsupported');
    if (!s.lwsp()) s.fail('expected SEP after version');
    const mId = this.mIdValue();
    this.mId = mId;
    // SEP is required; be lenient after a bracketed address ("[1.2.3.4]:2944T=1{...}" is not valid, but "]\n" is).
    if (!s.lwsp() && !/[\]>}]$|:[0-9]+$/.test(mId)) s.fail('expected SEP after mId');
    const body = this.messageBody();
    s.lwsp();
    if (!s.atEnd()) s.fail(`trailing text after message body: ${s.describeHere()}`);
    return auth ? { version, mId, body, auth } : { version, mId, body };
  }

  // messageBody = (errorDescriptor / transactionList)
  // transactionList = 1*(transactionRequest / transactionReply / transactionPending / transactionResponseAck)
  messageBody(): M.MessageBody {
    const s: Scanner = this.s;
    const save = s.pos;
    const w = s.word('transaction or Error');
    if (isToken(w, 'Error')) {
      s.pos = save;
      return { kind: 'error', error: this.errorDescriptor() };
    }
    s.pos = save;
    const transactions: M.Transaction[] = [];
    while (s.peek() !== '') {
      transactions.push(this.transaction());
      s.count(transactions.length, 'transactions');
    }
    return { kind: 'transactions', transactions };
  }

  transaction(): M.Transaction {
    const s: Scanner = this.s;
    const w = s.word('transaction');
    const kind = matchToken(w, ['Trans', 'Reply', 'Pending', 'ResponseAck'] as const);
    switch (kind) {
      case 'Trans': return this.transactionRequest();
      case 'Reply': return this.transactionReply();
      case 'Pending': return this.transactionPending();
      case 'ResponseAck': return this.transactionResponseAck();
      default: return s.fail(`unknown transaction token ${JSON.stringify(w.slice(0, 30))}`);
    }
  }

  // TransactionID = UINT32
  transactionIdValue(): number {
    const w = this.s.word('TransactionID');
    if (w.includes('/')) this.s.fail('segmented replies (H.248.1 v3 SLASH segmentNumber) are not supported', ErrorCodes.badRequestFormat, 'unsupported');
    const n = parseUint(w, UINT32_MAX);
    if (n === undefined) this.s.fail(`bad TransactionID ${JSON.stringify(w.slice(0, 20))}`);
    return n;
  }

  // transactionRequest = TransToken EQUAL TransactionID LBRKT actionRequest *(COMMA actionRequest) RBRKT
  transactionRequest(): M.TransactionRequest {
    const s: Scanner = this.s;
    s.expect('=', 'after Transaction');
    const transactionId = this.transactionIdValue();
    this.transactionId = transactionId;
    const outer = s.errorCode;
    s.errorCode = ErrorCodes.syntaxErrorInTransaction;
    s.open('transaction');
    const actions: M.ActionRequest[] = [];
    do {
      actions.push(this.actionRequest());
      s.count(actions.length, 'actions');
    } while (s.more());
    s.close('transaction');
    s.errorCode = outer;
    this.transactionId = undefined;
    return { kind: 'request', transactionId, actions };
  }

  // transactionReply = ReplyToken EQUAL TransactionID LBRKT [ImmAckRequiredToken COMMA]
  //                    (errorDescriptor / actionReplyList) RBRKT
  // actionReplyList = actionReply *(COMMA actionReply)
  transactionReply(): M.TransactionReply {
    const s: Scanner = this.s;
    s.expect('=', 'after Reply');
    const transactionId = this.transactionIdValue();
    s.open('reply');
    let immAckRequired = false;
    let save = s.pos;
    let w = s.word('reply body');
    if (isToken(w, 'ImmAckRequired')) {
      immAckRequired = true;
      s.expect(',', 'after ImmAckRequired');
      save = s.pos;
      w = s.word('reply body');
    }
    s.pos = save;
    let reply: M.TransactionReply;
    if (isToken(w, 'Error')) {
      reply = { kind: 'reply', transactionId, error: this.errorDescriptor(), actions: [] };
    } else {
      const actions: M.ActionReply[] = [];
      do {
        actions.push(this.actionReply());
        s.count(actions.length, 'action replies');
      } while (s.more());
      reply = { kind: 'reply', transactionId, actions };
    }
    s.close('reply');
    return immAckRequired ? { ...reply, immAckRequired } : reply;
  }

  // transactionPending = PendingToken EQUAL TransactionID LBRKT RBRKT
  transactionPending(): M.TransactionPending {
    const s: Scanner = this.s;
    s.expect('=', 'after Pending');
    const transactionId = this.transactionIdValue();
    s.open('pending');
    s.close('pending');
    return { kind: 'pending', transactionId };
  }

  // transactionResponseAck = ResponseAckToken LBRKT transactionAck *(COMMA transactionAck) RBRKT
  // transactionAck = TransactionID / (TransactionID "-" TransactionID)
  transactionResponseAck(): M.TransactionResponseAck {
    const s: Scanner = this.s;
    s.open('response ack');
    const acks: M.TransactionAckRange[] = [];
    do {
      const w = s.word('transactionAck');
      const m = /^([0-9]{1,10})(?:-([0-9]{1,10}))?$/.exec(w);
      const first = m ? parseUint(m[1]!, UINT32_MAX) : undefined;
      const last = m ? (m[2] !== undefined ? parseUint(m[2], UINT32_MAX) : first) : undefined;
      if (first === undefined || last === undefined || last < first) s.fail(`bad transactionAck ${JSON.stringify(w.slice(0, 24))}`);
      acks.push({ first, last });
      s.count(acks.length, 'acks');
    } while (s.more());
    s.close('response ack');
    return { kind: 'responseAck', acks };
  }

  // ContextID = (UINT32 / "*" / "-" / "$")
  contextIdValue(): M.ContextId {
    const w = this.s.word('ContextID');
    if (w === '-' || w === '$' || w === '*') return w;
    const n = parseUint(w, UINT32_MAX);
    if (n === undefined) this.s.fail(`bad ContextID ${JSON.stringify(w.slice(0, 20))}`, ErrorCodes.unknownContextId);
    return n;
  }

  // actionRequest = CtxToken EQUAL ContextID LBRKT ((contextRequest [COMMA commandRequestList])
  //                 / commandRequestList) RBRKT
  // contextRequest = ((contextProperties [COMMA contextAudit]) / contextAudit)
  // commandRequestList = ["O-"] ["W-"] commandRequest *(COMMA ["O-"] ["W-"] commandRequest)
  actionRequest(): M.ActionRequest {
    const s: Scanner = this.s;
    const w = s.word('Context');
    if (!isToken(w, 'Ctx')) s.fail(`expected Context, found ${JSON.stringify(w.slice(0, 20))}`);
    s.expect('=', 'after Context');
    const contextId = this.contextIdValue();
    s.open('action');
    const props: Mutable<M.ContextProperties> = {};
    let contextAudit: M.ContextAuditItem[] | undefined;
    const commands: M.CommandRequest[] = [];
    if (s.peek() !== '}') {
      do {
        const save = s.pos;
        const item = s.word('command or context property');
        if (this.contextProperty(item, props)) continue;
        if (isToken(item, 'ContextAudit')) {
          contextAudit = this.contextAudit();
          continue;
        }
        s.pos = save;
        commands.push(this.commandRequest());
        s.count(commands.length, 'commands');
      } while (s.more());
    }
    s.close('action');
    return {
      contextId,
      ...(Object.keys(props).length > 0 ? { contextProperties: props } : {}),
      ...(contextAudit ? { contextAudit } : {}),
      commands,
    };
  }

  // contextProperty = (topologyDescriptor / priority / EmergencyToken / EmergencyOffToken / iepsValue)
  // priority = PriorityToken EQUAL UINT16
  // iepsValue = IEPSToken EQUAL ("ON" / "OFF")
  /** Parses a context property whose token `w` was just read; false if `w` is not one. */
  contextProperty(w: string, props: Mutable<M.ContextProperties>): boolean {
    const s: Scanner = this.s;
    const t = matchToken(w, ['Topology', 'Priority', 'Emergency', 'EmergencyOff', 'IEPS'] as const);
    if (t === undefined) return false;
    const dup = (k: keyof M.ContextProperties): void => {
      if (props[k] !== undefined) s.fail(`context property ${k} appears twice`);
    };
    switch (t) {
      case 'Topology': dup('topology'); props.topology = this.topologyDescriptor(); break;
      case 'Priority': {
        dup('priority');
        s.expect('=', 'after Priority');
        const n = parseUint(s.word('priority'), UINT16_MAX);
        if (n === undefined) s.fail('bad priority');
        props.priority = n;
        break;
      }
      case 'Emergency': dup('emergency'); props.emergency = true; break;
      case 'EmergencyOff': dup('emergency'); props.emergency = false; break;
      case 'IEPS': {
        dup('iepsCall');
        s.expect('=', 'after IEPSCall');
        const v = s.word('ON/OFF').toUpperCase();
        if (v !== 'ON' && v !== 'OFF') s.fail('IEPSCall must be ON or OFF');
        props.iepsCall = v === 'ON';
        break;
      }
    }
    return true;
  }

  // contextAudit = ContextAuditToken LBRKT contextAuditProperties *(COMMA contextAuditProperties) RBRKT
  // contextAuditProperties = (TopologyToken / EmergencyToken / PriorityToken / IEPSToken)
  contextAudit(): M.ContextAuditItem[] {
    const s: Scanner = this.s;
    s.open('ContextAudit');
    const items: M.ContextAuditItem[] = [];
    do {
      const w = s.word('context audit item');
      const t = matchToken(w, ['Topology', 'Emergency', 'Priority', 'IEPS'] as const);
      if (t === undefined) s.fail(`unknown context audit item ${JSON.stringify(w.slice(0, 20))}`);
      items.push(t === 'Topology' ? 'topology' : t === 'Emergency' ? 'emergency' : t === 'Priority' ? 'priority' : 'iepsCall');
      s.count(items.length, 'context audit items');
    } while (s.more());
    s.close('ContextAudit');
    return items;
  }

  // topologyDescriptor = TopologyToken LBRKT topologyTriple *(COMMA topologyTriple) RBRKT
  // topologyTriple = terminationA COMMA terminationB COMMA topologyDirection [COMMA eventStream]
  // topologyDirection = BothwayToken / IsolateToken / OnewayToken / OnewayExternalToken / OnewayBothToken
  topologyDescriptor(): M.TopologyTriple[] {
    const s: Scanner = this.s;
    s.open('Topology');
    const triples: M.TopologyTriple[] = [];
    let more = true;
    while (more) {
      const from = this.terminationId();
      s.expect(',', 'in topology triple');
      const to = this.terminationId();
      s.expect(',', 'in topology triple');
      const dw = s.word('topology direction');
      const d = matchToken(dw, ['Bothway', 'Isolate', 'Oneway', 'OnewayExternal', 'OnewayBoth'] as const);
      if (d === undefined) s.fail(`bad topology direction ${JSON.stringify(dw.slice(0, 20))}`);
      const direction: M.TopologyDirection = d === 'Bothway' ? 'bothway' : d === 'Isolate' ? 'isolate' : d === 'Oneway' ? 'oneway' : d === 'OnewayExternal' ? 'onewayExternal' : 'onewayBoth';
      let stream: number | undefined;
      more = false;
      if (s.more()) {
        const save = s.pos;
        const w = s.word('eventStream or next triple');
        if (isToken(w, 'Stream') && s.peek() === '=') {
          stream = this.eqStreamId();
          more = s.more();
        } else {
          s.pos = save;
          more = true;
        }
      }
      triples.push(stream === undefined ? { from, to, direction } : { from, to, direction, stream });
      s.count(triples.length, 'topology triples');
    }
    s.close('Topology');
    return triples;
  }

  // termIDList = (TerminationID / LSBRKT TerminationID 1*(COMMA TerminationID) RSBRKT)
  termIdList(): M.TerminationId[] {
    const s: Scanner = this.s;
    if (!s.accept('[')) return [this.terminationId()];
    const list: M.TerminationId[] = [];
    do {
      list.push(this.terminationId());
      s.count(list.length, 'termination ids');
    } while (s.more());
    s.expect(']', 'to close termination list');
    return list;
  }

  // commandRequest = (ammRequest / subtractRequest / auditRequest / notifyRequest / serviceChangeRequest)
  commandRequest(): M.CommandRequest {
    const s: Scanner = this.s;
    const outer = s.errorCode;
    s.errorCode = ErrorCodes.syntaxErrorInCommand;
    let w = s.word('command');
    let optional = false;
    let wildcardReply = false;
    if (/^o-/i.test(w)) { optional = true; w = w.slice(2); }
    if (/^w-/i.test(w)) { wildcardReply = true; w = w.slice(2); }
    const t = matchToken(w, ['Add', 'Modify', 'Move', 'Subtract', 'AuditValue', 'AuditCap', 'Notify', 'ServiceChange'] as const);
    if (t === undefined) s.fail(`unknown command ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedCommand, 'unsupported');
    s.expect('=', `after ${t}`);
    const terminationIds = this.termIdList();
    const flags = { ...(optional ? { optional } : {}), ...(wildcardReply ? { wildcardReply } : {}) };
    let cmd: M.CommandRequest;
    switch (t) {
      case 'Add': case 'Modify': case 'Move': {
        // ammRequest = (AddToken / MoveToken / ModifyToken) EQUAL termIDList [LBRKT ammParameter *(COMMA ammParameter) RBRKT]
        const type = t === 'Add' ? 'add' : t === 'Modify' ? 'modify' : 'move';
        cmd = { type, terminationIds, ...this.ammParameters(), ...flags };
        break;
      }
      case 'Subtract': {
        // subtractRequest = SubtractToken EQUAL termIDList [LBRKT auditDescriptor RBRKT]
        let audit: M.AuditDescriptor | undefined;
        if (s.peek() === '{') {
          s.open('Subtract');
          audit = this.expectDescriptor('Audit', () => this.auditDescriptor());
          s.close('Subtract');
        }
        cmd = audit ? { type: 'subtract', terminationIds, audit, ...flags } : { type: 'subtract', terminationIds, ...flags };
        break;
      }
      case 'AuditValue': case 'AuditCap': {
        // auditRequest = (AuditValueToken / AuditCapToken) EQUAL termIDList LBRKT auditDescriptor RBRKT
        s.open('Audit command');
        const audit = this.expectDescriptor('Audit', () => this.auditDescriptor());
        s.close('Audit command');
        cmd = { type: t === 'AuditValue' ? 'auditValue' : 'auditCapabilities', terminationIds, audit, ...flags };
        break;
      }
      case 'Notify': {
        // notifyRequest = NotifyToken EQUAL termIDList LBRKT (observedEventsDescriptor [COMMA errorDescriptor]) RBRKT
        s.open('Notify');
        const observedEvents = this.expectDescriptor('ObservedEvents', () => this.observedEventsDescriptor());
        let error: M.ErrorDescriptor | undefined;
        if (s.more()) error = this.errorDescriptor();
        s.close('Notify');
        cmd = error ? { type: 'notify', terminationIds, observedEvents, error, ...flags } : { type: 'notify', terminationIds, observedEvents, ...flags };
        break;
      }
      case 'ServiceChange': {
        // serviceChangeRequest = ServiceChangeToken EQUAL termIDList LBRKT serviceChangeDescriptor RBRKT
        s.open('ServiceChange');
        const serviceChange = this.serviceChangeDescriptor();
        s.close('ServiceChange');
        cmd = { type: 'serviceChange', terminationIds, serviceChange, ...flags };
        break;
      }
    }
    s.errorCode = outer;
    return cmd;
  }

  /** Read the token `name` then its descriptor body. */
  expectDescriptor<T>(name: TokenName, body: () => T): T {
    const w = this.s.word(name);
    if (!isToken(w, name)) this.s.fail(`expected ${name} descriptor, found ${JSON.stringify(w.slice(0, 20))}`);
    return body();
  }

  // ammParameter = (mediaDescriptor / modemDescriptor / muxDescriptor / eventsDescriptor /
  //                 signalsDescriptor / digitMapDescriptor / eventBufferDescriptor /
  //                 auditDescriptor / statisticsDescriptor)   ; at-most-once
  ammParameters(): M.AmmDescriptors {
    const s: Scanner = this.s;
    const d: Mutable<M.AmmDescriptors> = {};
    if (s.peek() !== '{') return d;
    s.open('command');
    if (s.peek() !== '}') {
      do {
        const w = s.word('descriptor');
        const t = matchToken(w, ['Media', 'Events', 'Signals', 'DigitMap', 'EventBuffer', 'Audit', 'Stats', 'Modem', 'Mux'] as const);
        const once = (k: keyof M.AmmDescriptors): void => {
          if (d[k] !== undefined) s.fail(`${k} descriptor appears twice`, ErrorCodes.descriptorAppearsTwice);
        };
        switch (t) {
          case 'Media': once('media'); d.media = this.mediaDescriptor(); break;
          case 'Events': once('events'); d.events = this.eventsDescriptor(); break;
          case 'Signals': once('signals'); d.signals = this.signalsDescriptor(); break;
          case 'DigitMap': once('digitMap'); d.digitMap = this.digitMapDescriptor(); break;
          case 'EventBuffer': once('eventBuffer'); d.eventBuffer = this.eventBufferDescriptor(); break;
          case 'Audit': once('audit'); d.audit = this.auditDescriptor(); break;
          case 'Stats': once('statistics'); d.statistics = this.statisticsDescriptor(); break;
          case 'Modem': case 'Mux': s.fail(`${t} descriptor is not supported`, ErrorCodes.unsupportedDescriptor, 'unsupported');
          // falls through never (fail returns never)
          default: s.fail(`unknown descriptor ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedDescriptor, 'unsupported');
        }
      } while (s.more());
    }
    s.close('command');
    return d;
  }

  // actionReply = CtxToken EQUAL ContextID [LBRKT (errorDescriptor / commandReply /
  //               (commandReply COMMA errorDescriptor)) RBRKT]
  // commandReply = ((contextProperties [COMMA commandReplyList]) / commandReplyList)
  // commandReplyList = commandReplys *(COMMA commandReplys)
  actionReply(): M.ActionReply {
    const s: Scanner = this.s;
    const w = s.word('Context');
    if (!isToken(w, 'Ctx')) s.fail(`expected Context, found ${JSON.stringify(w.slice(0, 20))}`);
    s.expect('=', 'after Context');
    const contextId = this.contextIdValue();
    const props: Mutable<M.ContextProperties> = {};
    const commands: M.CommandReply[] = [];
    let error: M.ErrorDescriptor | undefined;
    if (s.peek() === '{') {
      s.open('action reply');
      if (s.peek() !== '}') {
        do {
          if (error) s.fail('error descriptor must be the last element of an action reply', ErrorCodes.protocolError);
          const save = s.pos;
          const item = s.word('command reply');
          if (isToken(item, 'Error')) { s.pos = save; error = this.errorDescriptor(); continue; }
          if (this.contextProperty(item, props)) continue;
          s.pos = save;
          commands.push(this.commandReply());
          s.count(commands.length, 'command replies');
        } while (s.more());
      }
      s.close('action reply');
    }
    return {
      contextId,
      ...(Object.keys(props).length > 0 ? { contextProperties: props } : {}),
      commands,
      ...(error ? { error } : {}),
    };
  }

  // commandReplys = (serviceChangeReply / auditReply / ammsReply / notifyReply)
  commandReply(): M.CommandReply {
    const s: Scanner = this.s;
    let w = s.word('command reply');
    let wildcardReply = false;
    if (/^w-/i.test(w)) { wildcardReply = true; w = w.slice(2); }
    const flags = wildcardReply ? { wildcardReply } : {};
    const t = matchToken(w, ['Add', 'Modify', 'Move', 'Subtract', 'AuditValue', 'AuditCap', 'Notify', 'ServiceChange'] as const);
    if (t === undefined) s.fail(`unknown command reply ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedCommand, 'unsupported');
    s.expect('=', `after ${t}`);
    switch (t) {
      case 'Add': case 'Modify': case 'Move': case 'Subtract': {
        // ammsReply = (AddToken / MoveToken / ModifyToken / SubtractToken) EQUAL termIDList [LBRKT terminationAudit RBRKT]
        const type = t === 'Add' ? 'add' : t === 'Modify' ? 'modify' : t === 'Move' ? 'move' : 'subtract';
        const terminationIds = this.termIdList();
        const audit = this.optionalTerminationAudit();
        return { type, terminationIds, ...(audit ? { audit } : {}), ...flags };
      }
      case 'AuditValue': case 'AuditCap': {
        // auditReply = (AuditValueToken / AuditCapToken) (contextTerminationAudit / auditOther)
        // contextTerminationAudit = EQUAL CtxToken (terminationIDList / LBRKT errorDescriptor RBRKT)
        // auditOther = EQUAL termIDList [LBRKT terminationAudit RBRKT]
        const type = t === 'AuditValue' ? 'auditValue' : 'auditCapabilities';
        const save = s.pos;
        const first = s.tryWord();
        if (first !== '' && isToken(first, 'Ctx') && s.peek() === '{') {
          s.open('context termination audit');
          const inner = s.pos;
          const ew = s.word('termination or Error');
          const isError = isToken(ew, 'Error') && s.peek() === '=';
          s.pos = inner;
          if (isError) {
            const contextError = this.errorDescriptor();
            s.close('context termination audit');
            return { type, terminationIds: [], contextError, ...flags };
          }
          const list: M.TerminationId[] = [];
          do {
            list.push(this.terminationId());
            s.count(list.length, 'termination ids');
          } while (s.more());
          s.close('context termination audit');
          return { type, terminationIds: [], contextTerminations: list, ...flags };
        }
        s.pos = save;
        const terminationIds = this.termIdList();
        const audit = this.optionalTerminationAudit();
        return { type, terminationIds, ...(audit ? { audit } : {}), ...flags };
      }
      case 'Notify': {
        // notifyReply = NotifyToken EQUAL termIDList [LBRKT errorDescriptor RBRKT]
        const terminationIds = this.termIdList();
        let error: M.ErrorDescriptor | undefined;
        if (s.peek() === '{') {
          s.open('Notify reply');
          error = this.errorDescriptor();
          s.close('Notify reply');
        }
        return { type: 'notify', terminationIds, ...(error ? { error } : {}), ...flags };
      }
      case 'ServiceChange': {
        // serviceChangeReply = ServiceChangeToken EQUAL termIDList [LBRKT (errorDescriptor / serviceChangeReplyDescriptor) RBRKT]
        const terminationIds = this.termIdList();
        if (s.peek() !== '{') return { type: 'serviceChange', terminationIds, ...flags };
        s.open('ServiceChange reply');
        const save2 = s.pos;
        const w2 = s.word('Error or Services');
        s.pos = save2;
        let out: M.ServiceChangeReply;
        if (isToken(w2, 'Error')) out = { type: 'serviceChange', terminationIds, error: this.errorDescriptor(), ...flags };
        else out = { type: 'serviceChange', terminationIds, serviceChange: this.serviceChangeReplyDescriptor(), ...flags };
        s.close('ServiceChange reply');
        return out;
      }
    }
  }

  optionalTerminationAudit(): M.TerminationAudit | undefined {
    const s: Scanner = this.s;
    if (s.peek() !== '{') return undefined;
    s.open('termination audit');
    const audit = s.peek() === '}' ? {} : this.terminationAudit();
    s.close('termination audit');
    return audit;
  }

  // terminationAudit = auditReturnParameter *(COMMA auditReturnParameter)
  // auditReturnParameter = (mediaDescriptor / modemDescriptor / muxDescriptor / eventsDescriptor /
  //   signalsDescriptor / digitMapDescriptor / observedEventsDescriptor / eventBufferDescriptor /
  //   statisticsDescriptor / packagesDescriptor / errorDescriptor / auditReturnItem)
  // auditReturnItem = (MuxToken / ModemToken / MediaToken / DigitMapToken / StatsToken /
  //   ObservedEventsToken / PackagesToken)
  terminationAudit(): M.TerminationAudit {
    const s: Scanner = this.s;
    const a: Mutable<M.TerminationAudit> = {};
    const empty: M.AuditReturnItem[] = [];
    const once = (k: keyof M.TerminationAudit): void => {
      if (a[k] !== undefined) s.fail(`${k} appears twice in audit`, ErrorCodes.descriptorAppearsTwice);
    };
    do {
      const save = s.pos;
      const w = s.word('audit return parameter');
      const t = matchToken(w, ['Media', 'Events', 'Signals', 'DigitMap', 'ObservedEvents', 'EventBuffer', 'Stats', 'Packages', 'Error', 'Modem', 'Mux'] as const);
      const next = s.peek();
      const bare = next === ',' || next === '}';
      switch (t) {
        case 'Media': if (bare) empty.push('media'); else { once('media'); a.media = this.mediaDescriptor(); } break;
        case 'DigitMap': if (bare) empty.push('digitMap'); else { once('digitMap'); a.digitMap = this.digitMapDescriptor(); } break;
        case 'Stats': if (bare) empty.push('statistics'); else { once('statistics'); a.statistics = this.statisticsDescriptor(); } break;
        case 'ObservedEvents': if (bare) empty.push('observedEvents'); else { once('observedEvents'); a.observedEvents = this.observedEventsDescriptor(); } break;
        case 'Packages': if (bare) empty.push('packages'); else { once('packages'); a.packages = this.packagesDescriptor(); } break;
        case 'Modem': case 'Mux':
          if (bare) empty.push(t === 'Modem' ? 'modem' : 'mux');
          else s.fail(`${t} descriptor is not supported`, ErrorCodes.unsupportedDescriptor, 'unsupported');
          break;
        case 'Events': once('events'); a.events = this.eventsDescriptor(); break;
        case 'Signals': once('signals'); a.signals = this.signalsDescriptor(); break;
        case 'EventBuffer': once('eventBuffer'); a.eventBuffer = this.eventBufferDescriptor(); break;
        case 'Error': once('error'); s.pos = save; a.error = this.errorDescriptor(); break;
        default: s.fail(`unknown audit return parameter ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedDescriptor, 'unsupported');
      }
      s.count(empty.length, 'audit items');
    } while (s.more());
    if (empty.length > 0) a.emptyItems = empty;
    return a;
  }

}

