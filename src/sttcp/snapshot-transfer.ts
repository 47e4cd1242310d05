// Moving live connections to a joining backup (DESIGN §ST-TCP 8): the per-connection
// record (what a shadow needs to continue from the primary's state), its versioned,
// validated encoding, and the chunked transfer over the control channel (bounded
// window, cumulative acknowledgement, retransmission). Sans-IO; node.ts sends and receives.
import type { FourTuple } from '../tcp/four-tuple.js';
import { fail, ok, type ParseResult } from '../wire/result.js';
import { CONTROL_MAX_PAYLOAD } from './control.js';
import { decodeState, encodeState, type AppState } from './app-state.js';

export const SNAPSHOT_VERSION = 1;
/** Chunks in one transfer at most (about 90 MB of records). */
export const SNAPSHOT_CHUNKS_MAX = 65_536;
/** Chunks sent and not yet acknowledged at most. */
const WINDOW_CHUNKS = 64;

/** One connection as the primary sees it when the transfer starts. */
export interface ConnRecord {
  tuple: FourTuple;
  irs: number;
  iss: number;
  /** The negotiated options, as the client's SYN must have offered them. */
  syn: { mss: number; windowScale: number; sack: boolean; timestamps: boolean };
  /** 'handshake': SYN-RECEIVED, nothing else is known yet. */
  phase: 'handshake' | 'open';
  /** Next client byte the application has not read (+1 once it has read the FIN). */
  rcvNxt: number;
  finReceived: boolean;
  /** The highest ACK the primary has sent: client bytes it declared safe. */
  acked: number;
  /** The client's FIN, when received but not yet read by the application. */
  peerFinSeq: number | null;
  /** The client's last acknowledgement, and the application's output from there on. */
  sndUna: number;
  /** Sequence number of the first byte of `out` (sndUna, or the FIN's when the FIN is acknowledged). */
  outStart: number;
  out: Uint8Array;
  /** The application has ended its output (our FIN follows `out`). */
  appFin: boolean;
  /** Output the application will still write that the client already acknowledged (skipped, not sent). */
  skipOut: number;
  /** The client's window (raw, unscaled) and the segment it came from (RFC 9293 §3.10.7.4). */
  wndRaw: number;
  wl1: number;
  wl2: number;
  /** RFC 7323: the client's latest TSval, and the primary's TSval clock now. */
  tsRecent: number | null;
  tsVal: number | null;
  /** The application's state (AppState), null when the connection is still in its handshake. */
  app: AppState;
}

/** A service's shared application state (SharedAppState) in a snapshot, by port. */
export interface SharedRecord { port: number; state: AppState }

/** What a joining backup receives: the connections' records and the services' shared state, taken in one instant. */
export interface JoinSnapshot { records: ConnRecord[]; shared: SharedRecord[] }

/** Records → chunk payloads. Throws RangeError beyond SNAPSHOT_CHUNKS_MAX or for an app state that is not plain data (caller reports). */
export function encodeRecords(records: ConnRecord[], shared: SharedRecord[] = []): Uint8Array[] {
  const plain = records.map((r) => ({ ...r, tuple: { ...r.tuple }, syn: { ...r.syn } }) as unknown as AppState);
  const top: { [k: string]: AppState } = { v: SNAPSHOT_VERSION, records: plain };
  if (shared.length > 0) top.shared = shared.map((x) => ({ port: x.port, state: x.state }));
  const bytes = new TextEncoder().encode(encodeState(top));
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < bytes.length || chunks.length === 0; off += CONTROL_MAX_PAYLOAD) {
    chunks.push(bytes.subarray(off, Math.min(bytes.length, off + CONTROL_MAX_PAYLOAD)));
  }
  if (chunks.length > SNAPSHOT_CHUNKS_MAX) throw new RangeError(`snapshot needs ${chunks.length} chunks`);
  return chunks;
}

