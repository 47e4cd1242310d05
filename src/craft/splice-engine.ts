// The TCP engine wrapper the splicer's host drives until a splice (release() makes the
// connection vanish from the host without a segment), and small byte/key helpers shared
// by the splicer's files. No splicing logic here.
import type { TcpEngine, TcpEvent } from '../stack/tcp-engine.js';
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpRepr } from '../wire/tcp.js';

/** A TcpConnection the host drives until the splice; `release()` makes it vanish from the host without a segment. */
export class SpliceEngine implements TcpEngine {
  private released = false;
  private releasedEventSent = false;
  /** TSval of the last segment we sent on this connection (RFC 7323): what the peer may echo. */
  lastTsValSent: number | undefined;
  constructor(readonly conn: TcpConnection) {}
  get state(): string { return this.released ? 'CLOSED' : this.conn.state; }
  isReleased(): boolean { return this.released; }
  release(): void { this.released = true; }
  handleSegment(seg: TcpRepr, nowUs: number): void { if (!this.released) this.conn.handleSegment(seg, nowUs); }
  handleTimeout(nowUs: number): void { if (!this.released) this.conn.handleTimeout(nowUs); }
  pollTransmit(nowUs: number): TcpRepr | undefined {
    if (this.released) return undefined;
    const seg = this.conn.pollTransmit(nowUs);
    if (seg?.options.timestamp !== undefined) this.lastTsValSent = seg.options.timestamp.value;
    return seg;
  }
  pollDeadline(): number | undefined { return this.released ? undefined : this.conn.pollDeadline(); }
  pollEvent(): TcpEvent | undefined {
    if (!this.released) return this.conn.pollEvent();
    if (this.releasedEventSent) return undefined;
    this.releasedEventSent = true;
    return { type: 'closed', reason: 'closed' };
  }
  send(data: Uint8Array): number { return this.released ? 0 : this.conn.send(data); }
  sendSpace(): number { return this.released ? 0 : this.conn.sendSpace(); }
  read(maxBytes?: number): Uint8Array { return this.released ? new Uint8Array(0) : this.conn.read(maxBytes); }
  readableBytes(): number { return this.released ? 0 : this.conn.readableBytes(); }
  close(): void { if (!this.released) this.conn.close(); }
  abort(): void { if (!this.released) this.conn.abort(); }
}

/** Where a classified frame's headers are, and its table key ("srcIp:srcPort:dstPort"). */
export interface FrameKey { key: string; srcIp: number; ipOff: number; tcpOff: number; tcpEnd: number }

/** Table key of the packets a peer sends us: its address and port, and our port. */
export function keyOf(srcIp: number, srcPort: number, dstPort: number): string {
  return `${srcIp >>> 0}:${srcPort}:${dstPort}`;
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
