// One ST-TCP box, primary or backup (DESIGN §ST-TCP). It holds two hosts on one
// interface: its own address (the control channel to its peer) and the service address
// (IP + MAC) clients connect to. The primary serves and announces connections; the
// backup taps the client's frames, shadows every connection with a replica application,
// and takes the service over when the primary fails and its lease has lapsed.
// Sans-IO: a FrameEndpoint driven by the simulator or a TAP driver.
//
// This file routes frames, control messages and time to the box's parts and answers for
// the box as a whole; the parts (node-core.ts lists them) do the work.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import type { Host } from '../stack/host.js';
import type { TcpConnection } from '../tcp/connection.js';
import { BROADCAST_MAC, macEquals } from '../wire/addr.js';
import { ETHERTYPE, parseEthernetFrame } from '../wire/ethernet.js';
import { parseControl, ReplayWindow } from './control.js';
import { NodeCore, minDefined, type NodeState, type Protection, type StTcpNodeConfig } from './node-core.js';
import { PairLiveness } from './pair-liveness.js';
import { PrimaryReplication } from './primary-replication.js';
import { JoinHost } from './join.js';
import { BackupReplica } from './backup-replica.js';
import { Takeover } from './takeover.js';

export type {
  DurabilityMode, StTcpNodeConfig, StTcpEventKind, Protection, StTcpEvent, NodeState,
} from './node-core.js';

export class StTcpNode implements FrameEndpoint {
  readonly name: string;
  readonly own: Host;
  readonly service: Host<TcpConnection>;
  private readonly core: NodeCore;
  private readonly replay = new ReplayWindow();

  constructor(cfg: StTcpNodeConfig) {
    const core = new NodeCore(cfg);
    this.core = core;
    this.name = cfg.name;
    this.own = core.own;
    this.service = core.service;
    core.liveness = new PairLiveness(core);
    core.replication = new PrimaryReplication(core);
    core.joinHost = new JoinHost(core);
    core.replica = new BackupReplica(core);
    core.takeover = new Takeover(core);
    this.own.udpBind(core.controlPort, (src, _port, data, nowUs) => this.onControl(src, data, nowUs));
    if (cfg.role === 'primary') core.replication.listenAll();
  }

  // ---- observation --------------------------------------------------------