/** The records alone (see decodeSnapshot). */
export function decodeRecords(bytes: Uint8Array): ParseResult<ConnRecord[]> {
  const r = decodeSnapshot(bytes);
  return r.ok ? ok(r.value.records) : r;
}

/** Validates every field; a record that does not check out fails the whole snapshot. */
export function decodeSnapshot(bytes: Uint8Array): ParseResult<JoinSnapshot> {
  let text: string;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { return fail('malformed', 'sttcp-snapshot', 'not UTF-8'); }
  const st = decodeState(text);
  if (!st.ok) return st;
  const top = obj(st.value);
  if (!top) return fail('malformed', 'sttcp-snapshot', 'top level');
  if (top.v !== SNAPSHOT_VERSION) return fail('unsupported', 'sttcp-snapshot', `version ${String(top.v)}`);
  if (!Array.isArray(top.records)) return fail('malformed', 'sttcp-snapshot', 'records');
  const out: ConnRecord[] = [];
  for (const [i, raw] of top.records.entries()) {
    const r = record(raw);
    if (!r) return fail('malformed', 'sttcp-snapshot', `record ${i}`);
    out.push(r);
  }
  const shared: SharedRecord[] = [];
  if (top.shared !== undefined) {
    if (!Array.isArray(top.shared)) return fail('malformed', 'sttcp-snapshot', 'shared');
    for (const [i, raw] of top.shared.entries()) {
      const o = obj(raw);
      if (!o || !isU16(o.port) || o.state === undefined || shared.some((x) => x.port === o.port)) return fail('malformed', 'sttcp-snapshot', `shared ${i}`);
      shared.push({ port: o.port, state: o.state });
    }
  }
  return ok({ records: out, shared });
}

function obj(s: AppState | undefined): { [k: string]: AppState } | undefined {
  return s !== null && s !== undefined && typeof s === 'object' && !Array.isArray(s) && !(s instanceof Uint8Array) ? s : undefined;
}
const isU32 = (x: AppState | undefined): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
const isU16 = (x: AppState | undefined): x is number => isU32(x) && x <= 0xffff;
const isU32OrNull = (x: AppState | undefined): x is number | null => x === null || isU32(x);

function record(raw: AppState): ConnRecord | undefined {
  const o = obj(raw);
  const t = obj(o?.tuple);
  const syn = obj(o?.syn);
  if (!o || !t || !syn) return undefined;
  if (!isU32(t.localIp) || !isU16(t.localPort) || !isU32(t.remoteIp) || !isU16(t.remotePort)) return undefined;
  if (!isU16(syn.mss) || typeof syn.windowScale !== 'number' || !Number.isInteger(syn.windowScale)
    || syn.windowScale < -1 || syn.windowScale > 14 || typeof syn.sack !== 'boolean' || typeof syn.timestamps !== 'boolean') return undefined;
  if (o.phase !== 'handshake' && o.phase !== 'open') return undefined;
  if (!isU32(o.irs) || !isU32(o.iss) || !isU32(o.rcvNxt) || !isU32(o.acked) || !isU32(o.sndUna) || !isU32(o.outStart) || !isU32(o.skipOut) || !isU16(o.wndRaw)
    || !isU32(o.wl1) || !isU32(o.wl2) || !isU32OrNull(o.peerFinSeq) || !isU32OrNull(o.tsRecent) || !isU32OrNull(o.tsVal)) return undefined;
  if (typeof o.finReceived !== 'boolean' || typeof o.appFin !== 'boolean' || !(o.out instanceof Uint8Array) || o.app === undefined) return undefined;
  return {
    tuple: { localIp: t.localIp, localPort: t.localPort, remoteIp: t.remoteIp, remotePort: t.remotePort },
    irs: o.irs, iss: o.iss,
    syn: { mss: syn.mss, windowScale: syn.windowScale, sack: syn.sack, timestamps: syn.timestamps },
    phase: o.phase, rcvNxt: o.rcvNxt, acked: o.acked, finReceived: o.finReceived, peerFinSeq: o.peerFinSeq,
    sndUna: o.sndUna, outStart: o.outStart, out: o.out, appFin: o.appFin, skipOut: o.skipOut, wndRaw: o.wndRaw, wl1: o.wl1, wl2: o.wl2,
    tsRecent: o.tsRecent, tsVal: o.tsVal, app: o.app,
  };
}

