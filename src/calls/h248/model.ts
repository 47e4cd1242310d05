// The one H.248/Megaco message model (RFC 3525 / H.248.1): plain data that the
// text codec produces and consumes and that controllers and gateways build and match on.
// No bytes, no I/O, no timers here: codecs live in text-*.ts, reliability in transactions.ts.

// ---------------------------------------------------------------- identifiers

/** RFC 3525 §7.1.x ContextID: a number, '-' NULL context, '$' CHOOSE, '*' ALL (ABNF: ContextID = (UINT32 / "*" / "-" / "$")). */
export type ContextId = number | '-' | '$' | '*';
export const NULL_CONTEXT = '-' as const;
export const CHOOSE_CONTEXT = '$' as const;
export const ALL_CONTEXTS = '*' as const;

/**
 * TerminationID as text: 'ROOT', 'al/1', 'rtp/$' (CHOOSE), 'al/*' or '*' (ALL).
 * RFC 3525 Annex B: TerminationID = "ROOT" / pathNAME / "$" / "*".
 */
export type TerminationId = string;
export const ROOT_TERMINATION = 'ROOT';

/** True when the termination id holds a wildcard ('*' ALL or '$' CHOOSE). */
export function isWildcard(id: TerminationId): boolean {
  return id.includes('*') || id.includes('$');
}

/**
 * Does `id` fall under `pattern`? '*' (ALL) and '$' (CHOOSE) match any run of characters
 * ('al/*' covers 'al/1' and 'al/1/2'; '*' covers everything); other characters match exactly.
 */
export function terminationMatches(pattern: TerminationId, id: TerminationId): boolean {
  if (pattern === '*' || pattern === '$') return true;
  let re = '^';
  for (const ch of pattern) re += ch === '*' || ch === '$' ? '.*' : ch.replace(/[\\^.+?()[\]{}|]/g, '\\$&');
  return new RegExp(`${re}$`).test(id);
}

/** Package-qualified name "pkg/item" (e.g. 'al/of', 'dd/ce', 'cg/rt'); 'pkg/*' and '*\/*' in audits. */
export type PkgdName = string;

/** An extension token: "X-" / "X+" then 1..6 alphanumerics (ABNF extensionParameter). */
export type ExtensionName = `X-${string}` | `X+${string}`;

// ---------------------------------------------------------------- parameter values

/**
 * ABNF parmValue. A plain string means `name=value` (the common case: `ds="12"`).
 * The other forms express inequality, AND-sublists, OR-alternatives and ranges.
 */
export type ParmValue =
  | string
  | { readonly op: '>' | '<' | '#'; readonly value: string }   // INEQUAL VALUE ('#' = not equal)
  | { readonly op: 'and'; readonly values: readonly string[] }  // LSBRKT VALUE *(COMMA VALUE) RSBRKT
  | { readonly op: 'or'; readonly values: readonly string[] }   // LBRKT VALUE *(COMMA VALUE) RBRKT
  | { readonly op: 'range'; readonly low: string; readonly high: string }; // LSBRKT VALUE COLON VALUE RSBRKT

/** Parameters or properties by name, in wire order. Names: pkgdName for properties, NAME for event/signal parameters. */
export type Params = Readonly<Record<string, ParmValue>>;

// ---------------------------------------------------------------- message and transactions

export interface Message {
  /** Protocol version from "MEGACO/<v>" (1..99; this codebase speaks 1–2 and accepts 3's syntax it knows). */
  readonly version: number;
  /** Sender's message identifier exactly as written: "[10.0.0.1]:2944", "<mgc.example.net>", "mg1". */
  readonly mId: string;
  readonly body: MessageBody;
  /** Authentication header (Annex B authenticationHeader) when present; carried, not verified here. */
  readonly auth?: { readonly spi: string; readonly sequence: string; readonly data: string };
}

export type MessageBody =
  | { readonly kind: 'transactions'; readonly transactions: readonly Transaction[] }
  | { readonly kind: 'error'; readonly error: ErrorDescriptor };

export type Transaction = TransactionRequest | TransactionReply | TransactionPending | TransactionResponseAck;

export interface TransactionRequest {
  readonly kind: 'request';
  readonly transactionId: number;
  readonly actions: readonly ActionRequest[];
}

