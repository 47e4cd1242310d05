// The splicer peers' control messages (heartbeat, splice state, acknowledgement,
// removal) and their codec: JSON in one UDP datagram, validated field by field on
// parse (typed errors, never a throw). The protocol logic is node.ts's.
import { fail, ok, type ParseResult } from '../wire/result.js';
import type { SpliceEndpoint, SpliceState, WindowMap } from './splice.js';

/**
 * A client connection whose handshake the splicer is answering, before its splice: the
 * client's SYN and our ISN, so a peer can rebuild the connection (TcpConnection.accept
 * with the same ISN) if the splicer fails before the splice is replicated.
 */
export interface SetupRecord {
  id: number;
  clientIp: number;
  clientPort: number;
  localPort: number;
  /** The client's ISN (its SYN's sequence number) and ours. */
  irs: number;
  iss: number;
  window: number;
  mss: number | undefined;
  ws: number | undefined;
  sack: boolean;
  tsVal: number | undefined;
}

export type ControlMessage =
  | { t: 'hb'; node: number; epoch: number; active: boolean; term?: number }
  | { t: 'setup'; node: number; r: SetupRecord }
  /** `v`: which send of this splice's state (a later update has a higher one); echoed in the ack. */
  | { t: 'splice'; node: number; s: SpliceState; v?: number }
  | { t: 'ack'; node: number; id: number; v?: number }
  | { t: 'remove'; node: number; clientIp: number; clientPort: number; localPort: number }
  /** Several active splicers: every splice the sender held when the receiver came up has been sent and acknowledged. */
  | { t: 'synced'; node: number }
  /**
   * Several active splicers: the sender carries these splices (packets of theirs reached it
   * lately), by client side: [clientIp, clientPort, localPort, ...]. A box holding a copy it
   * does not carry itself keeps it while it hears this (see Splicer.replicasAlive).
   */
  | { t: 'alive'; node: number; c: number[] };

/** Splices one 'alive' message names at most (it stays under CONTROL_MAX_BYTES). */
export const ALIVE_PER_MESSAGE = 40;

export const CONTROL_MAX_BYTES = 1400;
/** Request heads longer than this are not replicated (that splice cannot be re-spliced by the peer). */
export const REQUEST_MAX_CHARS = 512;

interface EndpointWire { ip: number; port: number; mac: number[]; localPort: number }

export function encodeControl(m: ControlMessage): Uint8Array {
  const wire = m.t === 'splice'
    ? { ...m, s: { ...m.s, client: epOut(m.s.client), backend: epOut(m.s.backend) } }
    : m;
  return new TextEncoder().encode(JSON.stringify(wire));
}

function epOut(e: SpliceEndpoint): EndpointWire {
  return { ip: e.ip, port: e.port, mac: [...e.mac], localPort: e.localPort };
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 0xffff;
const isUs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function endpointIn(v: unknown): SpliceEndpoint | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (!isU32(e.ip) || !isPort(e.port) || !isPort(e.localPort)) return undefined;
  if (!Array.isArray(e.mac) || e.mac.length !== 6 || !e.mac.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return undefined;
  return { ip: e.ip, port: e.port, localPort: e.localPort, mac: Uint8Array.from(e.mac as number[]) };
}

function winIn(v: unknown): WindowMap | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const w = v as Record<string, unknown>;
  const okShift = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 14;
  return okShift(w.inShift) && okShift(w.outShift) ? { inShift: w.inShift, outShift: w.outShift } : undefined;
}

