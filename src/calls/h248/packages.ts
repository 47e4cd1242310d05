// The H.248 packages the call flows use, as data: names, parameters and allowed values of
// g, root (RFC 3525 Annex E.1/E.2), al (E.9), dd (E.6), cg (E.7), nt (E.11), rtp (E.12) and
// it (H.248.14), plus validators that answer with the ErrorDescriptor a gateway would send.

import type * as M from './model.js';
import { ErrorCodes } from './model.js';

/** Item names, spelled once for controller and gateway. */
export const Pkg = {
  // g — Generic (E.1)
  generalCause: 'g/cause',        // event: gencause (NR/UR/FT/FP/IW/UN), failurecause
  signalCompletion: 'g/sc',       // event: SigID, Meth (TO/EV/SD/NC/PI), SLID
  // al — Analog Line Supervision (E.9)
  onHook: 'al/on',                // event: strict (exact/state/failWrong)
  offHook: 'al/of',               // event: strict
  flashHook: 'al/fl',             // event: mindur, maxdur (ms)
  ring: 'al/ri',                  // signal: cad, freq
  // dd — DTMF detection (E.6)
  digitMapCompletion: 'dd/ce',    // event: ds (digit string), Meth (UM/PM/FM)
  startToneDetected: 'dd/std',    // event: tl (tone id)
  // cg — Call Progress Tones Generator (E.7)
  dialTone: 'cg/dt',
  ringbackTone: 'cg/rt',
  busyTone: 'cg/bt',
  congestionTone: 'cg/ct',
  specialInfoTone: 'cg/sit',
  warningTone: 'cg/wt',
  callWaitingTone: 'cg/cw',
  // nt — Network (E.11)
  jitterBuffer: 'nt/jit',         // property: maximum jitter buffer (ms)
  networkFailure: 'nt/netfail',   // event: cs (cause)
  qualityAlert: 'nt/qualert',     // event: th (threshold)
  duration: 'nt/dur',             // statistic (ms)
  octetsSent: 'nt/os',            // statistic
  octetsReceived: 'nt/or',        // statistic
  // rtp — RTP (E.12)
  packetsSent: 'rtp/ps',          // statistic
  packetsReceived: 'rtp/pr',      // statistic
  packetLoss: 'rtp/pl',           // statistic
  jitter: 'rtp/jit',              // statistic
  delay: 'rtp/delay',             // statistic
  payloadTransition: 'rtp/pltrans', // event: rtppltype
  // it — Inactivity Timer (H.248.14)
  inactivityTimeout: 'it/ito',    // event: mit (maximum inactivity time, units of 10 ms)
  // root — Base Root (E.2), properties of the ROOT termination
  maxNumberOfContexts: 'root/maxNumberOfContexts',
  maxTerminationsPerContext: 'root/maxTerminationsPerContext',
  normalMGExecutionTime: 'root/normalMGExecutionTime',
  normalMGCExecutionTime: 'root/normalMGCExecutionTime',
  mgProvisionalResponseTimerValue: 'root/MGProvisionalResponseTimerValue',
  mgcProvisionalResponseTimerValue: 'root/MGCProvisionalResponseTimerValue',
  mgcOriginatedPendingLimit: 'root/MGCOriginatedPendingLimit',
  mgOriginatedPendingLimit: 'root/MGOriginatedPendingLimit',
} as const;

/** The packages and versions this codebase implements: the content of an AuditCapabilities Packages reply. */
export const SUPPORTED_PACKAGES: readonly M.PackageVersion[] = [
  { name: 'g', version: 1 }, { name: 'root', version: 2 }, { name: 'al', version: 1 }, { name: 'dd', version: 1 },
  { name: 'cg', version: 1 }, { name: 'nt', version: 1 }, { name: 'rtp', version: 1 }, { name: 'it', version: 1 },
];

/** A parameter's allowed values: an enumeration, or a non-negative integer range. */
type ParamSpec = { readonly enum: readonly string[] } | { readonly int: readonly [number, number] } | { readonly text: true };

interface ItemSpec { readonly params: Readonly<Record<string, ParamSpec>> }

const DIGIT_STRING: ParamSpec = { text: true };
const INT = (lo: number, hi: number): ParamSpec => ({ int: [lo, hi] });
const STRICT: ParamSpec = { enum: ['exact', 'state', 'failWrong'] };