export interface TransactionReply {
  readonly kind: 'reply';
  readonly transactionId: number;
  /** Annex D.1.2.2: the receiver must acknowledge this reply at once with a ResponseAck. */
  readonly immAckRequired?: boolean;
  /** Either a transaction-level error (then `actions` is empty) or the per-context replies. */
  readonly error?: ErrorDescriptor;
  readonly actions: readonly ActionReply[];
}

export interface TransactionPending {
  readonly kind: 'pending';
  readonly transactionId: number;
}

/** ABNF transactionAck = TransactionID / (TransactionID "-" TransactionID); `first === last` for a single id. */
export interface TransactionAckRange { readonly first: number; readonly last: number }

export interface TransactionResponseAck {
  readonly kind: 'responseAck';
  readonly acks: readonly TransactionAckRange[];
}

// ---------------------------------------------------------------- actions

export type TopologyDirection = 'bothway' | 'isolate' | 'oneway' | 'onewayExternal' | 'onewayBoth';

export interface TopologyTriple {
  readonly from: TerminationId;
  readonly to: TerminationId;
  readonly direction: TopologyDirection;
  readonly stream?: number;
}

/** contextProperty: each at most once. */
export interface ContextProperties {
  readonly topology?: readonly TopologyTriple[];
  readonly priority?: number;
  readonly emergency?: boolean;   // true = Emergency, false = EmergencyOff
  readonly iepsCall?: boolean;
}

export type ContextAuditItem = 'topology' | 'emergency' | 'priority' | 'iepsCall';

export interface ActionRequest {
  readonly contextId: ContextId;
  readonly contextProperties?: ContextProperties;
  /** contextAudit = ContextAuditToken LBRKT contextAuditProperties ... RBRKT */
  readonly contextAudit?: readonly ContextAuditItem[];
  readonly commands: readonly CommandRequest[];
}

export interface ActionReply {
  readonly contextId: ContextId;
  readonly contextProperties?: ContextProperties;
  readonly commands: readonly CommandReply[];
  /** A context-level error (alone, or after the command replies that succeeded). */
  readonly error?: ErrorDescriptor;
}

// ---------------------------------------------------------------- commands (requests)

interface CommandBase {
  readonly terminationIds: readonly TerminationId[];
  /** "O-": optional command — on failure the rest of the action still runs. */
  readonly optional?: boolean;
  /** "W-": the reply may be wildcarded. */
  readonly wildcardReply?: boolean;
}

/** ammParameter (each at most once). Modem and Mux descriptors are not modelled. */
export interface AmmDescriptors {
  readonly media?: MediaDescriptor;
  readonly events?: EventsDescriptor;
  readonly signals?: SignalsDescriptor;
  readonly digitMap?: DigitMapDescriptor;
  readonly eventBuffer?: EventBufferDescriptor;
  readonly audit?: AuditDescriptor;
  readonly statistics?: StatisticsDescriptor;
}

export interface AddRequest extends CommandBase, AmmDescriptors { readonly type: 'add' }
export interface ModifyRequest extends CommandBase, AmmDescriptors { readonly type: 'modify' }
export interface MoveRequest extends CommandBase, AmmDescriptors { readonly type: 'move' }
export interface SubtractRequest extends CommandBase { readonly type: 'subtract'; readonly audit?: AuditDescriptor }
export interface AuditValueRequest extends CommandBase { readonly type: 'auditValue'; readonly audit: AuditDescriptor }
export interface AuditCapabilitiesRequest extends CommandBase { readonly type: 'auditCapabilities'; readonly audit: AuditDescriptor }
export interface NotifyRequest extends CommandBase {
  readonly type: 'notify';
  readonly observedEvents: ObservedEventsDescriptor;
  readonly error?: ErrorDescriptor;
}
export interface ServiceChangeRequest extends CommandBase {
  readonly type: 'serviceChange';
  readonly serviceChange: ServiceChangeDescriptor;
}

export type CommandRequest =
  | AddRequest | ModifyRequest | MoveRequest | SubtractRequest
  | AuditValueRequest | AuditCapabilitiesRequest | NotifyRequest | ServiceChangeRequest;

export type CommandType = CommandRequest['type'];

// ---------------------------------------------------------------- commands (replies)