  role(): NodeState { return this.core.state; }
  /** Degraded (serving alone) or protected (a backup in sync); standby on the backup. */
  protection(): Protection { return this.core.liveness.protection(); }
  /** A joining backup's progress: chunks acknowledged of the transfer, or undefined when none runs. */
  joinProgress(): { chunksAcked: number; chunks: number; connections: number; catchingUp: boolean } | undefined {
    return this.core.joinHost.progress();
  }
  isServing(nowUs: number = this.core.nowUs): boolean { return this.core.serving && this.core.liveness.leaseHolds(nowUs); }
  shadowCount(): number { return this.core.replica.shadowCount(); }
  /** Bytes the primary's applications read that the backup has not acknowledged yet (retention fill), over all connections. */
  replicationLagBytes(): number { return this.core.replication.lagBytes(); }
  /** When the peer's last valid heartbeat arrived (this box's clock), if one ever did. */
  peerLastHeardUs(): number | undefined { return this.core.liveness.peerLastHeardUs(); }
  /** When this box took the service over, if it did. */
  get takeoverUs(): number | undefined { return this.core.takeover.takeoverUs; }
  stats(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.core.counterEntries());
    for (const [k, v] of Object.entries(this.service.counters())) if (v) out[`service.${k}`] = v;
    return out;
  }

  // ---- FrameEndpoint ------------------------------------------------------

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    const core = this.core;
    core.nowUs = nowUs;
    core.liveness.entered(nowUs);
    if (ifIndex !== 0) {
      // The dedicated control link: only the box's own address is there.
      if (ifIndex === core.controlIf) this.own.handleFrame(0, frame, nowUs);
      else core.count('drop-frame-interface');
      this.tick(nowUs);
      return;
    }
    core.lastFrameUs = nowUs;
    const eth = parseEthernetFrame(frame);
    if (!eth.ok) { core.count('drop-frame'); return; }
    const dst = eth.value.dst;
    const broadcast = macEquals(dst, BROADCAST_MAC);
    if (core.controlIf === 0 && (broadcast || macEquals(dst, core.ownMac))) this.own.handleFrame(ifIndex, frame, nowUs);
    const forService = broadcast || macEquals(dst, core.serviceMac);
    if (core.serving) {
      if (forService) {
        if (!broadcast && core.takeover.vetting() && !core.takeover.beforeService(eth.value.payload, nowUs)) {
          core.count('drop-stray-after-takeover');
        } else {
          this.service.handleFrame(ifIndex, frame, nowUs);
        }
      }
    } else if (core.state === 'backup' || core.state === 'takeover-pending') {
      if (!broadcast && eth.value.ethertype === ETHERTYPE.ipv4
        && (macEquals(dst, core.serviceMac) || macEquals(eth.value.src, core.serviceMac))) {
        core.replica.tap(eth.value.payload, eth.value.src, nowUs);
      }
    }
    this.tick(nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.core.nowUs = nowUs;
    this.core.liveness.entered(nowUs);
    this.own.handleTimeout(nowUs);
    if (this.core.serving) this.service.handleTimeout(nowUs);
    this.tick(nowUs);
  }

  pollTransmit(): OutgoingFrame | undefined {
    const core = this.core;
    const w = core.liveness.pollWitnessProbe();
    if (w !== undefined) return { ifIndex: 0, frame: w };
    const o = this.own.pollTransmit();
    if (o !== undefined) return { ifIndex: core.controlIf, frame: o.frame };
    if (!core.serving) return undefined;
    // DESIGN §ST-TCP 6: without a lease the primary does not use the service address. Its
    // output stays in the stack until the lease returns. (Pulling the segments and dropping
    // them, as this once did, left TCP counting them as sent: after a stall of 20 ms that
    // lapsed the lease, a download waited out a 200 ms retransmission timeout.)
    if (!core.liveness.leaseHolds(core.nowUs)) return undefined;
    for (;;) {
      const released = core.state === 'primary' ? core.replication.pollReleased() : undefined;
      const f = released !== undefined ? { ifIndex: 0, frame: released } : this.service.pollTransmit();
      if (f === undefined) return undefined;
      // Sync mode: a SYN-ACK waits until the backup holds its connection (primary-replication.ts).
      if (released === undefined && core.state === 'primary' && core.replication.watchOutgoing(f.frame)) continue;
      return f;
    }
  }

  pollDeadline(): number | undefined {
    const core = this.core;
    // Node deadlines already past were acted on in tick(); only future ones wake us.
    const future = (t: number | undefined): number | undefined => (t !== undefined && t > core.nowUs ? t : undefined);
    // Without a lease the service's output waits (pollTransmit): its "send now" is no reason to wake.
    const service = !core.serving ? undefined
      : core.liveness.leaseHolds(core.nowUs) ? this.service.pollDeadline() : future(this.service.pollDeadline());
    let d = minDefined(this.own.pollDeadline(), service);
    d = core.liveness.deadline(d);
    if (core.state === 'primary') d = minDefined(d, future(core.replication.pushDeadline()));
    d = minDefined(d, future(core.replica.ackDeadline()));
    d = minDefined(d, future(core.joinHost.deadline()));
    core.liveness.wakeBy(d);
    // A replica's own progress (a relayed server's answer let it read again) is acknowledged
    // on a tick at once. Not a deadline this box's stall check holds it to: the node's clock
    // is that of its last frame or timer, which may be long past.
    return core.state === 'backup' && core.replica.progressPending() ? minDefined(d, core.nowUs + 1) : d;
  }

  // ---- periodic work ------------------------------------------------------

  private tick(nowUs: number): void {
    const core = this.core;
    const liveness = core.liveness;
    if (core.state === 'stepped-down') { liveness.updateProtection(); return; }
    if (core.state === 'primary') {
      liveness.primaryTick(nowUs);
      core.joinHost.tick(nowUs);
      core.replication.pushRetention(nowUs);
    }
    if (core.state === 'backup' && !liveness.backupDetect(nowUs)) core.replica.tick(nowUs);
    liveness.takeoverIfDue(nowUs);
    liveness.heartbeatIfDue(nowUs);
    liveness.updateProtection();
  }

  // ---- control channel ----------------------------------------------------------

  private onControl(src: string, data: Uint8Array, nowUs: number): void {
    const core = this.core;
    core.nowUs = nowUs;
    if (src !== core.cfg.peerIp) { core.count('control-foreign'); return; }
    const r = parseControl(data, core.cfg.key);
    if (!r.ok) { core.count(`control-${r.error.code}`); return; }
    const env = r.value;
    if (!this.replay.accept(env.epoch, env.seq)) { core.count('control-replayed'); return; }
    const m = env.message;
    const primary = core.state === 'primary';
    const backup = core.state === 'backup';
    switch (m.type) {
      case 'heartbeat': core.liveness.onHeartbeat(m.role, m.echo, env.seq, env.epoch, nowUs); break;
      case 'recvAck': if (primary) core.replication.onRecvAck(m.acks, nowUs); break;
      case 'rangeRequest': if (primary) core.replication.onRangeRequest(m.tuple, m.seq, m.length, nowUs); break;
      case 'rangeData': if (backup) core.replica.onRangeData(m, nowUs); break;
      case 'connOpen': if (backup) core.replica.onConnOpen(m, nowUs); break;
      case 'connClose': if (backup) core.replica.onConnClose(m); break;
      case 'snapshotChunk': if (backup) core.replica.onSnapshotChunk(m, nowUs); break;
      case 'snapshotAck': if (primary) core.joinHost.onAck(m.transferId, m.next, nowUs); break;
    }
  }
}
