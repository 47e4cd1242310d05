// H.248 text-encoding parser, event level: Events (with Embed and eventDM), Signals and signal
// lists, ObservedEvents, EventBuffer and DigitMap. Leaf and media rules are in text-parse-media.ts,
// message/transaction/command structure in text-parser.ts.

import type * as M from './model.js';
import { ErrorCodes } from './model.js';
import { isToken, matchToken } from './text-tokens.js';
import { Scanner, parseUint, UINT16_MAX } from './text-scanner.js';
import { MediaParser, TIMESTAMP, type Mutable } from './text-parse-media.js';

export type { Mutable } from './text-parse-media.js';

/** Event and signal rules; the message-level parser extends this class. */
export class DescriptorParser extends MediaParser {

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
}