/** terminationAudit: what an Add/Move/Modify/Subtract/Audit reply returns for its terminations. */
export interface TerminationAudit {
  readonly media?: MediaDescriptor;
  readonly events?: EventsDescriptor;
  readonly signals?: SignalsDescriptor;
  readonly digitMap?: DigitMapDescriptor;
  readonly observedEvents?: ObservedEventsDescriptor;
  readonly eventBuffer?: EventBufferDescriptor;
  readonly statistics?: StatisticsDescriptor;
  readonly packages?: readonly PackageVersion[];
  readonly error?: ErrorDescriptor;
  /** auditReturnItem: descriptor tokens returned without content (e.g. `M`, `DM`, `PG`). */
  readonly emptyItems?: readonly AuditReturnItem[];
}

export interface AmmsReply extends CommandBase {
  readonly type: 'add' | 'modify' | 'move' | 'subtract';
  readonly audit?: TerminationAudit;
}
export interface AuditReply extends CommandBase {
  readonly type: 'auditValue' | 'auditCapabilities';
  /**
   * contextTerminationAudit form (`AV=C{t1,t2}` or `AV=C{ER=...}`): the terminations
   * in the audited context. Then `terminationIds` is empty.
   */
  readonly contextTerminations?: readonly TerminationId[];
  readonly contextError?: ErrorDescriptor;
  readonly audit?: TerminationAudit;
}
export interface NotifyReply extends CommandBase {
  readonly type: 'notify';
  readonly error?: ErrorDescriptor;
}
export interface ServiceChangeReply extends CommandBase {
  readonly type: 'serviceChange';
  readonly error?: ErrorDescriptor;
  readonly serviceChange?: ServiceChangeReplyDescriptor;
}

export type CommandReply = AmmsReply | AuditReply | NotifyReply | ServiceChangeReply;

// ---------------------------------------------------------------- descriptors

export interface ErrorDescriptor {
  /** H.248.8 error code, e.g. 400 Syntax error in message, 430 Unknown TerminationID. */
  readonly code: number;
  readonly text?: string;
}

export type StreamMode = 'sendOnly' | 'receiveOnly' | 'sendReceive' | 'inactive' | 'loopback';

export interface LocalControlDescriptor {
  readonly mode?: StreamMode;
  readonly reserveValue?: boolean;
  readonly reserveGroup?: boolean;
  /** propertyParm: e.g. { 'nt/jit': '40', 'rtp/...': ... }. */
  readonly properties?: Params;
}

/** SDP carried in Local{} / Remote{}: `text` is the session description as written (braces unescaped). */
export interface SessionDescription {
  readonly text: string;
  /** A small parsed view of `text` for matching; derived, never printed. */
  readonly view: SdpView;
}

export interface SdpMedia {
  readonly media: string;                 // 'audio'
  readonly port: number | '$';            // '$' = CHOOSE (H.248 underspecified SDP)
  readonly proto: string;                 // 'RTP/AVP'
  readonly formats: readonly string[];    // ['0', '8']
  readonly connectionAddress?: string;    // media-level c= address
  readonly attributes: readonly string[]; // 'ptime:20', 'sendrecv', ...
}

export interface SdpView {
  readonly version?: string;
  readonly origin?: string;
  readonly sessionName?: string;
  /** Session-level c= address ('$' for CHOOSE). */
  readonly connectionAddress?: string;
  readonly media: readonly SdpMedia[];
}

/** streamParm (each at most once). */
export interface StreamParms {
  readonly localControl?: LocalControlDescriptor;
  readonly local?: SessionDescription;
  readonly remote?: SessionDescription;
  readonly statistics?: StatisticsDescriptor;
}

/**
 * streamDescriptor (Stream=id{...}); `id` undefined means the stream parameters
 * were written directly inside Media{} (then it is the only entry).
 */
export interface StreamDescriptor extends StreamParms { readonly id?: number }

export type ServiceState = 'test' | 'outOfService' | 'inService';

export interface TerminationStateDescriptor {
  readonly serviceState?: ServiceState;
  /** eventBufferControl: Buffer=OFF (false) / Buffer=LockStep (true). */
  readonly bufferLockStep?: boolean;
  readonly properties?: Params;
}

export interface MediaDescriptor {
  readonly terminationState?: TerminationStateDescriptor;
  readonly streams: readonly StreamDescriptor[];
}

/** digitMapDescriptor: a name, a value (digit map text, whitespace removed), or both (define named map). */
export interface DigitMapDescriptor {
  readonly name?: string;
  readonly value?: string;
}

export interface EmbeddedDescriptors {
  readonly signals?: SignalsDescriptor;
  readonly events?: EventsDescriptor;
}

