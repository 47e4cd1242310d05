// The pair's liveness on one box (DESIGN §ST-TCP 6): heartbeats and their echoes, the
// primary's lease, failure detection, fencing, and when the backup may take over
// (lease + margin, deferred when it looks isolated, sooner when a LAN witness answers).
// The time arithmetic is liveness.ts's; the takeover itself is takeover.ts's.
import { BROADCAST_MAC, parseIpv4 } from '../wire/addr.js';
import { emitEthernetHeader, ETHERNET_HEADER_LEN, ETHERTYPE } from '../wire/ethernet.js';
import { ARP_PACKET_LEN, emitArpPacket } from '../wire/arp.js';
import type { NodeRole } from './control.js';
import { Lease, PeerMonitor, takeoverNotBefore } from './liveness.js';
import { minDefined, type NodeCore, type Protection } from './node-core.js';

const SEEN_HEARTBEATS = 64;
/** Heartbeats an apparently isolated backup waits before fencing, so a healthy primary fences it first. */
const ISOLATED_DEFER_HEARTBEATS = 3;
/** Clients a backup asks (ARP) to show its LAN works before taking over after a quiet spell. */
const WITNESS_PROBES = 4;
/** Timer lateness that is only the driver's timer granularity, not a stall of this box. */
const STALL_SLACK_US = 2_000;

export class PairLiveness {
  private readonly monitor: PeerMonitor;
  private readonly lease: Lease;
  private nextHeartbeatUs = 0;
  /** Send times of our recent heartbeats, by envelope seq (for lease renewal from echoes). */
  private readonly sentHeartbeats = new Map<bigint, number>();
  private lastPeerHeartbeatSeq = 0n;
  private lastHeartbeatSentUs = 0;
  /** The role the peer announced in its last heartbeat. */
  peerRole: NodeRole | undefined;
  private leaseWasHeld = false;
  /** The primary's heartbeats sent since the backup was last heard (each one the backup answers). */
  private unanswered = 0;
  private fenceRetryUs = 0;
  /** Smoothed round trip of heartbeat and echo (the primary's measure of the control channel). */
  controlRttUs: number | undefined;
  /** When we sent the heartbeat the backup's newest heartbeat echoed (lease renewal at resync). */
  private lastEchoSentUs: number | undefined;
  private protectionNow: Protection | undefined;
  private unsyncedFailureReported = false;
  /** When the backup declared the primary failed. */
  detectedUs: number | undefined;
  /** ARP requests from the box's own address to clients seen on the tap (a LAN witness, see takeoverAt). */
  private readonly witnessProbes: Uint8Array[] = [];
  /** The deadline this box last gave its driver: running much later than it means the box was stalled. */
  private wakeByUs: number | undefined;

  constructor(private readonly core: NodeCore) {
    this.monitor = new PeerMonitor(core.live);
    this.lease = new Lease(core.live);
  }

  // ---- observation --------------------------------------------------------

  /** Degraded (serving alone) or protected (a backup in sync); standby on the backup. */
  protection(): Protection {
    const st = this.core.state;
    if (st === 'stepped-down') return 'down';
    if (st !== 'primary') return 'standby';
    return !this.lease.isSolo() && this.peerRole === 'backup' ? 'protected' : 'degraded';
  }

  /** Serving alone: no backup is required (after a takeover, or with the backup fenced). */
  isSolo(): boolean { return this.lease.isSolo(); }
  peerLastHeardUs(): number | undefined { return this.monitor.lastHeard(); }

  leaseHolds(nowUs: number): boolean {
    if (this.core.state !== 'primary') return this.core.serving;
    return this.lease.holds(nowUs);
  }

  updateProtection(): void {
    const p = this.protection();
    if (p === this.protectionNow) return;
    const first = this.protectionNow === undefined;
    this.protectionNow = p;
    if (!first || p === 'degraded') this.core.emit('protection.changed', p);
  }

  // ---- this box's own stalls -------------------------------------------------------

  /** The driver was told to run this box again by `d`. */
  wakeBy(d: number | undefined): void { this.wakeByUs = d; }

  /**
   * The box runs (a frame or a timer). If it runs well after the deadline it asked for,
   * it was stalled itself, and a late timer runs before the input that queued meanwhile
   * is read: the peer gets one more heartbeat interval before it can be declared failed.
   */
  entered(nowUs: number): void {
    const by = this.wakeByUs;
    this.wakeByUs = undefined;
    const live = this.core.live;
    if (by === undefined || nowUs - by <= Math.max(STALL_SLACK_US, live.heartbeatUs / 4)) return;
    this.monitor.excuseUntil(nowUs + live.heartbeatUs);
    this.core.count('own-stall');
  }

  // ---- heartbeats ---------------------------------------------------------------

