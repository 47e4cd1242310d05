// ST-TCP control channel between primary and backup: the message model and its
// authenticated wire format (HMAC-SHA256 over header+body, per-sender anti-replay
// window). Sans-IO: bytes in, typed values out; the driver owns the UDP socket.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { fail, ok, type ParseResult } from '../wire/result.js';
import type { FourTuple } from '../tcp/four-tuple.js';

export const CONTROL_MAGIC = 0x5542; // "UB"
export const CONTROL_VERSION = 1;
const HEADER_BYTES = 2 + 1 + 1 + 4 + 4 + 8; // magic, version, type, sender, epoch, seq
const MAC_BYTES = 16; // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to ≥ half)
/** Largest control datagram we emit or accept; fits a 1500-byte MTU with IPv4+UDP headers. */
export const CONTROL_MAX_BYTES = 1472;
/** Largest byte range carried in one RANGE_DATA or SNAPSHOT_CHUNK message. */
export const CONTROL_MAX_PAYLOAD = CONTROL_MAX_BYTES - HEADER_BYTES - MAC_BYTES - 32;
const MAX_ITEMS = 64; // acks per RECV_ACK message

export const MessageType = {
  heartbeat: 1,
  connOpen: 2,
  connClose: 3,
  recvAck: 4,
  rangeRequest: 5,
  rangeData: 6,
  snapshotChunk: 7,
  snapshotAck: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;

export type NodeRole = 'primary' | 'backup' | 'solo';

export interface Heartbeat {
  type: 'heartbeat';
  role: NodeRole;
  /** Number of live connections the sender tracks (a consistency hint for operators). */
  connections: number;
  /**
   * The envelope seq of the newest heartbeat received from the peer (0n if none). The
   * primary renews its lease from the time it *sent* that heartbeat, so a delayed
   * datagram can never stretch the lease past the backup's takeover time.
   */
  echo: bigint;
}
export interface ConnOpen {
  type: 'connOpen';
  tuple: FourTuple;
  /** The primary's initial send sequence number (ISS). */
  iss: number;
  /** The client's initial sequence number (IRS). */
  irs: number;
  mss: number;
  /** Negotiated shift counts; -1 when window scaling is off. */
  sndWscale: number;
  rcvWscale: number;
  sack: boolean;
  timestamps: boolean;
  /**
   * The client's last TSval the primary holds (0 without timestamps): a shadow made from
   * this notice, with the SYN missed on the tap, needs it for PAWS (RFC 7323 §5) — with 0
   * the client's next segment could look older than it and be dropped after a takeover.
   */
  tsRecent: number;
}
export interface ConnClose {
  type: 'connClose';
  tuple: FourTuple;
  reason: 'closed' | 'reset' | 'timeout' | 'aborted';
}
export interface RecvAck {
  type: 'recvAck';
  /** Per connection: the next client byte (sequence number) the backup still lacks. */
  acks: Array<{ tuple: FourTuple; rcvNxt: number }>;
}
export interface RangeRequest {
  type: 'rangeRequest';
  tuple: FourTuple;
  seq: number;
  length: number;
}
export interface RangeData {
  type: 'rangeData';
  tuple: FourTuple;
  seq: number;
  data: Uint8Array;
  /** The client's FIN follows the last byte of `data` (at seq + data.length). */
  fin?: boolean;
}
export interface SnapshotChunk {
  type: 'snapshotChunk';
  /** Identifies one snapshot transfer (a joining backup may get several). */
  transferId: number;
  index: number;
  count: number;
  data: Uint8Array;
}
/** The joining backup's cumulative acknowledgement: it holds chunks [0, next) of the transfer. */
export interface SnapshotAck {
  type: 'snapshotAck';
  transferId: number;
  next: number;
}
export type ControlMessage = Heartbeat | ConnOpen | ConnClose | RecvAck | RangeRequest | RangeData | SnapshotChunk | SnapshotAck;

/** Envelope fields around every message. */
export interface ControlEnvelope {
  /** Sender's node id (stable per host). */
  sender: number;
  /** Sender's incarnation; a restarted node uses a higher epoch, which resets replay state. */
  epoch: number;
  /** Per-sender message counter within an epoch, strictly increasing. */
  seq: bigint;
  message: ControlMessage;
}

const ROLES: NodeRole[] = ['primary', 'backup', 'solo'];
const CLOSE_REASONS: ConnClose['reason'][] = ['closed', 'reset', 'timeout', 'aborted'];

class Writer {
  private buf = new Uint8Array(CONTROL_MAX_BYTES);
  private view = new DataView(this.buf.buffer);
  off = 0;
  u8(v: number): void { this.room(1); this.view.setUint8(this.off, v); this.off += 1; }
  u16(v: number): void { this.room(2); this.view.setUint16(this.off, v); this.off += 2; }
  u32(v: number): void { this.room(4); this.view.setUint32(this.off, v >>> 0); this.off += 4; }
  u64(v: bigint): void { this.room(8); this.view.setBigUint64(this.off, v); this.off += 8; }
  bytes(b: Uint8Array): void { this.u16(b.length); this.room(b.length); this.buf.set(b, this.off); this.off += b.length; }
  tuple(t: FourTuple): void { this.u32(t.localIp); this.u16(t.localPort); this.u32(t.remoteIp); this.u16(t.remotePort); }
  done(): Uint8Array { return this.buf.subarray(0, this.off); }
  private room(n: number): void {
    // Programmer error, not network input: callers must respect CONTROL_MAX_PAYLOAD.
    if (this.off + n > this.buf.length - MAC_BYTES) throw new RangeError('control message exceeds CONTROL_MAX_BYTES');
  }
}

class Reader {
  private view: DataView;
  off = 0;
  constructor(private buf: Uint8Array, private end: number) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  has(n: number): boolean { return this.off + n <= this.end; }
  u8(): number { const v = this.view.getUint8(this.off); this.off += 1; return v; }
  u16(): number { const v = this.view.getUint16(this.off); this.off += 2; return v; }
  u32(): number { const v = this.view.getUint32(this.off); this.off += 4; return v; }
  u64(): bigint { const v = this.view.getBigUint64(this.off); this.off += 8; return v; }
  /** Length-prefixed bytes, or undefined when the length runs past the end. */
  bytes(): Uint8Array | undefined {
    if (!this.has(2)) return undefined;
    const n = this.u16();
    if (!this.has(n)) return undefined;
    const b = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return b;
  }
  tuple(): FourTuple { return { localIp: this.u32(), localPort: this.u16(), remoteIp: this.u32(), remotePort: this.u16() }; }
}

const TUPLE_BYTES = 12;

function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(data).digest().subarray(0, MAC_BYTES);
}

