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
}

export function makeStackHost(o: StackHostOptions): Host<TcpConnection> {
  return new Host<TcpConnection>({
    name: o.name, mac: o.mac, ip: o.ip, prefixLen: o.prefixLen,
    rng: new SeededRng(o.seed),
    // A real network: the ISN secret comes from the OS, not from the replayable seed.
    isnKey: randomBytes(16),
    tcpFactory: tcpConnectionFactory(o.tcp ?? {}),
  });
}
