// The process the `craft` lab starts in each splicer namespace: a CRAFT splicer
// (src/craft) on a TAP device, real time. Alone ('solo') it is a bare Splicer at the
// service address; in a pair it is a CraftNode ('active' or 'standby') that replicates
// splice state to its peer and takes the service address over when the peer falls
// silent (after fencing it: the lab's power switch). Its SIGKILL is the crash of that
// splicer. Logs one JSON line per event.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TapDevice } from '../drivers/tap/tap-device.js';
import { TapDriver } from '../drivers/tap/tap-driver.js';
import { CraftNode } from '../craft/node.js';
import { SharedSplicerNode } from '../craft/shared-node.js';
import { Splicer, type SplicerConfig } from '../craft/splicer.js';
import type { SpliceState } from '../craft/splice.js';
import type { FrameEndpoint } from '../stack/endpoint.js';
import { formatIpv4 } from '../wire/addr.js';
import { SeededRng } from '../util/rng.js';

export interface CraftHostConfig {
  /** 'shared': one of several active splicers (SharedSplicerNode), reached by ECMP routes to each one's own address. */
  role: 'solo' | 'active' | 'standby' | 'shared';
  nodeId: number;
  tap: string;
  ownIp: string;
  ownMac: string;
  peerIp: string;
  serviceIp: string;
  serviceMac: string;
  prefixLen: number;
  port: number;
  backends: Array<{ id: string; ip: string; port: number }>;
  seed: number;
  heartbeatUs: number;
  deadAfterUs: number;
  /** File the lab writes the peer splicer's pid into: the target of this splicer's fence. */
  peerPidFile?: string;
  /** File holding the pair's control-channel key in hex; without it the channel is unauthenticated. */
  keyFile?: string;
  /** 'shared': the other splicers' own addresses, and the file holding each one's pid (its fence). */
  peers?: string[];
  peerPidFiles?: Record<string, string>;
  /** 'shared': the ephemeral ports of this splicer's back-end connections (back ends route replies to them here). */
  ephemeralPorts?: [number, number];
}

/**
 * The lab's power switch (STONITH): before a standby takes the service address over, it
 * SIGKILLs the peer's process, so a peer that only stalled (a busy machine) cannot go on
 * serving beside it. True once the peer is certainly gone.
 */
export function fenceCraftPeer(peerPidFile: string | undefined): boolean {
  if (peerPidFile === undefined) return false;
  let pid: number;
  try { pid = Number(readFileSync(peerPidFile, 'utf8').trim()); } catch { return false; }
  if (!Number.isInteger(pid) || pid <= 1) return false;
  let cmd = '';
  try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return true; }       // already gone
  if (!cmd.includes('run-craft')) return true;                                              // pid reused
  try { process.kill(pid, 'SIGKILL'); } catch (e) { return (e as NodeJS.ErrnoException).code === 'ESRCH'; }
  return true;
}

function log(o: Record<string, unknown>): void {
  // Monotonic stamps (CLOCK_MONOTONIC, as python's time.monotonic_ns): the bench relates events to client receive times.
  console.log(JSON.stringify({ monoNs: process.hrtime.bigint().toString(), ...o }));
}

/** What a capture check needs to relate the two sides of a splice. */
function spliceLine(sp: Readonly<SpliceState>): Record<string, unknown> {
  return {
    event: 'splice', id: sp.id, backendId: sp.backendId,
    client: `${formatIpv4(sp.client.ip)}:${sp.client.port}`, backend: `${formatIpv4(sp.backend.ip)}:${sp.backend.port}`,
    localPort: sp.backend.localPort, seqC2B: sp.seqC2B, seqB2C: sp.seqB2C,
  };
}

export function craftSplicerConfig(c: CraftHostConfig): Omit<SplicerConfig, 'name' | 'rng' | 'replicate' | 'onSpliceRemoved' | 'onSpliceUpdated' | 'standby' | 'prefixLen'> {
  return {
    serviceIp: c.serviceIp, serviceMac: c.serviceMac, servicePort: c.port,
    routes: { pools: { web: c.backends.map((b) => ({ ...b })) }, rules: [{ pool: 'web' }] },
    // Kernel back ends answer ICMP echo while their server process is dead: the echo check
    // finds a dead host; a dead server process is found by its early close (splicer.ts).
    healthIntervalUs: 200_000, healthTimeoutUs: 1_500_000,
    backendDownUs: 2_000_000,
    onEvent: (e) => { if (e.kind !== 'spliced' && e.kind !== 'splice-removed') log({ event: e.kind, tUs: e.tUs, text: e.text }); },
    onSplice: (sp) => log(spliceLine(sp)),
  };
}

/** Runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function runCraftHost(c: CraftHostConfig): Promise<number> {
  const tap = TapDevice.open(c.tap);
  const rng = new SeededRng(c.seed ^ randomBytes(4).readUInt32LE(0));
  let endpoint: FrameEndpoint;
  let announce: (now: number) => void;
  let stats: () => Record<string, unknown>;
  if (c.role === 'shared') {
    const base = craftSplicerConfig(c);
    const n = new SharedSplicerNode({
      name: `splicer-${c.nodeId}`, nodeId: c.nodeId, epoch: Math.floor(Date.now() / 1000),
      ownIp: c.ownIp, ownMac: c.ownMac, peers: c.peers ?? [], prefixLen: c.prefixLen, rng,
      // Each splicer's echo requests go out from its own address (shared-node.ts), so every
      // one of them finds a silent back-end host itself.
      splicer: { ...base, ...(c.ephemeralPorts !== undefined ? { ephemeralPorts: c.ephemeralPorts } : {}) },
      heartbeatUs: c.heartbeatUs, deadAfterUs: c.deadAfterUs, adoptPeerAddresses: true,
      // A busy 2-core machine delays a peer's acknowledgement beyond the simulator's 8 × 5 ms;
      // retry for as long as the peer may be silent before it counts as lost.
      replicationRetryUs: 20_000, replicationRetries: Math.ceil(c.deadAfterUs / 20_000),
      ...(c.keyFile !== undefined ? { key: Buffer.from(readFileSync(c.keyFile, 'utf8').trim(), 'hex') } : {}),
      onEvent: (e) => {
        // Fence a lost peer before its address is adopted (the lab's power switch).
        if (e.kind === 'peer-lost') log({ event: 'fence', tUs: e.tUs, peer: e.peer, text: fenceCraftPeer(c.peerPidFiles?.[e.peer]) ? 'peer killed' : 'peer pid unknown' });
        log({ event: e.kind, tUs: e.tUs, text: e.peer, peer: e.peer });
      },
    });
    endpoint = n;
    announce = (now) => n.own.announce(now);
    stats = () => ({ node: n.counters(), splicer: n.splicer.counters() });
  } else if (c.role === 'solo') {
    const sp = new Splicer({ ...craftSplicerConfig(c), name: 'splicer', rng, prefixLen: c.prefixLen });
    endpoint = sp;
    announce = (now) => sp.host.announce(now);
    stats = () => ({ splicer: sp.counters() });
  } else {
    const n = new CraftNode({
      name: `splicer-${c.nodeId}`, nodeId: c.nodeId,
      // A restarted process is a new incarnation.
      epoch: Math.floor(Date.now() / 1000),
      role: c.role, ownIp: c.ownIp, ownMac: c.ownMac, peerIp: c.peerIp, prefixLen: c.prefixLen, rng,
      splicer: craftSplicerConfig(c),
      heartbeatUs: c.heartbeatUs, deadAfterUs: c.deadAfterUs,
      ...(c.keyFile !== undefined ? { key: Buffer.from(readFileSync(c.keyFile, 'utf8').trim(), 'hex') } : {}),
      onEvent: (e) => {
        // A standby's 'peer-lost' comes just before its takeover: fence the peer first.
        if (e.kind === 'peer-lost' && !n.isActive()) log({ event: 'fence', tUs: e.tUs, text: fenceCraftPeer(c.peerPidFile) ? 'peer killed' : 'peer pid unknown' });
        log({ event: e.kind, tUs: e.tUs, text: e.text, ...(e.kind === 'takeover' ? { splices: n.splicer.spliceCount() } : {}) });
      },
    });
    endpoint = n;
    announce = (now) => { n.own.announce(now); if (c.role === 'active') n.splicer.host.announce(now); };
    stats = () => ({ node: n.counters(), splicer: n.splicer.counters() });
  }
  let fatal: Error | undefined;
  const driver = new TapDriver(tap, endpoint, (e) => { fatal = e; log({ fatal: e.message }); });
  driver.start();
  driver.run(announce);
  console.log(JSON.stringify({ ready: true, pid: process.pid, role: c.role, seed: c.seed }));
  // SIGUSR2: log the counters now (tests and benches read them while the lab runs).
  const onUsr2 = (): void => log({ event: 'stats', tUs: driver.nowUs(), text: '', stats: stats(), driver: driver.counters });
  process.on('SIGUSR2', onUsr2);
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  process.off('SIGUSR2', onUsr2);
  log({ exit: true, stats: stats(), driver: driver.counters });
  await driver.stop();
  return fatal === undefined ? 0 : 1;
}
