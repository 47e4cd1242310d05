// The keyword table of the H.248 text encoding (RFC 3525 Annex B, "Tokens"): long and
// compact spelling of every token the codec reads or writes, matched case-insensitively.
// Grammar and printing live in text-parser.ts / text-printer.ts, not here.

/** [long form, compact form] per Annex B; tokens without a compact form repeat the long one. */
export const TOKENS = {
  Add: ['Add', 'A'],
  Audit: ['Audit', 'AT'],
  AuditCap: ['AuditCapability', 'AC'],
  AuditValue: ['AuditValue', 'AV'],
  Auth: ['Authentication', 'AU'],
  Both: ['Both', 'B'],
  Bothway: ['Bothway', 'BW'],
  Brief: ['Brief', 'BR'],
  Buffer: ['Buffer', 'BF'],
  Ctx: ['Context', 'C'],
  ContextAudit: ['ContextAudit', 'CA'],
  DigitMap: ['DigitMap', 'DM'],
  Direction: ['SPADirection', 'SPADI'],
  Disconnected: ['Disconnected', 'DC'],
  Delay: ['Delay', 'DL'],
  Duration: ['Duration', 'DR'],
  Embed: ['Embed', 'EM'],
  Emergency: ['Emergency', 'EG'],
  EmergencyOff: ['EmergencyOff', 'EGO'],
  Error: ['Error', 'ER'],
  EventBuffer: ['EventBuffer', 'EB'],
  Events: ['Events', 'E'],
  External: ['External', 'EX'],
  Failover: ['Failover', 'FL'],
  Forced: ['Forced', 'FO'],
  Graceful: ['Graceful', 'GR'],
  HandOff: ['HandOff', 'HO'],
  IEPS: ['IEPSCall', 'IEPS'],
  ImmAckRequired: ['ImmAckRequired', 'IA'],
  Inactive: ['Inactive', 'IN'],
  Internal: ['Internal', 'IT'],
  IntsigDelay: ['Intersignal', 'SPAIS'],
  Isolate: ['Isolate', 'IS'],
  InSvc: ['InService', 'IV'],
  InterruptByEvent: ['IntByEvent', 'IBE'],
  InterruptByNewSignalsDescr: ['IntBySigDescr', 'IBS'],
  KeepActive: ['KeepActive', 'KA'],
  Local: ['Local', 'L'],
  LocalControl: ['LocalControl', 'O'],
  LockStep: ['LockStep', 'SP'],
  Loopback: ['Loopback', 'LB'],
  Media: ['Media', 'M'],
  Megacop: ['MEGACO', '!'],
  Method: ['Method', 'MT'],
  MgcId: ['MgcIdToTry', 'MG'],
  Mode: ['Mode', 'MO'],
  Modify: ['Modify', 'MF'],
  Modem: ['Modem', 'MD'],
  Move: ['Move', 'MV'],
  Mux: ['Mux', 'MX'],
  Notify: ['Notify', 'N'],
  NotifyCompletion: ['NotifyCompletion', 'NC'],
  ObservedEvents: ['ObservedEvents', 'OE'],
  Oneway: ['Oneway', 'OW'],
  OnewayBoth: ['OnewayBoth', 'OWB'],
  OnewayExternal: ['OnewayExternal', 'OWE'],
  OnOff: ['OnOff', 'OO'],
  OtherReason: ['OtherReason', 'OR'],
  OutOfSvc: ['OutOfService', 'OS'],
  Packages: ['Packages', 'PG'],
  Pending: ['Pending', 'PN'],
  Priority: ['Priority', 'PR'],
  Profile: ['Profile', 'PF'],
  Reason: ['Reason', 'RE'],
  Recvonly: ['ReceiveOnly', 'RC'],
  Reply: ['Reply', 'P'],
  Restart: ['Restart', 'RS'],
  Remote: ['Remote', 'R'],
  RequestID: ['SPARequestID', 'SPARQ'],
  ReservedGroup: ['ReservedGroup', 'RG'],
  ReservedValue: ['ReservedValue', 'RV'],
  Sendonly: ['SendOnly', 'SO'],
  Sendrecv: ['SendReceive', 'SR'],
  Services: ['Services', 'SV'],
  ServiceStates: ['ServiceStates', 'SI'],
  ServiceChange: ['ServiceChange', 'SC'],
  ServiceChangeAddress: ['ServiceChangeAddress', 'AD'],
  SignalList: ['SignalList', 'SL'],
  Signals: ['Signals', 'SG'],
  SignalType: ['SignalType', 'SY'],
  Stats: ['Statistics', 'SA'],
  Stream: ['Stream', 'ST'],
  Subtract: ['Subtract', 'S'],
  TerminationState: ['TerminationState', 'TS'],
  Test: ['Test', 'TE'],
  TimeOut: ['TimeOut', 'TO'],
  Topology: ['Topology', 'TP'],
  Trans: ['Transaction', 'T'],
  ResponseAck: ['TransactionResponseAck', 'K'],
  Version: ['Version', 'V'],
} as const satisfies Record<string, readonly [string, string]>;

export type TokenName = keyof typeof TOKENS;

/** Which printed form to use: long ("Transaction", "Media") or compact ("T", "M"). */
export type TokenForm = 'long' | 'compact';

export function tokenText(name: TokenName, form: TokenForm): string {
  return TOKENS[name][form === 'long' ? 0 : 1];
}

const byText = new Map<string, TokenName[]>();
for (const [name, forms] of Object.entries(TOKENS) as [TokenName, readonly [string, string]][]) {
  for (const f of new Set(forms)) {
    const k = f.toLowerCase();
    const list = byText.get(k) ?? [];
    list.push(name);
    byText.set(k, list);
  }
}

const lowerForms = new Map<TokenName, readonly [string, string]>(
  (Object.entries(TOKENS) as [TokenName, readonly [string, string]][]).map(([n, [l, c]]) => [n, [l.toLowerCase(), c.toLowerCase()]]));

/**
 * Is `word` (any case) a spelling of token `name`? Tokens are case-insensitive
 * (RFC 3525 Annex B: "the text encoding of the protocol is case-insensitive" for tokens).
 */
export function isToken(word: string, name: TokenName): boolean {
  if (word.length > 22) return false; // longest token: TransactionResponseAck
  const [l, c] = lowerForms.get(name)!;
  if (word.length !== l.length && word.length !== c.length) return false;
  const w = word.toLowerCase();
  return w === l || w === c;
}

/** The token names `word` may spell; several where compact forms collide across contexts (e.g. 'SP', 'IT'). */
export function tokensFor(word: string): readonly TokenName[] {
  return byText.get(word.toLowerCase()) ?? [];
}

/** Pick the first of `names` that `word` spells, or undefined. */
export function matchToken<N extends TokenName>(word: string, names: readonly N[]): N | undefined {
  if (word.length > 22) return undefined;
  const spelled = byText.get(word.toLowerCase());
  if (spelled === undefined) return undefined;
  for (const n of names) if (spelled.includes(n)) return n;
  return undefined;
}