function spliceIn(v: unknown): SpliceState | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  const client = endpointIn(s.client);
  const backend = endpointIn(s.backend);
  const winC2B = winIn(s.winC2B);
  const winB2C = winIn(s.winB2C);
  const optU32 = (x: unknown): x is number | undefined => x === undefined || isU32(x);
  if (client === undefined || backend === undefined || winC2B === undefined || winB2C === undefined) return undefined;
  if (!isU32(s.id) || !isU32(s.serviceIp) || typeof s.backendId !== 'string' || s.backendId.length > 64) return undefined;
  if (!isU32(s.seqC2B) || !isU32(s.seqB2C) || !optU32(s.tsC2B) || !optU32(s.tsB2C)) return undefined;
  if ((s.tsC2B === undefined) !== (s.tsB2C === undefined)) return undefined;
  if (typeof s.sackToBackend !== 'boolean' || !optU32(s.finClient) || !optU32(s.finBackend)) return undefined;
  if (typeof s.finClientAcked !== 'boolean' || typeof s.finBackendAcked !== 'boolean' || typeof s.rst !== 'boolean') return undefined;
  if (!isUs(s.lastC2BUs) || !isUs(s.lastB2CUs) || !(s.expiresUs === undefined || isUs(s.expiresUs))) return undefined;
  if (!isUs(s.packetsC2B) || !isUs(s.packetsB2C)) return undefined;
  if (!isU32(s.clientAcked) || !isU32(s.clientNxt) || !isU32(s.b2cNxt) || !optU32(s.clientTsVal) || !optU32(s.tsToClient) || !isU32(s.respStart)) return undefined;
  if (!optU32(s.respHeadLen) || !(s.respBodyLen === undefined || isUs(s.respBodyLen))) return undefined;
  if (!(s.request === undefined || (typeof s.request === 'string' && s.request.length <= REQUEST_MAX_CHARS))) return undefined;
  if (typeof s.resplicing !== 'boolean' || typeof s.clientOpts !== 'object' || s.clientOpts === null) return undefined;
  if (!optU32(s.reqEnd) || !optU32(s.respEnd) || !(s.headOnly === undefined || typeof s.headOnly === 'boolean')
    || !(s.pinned === undefined || typeof s.pinned === 'boolean') || !(s.clientHoles === undefined || typeof s.clientHoles === 'boolean')
    || !(s.split === undefined || typeof s.split === 'boolean') || !(s.capAcks === undefined || typeof s.capAcks === 'boolean') || !optU32(s.capUntil) || !optU32(s.clientSackHigh)) return undefined;
  const co = s.clientOpts as Record<string, unknown>;
  if (!isPort(co.mss) || typeof co.ws !== 'boolean' || typeof co.sack !== 'boolean' || typeof co.ts !== 'boolean') return undefined;
  return {
    id: s.id, serviceIp: s.serviceIp, client, backend, backendId: s.backendId, seqC2B: s.seqC2B, seqB2C: s.seqB2C,
    tsC2B: s.tsC2B, tsB2C: s.tsB2C, winC2B, winB2C, sackToBackend: s.sackToBackend,
    finClient: s.finClient, finBackend: s.finBackend, finClientAcked: s.finClientAcked, finBackendAcked: s.finBackendAcked,
    rst: s.rst, lastC2BUs: s.lastC2BUs, lastB2CUs: s.lastB2CUs, expiresUs: s.expiresUs, packetsC2B: s.packetsC2B, packetsB2C: s.packetsB2C,
    clientAcked: s.clientAcked, clientNxt: s.clientNxt, b2cNxt: s.b2cNxt, clientTsVal: s.clientTsVal, tsToClient: s.tsToClient, respStart: s.respStart,
    respHeadLen: s.respHeadLen, respBodyLen: s.respBodyLen, request: s.request,
    clientOpts: { mss: co.mss, ws: co.ws, sack: co.sack, ts: co.ts }, resplicing: s.resplicing,
    ...(s.reqEnd !== undefined ? { reqEnd: s.reqEnd } : {}), ...(s.respEnd !== undefined ? { respEnd: s.respEnd } : {}),
    ...(s.headOnly !== undefined ? { headOnly: s.headOnly } : {}), ...(s.pinned !== undefined ? { pinned: s.pinned } : {}),
    ...(s.clientHoles !== undefined ? { clientHoles: s.clientHoles } : {}),
    ...(s.split !== undefined ? { split: s.split } : {}),
    ...(s.capAcks !== undefined ? { capAcks: s.capAcks } : {}),
    ...(s.capUntil !== undefined ? { capUntil: s.capUntil } : {}),
    ...(s.clientSackHigh !== undefined ? { clientSackHigh: s.clientSackHigh } : {}),
  };
}