/** Events by package-qualified name. */
export const EVENTS: Readonly<Record<string, ItemSpec>> = {
  'g/cause': { params: { Generalcause: { enum: ['NR', 'UR', 'FT', 'FP', 'IW', 'UN'] }, Failurecause: { text: true } } },
  'g/sc': { params: { SigID: { text: true }, Meth: { enum: ['TO', 'EV', 'SD', 'NC', 'PI'] }, SLID: INT(0, 0xffff) } },
  'al/on': { params: { strict: STRICT, init: { enum: ['true', 'false'] } } },
  'al/of': { params: { strict: STRICT, init: { enum: ['true', 'false'] } } },
  'al/fl': { params: { mindur: INT(0, 0xffffffff), maxdur: INT(0, 0xffffffff) } },
  'dd/ce': { params: { ds: DIGIT_STRING, Meth: { enum: ['UM', 'PM', 'FM'] } } },
  'dd/std': { params: { tl: { text: true } } },
  'nt/netfail': { params: { cs: { text: true } } },
  'nt/qualert': { params: { th: INT(0, 99) } },
  'rtp/pltrans': { params: { rtppltype: { text: true } } },
  'it/ito': { params: { mit: INT(1, 0xffffffff) } },
};

/** Signals by package-qualified name. */
export const SIGNALS: Readonly<Record<string, ItemSpec>> = {
  'al/ri': { params: { cad: { text: true }, freq: INT(0, 0xffffffff) } },
  'cg/dt': { params: {} }, 'cg/rt': { params: {} }, 'cg/bt': { params: {} }, 'cg/ct': { params: {} },
  'cg/sit': { params: {} }, 'cg/wt': { params: {} }, 'cg/cw': { params: {} },
};

/** Properties by package-qualified name. */
export const PROPERTIES: Readonly<Record<string, ParamSpec>> = {
  'nt/jit': INT(0, 0xffffffff),
  'root/maxNumberOfContexts': INT(0, 0xffffffff),
  'root/maxTerminationsPerContext': INT(0, 0xff),
  'root/normalMGExecutionTime': INT(0, 0xffffffff),
  'root/normalMGCExecutionTime': INT(0, 0xffffffff),
  'root/MGProvisionalResponseTimerValue': INT(0, 0xffffffff),
  'root/MGCProvisionalResponseTimerValue': INT(0, 0xffffffff),
  'root/MGCOriginatedPendingLimit': INT(0, 0xffffffff),
  'root/MGOriginatedPendingLimit': INT(0, 0xffffffff),
};

/** Statistics by package-qualified name. */
export const STATISTICS: readonly string[] = ['nt/dur', 'nt/os', 'nt/or', 'rtp/ps', 'rtp/pr', 'rtp/pl', 'rtp/jit', 'rtp/delay'];

// DTMF digit events dd/d0..dd/d9, dd/da..dd/dd, dd/ds (*) and dd/do (#) (E.6.2).
for (const d of ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 's', 'o']) {
  (EVENTS as Record<string, ItemSpec>)[`dd/d${d}`] = { params: {} };
}

const KNOWN_PACKAGES = new Set(SUPPORTED_PACKAGES.map((p) => p.name));

function checkValue(spec: ParamSpec, v: M.ParmValue): boolean {
  const values = typeof v === 'string' ? [v] : 'values' in v ? v.values : 'value' in v ? [v.value] : [v.low, v.high];
  return values.every((x) => {
    if ('enum' in spec) return spec.enum.some((e) => e.toLowerCase() === x.toLowerCase());
    if ('int' in spec) return /^[0-9]{1,10}$/.test(x) && Number(x) >= spec.int[0] && Number(x) <= spec.int[1];
    return true;
  });
}

