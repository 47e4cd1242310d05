// TcpSnapshot: a connection's complete state as plain data (numbers, strings, booleans,
// arrays, Uint8Array), and the conversion Tcb <-> snapshot. Timers are absolute deadlines
// in the same µs clock the connection is driven with. ST-TCP and CRAFT build on this.

import type { TcpRepr } from '../wire/tcp.js';
import type { CongestionState } from './congestion/congestion-control.js';
import { congestionByName } from './congestion/index.js';
import type { TcpConfig } from './config.js';
import { normalizeConfig } from './config.js';
import type { FourTuple } from './four-tuple.js';
import type { ReassemblySnapshot } from './reassembly.js';
import { Reassembly } from './reassembly.js';
import type { RttSnapshot } from './rtt.js';
import { RttEstimator } from './rtt.js';
import type { SackScoreboardSnapshot } from './sack-scoreboard.js';
import { SackScoreboard } from './sack-scoreboard.js';
import type { SendBufferSnapshot } from './send-buffer.js';
import { SendBuffer } from './send-buffer.js';
import type { TcpEvent, TcpStats } from './state.js';
import type { TcbVars } from './tcb.js';
import { Tcb, TCB_VAR_KEYS } from './tcb.js';

export const TCP_SNAPSHOT_VERSION = 1;

/** TcpConfig with the congestion factory replaced by its algorithm name. */
export type TcpConfigData = Omit<TcpConfig, 'congestion'> & { congestion: string };

export interface TcpSnapshot {
  version: typeof TCP_SNAPSHOT_VERSION;
  config: TcpConfigData;
  tuple: FourTuple;
  /** Every scalar of the TCB (sequence variables, flags, timer deadlines, counters of the state machine). */
  vars: TcbVars;
  sendBuffer: SendBufferSnapshot;
  reassembly: ReassemblySnapshot;
  rtt: RttSnapshot;
  congestion: { name: string; state: CongestionState };
  scoreboard: SackScoreboardSnapshot;
  /** In-order received bytes not yet read, oldest first. */
  rcvQueue: Uint8Array[];
  /** Control segments (RSTs, ...) queued and not yet polled. */
  ctlQueue: TcpRepr[];
  /** Events not yet polled. */
  events: TcpEvent[];
  stats: TcpStats;
}

export function snapshotOf(t: Tcb): TcpSnapshot {
  const { congestion, ...rest } = t.cfg;
  void congestion;
  const s: TcpSnapshot = {
    version: TCP_SNAPSHOT_VERSION,
    config: { ...rest, congestion: t.cc.name },
    tuple: { ...t.tuple },
    vars: t.vars(),
    sendBuffer: t.sendBuffer.snapshot(),
    reassembly: t.reassembly.snapshot(),
    rtt: t.rtt.snapshot(),
    congestion: { name: t.cc.name, state: t.cc.snapshot() },
    scoreboard: t.scoreboard.snapshot(),
    rcvQueue: t.rcvQueue,
    ctlQueue: t.ctlQueue,
    events: t.events,
    stats: t.stats,
  };
  // One deep copy: the snapshot shares nothing with the live connection.
  return structuredClone(s);
}

/**
 * A TCB from a snapshot. `override` replaces configuration fields (e.g. a congestion
 * factory that is not registered by name); the snapshot's buffers keep their capacities.
 */
export function tcbFromSnapshot(snap: TcpSnapshot, override?: Partial<TcpConfig>): Tcb {
  if (snap.version !== TCP_SNAPSHOT_VERSION) throw new Error(`TcpSnapshot: unsupported version ${String(snap.version)}`);
  const s = structuredClone(snap);
  const factory = override?.congestion ?? congestionByName(s.congestion.name);
  if (factory === undefined) throw new Error(`TcpSnapshot: unknown congestion control '${s.congestion.name}'`);
  const { congestion, ...cfgData } = s.config;
  void congestion;
  const cfg = normalizeConfig({ ...cfgData, ...(override ?? {}), congestion: factory });
  const vars: Record<string, unknown> = {};
  for (const k of Object.keys(TCB_VAR_KEYS)) vars[k] = (s.vars as unknown as Record<string, unknown>)[k];
  const t = new Tcb(cfg, s.tuple, vars as unknown as TcbVars);
  t.sendBuffer = SendBuffer.restore(s.sendBuffer);
  t.reassembly = Reassembly.restore(s.reassembly);
  t.rtt = RttEstimator.restore(s.rtt);
  t.cc.restore(s.congestion.state);
  t.scoreboard = SackScoreboard.restore(s.scoreboard);
  t.rcvQueue = s.rcvQueue;
  t.ctlQueue = s.ctlQueue;
  t.events = s.events;
  t.stats = s.stats;
  return t;
}