/** Encodes and authenticates one control message. Throws only on programmer error (oversize). */
export function emitControl(env: ControlEnvelope, key: Uint8Array): Uint8Array {
  const w = new Writer();
  w.u16(CONTROL_MAGIC);
  w.u8(CONTROL_VERSION);
  w.u8(MessageType[env.message.type]);
  w.u32(env.sender);
  w.u32(env.epoch);
  w.u64(env.seq);
  const m = env.message;
  switch (m.type) {
    case 'heartbeat': w.u8(ROLES.indexOf(m.role)); w.u32(m.connections); w.u64(m.echo); break;
    case 'connOpen':
      w.tuple(m.tuple); w.u32(m.iss); w.u32(m.irs); w.u16(m.mss);
      w.u8(m.sndWscale & 0xff); w.u8(m.rcvWscale & 0xff);
      w.u8((m.sack ? 1 : 0) | (m.timestamps ? 2 : 0));
      w.u32(m.tsRecent);
      break;
    case 'connClose': w.tuple(m.tuple); w.u8(CLOSE_REASONS.indexOf(m.reason)); break;
    case 'recvAck':
      if (m.acks.length > MAX_ITEMS) throw new RangeError(`recvAck carries at most ${MAX_ITEMS} entries`);
      w.u8(m.acks.length);
      for (const a of m.acks) { w.tuple(a.tuple); w.u32(a.rcvNxt); }
      break;
    case 'rangeRequest': w.tuple(m.tuple); w.u32(m.seq); w.u32(m.length); break;
    case 'rangeData': w.tuple(m.tuple); w.u32(m.seq); w.bytes(m.data); w.u8(m.fin ? 1 : 0); break;
    case 'snapshotChunk': w.u32(m.transferId); w.u32(m.index); w.u32(m.count); w.bytes(m.data); break;
    case 'snapshotAck': w.u32(m.transferId); w.u32(m.next); break;
  }
  const body = w.done();
  const out = new Uint8Array(body.length + MAC_BYTES);
  out.set(body, 0);
  out.set(mac(key, body), body.length);
  return out;
}

/**
 * Verifies and decodes one control datagram. Authentication is checked before any
 * field is trusted; replay is the caller's job (ReplayWindow), since it needs state.
 */