/**
 * The primary's side of one transfer: keeps at most WINDOW_CHUNKS unacknowledged chunks
 * in flight and, when no acknowledgement advances for rtoUs, sends the window again.
 */
export class SnapshotSender {
  private acked = 0;
  private sentTo = 0;
  /** Highest chunk index sent so far + 1 (what lies below it and is sent again is a retransmission). */
  private sentMax = 0;
  private rtxAtUs: number;
  lastProgressUs: number;
  retransmits = 0;

  constructor(readonly transferId: number, private readonly chunks: Uint8Array[], private readonly rtoUs: number, nowUs: number) {
    this.rtxAtUs = nowUs + rtoUs;
    this.lastProgressUs = nowUs;
  }

  get count(): number { return this.chunks.length; }
  done(): boolean { return this.acked >= this.chunks.length; }
  ackedChunks(): number { return this.acked; }

  onAck(next: number, nowUs: number): void {
    if (next <= this.acked || next > this.sentTo) return;
    this.acked = next;
    this.lastProgressUs = nowUs;
    this.rtxAtUs = nowUs + this.rtoUs;
  }

  /** Chunks (index, payload) to send now. */
  poll(nowUs: number): Array<{ index: number; data: Uint8Array; retransmit: boolean }> {
    const out: Array<{ index: number; data: Uint8Array; retransmit: boolean }> = [];
    if (this.done()) return out;
    if (nowUs >= this.rtxAtUs) {
      // No progress for an RTO: the window again (go-back-N from the first unacknowledged chunk).
      this.retransmits++;
      this.sentTo = this.acked;
      this.rtxAtUs = nowUs + this.rtoUs;
    }
    const limit = Math.min(this.chunks.length, this.acked + WINDOW_CHUNKS);
    for (; this.sentTo < limit; this.sentTo++) out.push({ index: this.sentTo, data: this.chunks[this.sentTo]!, retransmit: this.sentTo < this.sentMax });
    this.sentMax = Math.max(this.sentMax, this.sentTo);
    return out;
  }

  deadline(): number | undefined { return this.done() ? undefined : this.rtxAtUs; }
}

/** The joining backup's side: collects chunks of the newest transfer in order (out-of-order ones within the window are kept). */
export class SnapshotReceiver {
  transferId: number | undefined;
  private count = 0;
  private parts: Array<Uint8Array | undefined> = [];
  private next = 0;
  private completed = false;

  /**
   * A chunk arrived. Returns the cumulative acknowledgement to send, and the complete
   * snapshot bytes the first time the last gap fills; undefined for a chunk of an older
   * transfer or an inconsistent one (ignored).
   */
  onChunk(transferId: number, index: number, count: number, data: Uint8Array): { next: number; complete?: Uint8Array } | undefined {
    if (count > SNAPSHOT_CHUNKS_MAX || index >= count) return undefined;
    if (this.transferId === undefined || transferId > this.transferId) {
      this.transferId = transferId;
      this.count = count;
      this.parts = [];
      this.next = 0;
      this.completed = false;
    }
    if (transferId !== this.transferId || count !== this.count) return undefined;
    if (index >= this.next && index < this.next + 2 * WINDOW_CHUNKS && this.parts[index] === undefined) {
      this.parts[index] = data.slice();
      while (this.next < this.count && this.parts[this.next] !== undefined) this.next++;
    }
    if (this.next < this.count || this.completed) return { next: this.next };
    this.completed = true;
    let total = 0;
    for (const p of this.parts) total += p!.length;
    const all = new Uint8Array(total);
    let off = 0;
    for (const p of this.parts) { all.set(p!, off); off += p!.length; }
    this.parts = [];
    return { next: this.next, complete: all };
  }
}