export interface RequestedEvent {
  readonly name: PkgdName;
  readonly stream?: number;
  readonly keepActive?: boolean;
  /** Embed{ Signals / Events } triggered when this event occurs. */
  readonly embed?: EmbeddedDescriptors;
  /** eventDM: DigitMap=name or DigitMap={value}. */
  readonly digitMap?: DigitMapDescriptor;
  /** eventOther parameters, e.g. al/of { strict: 'state' }. */
  readonly params?: Params;
}

/** Events descriptor. `E` alone (requestId undefined, no events) clears all requested events. */
export interface EventsDescriptor {
  readonly requestId?: number | '*';
  readonly events: readonly RequestedEvent[];
}

export type SignalType = 'onOff' | 'timeOut' | 'brief';
export type NotifyCompletionReason = 'timeOut' | 'interruptedByEvent' | 'interruptedByNewSignals' | 'otherReason';
export type SignalDirection = 'external' | 'internal' | 'both';

export interface SignalRequest {
  readonly kind: 'signal';
  readonly name: PkgdName;
  readonly stream?: number;
  readonly signalType?: SignalType;
  /** sigDuration (UINT16) exactly as written; its unit is the one RFC 3525 §7.1.11 defines. */
  readonly duration?: number;
  readonly notifyCompletion?: readonly NotifyCompletionReason[];
  readonly keepActive?: boolean;
  readonly direction?: SignalDirection;
  readonly requestId?: number | '*';
  readonly params?: Params;
}

export interface SignalList {
  readonly kind: 'list';
  readonly listId: number;
  readonly signals: readonly SignalRequest[];
}

/** Signals descriptor; an empty array (`SG{}`) stops all signals. */
export type SignalsDescriptor = readonly (SignalRequest | SignalList)[];

export interface ObservedEvent {
  /** "yyyymmddThhmmssss" (ABNF TimeStamp) when the MG stamped the event. */
  readonly timestamp?: string;
  readonly name: PkgdName;
  readonly stream?: number;
  readonly params?: Params;
}

export interface ObservedEventsDescriptor {
  readonly requestId: number | '*';
  readonly events: readonly ObservedEvent[];
}

export interface EventBufferEntry { readonly name: PkgdName; readonly stream?: number; readonly params?: Params }
export type EventBufferDescriptor = readonly EventBufferEntry[];

/** auditItem tokens (RFC 3525 auditDescriptor). */
export type AuditItem =
  | 'media' | 'modem' | 'mux' | 'events' | 'signals' | 'digitMap'
  | 'statistics' | 'observedEvents' | 'packages' | 'eventBuffer';

/** auditReturnItem = (MuxToken / ModemToken / MediaToken / DigitMapToken / StatsToken / ObservedEventsToken / PackagesToken) */
export type AuditReturnItem = 'mux' | 'modem' | 'media' | 'digitMap' | 'statistics' | 'observedEvents' | 'packages';

/** Audit{} — empty list means "audit nothing, just check the termination exists". */
export interface AuditDescriptor { readonly items: readonly AuditItem[] }

/** statisticsParameter = pkgdName [EQUAL VALUE / (LSBRKT VALUE *(COMMA VALUE) RSBRKT)]; null = no value. */
export type StatisticsDescriptor = Readonly<Record<PkgdName, string | readonly string[] | null>>;

export interface PackageVersion { readonly name: string; readonly version: number }

export type ServiceChangeMethod =
  | 'failover' | 'forced' | 'graceful' | 'restart' | 'disconnected' | 'handOff' | ExtensionName;

/** RFC 3525 §7.2.8 reason codes used by the call flows (numeric reason + optional text). */
export const ServiceChangeReasons = {
  serviceRestored: 900,
  coldBoot: 901,
  warmBoot: 902,
  mgcDirectedChange: 903,
  terminationMalfunctioning: 904,
  terminationTakenOutOfService: 905,
  lossOfLowerLayerConnectivity: 906,
  transmissionFailure: 907,
  mgImpendingFailure: 908,
  mgcImpendingFailure: 909,
  stateLoss: 915,
  warmFailover: 919,
  coldFailover: 920,
} as const;

export interface ServiceChangeReason { readonly code: number; readonly text?: string }