export function parseControl(datagram: Uint8Array, key: Uint8Array): ParseResult<ControlEnvelope> {
  if (datagram.length < HEADER_BYTES + MAC_BYTES) return fail('truncated', 'sttcp-control', `${datagram.length} bytes`);
  if (datagram.length > CONTROL_MAX_BYTES) return fail('malformed', 'sttcp-control', `oversize ${datagram.length}`);
  const bodyEnd = datagram.length - MAC_BYTES;
  const expect = mac(key, datagram.subarray(0, bodyEnd));
  if (!timingSafeEqual(expect, datagram.subarray(bodyEnd))) return fail('bad-checksum', 'sttcp-control', 'HMAC mismatch');
  const r = new Reader(datagram, bodyEnd);
  if (r.u16() !== CONTROL_MAGIC) return fail('malformed', 'sttcp-control', 'bad magic');
  const version = r.u8();
  if (version !== CONTROL_VERSION) return fail('unsupported', 'sttcp-control', `version ${version}`);
  const typeCode = r.u8();
  const sender = r.u32();
  const epoch = r.u32();
  const seq = r.u64();
  const short = (): ParseResult<ControlEnvelope> => fail('truncated', 'sttcp-control', `type ${typeCode} body`);
  let message: ControlMessage;
  switch (typeCode) {
    case MessageType.heartbeat: {
      if (!r.has(13)) return short();
      const role = ROLES[r.u8()];
      if (!role) return fail('malformed', 'sttcp-control', 'role');
      message = { type: 'heartbeat', role, connections: r.u32(), echo: r.u64() };
      break;
    }
    case MessageType.connOpen: {
      if (!r.has(TUPLE_BYTES + 17)) return short();
      const tuple = r.tuple(); const iss = r.u32(); const irs = r.u32(); const mss = r.u16();
      const snd = r.u8(); const rcv = r.u8(); const flags = r.u8(); const tsRecent = r.u32();
      message = {
        type: 'connOpen', tuple, iss, irs, mss,
        sndWscale: snd === 0xff ? -1 : snd, rcvWscale: rcv === 0xff ? -1 : rcv,
        sack: (flags & 1) !== 0, timestamps: (flags & 2) !== 0, tsRecent,
      };
      if ((message.sndWscale > 14) || (message.rcvWscale > 14)) return fail('malformed', 'sttcp-control', 'window scale > 14');
      break;
    }
    case MessageType.connClose: {
      if (!r.has(TUPLE_BYTES + 1)) return short();
      const tuple = r.tuple();
      const reason = CLOSE_REASONS[r.u8()];
      if (!reason) return fail('malformed', 'sttcp-control', 'close reason');
      message = { type: 'connClose', tuple, reason };
      break;
    }
    case MessageType.recvAck: {
      if (!r.has(1)) return short();
      const n = r.u8();
      if (n > MAX_ITEMS) return fail('malformed', 'sttcp-control', `recvAck count ${n}`);
      if (!r.has(n * (TUPLE_BYTES + 4))) return short();
      const acks: RecvAck['acks'] = [];
      for (let i = 0; i < n; i++) acks.push({ tuple: r.tuple(), rcvNxt: r.u32() });
      message = { type: 'recvAck', acks };
      break;
    }
    case MessageType.rangeRequest: {
      if (!r.has(TUPLE_BYTES + 8)) return short();
      message = { type: 'rangeRequest', tuple: r.tuple(), seq: r.u32(), length: r.u32() };
      break;
    }
    case MessageType.rangeData: {
      if (!r.has(TUPLE_BYTES + 4)) return short();
      const tuple = r.tuple(); const seq = r.u32();
      const data = r.bytes();
      if (!data || !r.has(1)) return short();
      const flags = r.u8();
      if (flags > 1) return fail('malformed', 'sttcp-control', 'rangeData flags');
      message = { type: 'rangeData', tuple, seq, data, ...(flags === 1 ? { fin: true } : {}) };
      break;
    }
    case MessageType.snapshotChunk: {
      if (!r.has(12)) return short();
      const transferId = r.u32(); const index = r.u32(); const count = r.u32();
      const data = r.bytes();
      if (!data) return short();
      if (count === 0 || index >= count) return fail('malformed', 'sttcp-control', `chunk ${index}/${count}`);
      message = { type: 'snapshotChunk', transferId, index, count, data };
      break;
    }
    case MessageType.snapshotAck: {
      if (!r.has(8)) return short();
      message = { type: 'snapshotAck', transferId: r.u32(), next: r.u32() };
      break;
    }
    default:
      return fail('unsupported', 'sttcp-control', `message type ${typeCode}`);
  }
  if (r.off !== bodyEnd) return fail('malformed', 'sttcp-control', `${bodyEnd - r.off} trailing bytes`);
  return ok({ sender, epoch, seq, message });
}

/**
 * Anti-replay for one sender (the sliding-window scheme of RFC 4303 §3.4.3, keyed by
 * epoch): a message is accepted once, and only if it is newer than the window's floor.
 */
export class ReplayWindow {
  private epoch = -1;
  private highest = -1n;
  private bitmap = 0n; // bit i set: highest - i already seen
  constructor(private readonly size = 64) {}

  /** Returns true and records the message if it is fresh; false for a replay or stale epoch. */
  accept(epoch: number, seq: bigint): boolean {
    if (epoch < this.epoch) return false;
    if (epoch > this.epoch) { this.epoch = epoch; this.highest = -1n; this.bitmap = 0n; }
    const width = BigInt(this.size);
    if (seq > this.highest) {
      const shift = seq - this.highest;
      this.bitmap = shift >= width ? 1n : ((this.bitmap << shift) | 1n) & ((1n << width) - 1n);
      this.highest = seq;
      return true;
    }
    const back = this.highest - seq;
    if (back >= width) return false;
    const bit = 1n << back;
    if (this.bitmap & bit) return false;
    this.bitmap |= bit;
    return true;
  }
}
