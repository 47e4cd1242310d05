// fast-check generators for the H.248 message model, producing exactly the canonical
// models the text parser returns (absent rather than undefined keys, flags only when true).
// Used by the codec's property tests and by anyone fuzzing code that consumes messages.

import fc from 'fast-check';
import type * as M from './model.js';
import { sdp } from './model.js';
import { isToken } from './text-tokens.js';

/** fc.record, re-created as a plain object (fast-check builds optional-key records on a null prototype). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, opts?: { requiredKeys?: (keyof T)[] }): fc.Arbitrary<T> {
  const r = opts ? fc.record(model, opts as never) : fc.record(model);
  return (r as fc.Arbitrary<T>).map((o) => ({ ...o }));
}

function dict<V>(k: fc.Arbitrary<string>, v: fc.Arbitrary<V>, c: { minKeys: number; maxKeys: number }): fc.Arbitrary<Record<string, V>> {
  return fc.dictionary(k, v, c).map((o) => ({ ...o }));
}

const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const uint16 = fc.integer({ min: 0, max: 0xffff });
const smallList = <T>(a: fc.Arbitrary<T>, min = 0, max = 3): fc.Arbitrary<T[]> => fc.array(a, { minLength: min, maxLength: max });

const RESERVED_PARAM = /^(?:st|stream|ka|keepactive|em|embed|dm|digitmap|sy|signaltype|dr|duration|nc|notifycompletion|spadi|spadirection|sparq|sparequestid)$/i;

export const nameArb: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,7}$/);
const paramNameArb = nameArb.filter((n) => !RESERVED_PARAM.test(n));
export const pkgdNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('al/of', 'al/on', 'al/fl', 'dd/ce', 'cg/dt', 'cg/rt', 'cg/bt', 'it/ito', 'nt/jit', 'rtp/pl', 'g/sc') },
  { weight: 3, arbitrary: fc.tuple(nameArb, nameArb).map(([a, b]) => `${a}/${b}`) },
  { weight: 1, arbitrary: nameArb.map((a) => `${a}/*`) },
);

export const terminationIdArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('ROOT', '$', '*', 'rtp/$', 'al/*', 'al/1', 'rtp/17', 'tr/3/*'),
  fc.stringMatching(/^\*?[A-Za-z][A-Za-z0-9_/*$]{0,12}$/),
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,6}$/), fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,10}$/)).map(([a, d]) => `${a}@${d}`),
).filter((t) => !isToken(t, 'Ctx'));

const wordChars = 'abcXYZ019+-&!_/\'?@^`~*$\\()%|.\u00e9';
const quotableChars = 'ab Z9 ;[]{}:,#<>=\t\u00ff';
export const valueArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...wordChars), minLength: 1, maxLength: 8 }),
  fc.string({ unit: fc.constantFrom(...(wordChars + quotableChars)), minLength: 0, maxLength: 12 }),
);

export const parmValueArb: fc.Arbitrary<M.ParmValue> = fc.oneof(
  { weight: 6, arbitrary: valueArb },
  { weight: 1, arbitrary: rec({ op: fc.constantFrom('>' as const, '<' as const, '#' as const), value: valueArb }) },
  { weight: 1, arbitrary: rec({ op: fc.constant('and' as const), values: smallList(valueArb, 1, 3) }) },
  { weight: 1, arbitrary: rec({ op: fc.constant('or' as const), values: smallList(valueArb, 1, 3) }) },
  { weight: 1, arbitrary: rec({ op: fc.constant('range' as const), low: valueArb, high: valueArb }) },
);

const paramsArb = (key: fc.Arbitrary<string>): fc.Arbitrary<M.Params> => dict(key, parmValueArb, { minKeys: 1, maxKeys: 3 });

export const mIdArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(uint8(), uint8(), uint8(), uint8(), fc.option(uint16, { nil: undefined })).map(([a, b, c, d, p]) => `[${a}.${b}.${c}.${d}]${p === undefined ? '' : `:${p}`}`),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.-]{0,12}$/), fc.option(uint16, { nil: undefined })).map(([n, p]) => `<${n}>${p === undefined ? '' : `:${p}`}`),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/),
);
function uint8(): fc.Arbitrary<number> { return fc.integer({ min: 0, max: 255 }); }

const sdpLine = fc.oneof(
  fc.constant('v=0'),
  fc.tuple(uint8(), uint8()).map(([a, b]) => `c=IN IP4 10.${a}.${b}.1`),
  fc.constant('c=IN IP4 $'),
  fc.tuple(fc.oneof(uint16.map(String), fc.constant('$')), fc.constantFrom('0', '8', '0 8', '4', '18')).map(([p, f]) => `m=audio ${p} RTP/AVP ${f}`),
  fc.constantFrom('a=ptime:20', 'a=sendrecv', 'a=rtpmap:0 PCMU/8000', 'a=x-braces:{a}', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'a=fmtp:18 annexb=no;x=1'),
);
export const sdpArb: fc.Arbitrary<M.SessionDescription> = fc.tuple(smallList(sdpLine, 1, 6), fc.constantFrom('\n', '\r\n'))
  .map(([lines, eol]) => sdp(lines.join(eol)));

const localControlArb: fc.Arbitrary<M.LocalControlDescriptor> = rec({
  mode: fc.constantFrom<M.StreamMode>('sendOnly', 'receiveOnly', 'sendReceive', 'inactive', 'loopback'),
  reserveValue: fc.boolean(),
  reserveGroup: fc.boolean(),
  properties: paramsArb(pkgdNameArb),
}, { requiredKeys: [] }).filter((x) => Object.keys(x).length > 0);

const statisticsArb: fc.Arbitrary<M.StatisticsDescriptor> = dict(pkgdNameArb,
  fc.oneof(valueArb, smallList(valueArb, 1, 3), fc.constant(null)), { minKeys: 1, maxKeys: 3 });

const streamParmsArb: fc.Arbitrary<M.StreamParms> = rec({
  localControl: localControlArb,
  local: sdpArb,
  remote: sdpArb,
  statistics: statisticsArb,
}, { requiredKeys: [] }).filter((x) => Object.keys(x).length > 0);

const terminationStateArb: fc.Arbitrary<M.TerminationStateDescriptor> = rec({
  serviceState: fc.constantFrom<M.ServiceState>('test', 'outOfService', 'inService'),
  bufferLockStep: fc.boolean(),
  properties: paramsArb(pkgdNameArb),
}, { requiredKeys: [] }).filter((x) => Object.keys(x).length > 0);

export const mediaArb: fc.Arbitrary<M.MediaDescriptor> = fc.oneof(
  streamParmsArb.map((p) => ({ streams: [p] })),
  fc.uniqueArray(uint16, { minLength: 1, maxLength: 2 }).chain((ids) =>
    fc.tuple(...ids.map((id) => streamParmsArb.map((p) => ({ id, ...p })))).map((streams) => ({ streams }))),
  fc.tuple(terminationStateArb, fc.oneof(fc.constant([] as M.StreamDescriptor[]), streamParmsArb.map((p) => [p])))
    .map(([terminationState, streams]) => ({ terminationState, streams })),
);

const digitMapValueArb = fc.oneof(
  fc.constantFrom('(0|00|[1-7]xxx|8xxxxxxx|Fxxxxxxx|Exx|91xxxxxxxxxx|9011x.)', 'xxxx', '(1xx|2xxx)', 'T:4,S:2,(x.|#)'.replace('#', 'E')),
  fc.stringMatching(/^[0-9x]{1,6}$/),
);
export const digitMapArb: fc.Arbitrary<M.DigitMapDescriptor> = fc.oneof(
  nameArb.map((name) => ({ name })),
  digitMapValueArb.map((value) => ({ value })),
  fc.tuple(nameArb, digitMapValueArb).map(([name, value]) => ({ name, value })),
);

const signalArb: fc.Arbitrary<M.SignalRequest> = rec({
  kind: fc.constant('signal' as const),
  name: pkgdNameArb,
  stream: uint16,
  signalType: fc.constantFrom<M.SignalType>('onOff', 'timeOut', 'brief'),
  duration: uint16,
  notifyCompletion: smallList(fc.constantFrom<M.NotifyCompletionReason>('timeOut', 'interruptedByEvent', 'interruptedByNewSignals', 'otherReason'), 1, 3),
  keepActive: fc.constant(true),
  direction: fc.constantFrom<M.SignalDirection>('external', 'internal', 'both'),
  requestId: fc.oneof(uint32, fc.constant('*' as const)),
  params: paramsArb(paramNameArb),
}, { requiredKeys: ['kind', 'name'] });

export const signalsArb: fc.Arbitrary<M.SignalsDescriptor> = smallList(fc.oneof(
  { weight: 4, arbitrary: signalArb },
  { weight: 1, arbitrary: rec({ kind: fc.constant('list' as const), listId: uint16, signals: smallList(signalArb, 1, 2) }) },
), 0, 3);

const eventsOf = (ev: fc.Arbitrary<M.RequestedEvent>): fc.Arbitrary<M.EventsDescriptor> => fc.oneof(
  { weight: 1, arbitrary: fc.constant({ events: [] }) },
  { weight: 5, arbitrary: rec({ requestId: fc.oneof(uint32, fc.constant('*' as const)), events: smallList(ev, 1, 3) }) },
);

const baseEvent = {
  name: pkgdNameArb,
  stream: uint16,
  keepActive: fc.constant(true),
  digitMap: fc.oneof(nameArb.map((name) => ({ name })), digitMapValueArb.map((value) => ({ value }))),
  params: paramsArb(paramNameArb),
};
const secondEventArb: fc.Arbitrary<M.RequestedEvent> = rec({
  ...baseEvent,
  embed: signalsArb.map((signals) => ({ signals })),
}, { requiredKeys: ['name'] });
const requestedEventArb: fc.Arbitrary<M.RequestedEvent> = rec({
  ...baseEvent,
  embed: rec({ signals: signalsArb, events: eventsOf(secondEventArb) }, { requiredKeys: [] }).filter((e) => Object.keys(e).length > 0),
}, { requiredKeys: ['name'] });
export const eventsArb: fc.Arbitrary<M.EventsDescriptor> = eventsOf(requestedEventArb);

const timestampArb = fc.stringMatching(/^[0-9]{8}T[0-9]{8}$/);
export const observedEventsArb: fc.Arbitrary<M.ObservedEventsDescriptor> = rec({
  requestId: fc.oneof(uint32, fc.constant('*' as const)),
  events: smallList(rec({ timestamp: timestampArb, name: pkgdNameArb, stream: uint16, params: paramsArb(paramNameArb) }, { requiredKeys: ['name'] }), 0, 3),
});

const eventBufferArb: fc.Arbitrary<M.EventBufferDescriptor> = smallList(rec({ name: pkgdNameArb, stream: uint16, params: paramsArb(paramNameArb) }, { requiredKeys: ['name'] }), 0, 2);
const auditArb: fc.Arbitrary<M.AuditDescriptor> = fc.uniqueArray(fc.constantFrom<M.AuditItem>('media', 'modem', 'mux', 'events', 'signals', 'digitMap', 'statistics', 'observedEvents', 'packages', 'eventBuffer'), { maxLength: 4 }).map((items) => ({ items }));
const errorArb: fc.Arbitrary<M.ErrorDescriptor> = rec({ code: fc.integer({ min: 0, max: 9999 }), text: valueArb }, { requiredKeys: ['code'] });

const ammArb: fc.Arbitrary<M.AmmDescriptors> = rec({
  media: mediaArb, events: eventsArb, signals: signalsArb, digitMap: digitMapArb,
  eventBuffer: eventBufferArb, audit: auditArb, statistics: statisticsArb,
}, { requiredKeys: [] });

const flagsArb = rec({ optional: fc.constant(true), wildcardReply: fc.constant(true) }, { requiredKeys: [] });
const termIdsArb = smallList(terminationIdArb, 1, 3);

const serviceChangeArb: fc.Arbitrary<M.ServiceChangeDescriptor> = rec({
  method: fc.oneof(fc.constantFrom<M.ServiceChangeMethod>('failover', 'forced', 'graceful', 'restart', 'disconnected', 'handOff'),
    fc.stringMatching(/^[A-Za-z0-9]{1,6}$/).map((x) => `X-${x}` as M.ExtensionName)),
  reason: rec({ code: fc.integer({ min: 0, max: 9999 }), text: fc.string({ unit: fc.constantFrom(...'ab Cold Boot:;{}'), maxLength: 12 }) }, { requiredKeys: ['code'] }),
  delay: uint32,
  address: fc.oneof(uint16.map(String), mIdArb),
  profile: fc.tuple(nameArb, fc.integer({ min: 0, max: 99 })).map(([n, v]) => `${n}/${v}`),
  version: fc.integer({ min: 0, max: 99 }),
  mgcIdToTry: mIdArb,
  timestamp: timestampArb,
  extensions: dict(fc.stringMatching(/^X[-+][A-Za-z0-9]{1,6}$/), parmValueArb, { minKeys: 1, maxKeys: 2 }),
}, { requiredKeys: ['method', 'reason'] }).map((sc) => {
  if (sc.address !== undefined && sc.mgcIdToTry !== undefined) { const { mgcIdToTry: _drop, ...rest } = sc; return rest; }
  return sc;
});

const serviceChangeReplyArb: fc.Arbitrary<M.ServiceChangeReplyDescriptor> = rec({
  address: fc.oneof(uint16.map(String), mIdArb),
  mgcIdToTry: mIdArb,
  profile: fc.tuple(nameArb, fc.integer({ min: 0, max: 99 })).map(([n, v]) => `${n}/${v}`),
  version: fc.integer({ min: 0, max: 99 }),
  timestamp: timestampArb,
}, { requiredKeys: [] }).map((sc) => {
  if (sc.address !== undefined && sc.mgcIdToTry !== undefined) { const { address: _drop, ...rest } = sc; return rest; }
  return sc;
});

export const commandRequestArb: fc.Arbitrary<M.CommandRequest> = fc.tuple(flagsArb, termIdsArb).chain(([flags, terminationIds]) => fc.oneof(
  fc.tuple(fc.constantFrom('add' as const, 'modify' as const, 'move' as const), ammArb).map(([type, d]) => ({ type, terminationIds, ...d, ...flags })),
  fc.option(auditArb, { nil: undefined }).map((audit) => (audit ? { type: 'subtract' as const, terminationIds, audit, ...flags } : { type: 'subtract' as const, terminationIds, ...flags })),
  fc.tuple(fc.constantFrom('auditValue' as const, 'auditCapabilities' as const), auditArb).map(([type, audit]) => ({ type, terminationIds, audit, ...flags })),
  rec({ observedEvents: observedEventsArb, error: errorArb }, { requiredKeys: ['observedEvents'] }).map((n) => ({ type: 'notify' as const, terminationIds, ...n, ...flags })),
  serviceChangeArb.map((serviceChange) => ({ type: 'serviceChange' as const, terminationIds, serviceChange, ...flags })),
));

const terminationAuditArb: fc.Arbitrary<M.TerminationAudit> = rec({
  media: mediaArb, events: eventsArb, signals: signalsArb, digitMap: digitMapArb, observedEvents: observedEventsArb,
  eventBuffer: eventBufferArb, statistics: statisticsArb,
  packages: smallList(rec({ name: nameArb, version: uint16 }), 1, 3),
  error: errorArb,
  emptyItems: fc.uniqueArray(fc.constantFrom<M.AuditReturnItem>('mux', 'modem', 'media', 'digitMap', 'statistics', 'observedEvents', 'packages'), { minLength: 1, maxLength: 3 }),
}, { requiredKeys: [] });

const wFlag = rec({ wildcardReply: fc.constant(true) }, { requiredKeys: [] });
export const commandReplyArb: fc.Arbitrary<M.CommandReply> = fc.tuple(wFlag, termIdsArb).chain(([flags, terminationIds]) => fc.oneof(
  fc.tuple(fc.constantFrom('add' as const, 'modify' as const, 'move' as const, 'subtract' as const), fc.option(terminationAuditArb, { nil: undefined }))
    .map(([type, audit]) => (audit ? { type, terminationIds, audit, ...flags } : { type, terminationIds, ...flags })),
  fc.tuple(fc.constantFrom('auditValue' as const, 'auditCapabilities' as const), fc.option(terminationAuditArb, { nil: undefined }))
    .map(([type, audit]) => (audit ? { type, terminationIds, audit, ...flags } : { type, terminationIds, ...flags })),
  fc.tuple(fc.constantFrom('auditValue' as const, 'auditCapabilities' as const), fc.oneof(
    termIdsArb.map((contextTerminations) => ({ contextTerminations })), errorArb.map((contextError) => ({ contextError }))))
    .map(([type, x]) => ({ type, terminationIds: [], ...x, ...flags })),
  fc.option(errorArb, { nil: undefined }).map((error) => (error ? { type: 'notify' as const, terminationIds, error, ...flags } : { type: 'notify' as const, terminationIds, ...flags })),
  fc.oneof(fc.constant({}), errorArb.map((error) => ({ error })), serviceChangeReplyArb.map((serviceChange) => ({ serviceChange })))
    .map((x) => ({ type: 'serviceChange' as const, terminationIds, ...x, ...flags })),
));

export const contextIdArb: fc.Arbitrary<M.ContextId> = fc.oneof(uint32, fc.constantFrom<M.ContextId>('-', '$', '*'));

const contextPropertiesArb: fc.Arbitrary<M.ContextProperties> = rec({
  topology: smallList(rec({ from: terminationIdArb, to: terminationIdArb,
    direction: fc.constantFrom<M.TopologyDirection>('bothway', 'isolate', 'oneway', 'onewayExternal', 'onewayBoth'), stream: uint16 }, { requiredKeys: ['from', 'to', 'direction'] }), 1, 2),
  priority: uint16, emergency: fc.boolean(), iepsCall: fc.boolean(),
}, { requiredKeys: [] }).filter((p) => Object.keys(p).length > 0);

export const actionRequestArb: fc.Arbitrary<M.ActionRequest> = rec({
  contextId: contextIdArb,
  contextProperties: contextPropertiesArb,
  contextAudit: fc.uniqueArray(fc.constantFrom<M.ContextAuditItem>('topology', 'emergency', 'priority', 'iepsCall'), { minLength: 1, maxLength: 4 }),
  commands: smallList(commandRequestArb, 0, 3),
}, { requiredKeys: ['contextId', 'commands'] });

export const actionReplyArb: fc.Arbitrary<M.ActionReply> = rec({
  contextId: contextIdArb,
  contextProperties: contextPropertiesArb,
  commands: smallList(commandReplyArb, 0, 3),
  error: errorArb,
}, { requiredKeys: ['contextId', 'commands'] });

export const transactionArb: fc.Arbitrary<M.Transaction> = fc.oneof(
  rec({ kind: fc.constant('request' as const), transactionId: uint32, actions: smallList(actionRequestArb, 1, 2) }),
  rec({ kind: fc.constant('reply' as const), transactionId: uint32, immAckRequired: fc.constant(true), actions: smallList(actionReplyArb, 1, 2) }, { requiredKeys: ['kind', 'transactionId', 'actions'] }),
  rec({ kind: fc.constant('reply' as const), transactionId: uint32, immAckRequired: fc.constant(true), error: errorArb, actions: fc.constant([]) }, { requiredKeys: ['kind', 'transactionId', 'error', 'actions'] }),
  rec({ kind: fc.constant('pending' as const), transactionId: uint32 }),
  rec({ kind: fc.constant('responseAck' as const), acks: smallList(fc.tuple(uint32, fc.nat(1000)).map(([a, n]) => ({ first: a, last: Math.min(0xffffffff, a + n) })), 1, 3) }),
);

export const messageArb: fc.Arbitrary<M.Message> = rec({
  version: fc.integer({ min: 1, max: 3 }),
  mId: mIdArb,
  body: fc.oneof(
    { weight: 9, arbitrary: smallList(transactionArb, 1, 3).map((transactions) => ({ kind: 'transactions' as const, transactions })) },
    { weight: 1, arbitrary: errorArb.map((error) => ({ kind: 'error' as const, error })) },
  ),
});