export interface ServiceChangeDescriptor {
  readonly method: ServiceChangeMethod;
  readonly reason: ServiceChangeReason;
  /** serviceChangeDelay, seconds (§7.2.8). */
  readonly delay?: number;
  /** ServiceChangeAddress: an mId or a bare port number (as text). */
  readonly address?: string;
  /** Profile name/version, e.g. "ResGW/1". */
  readonly profile?: string;
  readonly version?: number;
  /** MgcIdToTry: the controller the MG should register with instead (mId syntax). */
  readonly mgcIdToTry?: string;
  readonly timestamp?: string;
  /** extension = extensionParameter parmValue (X-... parameters). */
  readonly extensions?: Params;
}

export interface ServiceChangeReplyDescriptor {
  readonly address?: string;
  readonly mgcIdToTry?: string;
  readonly profile?: string;
  readonly version?: number;
  readonly timestamp?: string;
}

// ---------------------------------------------------------------- error codes (H.248.8 / RFC 3525 §14.2)

/** The error codes the codec and engine answer with; values per H.248.8. */
export const ErrorCodes = {
  badRequestFormat: 400,            // Syntax error in message
  protocolError: 401,               // Protocol Error
  unauthorized: 402,
  syntaxErrorInTransaction: 403,    // Syntax error in transaction request
  versionNotSupported: 406,
  incorrectIdentifier: 410,
  unknownContextId: 411,
  noContextIdsAvailable: 412,
  unknownAction: 421,
  syntaxErrorInAction: 422,
  unknownTerminationId: 430,
  noTerminationIdMatchedWildcard: 431,
  outOfTerminationIds: 432,
  terminationAlreadyInContext: 433,
  maxTerminationsInContext: 434,
  terminationNotInContext: 435,
  unsupportedPackage: 440,
  missingRemoteOrLocal: 441,
  syntaxErrorInCommand: 442,
  unsupportedCommand: 443,
  unsupportedDescriptor: 444,
  unsupportedProperty: 445,
  unsupportedParameter: 446,
  descriptorNotLegal: 447,
  descriptorAppearsTwice: 448,
  noSuchEventInPackage: 451,
  noSuchSignalInPackage: 452,
  internalFailure: 500,
  notImplemented: 501,
  notReady: 502,
  serviceUnavailable: 503,
  unauthorizedEntity: 504,
  requestBeforeServiceChangeReply: 505,
  pendingLimitExceeded: 506,
  insufficientResources: 510,
  unsupportedMediaType: 515,
  unsupportedMode: 517,
  responseTooLarge: 533,
} as const;

// ---------------------------------------------------------------- constructor helpers

export interface CommandOptions { readonly optional?: boolean; readonly wildcardReply?: boolean }

function ids(t: TerminationId | readonly TerminationId[]): readonly TerminationId[] {
  return typeof t === 'string' ? [t] : t;
}

export function add(t: TerminationId | readonly TerminationId[], d: AmmDescriptors = {}, o: CommandOptions = {}): AddRequest {
  return { type: 'add', terminationIds: ids(t), ...d, ...o };
}
export function modify(t: TerminationId | readonly TerminationId[], d: AmmDescriptors = {}, o: CommandOptions = {}): ModifyRequest {
  return { type: 'modify', terminationIds: ids(t), ...d, ...o };
}
export function move(t: TerminationId | readonly TerminationId[], d: AmmDescriptors = {}, o: CommandOptions = {}): MoveRequest {
  return { type: 'move', terminationIds: ids(t), ...d, ...o };
}
export function subtract(t: TerminationId | readonly TerminationId[], audit?: AuditDescriptor, o: CommandOptions = {}): SubtractRequest {
  return audit ? { type: 'subtract', terminationIds: ids(t), audit, ...o } : { type: 'subtract', terminationIds: ids(t), ...o };
}
export function auditValue(t: TerminationId | readonly TerminationId[], items: readonly AuditItem[] = []): AuditValueRequest {
  return { type: 'auditValue', terminationIds: ids(t), audit: { items } };
}
export function auditCapabilities(t: TerminationId | readonly TerminationId[], items: readonly AuditItem[] = []): AuditCapabilitiesRequest {
  return { type: 'auditCapabilities', terminationIds: ids(t), audit: { items } };
}
export function notify(t: TerminationId | readonly TerminationId[], requestId: number, events: readonly ObservedEvent[]): NotifyRequest {
  return { type: 'notify', terminationIds: ids(t), observedEvents: { requestId, events } };
}
export function serviceChange(t: TerminationId | readonly TerminationId[], sc: ServiceChangeDescriptor): ServiceChangeRequest {
  return { type: 'serviceChange', terminationIds: ids(t), serviceChange: sc };
}

