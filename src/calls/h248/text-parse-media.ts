// H.248 text-encoding parser, terminal and media level: mId, TerminationID, pkgdName, parmValue,
// Error, Media/Stream/LocalControl/TerminationState with SDP, Statistics, Audit, Packages, ServiceChange.
// Events/Signals/ObservedEvents/DigitMap are in text-parse-descriptors.ts, structure in text-parser.ts.

import type * as M from './model.js';
import { ErrorCodes, parseSdpView } from './model.js';
import { isToken, matchToken } from './text-tokens.js';
import { Scanner, parseUint, UINT16_MAX, UINT32_MAX } from './text-scanner.js';

export const TERMINATION_ID = /^(?:\*?[A-Za-z][A-Za-z0-9_/*$]*(?:@[A-Za-z0-9*][A-Za-z0-9*.-]{0,63})?|\$|\*)$/;
const PKGD_NAME = /^(?:[A-Za-z][A-Za-z0-9_]{0,63}\/(?:[A-Za-z][A-Za-z0-9_]{0,63}|\*)|\*\/\*)$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const EXTENSION = /^X[-+][A-Za-z0-9]{1,6}$/i;
export const TIMESTAMP = /^[0-9]{8}T[0-9]{8}$/i;

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Leaf, media and service-change rules; the event/signal rules and then the message parser extend this class. */
export class MediaParser {
  constructor(readonly s: Scanner) {}

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
    if (hasDirect && streams.length > 0) s.fail('Media mixes stream parameters and Stream descriptors', ErrorCodes.protocolError);
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

  eventOther(w: string, into: Record<string, M.ParmValue>): void {
    // eventParameterName = NAME
    if (!NAME.test(w)) this.s.fail(`bad parameter name ${JSON.stringify(w.slice(0, 40))}`, ErrorCodes.unsupportedParameter);
    if (Object.hasOwn(into, w)) this.s.fail(`parameter ${w} appears twice`);
    into[w] = this.parmValue();
    this.s.count(Object.keys(into).length, 'parameters');
  }

  nameValue(what: string): string {
    const w = this.s.word(what);
    if (!NAME.test(w)) this.s.fail(`bad ${what} ${JSON.stringify(w.slice(0, 40))}`);
    return w;
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
    if (rest.address !== undefined && rest.mgcIdToTry !== undefined) s.fail('ServiceChangeAddress and MgcIdToTry are mutually exclusive', ErrorCodes.protocolError);
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
    if (out.address !== undefined && out.mgcIdToTry !== undefined) s.fail('ServiceChangeAddress and MgcIdToTry are mutually exclusive', ErrorCodes.protocolError);
    return out;
  }
}
