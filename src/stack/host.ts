// A sans-IO IPv4 host with one Ethernet interface (ifIndex 0): ARP, IPv4 for one
// subnet plus a default gateway, ICMP echo, UDP sockets and TCP connections.
// TCP demultiplexing is in tcp-demux.ts, ARP state in arp-cache.ts; TCP itself in src/tcp/.
import type { FrameEndpoint, OutgoingFrame } from './endpoint.js';
import type { Rng } from '../util/rng.js';
import type { FourTuple } from '../tcp/four-tuple.js';
import { BROADCAST_MAC, ZERO_MAC, formatIpv4, formatMac, macEquals, parseIpv4, parseMac, prefixMask } from '../wire/addr.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE, emitEthernetFrame, emitEthernetHeader } from '../wire/ethernet.js';
import { emitArpPacket, parseArpPacket, ARP_PACKET_LEN, type ArpRepr } from '../wire/arp.js';
import { FRAGMENT_DETAIL, IPV4_HEADER_LEN, IP_PROTOCOL, emitIpv4Header, parseIpv4Packet } from '../wire/ipv4.js';
import { emitIcmpMessage, icmpMessageLen, parseIcmpMessage, type IcmpRepr } from '../wire/icmp.js';
import { UDP_HEADER_LEN, emitUdpDatagram, parseUdpDatagram } from '../wire/udp.js';
import { emitTcpSegment, parseTcpSegment, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';
import type { WireError } from '../wire/result.js';
import { ArpCache, DEFAULT_ARP_LIMITS, type ArpLimits } from './arp-cache.js';
import { Counters } from './counters.js';
import { DEFAULT_TCP_DEMUX_LIMITS, TcpDemux, type HostStreamConnection, type HostStreamService, type TcpDemuxLimits, type TcpStatsTotal } from './tcp-demux.js';
import { tcpConnectionFactory, type TcpEngine, type TcpEngineFactory } from './tcp-engine.js';
import { FrameSlab } from './frame-slab.js';
import type { TcpConnection, TcpConfig } from '../tcp/connection.js';

export interface HostConfig<C extends TcpEngine = TcpConnection> {
  name: string;
  mac: string;
  ip: string;
  prefixLen: number;
  gateway?: string;
  /** Further addresses on the same subnet this host answers for (e.g. a service address); addAlias() adds more. */
  aliases?: string[];
  /** IP MTU of the interface (default 1500). */
  mtu?: number;
  /**
   * Largest IPv4 packet carrying one TCP segment when the driver segments for us
   * (segmentation offload, with tcp.tsoMaxBytes); default: the MTU. Above the MTU
   * only TCP may go; the driver must cut such packets to the MTU.
   */
  tcpOffloadMaxBytes?: number;
  rng: Rng;
  /** RFC 6528 secret; drawn from `rng` when absent. */
  isnKey?: Uint8Array;
  /** Settings for every TCP connection (default mss = mtu - 40, the rest defaultTcpConfig()). */
  tcp?: Partial<TcpConfig>;
  /** Makes TCP connections; default TcpConnection with `tcp`. (Tests and shadow engines replace it.) */
  tcpFactory?: TcpEngineFactory<C>;
  arpTimeoutUs?: number;
  arp?: Partial<ArpLimits>;
  tcpLimits?: Partial<TcpDemuxLimits>;
  /** Frames waiting in the transmit queue before new ones are dropped (drivers drain after every call). */
  txQueueMax?: number;
  /** Bound UDP ports at most (default 1024). */
  udpPortsMax?: number;
  ttl?: number;
  /** ICMP port-unreachable messages per second at most (burst of the same size); 0 = never send. Default 100. */
  icmpErrorsPerSecond?: number;
  /**
   * Called when an app callback throws. The host aborts that connection, finishes
   * delivering other connections' events, and counts 'tcp-app-exception'. Without a
   * handler the first error is rethrown after that cleanup (a programming error).
   */
  onAppError?: (err: unknown, connectionId: string) => void;
  /**
   * Another MAC claims one of our addresses (RFC 5227 §2.4 conflict), e.g. a backup that
   * took over the service address. The host keeps using it; the caller decides (stop
   * serving, remove the alias, re-announce). Also counted as 'arp-conflict'.
   */
  onAddressConflict?: (ip: string, mac: string, nowUs: number) => void;
}

export type UdpHandler = (srcIp: string, srcPort: number, data: Uint8Array, nowUs: number) => void;
export type EchoReplyHandler = (srcIp: string, identifier: number, sequence: number, data: Uint8Array, nowUs: number) => void;

export class Host<C extends TcpEngine = TcpConnection> implements FrameEndpoint {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly ip: number;
  readonly mtu: number;
  private readonly tcpPacketMax: number;
  private readonly mask: number;
  /** Every address this host owns: `ip` first, then aliases. */
  private readonly addrs = new Set<number>();
  private readonly gateway: number | undefined;
  private readonly ttl: number;
  private readonly counter = new Counters();
  private readonly arp: ArpCache;
  private readonly tcp: TcpDemux<C>;
  private readonly udp = new Map<number, UdpHandler>();
  private readonly udpPortsMax: number;
  private echoReplyHandler: EchoReplyHandler | undefined;
  private readonly onAddressConflict: ((ip: string, mac: string, nowUs: number) => void) | undefined;
  /** Token bucket for ICMP errors (RFC 1812 §4.3.2.8 / RFC 1122 §4.1.3.1: rate-limited). */
  private icmpTokens: number;
  private icmpRefillUs = 0;
  private readonly icmpErrorsPerSecond: number;
  private readonly txq: Uint8Array[] = [];
  /** Where outgoing frames are carved from (frame-slab.ts: no ArrayBuffer per frame). */
  private readonly frames = new FrameSlab();
  private txHead = 0;
  private readonly txQueueMax: number;
  private identification: number;
  /** Time of the latest handleFrame, handleTimeout, connect or send call: engines are polled at this time. */
  private nowUs = 0;

  constructor(cfg: HostConfig<C>) {
    const mac = parseMac(cfg.mac);
    const ip = parseIpv4(cfg.ip);
    if (mac === undefined) throw new Error(`${cfg.name}: bad MAC ${cfg.mac}`);
    if (ip === undefined) throw new Error(`${cfg.name}: bad IPv4 address ${cfg.ip}`);
    if (!(cfg.prefixLen >= 0 && cfg.prefixLen <= 32)) throw new Error(`${cfg.name}: bad prefix length ${cfg.prefixLen}`);
    this.name = cfg.name;
    this.mac = mac;
    this.ip = ip;
    this.mask = prefixMask(cfg.prefixLen);
    this.addrs.add(ip);
    for (const a of cfg.aliases ?? []) this.addAlias(a);
    if (cfg.gateway !== undefined) {
      const gw = parseIpv4(cfg.gateway);
      if (gw === undefined || (gw & this.mask) !== (ip & this.mask)) throw new Error(`${cfg.name}: gateway ${cfg.gateway} not on the subnet`);
      this.gateway = gw;
    }
    this.mtu = cfg.mtu ?? 1500;
    this.tcpPacketMax = Math.max(this.mtu, Math.min(65535, cfg.tcpOffloadMaxBytes ?? this.mtu));
    this.ttl = cfg.ttl ?? 64;
    this.txQueueMax = cfg.txQueueMax ?? 4096;
    this.udpPortsMax = cfg.udpPortsMax ?? 1024;
    this.onAddressConflict = cfg.onAddressConflict;
    this.icmpErrorsPerSecond = cfg.icmpErrorsPerSecond ?? 100;
    this.icmpTokens = this.icmpErrorsPerSecond;
    this.identification = cfg.rng.nextU32() & 0xffff;
    this.arp = new ArpCache({ ...DEFAULT_ARP_LIMITS, ...(cfg.arpTimeoutUs !== undefined ? { timeoutUs: cfg.arpTimeoutUs } : {}), ...cfg.arp }, this.counter);
    let key = cfg.isnKey;
    if (key === undefined) {
      key = new Uint8Array(16);
      for (let i = 0; i < 16; i += 4) new DataView(key.buffer).setUint32(i, cfg.rng.nextU32());
    }
    const ephemeralSeed = cfg.rng.nextU32();
    // RFC 9293 §3.7.1: the MSS we offer is what fits in our MTU after the IP and TCP headers.
    const mss = Math.min(cfg.tcp?.mss ?? this.mtu - 40, this.mtu - 40);
    const factory = cfg.tcpFactory
      ?? (tcpConnectionFactory({ ...cfg.tcp, mss }) as unknown as TcpEngineFactory<C>);
    this.tcp = new TcpDemux<C>(
      factory, key, { ...DEFAULT_TCP_DEMUX_LIMITS, ...cfg.tcpLimits }, this.counter,
      (tuple, seg) => this.sendTcp(tuple, seg), ephemeralSeed, cfg.onAppError);
  }

  // ---- FrameEndpoint ------------------------------------------------------

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    this.nowUs = nowUs;
    this.counter.inc('rx-frames');
    if (ifIndex !== 0) { this.counter.inc('drop-rx-bad-interface'); return; }
    // The Ethernet header is read in place (no Repr): this runs once per frame at line rate.
    if (frame.length < ETHERNET_HEADER_LEN) { this.counter.inc('drop-ethernet-truncated'); return; }
    if (!this.macIsUsOrBroadcast(frame)) { this.counter.inc('drop-ethernet-not-for-us'); return; }
    const ethertype = (frame[12]! << 8) | frame[13]!;
    if (ethertype === ETHERTYPE.ipv4) this.handleIpv4(frame.subarray(ETHERNET_HEADER_LEN), nowUs);
    else if (ethertype === ETHERTYPE.arp) this.handleArp(frame.subarray(ETHERNET_HEADER_LEN), nowUs);
    else this.counter.inc('drop-ethernet-unsupported');
  }

  private macIsUsOrBroadcast(f: Uint8Array): boolean {
    const m = this.mac;
    if (f[0] === m[0] && f[1] === m[1] && f[2] === m[2] && f[3] === m[3] && f[4] === m[4] && f[5] === m[5]) return true;
    return f[0] === 0xff && f[1] === 0xff && f[2] === 0xff && f[3] === 0xff && f[4] === 0xff && f[5] === 0xff;
  }

  handleTimeout(nowUs: number): void {
    this.nowUs = nowUs;
    this.arp.handleTimeout(nowUs);
    this.sendArpRequests();
    this.tcp.handleTimeout(nowUs);
  }

  pollTransmit(): OutgoingFrame | undefined {
    for (;;) {
      if (this.txHead < this.txq.length) {
        const frame = this.txq[this.txHead]!;
        this.txq[this.txHead++] = ZERO_MAC;   // release the reference
        if (this.txHead === this.txq.length) { this.txq.length = 0; this.txHead = 0; }
        this.counter.inc('tx-frames');
        return { ifIndex: 0, frame };
      }
      const next = this.tcp.pollSegment(this.nowUs);
      if (next === undefined) return undefined;
      this.sendTcp(next.tuple, next.seg);
    }
  }

  pollDeadline(): number | undefined {
    const a = this.arp.nextDeadline();
    const t = this.tcp.pollDeadline(this.nowUs);
    if (a === undefined) return t;
    if (t === undefined) return a;
    return Math.min(a, t);
  }

  // ---- applications -------------------------------------------------------

  /** Accepts connections on `port`; `service` makes one app per connection at establishment. */
  listen(port: number, service: HostStreamService): void {
    this.tcp.listen(port, service);
  }

  unlisten(port: number): void {
    this.tcp.unlisten(port);
  }

  /**
   * Active open from an ephemeral port; the app is made at once and gets onOpen() at
   * establishment. `usable` may refuse tuples in use outside this stack (TcpDemux.connect).
   */
  connect(ip: string | number, port: number, makeApp: HostStreamService, nowUs: number, usable?: (tuple: FourTuple) => boolean): HostStreamConnection {
    const remote = this.resolveIp(ip);
    this.nowUs = Math.max(this.nowUs, nowUs);
    return this.tcp.connect(this.ip, remote, port, makeApp, nowUs, usable);
  }

  /** A connection was changed from outside (e.g. its ACK limit raised): poll it for output on the next drain. */
  pokeTcp(tuple: FourTuple, nowUs: number): void {
    this.nowUs = Math.max(this.nowUs, nowUs);
    this.tcp.poke(tuple);
  }

  /**
   * Records a neighbour's MAC learnt elsewhere (an ST-TCP backup sees clients' frames on
   * its tap), so traffic to it need not wait for ARP. Releases frames waiting for it.
   */
  learnNeighbor(ip: string | number, mac: Uint8Array, nowUs: number): void {
    const addr = this.resolveIp(ip);
    if ((addr & this.mask) !== (this.ip & this.mask)) return;
    this.nowUs = Math.max(this.nowUs, nowUs);
    this.releasePending(addr, mac, nowUs);
  }

  udpBind(port: number, onDatagram: UdpHandler): void {
    if (!this.udp.has(port) && this.udp.size >= this.udpPortsMax) throw new Error(`${this.name}: too many UDP ports bound`);
    this.udp.set(port, onDatagram);
  }

  udpUnbind(port: number): void {
    this.udp.delete(port);
  }

  /** Sends one datagram; larger than the MTU allows (no fragmentation) → counted and dropped. */
  udpSend(dstIp: string | number, dstPort: number, srcPort: number, data: Uint8Array, nowUs: number, srcIp?: string | number): void {
    this.nowUs = Math.max(this.nowUs, nowUs);
    const dst = this.resolveIp(dstIp);
    const src = srcIp === undefined ? this.ip : this.resolveIp(srcIp);
    if (!this.addrs.has(src)) throw new Error(`${this.name}: ${formatIpv4(src)} is not one of our addresses`);
    const len = UDP_HEADER_LEN + data.length;
    if (IPV4_HEADER_LEN + len > this.mtu) { this.counter.inc('drop-udp-too-big'); return; }
    this.sendIpv4(src, dst, IP_PROTOCOL.udp, len, false, (buf, off) => emitUdpDatagram({ srcPort, dstPort, payload: data }, buf, off, src, dst));
    this.counter.inc('udp-out');
  }

  /** Sends an ICMP echo request (RFC 792); replies go to onEchoReply(). */
  ping(dstIp: string | number, identifier: number, sequence: number, data: Uint8Array, nowUs: number): void {
    this.nowUs = Math.max(this.nowUs, nowUs);
    this.sendIcmp(this.ip, this.resolveIp(dstIp), { kind: 'echo-request', identifier, sequence, data });
  }

  onEchoReply(handler: EchoReplyHandler | undefined): void {
    this.echoReplyHandler = handler;
  }

  /**
   * Gratuitous ARP (RFC 5227 §3 announcement form) for `ip` (default: every address we
   * own): tells the segment the address is at our MAC. Used at takeover.
   */
  announce(nowUs: number, ip?: string | number): void {
    this.nowUs = Math.max(this.nowUs, nowUs);
    const list = ip === undefined ? [...this.addrs] : [this.resolveIp(ip)];
    for (const a of list) {
      if (!this.addrs.has(a)) throw new Error(`${this.name}: ${formatIpv4(a)} is not one of our addresses`);
      this.sendArp({ operation: 'request', senderMac: this.mac, senderIp: a, targetMac: ZERO_MAC, targetIp: a }, BROADCAST_MAC);
      this.counter.inc('arp-announce');
    }
  }

  /** Starts answering for another address on our subnet (then announce() it to take it over). */
  addAlias(ip: string | number): void {
    const a = this.resolveIp(ip);
    if ((a & this.mask) !== (this.ip & this.mask)) throw new Error(`${this.name}: alias ${formatIpv4(a)} not on the subnet`);
    this.addrs.add(a);
  }

  /** Stops answering for an alias (its connections stay in the table until they close). */
  removeAlias(ip: string | number): void {
    const a = this.resolveIp(ip);
    if (a !== this.ip) this.addrs.delete(a);
  }

  addresses(): string[] {
    return [...this.addrs].map(formatIpv4);
  }

  /**
   * Installs an existing engine (e.g. TcpConnection.restore() of a replicated snapshot
   * at an ST-TCP takeover, or a CRAFT splice) under `tuple`; its local address must be
   * ours (the primary address or an alias). The app is made at once and, if the engine
   * is past the handshake, gets onOpen().
   */
  adoptTcp(tuple: FourTuple, conn: C, makeApp: HostStreamService, nowUs: number): HostStreamConnection {
    if (!this.addrs.has(tuple.localIp)) throw new Error(`${this.name}: adopted connection is for ${formatIpv4(tuple.localIp)}, not one of our addresses`);
    this.nowUs = Math.max(this.nowUs, nowUs);
    return this.tcp.adopt(tuple, conn, makeApp);
  }

  counters(): Readonly<Record<string, number>> {
    return this.counter.snapshot();
  }

  /** Retransmission counters summed over every TCP connection this host has had. */
  tcpStatsTotal(): TcpStatsTotal {
    return this.tcp.statsTotal();
  }

  tcpConnections(): Array<{ tuple: FourTuple; state: string; connection: C }> {
    return this.tcp.entries().map((e) => ({ tuple: e.tuple, state: e.conn.state, connection: e.conn }));
  }

  /** The TCP engine of one connection in the table, by its 4-tuple. */
  tcpConnection(tuple: FourTuple): C | undefined {
    return this.tcp.connection(tuple);
  }

  /** Whether an ARP entry exists for ip (for tests and diagnostics). */
  arpKnows(ip: string | number): boolean {
    return this.arp.has(this.resolveIp(ip));
  }

  // ---- receive path -------------------------------------------------------

  private dropParse(err: WireError): void {
    this.counter.inc(err.detail === FRAGMENT_DETAIL ? 'drop-ipv4-fragment' : `drop-${err.layer}-${err.code}`);
  }

  private handleArp(bytes: Uint8Array, nowUs: number): void {
    const r = parseArpPacket(bytes);
    if (!r.ok) { this.dropParse(r.error); return; }
    const a = r.value;
    this.counter.inc('arp-in');
    if (this.addrs.has(a.senderIp)) {
      // Someone else claims our address (or our own announcement looped back).
      if (!macEquals(a.senderMac, this.mac)) {
        this.counter.inc('arp-conflict');
        this.onAddressConflict?.(formatIpv4(a.senderIp), formatMac(a.senderMac), nowUs);
      }
      return;
    }
    if ((a.senderMac[0]! & 1) !== 0) { this.counter.inc('drop-arp-bad-sender'); return; }
    if (a.senderIp === 0) {
      // RFC 5227 §2.1.1 probe for an address we own: defend it with a reply; never cache a 0 sender.
      if (a.operation === 'request' && this.addrs.has(a.targetIp)) {
        this.counter.inc('arp-probe-defended');
        this.sendArp({ operation: 'reply', senderMac: this.mac, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: 0 }, a.senderMac);
      } else {
        this.counter.inc('arp-probe-ignored');
      }
      return;
    }
    // RFC 826 "Packet Reception": update an existing entry (this is how a gratuitous ARP
    // moves an address at takeover); add one when the packet is for us or we are asking.
    const forUs = this.addrs.has(a.targetIp);
    if (this.arp.has(a.senderIp) || forUs || this.arp.isPending(a.senderIp)) {
      if (a.senderIp === a.targetIp) this.counter.inc('arp-gratuitous');
      this.releasePending(a.senderIp, a.senderMac, nowUs);
    }
    if (forUs && a.operation === 'request') {
      this.sendArp({ operation: 'reply', senderMac: this.mac, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp }, a.senderMac);
    }
  }

  private releasePending(ip: number, mac: Uint8Array, nowUs: number): void {
    for (const frame of this.arp.learn(ip, mac, nowUs)) {
      frame.set(mac.subarray(0, 6), 0);
      this.enqueueFrame(frame);
    }
  }

  private handleIpv4(bytes: Uint8Array, nowUs: number): void {
    const r = parseIpv4Packet(bytes);
    if (!r.ok) { this.dropParse(r.error); return; }
    const ip = r.value;
    const broadcast = ip.dst === 0xffffffff || ip.dst === ((this.ip | ~this.mask) >>> 0);
    if (!broadcast && !this.addrs.has(ip.dst)) { this.counter.inc('drop-ipv4-not-for-us'); return; }
    // RFC 1122 §3.2.1.3: a source address that is broadcast or multicast is discarded.
    // Our own address as source from the wire is spoofed or looped (RFC 1812 §5.3.7 martian).
    if (ip.src === 0xffffffff || (ip.src >>> 28) === 0xe || ip.src === ((this.ip | ~this.mask) >>> 0) || this.addrs.has(ip.src)) {
      this.counter.inc('drop-ipv4-bad-source'); return;
    }
    switch (ip.protocol) {
      case IP_PROTOCOL.tcp: {
        if (broadcast) { this.counter.inc('drop-tcp-broadcast'); return; }
        const t = parseTcpSegment(ip.payload, ip.src, ip.dst);
        if (!t.ok) { this.dropParse(t.error); return; }
        this.counter.inc('tcp-in');
        // The payload is a view into the driver's frame; engines copy what they keep (tcp-engine.ts).
        this.tcp.handleSegment(ip.dst, ip.src, t.value, nowUs);
        return;
      }
      case IP_PROTOCOL.udp: {
        const u = parseUdpDatagram(ip.payload, ip.src, ip.dst);
        if (!u.ok) { this.dropParse(u.error); return; }
        const h = this.udp.get(u.value.dstPort);
        if (h === undefined) {
          this.counter.inc('drop-udp-no-port');
          // RFC 1122 §4.1.3.1: SHOULD send Port Unreachable — never for broadcasts (§3.2.2).
          if (!broadcast) this.sendPortUnreachable(bytes, ip.dst, ip.src, nowUs);
          return;
        }
        this.counter.inc('udp-in');
        h(formatIpv4(ip.src), u.value.srcPort, u.value.payload.slice(), nowUs);
        return;
      }
      case IP_PROTOCOL.icmp: {
        const m = parseIcmpMessage(ip.payload);
        if (!m.ok) { this.dropParse(m.error); return; }
        const msg = m.value;
        if (msg.kind === 'echo-request') {
          // RFC 1122 §3.2.2.6: an echo request to a broadcast address MAY be ignored.
          if (broadcast) { this.counter.inc('drop-icmp-broadcast-echo'); return; }
          this.counter.inc('icmp-echo-request-in');
          this.sendIcmp(ip.dst, ip.src, { kind: 'echo-reply', identifier: msg.identifier, sequence: msg.sequence, data: msg.data.slice() });
        } else if (msg.kind === 'echo-reply') {
          this.counter.inc('icmp-echo-reply-in');
          this.echoReplyHandler?.(formatIpv4(ip.src), msg.identifier, msg.sequence, msg.data.slice(), nowUs);
        } else {
          this.counter.inc('icmp-other-in');
        }
        return;
      }
      default:
        this.counter.inc('drop-ipv4-unknown-protocol');
    }
  }

  /** RFC 792 Destination Unreachable, code 3: the offending IP header + its first 8 data bytes. */
  private sendPortUnreachable(packet: Uint8Array, src: number, dst: number, nowUs: number): void {
    const rate = this.icmpErrorsPerSecond;
    if (rate <= 0) return;
    this.icmpTokens = Math.min(rate, this.icmpTokens + ((nowUs - this.icmpRefillUs) * rate) / 1_000_000);
    this.icmpRefillUs = nowUs;
    if (this.icmpTokens < 1) { this.counter.inc('icmp-error-rate-limited'); return; }
    this.icmpTokens -= 1;
    const headerLen = (packet[0]! & 0x0f) * 4;
    const quoted = packet.slice(0, Math.min(packet.length, headerLen + 8));
    this.counter.inc('icmp-port-unreachable-out');
    this.sendIcmp(src, dst, { kind: 'other', type: 3, code: 3, rest: 0, data: quoted });
  }

  // ---- send path ----------------------------------------------------------

  private resolveIp(ip: string | number): number {
    if (typeof ip === 'number') return ip >>> 0;
    const v = parseIpv4(ip);
    if (v === undefined) throw new Error(`${this.name}: bad IPv4 address ${ip}`);
    return v;
  }

  private sendTcp(tuple: FourTuple, seg: TcpRepr): void {
    const len = tcpSegmentLen(seg);
    if (IPV4_HEADER_LEN + len > this.tcpPacketMax) { this.counter.inc('drop-tcp-too-big'); return; }
    this.counter.inc('tcp-out');
    this.sendIpv4(tuple.localIp, tuple.remoteIp, IP_PROTOCOL.tcp, len, true, (buf, off) => emitTcpSegment(seg, buf, off, tuple.localIp, tuple.remoteIp));
  }

  private sendIcmp(src: number, dst: number, msg: IcmpRepr): void {
    const len = icmpMessageLen(msg);
    if (IPV4_HEADER_LEN + len > this.mtu) { this.counter.inc('drop-icmp-too-big'); return; }
    this.counter.inc('icmp-out');
    this.sendIpv4(src, dst, IP_PROTOCOL.icmp, len, false, (buf, off) => emitIcmpMessage(msg, buf, off));
  }

  /**
   * Builds Ethernet + IPv4 + the L4 bytes (written by `emitL4`) in one buffer, inside
   * out, and sends it to the next hop: the destination on our subnet, else the gateway.
   */
  private sendIpv4(src: number, dst: number, protocol: number, l4Len: number, dontFragment: boolean, emitL4: (buf: Uint8Array, offset: number) => void): void {
    const broadcast = dst === 0xffffffff || dst === ((this.ip | ~this.mask) >>> 0);
    let nextHop = dst;
    if (!broadcast && (dst & this.mask) !== (this.ip & this.mask)) {
      if (this.gateway === undefined) { this.counter.inc('drop-ipv4-no-route'); return; }
      nextHop = this.gateway;
    }
    const ipOff = ETHERNET_HEADER_LEN;
    const l4Off = ipOff + IPV4_HEADER_LEN;
    const frame = this.frames.take(l4Off + l4Len);
    emitL4(frame, l4Off);
    this.identification = (this.identification + 1) & 0xffff;
    emitIpv4Header({ dscp: 0, ecn: 0, identification: this.identification, dontFragment, ttl: this.ttl, protocol, src, dst }, l4Len, frame, ipOff);
    const mac = broadcast ? BROADCAST_MAC : this.arp.lookup(nextHop, this.nowUs);
    emitEthernetHeader(mac ?? ZERO_MAC, this.mac, ETHERTYPE.ipv4, frame, 0);
    if (mac === undefined) this.arp.enqueue(nextHop, frame, this.nowUs);
    else this.enqueueFrame(frame);
    this.sendArpRequests();
  }

  private sendArpRequests(): void {
    for (const ip of this.arp.takeRequests()) {
      this.counter.inc('arp-request-out');
      this.sendArp({ operation: 'request', senderMac: this.mac, senderIp: this.ip, targetMac: ZERO_MAC, targetIp: ip }, BROADCAST_MAC);
    }
  }

  private sendArp(a: ArpRepr, dstMac: Uint8Array): void {
    const frame = this.frames.take(ETHERNET_HEADER_LEN + ARP_PACKET_LEN);
    emitArpPacket(a, frame, ETHERNET_HEADER_LEN);
    emitEthernetFrame({ dst: dstMac, src: this.mac, ethertype: ETHERTYPE.arp, payload: frame.subarray(ETHERNET_HEADER_LEN) }, frame, 0);
    this.enqueueFrame(frame);
  }

  private enqueueFrame(frame: Uint8Array): void {
    if (this.txq.length - this.txHead >= this.txQueueMax) { this.counter.inc('drop-tx-queue-full'); return; }
    this.txq.push(frame);
  }
}
