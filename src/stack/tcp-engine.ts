// What the host needs from a TCP connection engine: the sans-IO surface of
// src/tcp/connection.ts (TcpConnection), stated structurally so the demultiplexer
// and its tests do not depend on the engine's internals; plus the default factory.
import type { TcpRepr } from '../wire/tcp.js';
import type { FourTuple } from '../tcp/four-tuple.js';
import type { TcpEvent, TcpStats } from '../tcp/state.js';
import { TcpConnection, type TcpConfig } from '../tcp/connection.js';
import { normalizeConfig } from '../tcp/config.js';

export type { TcpEvent } from '../tcp/state.js';

export interface TcpEngine {
  /** `seg.payload` is a view into the driver's frame, valid only during the call: copy what you keep. */
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
  /** The connection's counters (retransmissions, timeouts, ...), where the engine keeps them. */
  stats?(): TcpStats;
}

/** Creates connections for a host: active open, and passive open from a received SYN. */
export interface TcpEngineFactory<C extends TcpEngine = TcpEngine> {
  connect(tuple: FourTuple, isn: number, nowUs: number): C;
  accept(tuple: FourTuple, syn: TcpRepr, isn: number, nowUs: number): C;
}

/** The default engine: src/tcp/connection.ts with one normalized config for every connection. */
export function tcpConnectionFactory(cfg: Partial<TcpConfig>): TcpEngineFactory<TcpConnection> {
  const c = normalizeConfig(cfg);
  return {
    connect: (tuple, isn, nowUs) => TcpConnection.connect(c, tuple, isn, nowUs),
    accept: (tuple, syn, isn, nowUs) => TcpConnection.accept(c, tuple, syn, isn, nowUs),
  };
}