  onHeartbeat(role: NodeRole, echo: bigint, seq: bigint, epoch: number, nowUs: number): void {
    const core = this.core;
    this.lastPeerHeartbeatSeq = seq;
    const before = this.peerRole;
    if (core.state === 'primary' && this.lease.isSolo()) {
      // Serving alone (after a takeover, or with the backup fenced): a backup's heartbeat
      // starts its resynchronisation; a peer claiming the service is an old primary that
      // has not yet seen us (it stops on our heartbeats, DESIGN §ST-TCP 6).
      if (role !== 'backup') { core.count('peer-claims-service'); return; }
      this.peerRole = role;
      const sentAt = this.sentHeartbeats.get(echo);
      if (sentAt !== undefined) this.lastEchoSentUs = sentAt;
      core.joinHost.heard(epoch, nowUs);
      return;
    }
    this.peerRole = role;
    if (core.state === 'primary') {
      if (role !== 'backup') {
        // The peer serves the address: it took over while we were cut off (DESIGN §ST-TCP 6).
        core.state = 'stepped-down';
        core.serving = false;
        core.emit('stepped.down', `peer announces itself ${role}: no longer serving`);
        return;
      }
      this.monitor.heard(nowUs);
      this.unanswered = 0;
      const sentAt = this.sentHeartbeats.get(echo);
      if (sentAt !== undefined) {
        this.lease.renew(sentAt);
        // Control-channel round trip (RFC 6298-style smoothing, gain 1/8).
        const sample = nowUs - sentAt;
        this.controlRttUs = this.controlRttUs === undefined ? sample : Math.round(this.controlRttUs + (sample - this.controlRttUs) / 8);
      }
      if (before === undefined) core.emit('backup.synced', 'backup heartbeats received: replication active');
    } else if (core.state === 'backup') {
      if (role === 'primary' || role === 'solo') {
        // Heartbeats more than two intervals apart: the primary, the path or this box stalled
        // (`own-stall` tells the last; the primary's `heartbeat-sent-late` its own).
        const last = this.monitor.lastHeard();
        if (last !== undefined && nowUs - last > 2 * core.live.heartbeatUs) core.count('heartbeat-gap');
        this.monitor.heard(nowUs);
        this.sendHeartbeat(nowUs); // the echo that renews the primary's lease
      }
    }
  }

  /**
   * The serving box's heartbeat when due. The backup heartbeats only in answer to the
   * primary's (onHeartbeat), so each renewal of the primary's lease follows its heartbeat
   * by one round trip.
   */
  heartbeatIfDue(nowUs: number): void {
    const st = this.core.state;
    if (st !== 'backup' && st !== 'takeover-pending' && nowUs >= this.nextHeartbeatUs) this.sendHeartbeat(nowUs);
  }

  private sendHeartbeat(nowUs: number): void {
    const core = this.core;
    // The serving box's heartbeat goes out more than an interval late: its own loop stalled.
    if (core.state !== 'backup' && this.lastHeartbeatSentUs > 0 && nowUs - this.lastHeartbeatSentUs > 2 * core.live.heartbeatUs) core.count('heartbeat-sent-late');
    this.nextHeartbeatUs = nowUs + core.live.heartbeatUs;
    const seq = core.send({
      type: 'heartbeat',
      role: core.state === 'backup' ? 'backup' : this.lease.isSolo() ? 'solo' : 'primary',
      connections: core.state === 'backup' ? core.replica.shadowCount() : core.service.tcpConnections().length,
      echo: this.lastPeerHeartbeatSeq,
    }, nowUs);
    this.lastHeartbeatSentUs = nowUs;
    if (core.state !== 'backup') this.unanswered++;
    this.sentHeartbeats.set(seq, nowUs);
    if (this.sentHeartbeats.size > SEEN_HEARTBEATS) this.sentHeartbeats.delete(this.sentHeartbeats.keys().next().value!);
  }

  // ---- the primary: lease and a lost backup ----------------------------------------

  primaryTick(nowUs: number): void {
    const core = this.core;
    const holds = this.lease.holds(nowUs);
    if (!holds && this.leaseWasHeld) core.emit('lease.lapsed', 'lease lapsed: not using the service address');
    if (holds && !this.leaseWasHeld) core.emit('lease.restored', 'lease renewed: serving again');
    this.leaseWasHeld = holds;
    // The backup answers our heartbeats: its silence counts only while we were sending
    // them. After a stall of this box's own (no heartbeats went out) it is not yet failed.
    const unanswered = this.unanswered >= core.live.missLimit - 1;
    if (!this.lease.isSolo() && this.monitor.status(nowUs) === 'failed' && unanswered && nowUs >= this.fenceRetryUs) {
      // DESIGN §ST-TCP 6: continue alone only once the backup is certainly dead.
      if (core.cfg.fence?.()) {
        this.lease.goSolo();
        this.monitor.latchFailed();
        core.replication.restartRetention(nowUs);
        core.replication.ungateAll(nowUs);
        core.emit('backup.lost', 'backup failed and fenced: serving alone (degraded, no ACK gating)');
      } else {
        this.fenceRetryUs = nowUs + core.live.heartbeatUs * core.live.missLimit;
      }
    }
  }

