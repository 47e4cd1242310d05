// Builds a Host of our stack with TcpConnection as its TCP engine, for processes
// that put our stack on a real network (the lab's server and client roles). The
// Host and TCP themselves live in src/stack and src/tcp; this file only wires them.
import { randomBytes } from 'node:crypto';
import { Host } from '../stack/host.js';
import { TcpConnection, type TcpConfig } from '../tcp/connection.js';
import { SeededRng } from '../util/rng.js';
import { tcpConnectionFactory } from '../stack/tcp-engine.js';

export interface StackHostOptions {
  name: string;
  mac: string;
  ip: string;
  prefixLen: number;
  tcp?: Partial<TcpConfig>;
  /** Printed by the caller so a run can be related to its ISNs and ports. */
  seed: number;
  /** The driver segments for us (TAP offloads): TCP may hand it segments up to 64 KB. */
  offload?: boolean;
}

/** The IP MTU of our stack's lab interfaces, and the MSS that follows from it. */
export const STACK_MTU = 1500;
export const STACK_MSS = STACK_MTU - 40;
/** Payload bytes per offloaded TCP segment at most (the IPv4 packet stays below 64 KB). */
export const TSO_MAX_BYTES = 64_000;
/** The largest IPv4 packet with one TCP segment, with offloads. */
export const OFFLOAD_IP_MAX_BYTES = 65535;

export function makeStackHost(o: StackHostOptions): Host<TcpConnection> {
  return new Host<TcpConnection>({
    name: o.name, mac: o.mac, ip: o.ip, prefixLen: o.prefixLen,
    rng: new SeededRng(o.seed),
    // A real network: the ISN secret comes from the OS, not from the replayable seed.
    isnKey: randomBytes(16),
    mtu: STACK_MTU,
    ...(o.offload ? { tcpOffloadMaxBytes: OFFLOAD_IP_MAX_BYTES } : {}),
    tcpFactory: tcpConnectionFactory({ mss: STACK_MSS, ...o.tcp, ...(o.offload ? { tsoMaxBytes: TSO_MAX_BYTES } : {}) }),
  });
}
