// What the host needs from a TCP connection engine: the sans-IO surface of
// src/tcp/connection.ts (TcpConnection), stated structurally so the demultiplexer
// and its tests do not depend on the engine's internals. No implementation here.
import type { TcpRepr } from '../wire/tcp.js';
import type { FourTuple } from '../tcp/four-tuple.js';
import type { CloseReason } from './app.js';

export type TcpEvent =
  | { type: 'established' }
  | { type: 'readable' }
  | { type: 'writable' }
  | { type: 'peer-fin' }
  | { type: 'closed'; reason: CloseReason };

export interface TcpEngine {
  handleSegment(seg: TcpRepr, nowUs: number): void;
  handleTimeout(nowUs: number): void;
  pollTransmit(nowUs: number): TcpRepr | undefined;
  pollDeadline(): number | undefined;
  pollEvent(): TcpEvent | undefined;
  send(data: Uint8Array): number;
  sendSpace(): number;
  read(maxBytes?: number): Uint8Array;
  readableBytes(): number;
  close(): void;
  abort(): void;
  readonly state: string;
}

/** Creates connections for a host: active open, and passive open from a received SYN. */
export interface TcpEngineFactory<C extends TcpEngine = TcpEngine> {
  connect(tuple: FourTuple, isn: number, nowUs: number): C;
  accept(tuple: FourTuple, syn: TcpRepr, isn: number, nowUs: number): C;
}