  /** A joining backup holds everything: it is required again (lease renewal, failure detection). */
  backupRequired(nowUs: number): void {
    this.lease.requireBackup(this.lastEchoSentUs ?? nowUs);
    this.monitor.heard(nowUs);
    this.unanswered = 0;
    this.fenceRetryUs = 0;
    this.leaseWasHeld = this.lease.holds(nowUs);
  }

  // ---- the backup: failure detection and when to take over ---------------------------

  /** Declares the primary failed when it is (state becomes takeover-pending); true then. */
  backupDetect(nowUs: number): boolean {
    const core = this.core;
    if (this.monitor.status(nowUs) !== 'failed') return false;
    if (this.peerRole !== 'primary' && !(core.cfg.fence && core.replica.snapshotApplied)) {
      // The primary serves alone and has not required us yet (we are not in sync): taking
      // over could neither continue its connections nor be sure it has stopped. With
      // fencing and the records in hand we do take over (below): the connections whose
      // acknowledged input we lack are reset and reported, the rest continue.
      if (!this.unsyncedFailureReported) {
        this.unsyncedFailureReported = true;
        core.emit('takeover.fault', 'peer silent before this backup was in sync: not taking over');
      }
      return false;
    }
    this.detectedUs = nowUs;
    core.state = 'takeover-pending';
    this.monitor.latchFailed();
    if (nowUs - core.lastFrameUs > core.live.heartbeatUs) this.probeWitnesses();
    core.emit('failover.detected', `primary silent for ${core.live.missLimit} heartbeats: failure declared`);
    return true;
  }

  /** Takeover pending and due: fence (if configured), then take over. */
  takeoverIfDue(nowUs: number): void {
    const core = this.core;
    if (core.state !== 'takeover-pending' || nowUs < this.takeoverAt()) return;
    if (core.cfg.fence) {
      const fenced = core.cfg.fence();
      core.emit('fence.done', fenced ? 'primary fenced' : 'fencing the primary failed; taking over on the lease alone');
    }
    core.takeover.takeOver(nowUs);
  }

  /** This box took the service over: it serves alone until a backup joins. */
  wentSolo(): void {
    this.lease.goSolo();
    this.monitor.latchFailed();
    this.peerRole = undefined;
    this.leaseWasHeld = true;
  }

  /**
   * When the backup may fence and take over: after the primary's lease has lapsed; and if
   * the backup has heard nothing at all on its port meanwhile (no client frames on the tap
   * either), it is probably the isolated one, so it gives the primary a few heartbeats to
   * fence it first rather than take the service address where no client can reach it.
   */
  private takeoverAt(): number {
    const live = this.core.live;
    const leaseBound = takeoverNotBefore(live, this.lastHeartbeatSentUs);
    const detected = this.detectedUs ?? leaseBound;
    const isolated = detected - this.core.lastFrameUs > live.heartbeatUs;
    return isolated ? Math.max(leaseBound, detected + ISOLATED_DEFER_HEARTBEATS * live.heartbeatUs) : leaseBound;
  }

  /**
   * The LAN has been quiet (clients that only receive send nothing once the primary stops):
   * ask a few clients seen on the tap for their MAC from this box's own address. Any
   * answer shows the service LAN works here, so the takeover need not wait for the
   * primary to fence an isolated backup (takeoverAt).
   */
  private probeWitnesses(): void {
    const core = this.core;
    const ownIp = parseIpv4(core.cfg.ownIp)!;
    for (const ip of core.replica.neighborIps()) {
      if (this.witnessProbes.length >= WITNESS_PROBES) break;
      const frame = new Uint8Array(ETHERNET_HEADER_LEN + ARP_PACKET_LEN);
      emitEthernetHeader(BROADCAST_MAC, core.ownMac, ETHERTYPE.arp, frame);
      emitArpPacket({ operation: 'request', senderMac: core.ownMac, senderIp: ownIp, targetMac: new Uint8Array(6), targetIp: ip }, frame, ETHERNET_HEADER_LEN);
      this.witnessProbes.push(frame);
      core.count('witness-probes');
    }
  }

  /** A witness probe waiting to go out on the service port. */
  pollWitnessProbe(): Uint8Array | undefined { return this.witnessProbes.shift(); }

  /** The earliest of this part's future deadlines folded into `d`. */
  deadline(d: number | undefined): number | undefined {
    const core = this.core;
    const st = core.state;
    const future = (t: number | undefined): number | undefined => (t !== undefined && t > core.nowUs ? t : undefined);
    // The first heartbeat is due at once (it starts the pair); later ones are always in the future.
    if (st !== 'backup' && st !== 'stepped-down') d = minDefined(d, this.nextHeartbeatUs >= core.nowUs ? this.nextHeartbeatUs : undefined);
    if (st === 'backup') d = minDefined(d, future(this.monitor.failureDeadline()));
    if (st === 'takeover-pending') d = minDefined(d, future(this.takeoverAt()));
    if (st === 'primary' && !this.lease.isSolo()) {
      d = minDefined(d, future(this.lease.expiry()));
      d = minDefined(d, future(this.monitor.failureDeadline()));
      d = minDefined(d, future(this.fenceRetryUs));
    }
    return d;
  }
}