/** One action: commands against one context. */
export function action(contextId: ContextId, ...commands: CommandRequest[]): ActionRequest {
  return { contextId, commands };
}

/** Reply to one context, e.g. actionReply(7, { type: 'add', terminationIds: ['rtp/3'] }). */
export function actionReply(contextId: ContextId, ...commands: CommandReply[]): ActionReply {
  return { contextId, commands };
}

/** A single-stream Media descriptor: mode and optional SDP texts. */
export function media(p: { mode?: StreamMode; local?: string; remote?: string; streamId?: number; properties?: Params }): MediaDescriptor {
  const localControl: LocalControlDescriptor | undefined =
    p.mode !== undefined || p.properties !== undefined
      ? { ...(p.mode !== undefined ? { mode: p.mode } : {}), ...(p.properties !== undefined ? { properties: p.properties } : {}) }
      : undefined;
  const stream: StreamDescriptor = {
    ...(p.streamId !== undefined ? { id: p.streamId } : {}),
    ...(localControl ? { localControl } : {}),
    ...(p.local !== undefined ? { local: sdp(p.local) } : {}),
    ...(p.remote !== undefined ? { remote: sdp(p.remote) } : {}),
  };
  return { streams: [stream] };
}

/** Events descriptor: events(1, 'al/of', { name: 'al/on', params: { strict: 'state' } }). */
export function events(requestId: number, ...names: (PkgdName | RequestedEvent)[]): EventsDescriptor {
  return { requestId, events: names.map((n) => (typeof n === 'string' ? { name: n } : n)) };
}

export function signal(name: PkgdName, params?: Params, extra: Omit<SignalRequest, 'kind' | 'name' | 'params'> = {}): SignalRequest {
  return { kind: 'signal', name, ...extra, ...(params ? { params } : {}) };
}

export function errorDescriptor(code: number, text?: string): ErrorDescriptor {
  return text === undefined ? { code } : { code, text };
}

/** Build a SessionDescription from SDP text (the parsed view is computed). */
export function sdp(text: string): SessionDescription {
  return { text, view: parseSdpView(text) };
}

/** A small, forgiving SDP (RFC 4566) reader for the fields call control matches on. Never throws. */
export function parseSdpView(text: string): SdpView {
  let version: string | undefined;
  let origin: string | undefined;
  let sessionName: string | undefined;
  let connectionAddress: string | undefined;
  const mediaList: { media: string; port: number | '$'; proto: string; formats: string[]; connectionAddress?: string; attributes: string[] }[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const type = line[0];
    const value = line.slice(2).trim();
    const current = mediaList[mediaList.length - 1];
    switch (type) {
      case 'v': version = value; break;
      case 'o': origin = value; break;
      case 's': sessionName = value; break;
      case 'c': {
        const addr = value.split(/\s+/)[2];
        if (addr === undefined) break;
        if (current) current.connectionAddress = addr; else connectionAddress = addr;
        break;
      }
      case 'm': {
        const [m = '', portText = '', proto = '', ...formats] = value.split(/\s+/);
        const portNum = Number.parseInt(portText.split('/')[0] ?? '', 10);
        mediaList.push({ media: m, port: portText === '$' ? '$' : Number.isFinite(portNum) ? portNum : 0, proto, formats, attributes: [] });
        break;
      }
      case 'a': if (current) current.attributes.push(value); break;
      default: break;
    }
  }
  return {
    ...(version !== undefined ? { version } : {}),
    ...(origin !== undefined ? { origin } : {}),
    ...(sessionName !== undefined ? { sessionName } : {}),
    ...(connectionAddress !== undefined ? { connectionAddress } : {}),
    media: mediaList,
  };
}

/** The one-line message header helper: a message carrying transactions. */
export function message(version: number, mId: string, ...transactions: Transaction[]): Message {
  return { version, mId, body: { kind: 'transactions', transactions } };
}

export function request(transactionId: number, ...actions: ActionRequest[]): TransactionRequest {
  return { kind: 'request', transactionId, actions };
}

export function reply(transactionId: number, ...actions: ActionReply[]): TransactionReply {
  return { kind: 'reply', transactionId, actions };
}

export function errorReply(transactionId: number, code: number, text?: string): TransactionReply {
  return { kind: 'reply', transactionId, error: errorDescriptor(code, text), actions: [] };
}
