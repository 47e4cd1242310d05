// H.248 text-encoding parser: bytes/text → model, one function per RFC 3525 Annex B rule
// (the ABNF is quoted above each). Accepts long and compact tokens in any case, comments and
// any LWSP; never throws — malformed input yields an H248ParseError with the code to answer.

import type * as M from './model.js';
import { ErrorCodes, parseSdpView } from './model.js';
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

const TERMINATION_ID = /^(?:\*?[A-Za-z][A-Za-z0-9_/*$]*(?:@[A-Za-z0-9*][A-Za-z0-9*.-]{0,63})?|\$|\*)$/;
const PKGD_NAME = /^(?:[A-Za-z][A-Za-z0-9_]{0,63}\/(?:[A-Za-z][A-Za-z0-9_]{0,63}|\*)|\*\/\*)$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const EXTENSION = /^X[-+][A-Za-z0-9]{1,6}$/i;
const TIMESTAMP = /^[0-9]{8}T[0-9]{8}$/i;

class Parser {
  /** Set while inside a transaction request so an error can be answered per transaction. */
  transactionId: number | undefined;
  private version: number | undefined;
  private mId: string | undefined;

  constructor(readonly s: Scanner) {}

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

  // mId = ((domainAddress / domainName) [":" portNumber]) / mtpAddress / deviceName
  // domainName = "<" (ALPHA / DIGIT) *63(ALPHA / DIGIT / "-" / ".") ">"
  // domainAddress = "[" (IPv4address / IPv6address) "]"
  // mtpAddress = MTPToken LBRKT 4*8(HEXDIG) RBRKT
  // deviceName = pathNAME
  mIdValue(): string {
    const s: Scanner = this.s;
    s.lwsp();
    const src = s.src;
    const start = s.pos;
    const c = src[start];
    let m: RegExpExecArray | null;
    const rest = src.slice(start, start + 300);
    if (c === '[') m = /^\[[0-9A-Fa-f.:]{2,45}\](?::[0-9]{1,5})?/.exec(rest);
    else if (c === '<') m = /^<[A-Za-z0-9][A-Za-z0-9.-]{0,63}>(?::[0-9]{1,5})?/.exec(rest);
    else if (/^MTP\s*\{/i.test(rest)) m = /^MTP\s*\{\s*[0-9A-Fa-f]{4,8}\s*\}/i.exec(rest);
    else m = /^\*?[A-Za-z][A-Za-z0-9_/*$]*(?:@[A-Za-z0-9*][A-Za-z0-9*.-]{0,63})?/.exec(rest);
    if (!m) s.fail(`bad mId ${s.describeHere()}`);
    const port = /:([0-9]+)$/.exec(m[0]);
    if (port && Number(port[1]) > UINT16_MAX) s.fail('mId port out of range');
    s.pos = start + m[0].length;
    return m[0];
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

  /** EQUAL StreamID (StreamID = UINT16) */
  eqStreamId(): number {
    this.s.expect('=', 'after Stream');
    const n = parseUint(this.s.word('StreamID'), UINT16_MAX);
    if (n === undefined) this.s.fail('bad StreamID');
    return n;
  }

  // TerminationID = "ROOT" / pathNAME / "$" / "*"
  // pathNAME = ["*"] NAME *("/" / "*"/ ALPHA / DIGIT /"_" / "$") ["@" pathDomainName]
  // ; Total length of pathNAME must not exceed 64 chars.
  terminationId(): M.TerminationId {
    const w = this.s.word('TerminationID');
    if (w.length > 64 || !TERMINATION_ID.test(w)) this.s.fail(`bad TerminationID ${JSON.stringify(w.slice(0, 70))}`, ErrorCodes.incorrectIdentifier);
    return w;
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
          if (error) s.fail('error descriptor must be the last element of an action reply');
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

  // errorDescriptor = ErrorToken EQUAL ErrorCode LBRKT [quotedString] RBRKT
  // ErrorCode = 1*4(DIGIT) ; could be extended
  errorDescriptor(): M.ErrorDescriptor {
    const s: Scanner = this.s;
    const w = s.word('Error');
    if (!isToken(w, 'Error')) s.fail('expected Error descriptor');
    s.expect('=', 'after Error');
    const codeText = s.word('ErrorCode');
    if (!/^[0-9]{1,4}$/.test(codeText)) s.fail(`bad ErrorCode ${JSON.stringify(codeText.slice(0, 10))}`);
    const code = Number(codeText);
    s.open('Error');
    let text: string | undefined;
    if (s.peek() === '"') text = s.quoted('error text');
    s.close('Error');
    return text === undefined ? { code } : { code, text };
  }

  // mediaDescriptor = MediaToken LBRKT mediaParm *(COMMA mediaParm) RBRKT
  // mediaParm = (streamParm / streamDescriptor / terminationStateDescriptor)
  // ; at-most one terminationStateDescriptor
  // ; and either streamParm(s) or streamDescriptor(s) but not both
  mediaDescriptor(): M.MediaDescriptor {
    const s: Scanner = this.s;
    s.open('Media');
    let terminationState: M.TerminationStateDescriptor | undefined;
    const direct: Mutable<M.StreamParms> = {};
    let hasDirect = false;
    const streams: M.StreamDescriptor[] = [];
    if (s.peek() !== '}') {
      do {
        const w = s.word('media parameter');
        if (isToken(w, 'TerminationState')) {
          if (terminationState) s.fail('TerminationState appears twice', ErrorCodes.descriptorAppearsTwice);
          terminationState = this.terminationStateDescriptor();
        } else if (isToken(w, 'Stream')) {
          const id = this.eqStreamId();
          if (streams.some((x) => x.id === id)) s.fail(`Stream ${id} appears twice`, ErrorCodes.descriptorAppearsTwice);
          const parms: Mutable<M.StreamParms> = {};
          s.open('Stream');
          do {
            this.streamParm(s.word('stream parameter'), parms);
          } while (s.more());
          s.close('Stream');
          streams.push({ id, ...parms });
          s.count(streams.length, 'streams');
        } else {
          this.streamParm(w, direct);
          hasDirect = true;
        }
      } while (s.more());
    }
    s.close('Media');
    if (hasDirect && streams.length > 0) s.fail('Media mixes stream parameters and Stream descriptors');
    return {
      ...(terminationState ? { terminationState } : {}),
      streams: hasDirect ? [direct] : streams,
    };
  }

  // streamParm = (localDescriptor / remoteDescriptor / localControlDescriptor / statisticsDescriptor)
  // localDescriptor = LocalToken LBRKT octetString RBRKT
  // remoteDescriptor = RemoteToken LBRKT octetString RBRKT
  streamParm(w: string, p: Mutable<M.StreamParms>): void {
    const s: Scanner = this.s;
    const t = matchToken(w, ['Local', 'Remote', 'LocalControl', 'Stats'] as const);
    const once = (k: keyof M.StreamParms): void => {
      if (p[k] !== undefined) s.fail(`${k} appears twice in a stream`, ErrorCodes.descriptorAppearsTwice);
    };
    switch (t) {
      case 'Local': case 'Remote': {
        const k = t === 'Local' ? 'local' : 'remote';
        once(k);
        s.open(t);
        const text = s.octetString(`${t} descriptor`);
        s.close(t);
        p[k] = { text, view: parseSdpView(text) };
        return;
      }
      case 'LocalControl': once('localControl'); p.localControl = this.localControlDescriptor(); return;
      case 'Stats': once('statistics'); p.statistics = this.statisticsDescriptor(); return;
      default: s.fail(`unknown stream parameter ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedDescriptor, 'unsupported');
    }
  }

  // localControlDescriptor = LocalControlToken LBRKT localParm *(COMMA localParm) RBRKT
  // localParm = (streamMode / propertyParm / reservedValueMode / reservedGroupMode)
  // streamMode = ModeToken EQUAL streamModes
  // streamModes = (SendonlyToken / RecvonlyToken / SendrecvToken / InactiveToken / LoopbackToken)
  // reservedValueMode = ReservedValueToken EQUAL ("ON" / "OFF")
  localControlDescriptor(): M.LocalControlDescriptor {
    const s: Scanner = this.s;
    s.open('LocalControl');
    const lc: Mutable<M.LocalControlDescriptor> = {};
    const props: Record<string, M.ParmValue> = {};
    if (s.peek() !== '}') {
      do {
        const w = s.word('local control parameter');
        if (isToken(w, 'Mode')) {
          if (lc.mode !== undefined) s.fail('Mode appears twice');
          s.expect('=', 'after Mode');
          const mw = s.word('stream mode');
          const m = matchToken(mw, ['Sendonly', 'Recvonly', 'Sendrecv', 'Inactive', 'Loopback'] as const);
          if (m === undefined) s.fail(`bad stream mode ${JSON.stringify(mw.slice(0, 20))}`, ErrorCodes.unsupportedMode);
          lc.mode = m === 'Sendonly' ? 'sendOnly' : m === 'Recvonly' ? 'receiveOnly' : m === 'Sendrecv' ? 'sendReceive' : m === 'Inactive' ? 'inactive' : 'loopback';
        } else if (isToken(w, 'ReservedValue') || isToken(w, 'ReservedGroup')) {
          s.expect('=', `after ${w}`);
          const v = s.word('ON/OFF').toUpperCase();
          if (v !== 'ON' && v !== 'OFF') s.fail(`${w} must be ON or OFF`);
          if (isToken(w, 'ReservedValue')) lc.reserveValue = v === 'ON'; else lc.reserveGroup = v === 'ON';
        } else {
          this.propertyParm(w, props);
        }
      } while (s.more());
    }
    s.close('LocalControl');
    if (Object.keys(props).length > 0) lc.properties = props;
    return lc;
  }

  // propertyParm = pkgdName parmValue
  // pkgdName = (PackageName SLASH ItemID) / (PackageName SLASH "*") / ("*" SLASH "*")
  propertyParm(name: string, into: Record<string, M.ParmValue>): void {
    if (!PKGD_NAME.test(name)) this.s.fail(`bad property name ${JSON.stringify(name.slice(0, 40))}`, ErrorCodes.unsupportedProperty);
    if (Object.hasOwn(into, name)) this.s.fail(`property ${name} appears twice`);
    into[name] = this.parmValue();
    this.s.count(Object.keys(into).length, 'properties');
  }

  // parmValue = (EQUAL alternativeValue / INEQUAL VALUE)
  // alternativeValue = (VALUE / LSBRKT VALUE *(COMMA VALUE) RSBRKT   ; sublist (A AND B ...)
  //                   / LBRKT VALUE *(COMMA VALUE) RBRKT             ; alternatives (A OR B ...)
  //                   / LSBRKT VALUE COLON VALUE RSBRKT)             ; range
  // INEQUAL = LWSP (">" / "<" / "#") LWSP ; '#' means "not equal"
  parmValue(): M.ParmValue {
    const s: Scanner = this.s;
    const c = s.peek();
    if (c === '>' || c === '<' || c === '#') {
      s.pos++;
      return { op: c, value: s.value('parameter value') };
    }
    s.expect('=', 'in parameter');
    const n = s.peek();
    if (n === '{') {
      s.open('alternatives');
      const values = this.valueList('}');
      s.close('alternatives');
      return { op: 'or', values };
    }
    if (n === '[') {
      s.pos++;
      const first = s.value('parameter value');
      if (s.accept(':')) {
        const high = s.value('range end');
        s.expect(']', 'to close range');
        return { op: 'range', low: first, high };
      }
      const values = [first];
      while (s.more()) {
        values.push(s.value('parameter value'));
        s.count(values.length, 'values');
      }
      s.expect(']', 'to close sublist');
      return { op: 'and', values };
    }
    return s.value('parameter value');
  }

  valueList(_end: string): string[] {
    const s: Scanner = this.s;
    const values: string[] = [];
    do {
      values.push(s.value('parameter value'));
      s.count(values.length, 'values');
    } while (s.more());
    return values;
  }

  // terminationStateDescriptor = TerminationStateToken LBRKT terminationStateParm *(COMMA terminationStateParm) RBRKT
  // terminationStateParm = (propertyParm / serviceStates / eventBufferControl)
  // serviceStates = ServiceStatesToken EQUAL serviceStatesValue
  // serviceStatesValue = (TestToken / OutOfSvcToken / InSvcToken)
  // eventBufferControl = BufferToken EQUAL eventBufferControlValue
  // eventBufferControlValue = ("OFF" / LockStepToken)
  terminationStateDescriptor(): M.TerminationStateDescriptor {
    const s: Scanner = this.s;
    s.open('TerminationState');
    const ts: Mutable<M.TerminationStateDescriptor> = {};
    const props: Record<string, M.ParmValue> = {};
    if (s.peek() !== '}') {
      do {
        const w = s.word('termination state parameter');
        if (isToken(w, 'ServiceStates')) {
          s.expect('=', 'after ServiceStates');
          const v = s.word('service state');
          const t = matchToken(v, ['Test', 'OutOfSvc', 'InSvc'] as const);
          if (t === undefined) s.fail(`bad service state ${JSON.stringify(v.slice(0, 20))}`);
          ts.serviceState = t === 'Test' ? 'test' : t === 'OutOfSvc' ? 'outOfService' : 'inService';
        } else if (isToken(w, 'Buffer')) {
          s.expect('=', 'after Buffer');
          const v = s.word('buffer control');
          if (v.toUpperCase() === 'OFF') ts.bufferLockStep = false;
          else if (isToken(v, 'LockStep')) ts.bufferLockStep = true;
          else s.fail('Buffer must be OFF or LockStep');
        } else {
          this.propertyParm(w, props);
        }
      } while (s.more());
    }
    s.close('TerminationState');
    if (Object.keys(props).length > 0) ts.properties = props;
    return ts;
  }

  // eventsDescriptor = EventsToken [EQUAL RequestID LBRKT requestedEvent *(COMMA requestedEvent) RBRKT]
  // RequestID = UINT32 / "*"
  eventsDescriptor(): M.EventsDescriptor {
    const s: Scanner = this.s;
    if (!s.accept('=')) return { events: [] };
    const requestId = this.requestIdValue();
    s.open('Events');
    const events: M.RequestedEvent[] = [];
    do {
      events.push(this.requestedEvent());
      s.count(events.length, 'events');
    } while (s.more());
    s.close('Events');
    return { requestId, events };
  }

  requestIdValue(): number | '*' {
    const w = this.s.word('RequestID');
    if (w === '*') return '*';
    const n = parseUint(w, UINT32_MAX);
    if (n === undefined) this.s.fail(`bad RequestID ${JSON.stringify(w.slice(0, 20))}`);
    return n;
  }

  pkgdName(what: string): string {
    const w = this.s.word(what);
    if (!PKGD_NAME.test(w)) this.s.fail(`bad package-qualified name ${JSON.stringify(w.slice(0, 40))}`, ErrorCodes.unsupportedPackage);
    return w;
  }

  // requestedEvent = pkgdName [LBRKT eventParameter *(COMMA eventParameter) RBRKT]
  // eventParameter = (embedWithSig / embedNoSig / KeepActiveToken / eventDM / eventStream / eventOther)
  // embedWithSig = EmbedToken LBRKT signalsDescriptor [COMMA embedFirst] RBRKT
  // embedNoSig = EmbedToken LBRKT embedFirst RBRKT
  // embedFirst = EventsToken [EQUAL RequestID LBRKT secondRequestedEvent *(COMMA secondRequestedEvent) RBRKT]
  // eventStream = StreamToken EQUAL StreamID
  // eventOther = eventParameterName parmValue
  // eventDM = DigitMapToken EQUAL ((digitMapName) / (LBRKT digitMapValue RBRKT))
  requestedEvent(): M.RequestedEvent {
    const s: Scanner = this.s;
    const name = this.pkgdName('event name');
    const ev: Mutable<M.RequestedEvent> = { name };
    if (s.peek() !== '{') return ev;
    s.open('event');
    const params: Record<string, M.ParmValue> = {};
    if (s.peek() !== '}') {
      do {
        const w = s.word('event parameter');
        if (isToken(w, 'KeepActive')) ev.keepActive = true;
        else if (isToken(w, 'Stream') && s.peek() === '=') ev.stream = this.eqStreamId();
        else if (isToken(w, 'Embed')) ev.embed = this.embed();
        else if (isToken(w, 'DigitMap') && s.peek() === '=') {
          s.expect('=', 'after DigitMap');
          if (s.peek() === '{') {
            s.open('DigitMap');
            ev.digitMap = { value: this.digitMapValue() };
            s.close('DigitMap');
          } else {
            ev.digitMap = { name: this.nameValue('digit map name') };
          }
        } else {
          this.eventOther(w, params);
        }
      } while (s.more());
    }
    s.close('event');
    if (Object.keys(params).length > 0) ev.params = params;
    return ev;
  }

  eventOther(w: string, into: Record<string, M.ParmValue>): void {
    // eventParameterName = NAME
    if (!NAME.test(w)) this.s.fail(`bad parameter name ${JSON.stringify(w.slice(0, 40))}`, ErrorCodes.unsupportedParameter);
    if (Object.hasOwn(into, w)) this.s.fail(`parameter ${w} appears twice`);
    into[w] = this.parmValue();
    this.s.count(Object.keys(into).length, 'parameters');
  }

  embed(): M.EmbeddedDescriptors {
    const s: Scanner = this.s;
    s.open('Embed');
    const out: Mutable<M.EmbeddedDescriptors> = {};
    do {
      const w = s.word('Signals or Events');
      if (isToken(w, 'Signals') && out.signals === undefined && out.events === undefined) out.signals = this.signalsDescriptor();
      else if (isToken(w, 'Events') && out.events === undefined) out.events = this.eventsDescriptor();
      else s.fail(`unexpected ${JSON.stringify(w.slice(0, 20))} in Embed`);
    } while (s.more());
    s.close('Embed');
    return out;
  }

  nameValue(what: string): string {
    const w = this.s.word(what);
    if (!NAME.test(w)) this.s.fail(`bad ${what} ${JSON.stringify(w.slice(0, 40))}`);
    return w;
  }

  // digitMapDescriptor = DigitMapToken EQUAL ((LBRKT digitMapValue RBRKT) / (digitMapName [LBRKT digitMapValue RBRKT]))
  digitMapDescriptor(): M.DigitMapDescriptor {
    const s: Scanner = this.s;
    s.expect('=', 'after DigitMap');
    let name: string | undefined;
    if (s.peek() !== '{') name = this.nameValue('digit map name');
    let value: string | undefined;
    if (s.peek() === '{') {
      s.open('DigitMap');
      value = this.digitMapValue();
      s.close('DigitMap');
    }
    return { ...(name !== undefined ? { name } : {}), ...(value !== undefined ? { value } : {}) };
  }

  // digitMapValue = ["T" COLON Timer COMMA] ["S" COLON Timer COMMA] ["L" COLON Timer COMMA]
  //                 ["Z" COLON Timer COMMA] digitMap
  // digitMap = (digitString / LWSP "(" LWSP digitStringList LWSP ")" LWSP)
  // digitStringList = digitString *(LWSP "|" LWSP digitString)
  /** The digit map text up to '}', with LWSP and comments removed (they carry no meaning here). */
  digitMapValue(): string {
    const s: Scanner = this.s;
    const src = s.src;
    let out = '';
    while (s.pos < src.length && src[s.pos] !== '}') {
      if (s.lwsp()) continue;
      out += src[s.pos];
      s.pos++;
      if (out.length > 4096) s.fail('digit map too long', ErrorCodes.badRequestFormat, 'unsupported');
    }
    if (!/^(?:[TSLZ]:[0-9]{1,2},)*[0-9A-Ka-kLSTZx.|()[\]-]+$/i.test(out)) s.fail(`bad digit map ${JSON.stringify(out.slice(0, 40))}`);
    return out;
  }

  // signalsDescriptor = SignalsToken [LBRKT signalParm *(COMMA signalParm) RBRKT]
  // signalParm = signalList / signalRequest
  // signalList = SignalListToken EQUAL signalListId LBRKT signalListParm *(COMMA signalListParm) RBRKT
  signalsDescriptor(): M.SignalsDescriptor {
    const s: Scanner = this.s;
    if (s.peek() !== '{') return [];
    s.open('Signals');
    const out: (M.SignalRequest | M.SignalList)[] = [];
    if (s.peek() !== '}') {
      do {
        const save = s.pos;
        const w = s.word('signal');
        if (isToken(w, 'SignalList') && s.peek() === '=') {
          s.expect('=', 'after SignalList');
          const listId = parseUint(s.word('signalListId'), UINT16_MAX);
          if (listId === undefined) s.fail('bad signalListId');
          s.open('SignalList');
          const signals: M.SignalRequest[] = [];
          do {
            signals.push(this.signalRequest());
            s.count(signals.length, 'signals');
          } while (s.more());
          s.close('SignalList');
          out.push({ kind: 'list', listId, signals });
        } else {
          s.pos = save;
          out.push(this.signalRequest());
        }
        s.count(out.length, 'signals');
      } while (s.more());
    }
    s.close('Signals');
    return out;
  }

  // signalRequest = signalName [LBRKT sigParameter *(COMMA sigParameter) RBRKT]
  // sigParameter = sigStream / sigSignalType / sigDuration / sigOther / notifyCompletion /
  //                KeepActiveToken / sigDirection / sigRequestID
  // sigSignalType = SignalTypeToken EQUAL signalType ; signalType = (OnOffToken / TimeOutToken / BriefToken)
  // sigDuration = DurationToken EQUAL UINT16
  // notifyCompletion = NotifyCompletionToken EQUAL (LBRKT notificationReason *(COMMA notificationReason) RBRKT)
  // notificationReason = TimeOutToken / InterruptByEventToken / InterruptByNewSignalsDescrToken / OtherReasonToken
  // sigDirection = DirectionToken EQUAL direction ; direction = ExternalToken / InternalToken / BothToken
  // sigRequestID = RequestIDToken EQUAL RequestID
  signalRequest(): M.SignalRequest {
    const s: Scanner = this.s;
    const name = this.pkgdName('signal name');
    const sig: Mutable<M.SignalRequest> = { kind: 'signal', name };
    if (s.peek() !== '{') return sig;
    s.open('signal');
    const params: Record<string, M.ParmValue> = {};
    if (s.peek() !== '}') {
      do {
        const w = s.word('signal parameter');
        const eq = s.peek() === '=';
        if (isToken(w, 'KeepActive')) sig.keepActive = true;
        else if (eq && isToken(w, 'Stream')) sig.stream = this.eqStreamId();
        else if (eq && isToken(w, 'SignalType')) {
          s.expect('=', 'after SignalType');
          const v = s.word('signal type');
          const t = matchToken(v, ['OnOff', 'TimeOut', 'Brief'] as const);
          if (t === undefined) s.fail(`bad signal type ${JSON.stringify(v.slice(0, 20))}`);
          sig.signalType = t === 'OnOff' ? 'onOff' : t === 'TimeOut' ? 'timeOut' : 'brief';
        } else if (eq && isToken(w, 'Duration')) {
          s.expect('=', 'after Duration');
          const n = parseUint(s.word('duration'), UINT16_MAX);
          if (n === undefined) s.fail('bad signal duration');
          sig.duration = n;
        } else if (eq && isToken(w, 'NotifyCompletion')) {
          s.expect('=', 'after NotifyCompletion');
          s.open('NotifyCompletion');
          const reasons: M.NotifyCompletionReason[] = [];
          do {
            const v = s.word('notification reason');
            const t = matchToken(v, ['TimeOut', 'InterruptByEvent', 'InterruptByNewSignalsDescr', 'OtherReason'] as const);
            if (t === undefined) s.fail(`bad notification reason ${JSON.stringify(v.slice(0, 20))}`);
            reasons.push(t === 'TimeOut' ? 'timeOut' : t === 'InterruptByEvent' ? 'interruptedByEvent' : t === 'InterruptByNewSignalsDescr' ? 'interruptedByNewSignals' : 'otherReason');
            s.count(reasons.length, 'reasons');
          } while (s.more());
          s.close('NotifyCompletion');
          sig.notifyCompletion = reasons;
        } else if (eq && isToken(w, 'Direction')) {
          s.expect('=', 'after SPADirection');
          const v = s.word('direction');
          const t = matchToken(v, ['External', 'Internal', 'Both'] as const);
          if (t === undefined) s.fail(`bad signal direction ${JSON.stringify(v.slice(0, 20))}`);
          sig.direction = t === 'External' ? 'external' : t === 'Internal' ? 'internal' : 'both';
        } else if (eq && isToken(w, 'RequestID')) {
          s.expect('=', 'after SPARequestID');
          sig.requestId = this.requestIdValue();
        } else {
          this.eventOther(w, params);
        }
      } while (s.more());
    }
    s.close('signal');
    if (Object.keys(params).length > 0) sig.params = params;
    return sig;
  }

  // observedEventsDescriptor = ObservedEventsToken EQUAL RequestID LBRKT observedEvent *(COMMA observedEvent) RBRKT
  // observedEvent = [TimeStamp LWSP COLON] LWSP pkgdName [LBRKT observedEventParameter *(COMMA observedEventParameter) RBRKT]
  // observedEventParameter = eventStream / eventOther
  // TimeStamp = Date "T" Time ; Date = 8(DIGIT) ; Time = 8(DIGIT)
  observedEventsDescriptor(): M.ObservedEventsDescriptor {
    const s: Scanner = this.s;
    s.expect('=', 'after ObservedEvents');
    const requestId = this.requestIdValue();
    s.open('ObservedEvents');
    const events: M.ObservedEvent[] = [];
    if (s.peek() !== '}') {
      do {
        const save = s.pos;
        const first = s.word('observed event');
        let timestamp: string | undefined;
        if (s.accept(':')) {
          if (!TIMESTAMP.test(first)) s.fail(`bad TimeStamp ${JSON.stringify(first.slice(0, 20))}`);
          timestamp = first;
        } else {
          s.pos = save;
        }
        const name = this.pkgdName('observed event name');
        const ev: Mutable<M.ObservedEvent> = timestamp ? { timestamp, name } : { name };
        if (s.peek() === '{') {
          s.open('observed event');
          const params: Record<string, M.ParmValue> = {};
          if (s.peek() !== '}') {
            do {
              const w = s.word('observed event parameter');
              if (isToken(w, 'Stream') && s.peek() === '=') ev.stream = this.eqStreamId();
              else this.eventOther(w, params);
            } while (s.more());
          }
          s.close('observed event');
          if (Object.keys(params).length > 0) ev.params = params;
        }
        events.push(ev);
        s.count(events.length, 'observed events');
      } while (s.more());
    }
    s.close('ObservedEvents');
    return { requestId, events };
  }

  // eventBufferDescriptor = EventBufferToken [LBRKT eventSpec *(COMMA eventSpec) RBRKT]
  // eventSpec = pkgdName [LBRKT eventSpecParameter *(COMMA eventSpecParameter) RBRKT]
  // eventSpecParameter = (eventStream / eventOther)
  eventBufferDescriptor(): M.EventBufferDescriptor {
    const s: Scanner = this.s;
    if (s.peek() !== '{') return [];
    s.open('EventBuffer');
    const out: M.EventBufferEntry[] = [];
    if (s.peek() !== '}') {
      do {
        const name = this.pkgdName('event name');
        const e: Mutable<M.EventBufferEntry> = { name };
        if (s.peek() === '{') {
          s.open('event spec');
          const params: Record<string, M.ParmValue> = {};
          do {
            const w = s.word('event parameter');
            if (isToken(w, 'Stream') && s.peek() === '=') e.stream = this.eqStreamId();
            else this.eventOther(w, params);
          } while (s.more());
          s.close('event spec');
          if (Object.keys(params).length > 0) e.params = params;
        }
        out.push(e);
        s.count(out.length, 'event buffer entries');
      } while (s.more());
    }
    s.close('EventBuffer');
    return out;
  }

  // auditDescriptor = AuditToken LBRKT [auditItem *(COMMA auditItem)] RBRKT
  // auditItem = (MuxToken / ModemToken / MediaToken / SignalsToken / EventBufferToken /
  //              DigitMapToken / StatsToken / EventsToken / ObservedEventsToken / PackagesToken)
  auditDescriptor(): M.AuditDescriptor {
    const s: Scanner = this.s;
    s.open('Audit');
    const items: M.AuditItem[] = [];
    if (s.peek() !== '}') {
      do {
        const w = s.word('audit item');
        const t = matchToken(w, ['Mux', 'Modem', 'Media', 'Signals', 'EventBuffer', 'DigitMap', 'Stats', 'Events', 'ObservedEvents', 'Packages'] as const);
        if (t === undefined) s.fail(`unknown audit item ${JSON.stringify(w.slice(0, 20))}`, ErrorCodes.unsupportedDescriptor, 'unsupported');
        if (s.peek() === '{' || s.peek() === '=') s.fail('individual descriptor audit (H.248.1 v2 indAud) is not supported', ErrorCodes.unsupportedDescriptor, 'unsupported');
        const item: M.AuditItem = ({ Mux: 'mux', Modem: 'modem', Media: 'media', Signals: 'signals', EventBuffer: 'eventBuffer', DigitMap: 'digitMap', Stats: 'statistics', Events: 'events', ObservedEvents: 'observedEvents', Packages: 'packages' } as const)[t];
        if (items.includes(item)) s.fail(`audit item ${item} appears twice`);
        items.push(item);
      } while (s.more());
    }
    s.close('Audit');
    return { items };
  }

  // packagesDescriptor = PackagesToken LBRKT packagesItem *(COMMA packagesItem) RBRKT
  // packagesItem = NAME "-" UINT16
  packagesDescriptor(): M.PackageVersion[] {
    const s: Scanner = this.s;
    s.open('Packages');
    const out: M.PackageVersion[] = [];
    do {
      const w = s.word('package item');
      const m = /^([A-Za-z][A-Za-z0-9_]{0,63})-([0-9]{1,5})$/.exec(w);
      const version = m ? parseUint(m[2]!, UINT16_MAX) : undefined;
      if (!m || version === undefined) s.fail(`bad packages item ${JSON.stringify(w.slice(0, 40))}`);
      out.push({ name: m[1]!, version });
      s.count(out.length, 'packages');
    } while (s.more());
    s.close('Packages');
    return out;
  }

  // statisticsDescriptor = StatsToken LBRKT statisticsParameter *(COMMA statisticsParameter) RBRKT
  // statisticsParameter = pkgdName [EQUAL VALUE / (LSBRKT VALUE *(COMMA VALUE) RSBRKT)]
  statisticsDescriptor(): M.StatisticsDescriptor {
    const s: Scanner = this.s;
    s.open('Statistics');
    const out: Record<string, string | string[] | null> = {};
    if (s.peek() !== '}') {
      do {
        const name = this.pkgdName('statistic name');
        if (Object.hasOwn(out, name)) s.fail(`statistic ${name} appears twice`);
        if (s.accept('=')) {
          if (s.accept('[')) {
            const values = this.valueList(']');
            s.expect(']', 'to close statistic values');
            out[name] = values;
          } else {
            out[name] = s.value('statistic value');
          }
        } else {
          out[name] = null;
        }
        s.count(Object.keys(out).length, 'statistics');
      } while (s.more());
    }
    s.close('Statistics');
    return out;
  }

  // serviceChangeDescriptor = ServicesToken LBRKT serviceChangeParm *(COMMA serviceChangeParm) RBRKT
  // serviceChangeParm = serviceChangeMethod / serviceChangeReason / serviceChangeDelay / serviceChangeAddress /
  //                     serviceChangeProfile / extension / TimeStamp / serviceChangeMgcId / serviceChangeVersion
  // ; each parameter at-most-once; serviceChangeMethod and serviceChangeReason are REQUIRED
  serviceChangeDescriptor(): M.ServiceChangeDescriptor {
    const s: Scanner = this.s;
    const w0 = s.word('Services');
    if (!isToken(w0, 'Services')) s.fail(`expected Services descriptor, found ${JSON.stringify(w0.slice(0, 20))}`);
    s.open('Services');
    let method: M.ServiceChangeMethod | undefined;
    let reason: M.ServiceChangeReason | undefined;
    const rest: Mutable<Omit<M.ServiceChangeDescriptor, 'method' | 'reason'>> = {};
    const ext: Record<string, M.ParmValue> = {};
    do {
      const w = s.word('service change parameter');
      if (isToken(w, 'Method')) {
        if (method !== undefined) s.fail('Method appears twice');
        method = this.serviceChangeMethod();
      } else if (isToken(w, 'Reason')) {
        if (reason !== undefined) s.fail('Reason appears twice');
        reason = this.serviceChangeReason();
      } else if (isToken(w, 'Delay')) {
        // serviceChangeDelay = DelayToken EQUAL UINT32
        s.expect('=', 'after Delay');
        const n = parseUint(s.word('delay'), UINT32_MAX);
        if (n === undefined) s.fail('bad ServiceChangeDelay');
        rest.delay = n;
      } else if (EXTENSION.test(w)) {
        // extension = extensionParameter parmValue
        if (Object.hasOwn(ext, w)) s.fail(`extension ${w} appears twice`);
        ext[w] = this.parmValue();
      } else if (TIMESTAMP.test(w)) {
        rest.timestamp = w;
      } else if (!this.servChgCommonParm(w, rest)) {
        s.fail(`unknown service change parameter ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedParameter, 'unsupported');
      }
    } while (s.more());
    s.close('Services');
    if (method === undefined || reason === undefined) s.fail('ServiceChange needs Method and Reason', ErrorCodes.syntaxErrorInCommand);
    if (rest.address !== undefined && rest.mgcIdToTry !== undefined) s.fail('ServiceChangeAddress and MgcIdToTry are mutually exclusive');
    return { method, reason, ...rest, ...(Object.keys(ext).length > 0 ? { extensions: ext } : {}) };
  }

  // serviceChangeAddress = ServiceChangeAddressToken EQUAL (mId / portNumber)
  // serviceChangeMgcId = MgcIdToken EQUAL mId
  // serviceChangeProfile = ProfileToken EQUAL NAME SLASH Version
  // serviceChangeVersion = VersionToken EQUAL Version
  servChgCommonParm(w: string, out: Mutable<M.ServiceChangeReplyDescriptor>): boolean {
    const s: Scanner = this.s;
    if (isToken(w, 'ServiceChangeAddress')) {
      s.expect('=', 'after ServiceChangeAddress');
      s.lwsp();
      const port = /^[0-9]{1,5}(?![0-9A-Za-z])/.exec(s.src.slice(s.pos, s.pos + 6));
      if (port) {
        if (Number(port[0]) > UINT16_MAX) s.fail('bad port number');
        s.pos += port[0].length;
        out.address = port[0];
      } else {
        out.address = this.mIdValue();
      }
    } else if (isToken(w, 'MgcId')) {
      s.expect('=', 'after MgcIdToTry');
      out.mgcIdToTry = this.mIdValue();
    } else if (isToken(w, 'Profile')) {
      s.expect('=', 'after Profile');
      const p = s.word('profile');
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}\/[0-9]{1,2}$/.test(p)) s.fail(`bad profile ${JSON.stringify(p.slice(0, 40))}`);
      out.profile = p;
    } else if (isToken(w, 'Version')) {
      s.expect('=', 'after Version');
      const v = s.word('version');
      if (!/^[0-9]{1,2}$/.test(v)) s.fail('bad Version');
      out.version = Number(v);
    } else {
      return false;
    }
    return true;
  }

  // serviceChangeMethod = MethodToken EQUAL (FailoverToken / ForcedToken / GracefulToken /
  //                       RestartToken / DisconnectedToken / HandOffToken / extensionParameter)
  serviceChangeMethod(): M.ServiceChangeMethod {
    const s: Scanner = this.s;
    s.expect('=', 'after Method');
    const v = s.word('service change method');
    const t = matchToken(v, ['Failover', 'Forced', 'Graceful', 'Restart', 'Disconnected', 'HandOff'] as const);
    if (t !== undefined) return ({ Failover: 'failover', Forced: 'forced', Graceful: 'graceful', Restart: 'restart', Disconnected: 'disconnected', HandOff: 'handOff' } as const)[t];
    if (EXTENSION.test(v)) return (v[0]!.toUpperCase() + v.slice(1)) as M.ExtensionName;
    return s.fail(`unknown service change method ${JSON.stringify(v.slice(0, 20))}`, ErrorCodes.unsupportedParameter, 'unsupported');
  }

  // serviceChangeReason = ReasonToken EQUAL VALUE
  // ; The quotedString shall contain a decimal reason code, optionally followed by a single
  // ; space character and a textual description string.
  serviceChangeReason(): M.ServiceChangeReason {
    const s: Scanner = this.s;
    s.expect('=', 'after Reason');
    const v = s.value('service change reason');
    const m = /^([0-9]{1,4})(?: ([^]*))?$/.exec(v);
    if (!m) s.fail(`bad service change reason ${JSON.stringify(v.slice(0, 30))}`);
    return m[2] === undefined ? { code: Number(m[1]) } : { code: Number(m[1]), text: m[2] };
  }

  // serviceChangeReplyDescriptor = ServicesToken LBRKT servChgReplyParm *(COMMA servChgReplyParm) RBRKT
  // servChgReplyParm = serviceChangeAddress / serviceChangeMgcId / serviceChangeProfile / serviceChangeVersion / TimeStamp
  serviceChangeReplyDescriptor(): M.ServiceChangeReplyDescriptor {
    const s: Scanner = this.s;
    const w0 = s.word('Services');
    if (!isToken(w0, 'Services')) s.fail(`expected Services descriptor, found ${JSON.stringify(w0.slice(0, 20))}`);
    s.open('Services');
    const out: Mutable<M.ServiceChangeReplyDescriptor> = {};
    if (s.peek() !== '}') {
      do {
        const w = s.word('service change reply parameter');
        if (TIMESTAMP.test(w)) out.timestamp = w;
        else if (!this.servChgCommonParm(w, out)) s.fail(`unknown service change reply parameter ${JSON.stringify(w.slice(0, 30))}`, ErrorCodes.unsupportedParameter, 'unsupported');
      } while (s.more());
    }
    s.close('Services');
    if (out.address !== undefined && out.mgcIdToTry !== undefined) s.fail('ServiceChangeAddress and MgcIdToTry are mutually exclusive');
    return out;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
