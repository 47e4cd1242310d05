// The takeover (DESIGN §ST-TCP 7): the backup's shadows become live connections of the
// service host at the same address and sequence numbers, the address moves (gratuitous
// ARP), new connections are accepted; connections that cannot continue exactly are reset
// and reported. Afterwards, until the clients have caught up, segments are vetted before
// the service host sees them (handshakes whose ISN was unknown, strays, ACKs beyond what
// the replica has produced). When to take over is pair-liveness.ts's.
import type { StreamApp, StreamConnection } from '../stack/app.js';
import { formatIpv4 } from '../wire/addr.js';
import { IP_PROTOCOL, parseIpv4Packet } from '../wire/ipv4.js';
import { parseTcpSegment, TCP_FIELD_OFFSET } from '../wire/tcp.js';
import { checksumUpdate32 } from '../wire/checksum.js';
import type { TcpConnection } from '../tcp/connection.js';
import { tupleKey, type FourTuple } from '../tcp/four-tuple.js';
import { seqAdd, seqDiff, seqGt } from '../tcp/seq.js';
import { tupleText, type ShadowConnection, type ShadowFault } from './shadow.js';
import type { NodeCore } from './node-core.js';

/** How long after takeover stray segments of a closed, taken-over connection are dropped silently. */
const STRAY_GRACE_US = 10_000_000;
/** An ACK further than this beyond what a taken-over connection sent is not taken as the client's (nonsense, not old output). */
const ADOPT_ACK_MAX_BYTES = 64 << 20;

export class Takeover {
  /** When this box took the service over. */
  takeoverUs: number | undefined;
  /**
   * Connections taken over: until when stray segments for them are dropped once closed, and
   * the shadow whose replica writes to the live connection (it skips output the client
   * turns out to hold already).
   */
  private readonly takenOver = new Map<string, { untilUs: number; shadow: ShadowConnection }>();
  /** Handshakes whose ISN was unknown at takeover: completed by the client's first ACK. */
  private readonly pendingIss = new Map<string, ShadowConnection>();

  constructor(private readonly core: NodeCore) {}

  /** Segments for the service host must pass beforeService first. */
  vetting(): boolean { return this.pendingIss.size > 0 || this.takenOver.size > 0; }

  /** DESIGN §ST-TCP 7: shadows become live, the address moves, new connections are accepted. */
  takeOver(nowUs: number): void {
    const core = this.core;
    // From now on this box is the primary, serving alone until a backup joins.
    core.state = 'primary';
    core.liveness.wentSolo();
    core.replication.clear();
    core.serving = true;
    this.takeoverUs = nowUs;
    const neighbors = core.replica.neighbors;
    for (const [ip, mac] of neighbors) core.service.learnNeighbor(ip, mac, nowUs);
    neighbors.clear();
    let live = 0;
    const faults: Array<[string, ShadowFault]> = [];
    for (const [key, sh] of core.replica.handOver()) {
      if (sh.phase === 'closed') continue;
      const r = sh.takeOver(nowUs);
      if ('fault' in r) {
        if (r.fault === 'iss-unknown') { this.pendingIss.set(key, sh); continue; }
        faults.push([tupleText(sh.tuple), r.fault]);
        core.count(`connections-reset-${r.fault}`);
        this.resetClient(sh, nowUs);
        continue;
      }
      this.adopt(sh, r);
      if (this.takenOver.size < core.maxShadows()) this.takenOver.set(key, { untilUs: nowUs + STRAY_GRACE_US, shadow: sh });
      live++;
    }
    core.replication.listenAll();
    core.service.announce(nowUs);
    core.count('takeovers');
    core.count('connections-taken-over', live);
    for (const [id, f] of faults) core.emit('takeover.fault', `${id}: ${f}`);
    const detectedUs = core.liveness.detectedUs;
    const detected = detectedUs !== undefined ? ` (${nowUs - detectedUs} µs after detection)` : '';
    core.emit('takeover.complete', `took over ${formatIpv4(core.serviceIp)} with ${live} live connection(s)${detected}`);
  }

  /** A taken-over connection goes live, its replica wrapped as any primary application. */
  private adopt(sh: ShadowConnection, r: { connection: TcpConnection; bindApp: (live: StreamConnection) => StreamApp }): void {
    const core = this.core;
    const readSeq = sh.finReceived ? seqAdd(sh.rcvNxt, -1) : sh.rcvNxt;
    core.service.adoptTcp(sh.tuple, r.connection, (live) => core.replication.wrap(live, () => r.bindApp(live), readSeq, sh.finReceived, () => sh.pendingSkip()), core.nowUs);
  }