function setupIn(v: unknown): SetupRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (!isU32(r.id) || !isU32(r.clientIp) || !isPort(r.clientPort) || !isPort(r.localPort) || !isU32(r.irs) || !isU32(r.iss)) return undefined;
  if (!(typeof r.window === 'number' && Number.isInteger(r.window) && r.window >= 0 && r.window <= 0xffff)) return undefined;
  if (!(r.mss === undefined || isPort(r.mss)) || !(r.ws === undefined || (Number.isInteger(r.ws) && (r.ws as number) >= 0 && (r.ws as number) <= 14))) return undefined;
  if (typeof r.sack !== 'boolean' || !(r.tsVal === undefined || isU32(r.tsVal))) return undefined;
  return {
    id: r.id, clientIp: r.clientIp, clientPort: r.clientPort, localPort: r.localPort, irs: r.irs, iss: r.iss, window: r.window,
    mss: r.mss as number | undefined, ws: r.ws as number | undefined, sack: r.sack, tsVal: r.tsVal as number | undefined,
  };
}

export function parseControl(bytes: Uint8Array): ParseResult<ControlMessage> {
  if (bytes.length > CONTROL_MAX_BYTES) return fail('malformed', 'craft-control', `${bytes.length} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return fail('malformed', 'craft-control', 'not JSON');
  }
  if (typeof v !== 'object' || v === null) return fail('malformed', 'craft-control', 'not an object');
  const m = v as Record<string, unknown>;
  if (!isU32(m.node)) return fail('malformed', 'craft-control', 'node');
  switch (m.t) {
    case 'hb':
      if (!isU32(m.epoch) || typeof m.active !== 'boolean') return fail('malformed', 'craft-control', 'heartbeat');
      if (!(m.term === undefined || isU32(m.term))) return fail('malformed', 'craft-control', 'heartbeat term');
      return ok({ t: 'hb', node: m.node, epoch: m.epoch, active: m.active, ...(m.term !== undefined ? { term: m.term } : {}) });
    case 'splice': {
      const s = spliceIn(m.s);
      if (s === undefined) return fail('malformed', 'craft-control', 'splice state');
      if (!(m.v === undefined || isU32(m.v))) return fail('malformed', 'craft-control', 'splice version');
      return ok({ t: 'splice', node: m.node, s, ...(m.v !== undefined ? { v: m.v } : {}) });
    }
    case 'setup': {
      const r = setupIn(m.r);
      return r === undefined ? fail('malformed', 'craft-control', 'setup') : ok({ t: 'setup', node: m.node, r });
    }
    case 'ack':
      if (!isU32(m.id) || !(m.v === undefined || isU32(m.v))) return fail('malformed', 'craft-control', 'ack');
      return ok({ t: 'ack', node: m.node, id: m.id, ...(m.v !== undefined ? { v: m.v } : {}) });
    case 'remove':
      if (!isU32(m.clientIp) || !isPort(m.clientPort) || !isPort(m.localPort)) return fail('malformed', 'craft-control', 'remove');
      return ok({ t: 'remove', node: m.node, clientIp: m.clientIp, clientPort: m.clientPort, localPort: m.localPort });
    case 'synced':
      return ok({ t: 'synced', node: m.node });
    case 'alive': {
      const c = m.c;
      if (!Array.isArray(c) || c.length % 3 !== 0 || c.length > 3 * ALIVE_PER_MESSAGE) return fail('malformed', 'craft-control', 'alive');
      for (let i = 0; i < c.length; i += 3) {
        if (!isU32(c[i]) || !isPort(c[i + 1]) || !isPort(c[i + 2])) return fail('malformed', 'craft-control', 'alive entry');
      }
      return ok({ t: 'alive', node: m.node, c: c as number[] });
    }
    default:
      return fail('unsupported', 'craft-control', 'message type');
  }
}