function checkItem(table: Readonly<Record<string, ItemSpec>>, name: string, params: M.Params | undefined, unknownCode: number): M.ErrorDescriptor | undefined {
  const pkg = name.split('/')[0] ?? '';
  if (!KNOWN_PACKAGES.has(pkg)) return { code: ErrorCodes.unsupportedPackage, text: `Unsupported or unknown package ${pkg}` };
  const spec = table[name];
  if (!spec) return { code: unknownCode, text: `No such item ${name}` };
  for (const [p, v] of Object.entries(params ?? {})) {
    const ps = spec.params[p];
    if (!ps) return { code: ErrorCodes.unsupportedParameter, text: `Unsupported parameter ${p} of ${name}` };
    if (!checkValue(ps, v)) return { code: 449, text: `Unsupported value for ${p} of ${name}` };
  }
  return undefined;
}

/** Validate a requested event (and its embedded signals/events): undefined if fine, else the error to reply with. */
export function validateRequestedEvent(e: M.RequestedEvent): M.ErrorDescriptor | undefined {
  const own = checkItem(EVENTS, e.name, e.params, ErrorCodes.noSuchEventInPackage);
  if (own) return own;
  for (const s of e.embed?.signals ?? []) {
    const err = s.kind === 'signal' ? validateSignal(s) : s.signals.map(validateSignal).find((x) => x !== undefined);
    if (err) return err;
  }
  for (const ev of e.embed?.events?.events ?? []) {
    const err = validateRequestedEvent(ev);
    if (err) return err;
  }
  return undefined;
}

export function validateSignal(s: M.SignalRequest): M.ErrorDescriptor | undefined {
  return checkItem(SIGNALS, s.name, s.params, ErrorCodes.noSuchSignalInPackage);
}

export function validateObservedEvent(e: M.ObservedEvent): M.ErrorDescriptor | undefined {
  return checkItem(EVENTS, e.name, e.params, ErrorCodes.noSuchEventInPackage);
}

export function validateProperty(name: string, v: M.ParmValue): M.ErrorDescriptor | undefined {
  const pkg = name.split('/')[0] ?? '';
  if (!KNOWN_PACKAGES.has(pkg)) return { code: ErrorCodes.unsupportedPackage, text: `Unsupported or unknown package ${pkg}` };
  const spec = PROPERTIES[name];
  if (!spec) return { code: ErrorCodes.unsupportedProperty, text: `Unsupported property ${name}` };
  return checkValue(spec, v) ? undefined : { code: 449, text: `Unsupported value for ${name}` };
}

/** Validate every package item a command carries (events, signals, local-control properties). */
export function validateCommand(c: M.CommandRequest): M.ErrorDescriptor | undefined {
  if (c.type === 'add' || c.type === 'modify' || c.type === 'move') {
    for (const e of c.events?.events ?? []) { const err = validateRequestedEvent(e); if (err) return err; }
    for (const s of c.signals ?? []) {
      const err = s.kind === 'signal' ? validateSignal(s) : s.signals.map(validateSignal).find((x) => x !== undefined);
      if (err) return err;
    }
    for (const st of c.media?.streams ?? []) {
      for (const [n, v] of Object.entries(st.localControl?.properties ?? {})) { const err = validateProperty(n, v); if (err) return err; }
    }
  }
  if (c.type === 'notify') {
    for (const e of c.observedEvents.events) { const err = validateObservedEvent(e); if (err) return err; }
  }
  return undefined;
}

// ---------------------------------------------------------------- builders for the common items

/** al/of or al/on with strict=state (report the current state at once if it already holds). */
export function hookEvent(which: 'off' | 'on', strict: 'exact' | 'state' | 'failWrong' = 'state'): M.RequestedEvent {
  return { name: which === 'off' ? Pkg.offHook : Pkg.onHook, params: { strict } };
}

/** dd/ce tied to a named or inline digit map. */
export function digitMapCompletion(digitMap: M.DigitMapDescriptor): M.RequestedEvent {
  return { name: Pkg.digitMapCompletion, digitMap };
}

/** it/ito with mit in units of 10 ms (H.248.14). */
export function inactivityTimer(mitTensOfMs: number): M.RequestedEvent {
  return { name: Pkg.inactivityTimeout, params: { mit: String(Math.max(1, Math.floor(mitTensOfMs))) } };
}

/** The dialled digits of a dd/ce observed event (parameter ds), if present. */
export function dialledDigits(e: M.ObservedEvent): string | undefined {
  if (e.name !== Pkg.digitMapCompletion) return undefined;
  const ds = e.params?.['ds'];
  return typeof ds === 'string' ? ds : undefined;
}