  /**
   * Resets a connection that cannot continue exactly (reported, never silently spliced):
   * a restored copy is aborted, so the client gets a RST; if its sequence number is not
   * the exact one the client expects, the client's challenge ACK (RFC 5961 §3) meets no
   * connection and is answered with a RST at the acknowledged sequence number.
   */
  private resetClient(sh: ShadowConnection, nowUs: number): void {
    // The replica hears the end too (a relay closes its upstream socket to the local server).
    sh.close('aborted');
    const r = sh.takeOver(nowUs, true);
    if ('fault' in r) return;
    this.core.service.adoptTcp(sh.tuple, r.connection, () => ({ onData: () => {}, onEnd: () => {} }), nowUs);
    r.connection.abort();
    this.core.service.pokeTcp(sh.tuple, nowUs);
  }

  /**
   * After takeover, before the service host sees a segment: a client ACK completing a
   * handshake whose ISN we never learned tells it; and a stray segment for a taken-over
   * connection that has since closed (the client acknowledged more than the tap had seen,
   * so our resent bytes draw duplicate ACKs) is dropped instead of answered with RST.
   * Returns false to drop the frame.
   */
  beforeService(ipBytes: Uint8Array, nowUs: number): boolean {
    const core = this.core;
    const ip = parseIpv4Packet(ipBytes);
    if (!ip.ok || ip.value.protocol !== IP_PROTOCOL.tcp || ip.value.dst !== core.serviceIp) return true;
    const seg = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst, true);
    if (!seg.ok) return true;
    const tuple: FourTuple = { localIp: ip.value.dst, localPort: seg.value.dstPort, remoteIp: ip.value.src, remotePort: seg.value.srcPort };
    const key = tupleKey(tuple);
    const taken = this.takenOver.get(key);
    if (taken !== undefined) {
      const engine = core.engineFor(tuple);
      if (nowUs > taken.untilUs) this.takenOver.delete(key);
      else if (!seg.value.flags.syn && engine === undefined) return false;
      if (engine !== undefined && seg.value.flags.ack) {
        // The client acknowledges output beyond what this connection sent: the primary
        // answered input the backup still lacked, and the tap did not show the client's ACKs
        // of it. An ACK beyond SND.MAX would make the connection drop the client's segments
        // (RFC 9293 §3.10.7.4), including the retransmitted input the replica needs. The
        // client holds those bytes: the connection counts them as sent and acknowledged,
        // and the replica skips them when it writes them. (Holding the ACK at SND.MAX
        // instead, as this once did, deadlocked when the client had more output than the
        // replica: our segments then lay below the client's RCV.NXT, it discarded even
        // their ACKs, and retransmitted the same first segment for ever.)
        const ack = seg.value.ack >>> 0;
        const sndMax = engine.info().sndMax;
        if (seqGt(ack, sndMax)) {
          const beyond = seqDiff(ack, sndMax) <= ADOPT_ACK_MAX_BYTES ? engine.adoptPeerAck(ack) : undefined;
          if (beyond !== undefined) {
            taken.shadow.skipOutput(beyond);
            core.count('client-ack-adopted-after-takeover');
          } else {
            // The replica's FIN is queued, or the ACK is beyond anything the primary could
            // have sent: hold it at SND.MAX until the replica's output gets there.
            clampAck(ipBytes, (ipBytes[0]! & 0x0f) * 4, ack, sndMax);
            core.count('ack-clamped-after-takeover');
          }
        }
      }
    }
    const sh = this.pendingIss.get(key);
    if (!sh) return true;
    this.pendingIss.delete(key);
    if (seg.value.flags.syn || !seg.value.flags.ack) return true; // a fresh SYN: the listener takes it
    sh.learnIss(seqAdd(seg.value.ack, -1));
    const r = sh.takeOver(nowUs);
    if ('fault' in r) return true;
    this.adopt(sh, r);
    return true;
  }
}

/** Rewrites a TCP segment's ACK field in place, patching the checksum (RFC 1624). */
function clampAck(ipBytes: Uint8Array, ipHeaderLen: number, oldAck: number, newAck: number): void {
  const tcp = ipBytes.subarray(ipHeaderLen);
  const view = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
  view.setUint32(TCP_FIELD_OFFSET.ack, newAck >>> 0);
  const sum = view.getUint16(TCP_FIELD_OFFSET.checksum);
  view.setUint16(TCP_FIELD_OFFSET.checksum, checksumUpdate32(sum, oldAck >>> 0, newAck >>> 0));
}
