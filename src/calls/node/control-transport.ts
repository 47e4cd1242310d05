// The real-socket carriers of H.248 for the drivers: UDP (one datagram per message,
// RFC 3525 Annex D.1) or TCP with TPKT framing (Annex D.2). Either way the engines see
// whole messages from a peer named "ip:port" and hand back messages for a peer; only
// this file knows sockets. Default port 2944: IANA registers megaco-h248 text on
// 2944 for both UDP and TCP (2945 is the binary encoding).
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { TpktDecoder, encodeTpkt } from '../h248/tpkt.js';
import { splitAddr } from './driver-util.js';

export type TransportKind = 'udp' | 'tcp';
export const H248_TEXT_PORT = 2944;

export interface ControlTransport {
  /** "ip:port" we listen on (controllers) or send from (gateways over UDP). */
  readonly addr: string;
  send(peer: string, bytes: Uint8Array): void;
  close(): void;
  /** Counters for the report and logs. */
  readonly counters: { framingErrors: number; connectionsLost: number; unsendable: number };
}

export type OnMessage = (peer: string, bytes: Uint8Array) => void;

/** Bound on bytes queued to one TCP connection before it is given up (a stuck peer). */
const TCP_QUEUE_MAX_BYTES = 8 * 1024 * 1024;

class UdpTransport implements ControlTransport {
  readonly counters = { framingErrors: 0, connectionsLost: 0, unsendable: 0 };
  constructor(private readonly sock: UdpSocket, readonly addr: string) {}
  send(peer: string, bytes: Uint8Array): void { const { ip, port } = splitAddr(peer); this.sock.send(bytes, port, ip); }
  close(): void { this.sock.close(); }
}

export async function udpTransport(ip: string, port: number, onMessage: OnMessage, onError: (e: Error) => void): Promise<ControlTransport> {
  const sock = createSocket('udp4');
  await new Promise<void>((res, rej) => { sock.once('error', rej); sock.bind(port, ip, () => { sock.off('error', rej); res(); }); });
  sock.on('message', (msg, rinfo) => onMessage(`${rinfo.address}:${rinfo.port}`, new Uint8Array(msg)));
  sock.on('error', onError);
  return new UdpTransport(sock, `${ip}:${sock.address().port}`);
}

interface Conn { sock: Socket; decoder: TpktDecoder }

/** One TCP connection's framing: TPKT out, TPKT in; a framing error closes it (the stream cannot resynchronise). */
function attach(sock: Socket, peer: string, onMessage: OnMessage, counters: ControlTransport['counters'], onGone: () => void): Conn {
  const c: Conn = { sock, decoder: new TpktDecoder() };
  sock.setNoDelay(true);
  sock.on('data', (chunk: Buffer) => {
    const r = c.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    if (!r.ok) { counters.framingErrors++; sock.destroy(); return; }
    for (const m of r.messages) onMessage(peer, m);
  });
  sock.on('error', () => { /* 'close' follows */ });
  sock.on('close', () => { counters.connectionsLost++; onGone(); });
  return c;
}

function write(c: Conn, bytes: Uint8Array, counters: ControlTransport['counters']): void {
  if (c.sock.writableLength > TCP_QUEUE_MAX_BYTES) { counters.unsendable++; c.sock.destroy(); return; }
  let framed: Uint8Array;
  try { framed = encodeTpkt(bytes); } catch { counters.unsendable++; return; } // larger than a TPKT frame: our bug, counted
  c.sock.write(framed);
}

/** Controller side: listen; each gateway's connection is a peer named by its remote address. */
class TcpServerTransport implements ControlTransport {
  readonly counters = { framingErrors: 0, connectionsLost: 0, unsendable: 0 };
  readonly conns = new Map<string, Conn>();
  constructor(private readonly server: Server, readonly addr: string) {}
  send(peer: string, bytes: Uint8Array): void {
    const c = this.conns.get(peer);
    if (!c) { this.counters.unsendable++; return; } // the gateway's connection is gone; it reconnects to whoever controls it
    write(c, bytes, this.counters);
  }
  close(): void { for (const c of this.conns.values()) c.sock.destroy(); this.server.close(); }
}

export async function tcpServerTransport(ip: string, port: number, onMessage: OnMessage, onError: (e: Error) => void): Promise<ControlTransport> {
  let t: TcpServerTransport | undefined;
  const server = createServer((sock) => {
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    if (!t) { sock.destroy(); return; }
    const tt = t;
    tt.conns.set(peer, attach(sock, peer, onMessage, tt.counters, () => { if (tt.conns.get(peer)?.sock === sock) tt.conns.delete(peer); }));
  });
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(port, ip, () => { server.off('error', rej); res(); }); });
  server.on('error', onError);
  const a = server.address();
  t = new TcpServerTransport(server, `${ip}:${typeof a === 'object' && a ? a.port : port}`);
  return t;
}

/** Gateway side: one connection per controller, opened on first use and again after a loss. */
class TcpClientTransport implements ControlTransport {
  readonly counters = { framingErrors: 0, connectionsLost: 0, unsendable: 0 };
  private readonly conns = new Map<string, Conn>();
  constructor(readonly addr: string, private readonly localIp: string, private readonly onMessage: OnMessage) {}
  send(peer: string, bytes: Uint8Array): void {
    let c = this.conns.get(peer);
    if (!c) {
      const { ip, port } = splitAddr(peer);
      const sock = createConnection({ host: ip, port, localAddress: this.localIp });
      c = attach(sock, peer, this.onMessage, this.counters, () => { if (this.conns.get(peer)?.sock === sock) this.conns.delete(peer); });
      this.conns.set(peer, c);
    }
    // Writes before the connection is up are queued by the socket; a refused connection
    // closes it and the engine's transaction timer reports the controller silent.
    write(c, bytes, this.counters);
  }
  close(): void { for (const c of this.conns.values()) c.sock.destroy(); }
}

export function tcpClientTransport(localIp: string, onMessage: OnMessage): ControlTransport {
  return new TcpClientTransport(`${localIp}:0`, localIp, onMessage);
}
