// The per-packet rewrite (splice.ts) as a property: for random splice states and
// random segments (any options layout, aligned or not), the rewritten frame parses with
// valid IPv4 and TCP checksums (patched by RFC 1624, never recomputed) and every field
// is the exact translation. Plus scripted teardown bookkeeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkProperty } from '../wire/prop.js';
import { emitEthernetFrame, ETHERNET_HEADER_LEN, ETHERTYPE, parseEthernetFrame } from '../wire/ethernet.js';
import { emitIpv4Packet, IPV4_HEADER_LEN, parseIpv4Packet } from '../wire/ipv4.js';
import { emitTcpSegment, parseTcpSegment, tcpFlags, tcpSegmentLen, type TcpRepr } from '../wire/tcp.js';
import { rewriteSegment, type SpliceState } from './splice.js';
import { seqDiff } from '../tcp/seq.js';

const OUR_MAC = new Uint8Array([2, 0, 0, 0, 0, 0x50]);
const timers = { finLingerUs: 5_000_000, rstLingerUs: 1_000_000 };
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const shift = fc.integer({ min: 0, max: 14 });

function state(o: Partial<SpliceState> = {}): SpliceState {
  return {
    id: 1, serviceIp: 0x0a000050, backendId: 'b0',
    client: { ip: 0x0a000001, port: 40000, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), localPort: 80 },
    backend: { ip: 0x0a000064, port: 8080, mac: new Uint8Array([2, 0, 0, 0, 0, 0x64]), localPort: 50000 },
    seqC2B: 1000, seqB2C: 0xfffff000, tsC2B: 77, tsB2C: 0xffffff00,
    winC2B: { inShift: 0, outShift: 0 }, winB2C: { inShift: 0, outShift: 0 }, sackToBackend: true,
    finClient: undefined, finBackend: undefined, finClientAcked: false, finBackendAcked: false, rst: false,
    lastC2BUs: 0, lastB2CUs: 0, expiresUs: undefined, packetsC2B: 0, packetsB2C: 0,
    clientAcked: 0, clientNxt: 0, b2cNxt: 0, clientTsVal: undefined, tsToClient: undefined, respStart: 0, respHeadLen: undefined, respBodyLen: undefined,
    request: undefined, clientOpts: { mss: 1460, ws: true, sack: true, ts: true }, resplicing: false, ...o,
  };
}

/** An Ethernet+IPv4+TCP frame from `srcIp` to `dstIp`. */
function frameOf(seg: TcpRepr, srcIp: number, dstIp: number, ttl = 64): { frame: Uint8Array; tcpEnd: number } {
  const l4 = tcpSegmentLen(seg);
  const frame = new Uint8Array(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + l4);
  emitTcpSegment(seg, frame, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN, srcIp, dstIp);
  emitIpv4Packet({ dscp: 0, ecn: 0, identification: 7, dontFragment: true, ttl, protocol: 6, src: srcIp, dst: dstIp, payload: frame.subarray(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN) }, frame, ETHERNET_HEADER_LEN);
  emitEthernetFrame({ dst: OUR_MAC, src: new Uint8Array(6), ethertype: ETHERTYPE.ipv4, payload: frame.subarray(ETHERNET_HEADER_LEN) }, frame, 0);
  return { frame, tcpEnd: frame.length };
}

const segArb = fc.record({
  seq: u32, ack: u32, window: u16, ack_: fc.boolean(), fin: fc.boolean(),
  ts: fc.option(fc.record({ value: u32, echo: u32 }), { nil: undefined }),
  sack: fc.array(fc.record({ left: u32, right: u32 }), { maxLength: 3 }),
  // Unknown options of odd lengths push later options off 16-bit alignment.
  unknown: fc.array(fc.record({ kind: fc.integer({ min: 30, max: 250 }), len: fc.integer({ min: 0, max: 3 }) }), { maxLength: 2 }),
  payload: fc.uint8Array({ maxLength: 64 }),
});

test('rewrite: checksums valid after RFC 1624 patching and every field translated exactly (property)', () => {
  checkProperty('splice rewrite', 'src/craft/splice.test.ts', fc.property(
    segArb, u32, u32, u32, u32, shift, shift, fc.boolean(), fc.boolean(), u32,
    (g, seqC2B, seqB2C, tsC2B, tsB2C, inShift, outShift, c2b, sackToBackend, b2cNxt) => {
      // After a re-splice (capAcks; half the cases) a client ACK beyond what was forwarded to the client is capped there.
      const capAcks = (b2cNxt & 1) === 0;
      const s = state({ seqC2B, seqB2C, tsC2B, tsB2C, sackToBackend, b2cNxt, capAcks, winC2B: { inShift, outShift }, winB2C: { inShift, outShift } });
      const capped = c2b && g.ack_ && capAcks && seqDiff(g.ack, b2cNxt) > 0;
      const from = c2b ? s.client : s.backend;
      const to = c2b ? s.backend : s.client;
      const seg: TcpRepr = {
        srcPort: from.port, dstPort: from.localPort, seq: g.seq, ack: g.ack, window: g.window, urgentPointer: 0,
        flags: tcpFlags({ ack: g.ack_, fin: g.fin, psh: true }),
        options: { ...(g.ts ? { timestamp: g.ts } : {}), ...(g.sack.length > 0 ? { sack: g.ts ? g.sack.slice(0, 2) : g.sack } : {}),
          ...(g.unknown.length > 0 ? { unknown: g.unknown.map((u) => ({ kind: u.kind, data: new Uint8Array(u.len).fill(9) })) } : {}) },
        payload: g.payload,
      };
      if (tcpSegmentLen(seg) - 20 - g.payload.length > 40) return;         // options do not fit: not a valid segment
      const { frame, tcpEnd } = frameOf(seg, from.ip, s.serviceIp);
      // What was actually emitted (the codec trims SACK blocks that do not fit).
      const orig = parseTcpSegment(frame.subarray(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN), from.ip, s.serviceIp);
      assert.ok(orig.ok);
      rewriteSegment(s, c2b ? 'c2b' : 'b2c', frame, ETHERNET_HEADER_LEN, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN, tcpEnd, OUR_MAC, 10, timers);
      const eth = parseEthernetFrame(frame);
      assert.ok(eth.ok);
      assert.deepEqual([...eth.value.dst], [...to.mac]);
      assert.deepEqual([...eth.value.src], [...OUR_MAC]);
      const ip = parseIpv4Packet(eth.value.payload);
      assert.ok(ip.ok, 'IPv4 checksum');
      assert.equal(ip.value.src, s.serviceIp);
      assert.equal(ip.value.dst, to.ip);
      assert.equal(ip.value.ttl, 63);
      const t = parseTcpSegment(ip.value.payload, ip.value.src, ip.value.dst);
      assert.ok(t.ok, `TCP checksum: ${t.ok ? '' : t.error.detail}`);
      const r = t.value;
      assert.equal(r.srcPort, to.localPort);
      assert.equal(r.dstPort, to.port);
      const seqOff = c2b ? seqC2B : seqB2C;
      const ackOff = c2b ? -seqB2C : -seqC2B;
      assert.equal(r.seq, (g.seq + seqOff) >>> 0);
      assert.equal(r.ack, g.ack_ ? ((capped ? b2cNxt : g.ack) + ackOff) >>> 0 : g.ack);
      assert.equal(r.window, Math.min(0xffff, Math.floor(g.window * 2 ** inShift / 2 ** outShift)));
      if (g.ts) {
        assert.equal(r.options.timestamp!.value, (g.ts.value + (c2b ? tsC2B : tsB2C)) >>> 0);
        assert.equal(r.options.timestamp!.echo, g.ack_ && g.ts.echo !== 0 ? (g.ts.echo - (c2b ? tsB2C : tsC2B)) >>> 0 : g.ts.echo);
      }
      const sentSack = orig.value.options.sack ?? [];
      if (c2b && (!sackToBackend || capped)) assert.equal(r.options.sack, undefined, 'SACK blanked to NOPs');
      else assert.deepEqual(r.options.sack ?? [], sentSack.map((b) => ({ left: (b.left + ackOff) >>> 0, right: (b.right + ackOff) >>> 0 })));
      assert.deepEqual([...r.payload], [...g.payload]);
    }), 500);
});

test('teardown: both FINs acknowledged start the linger; a RST starts the short one', () => {
  const s = state({ seqC2B: 0, seqB2C: 0, b2cNxt: 100000 });
  const send = (dir: 'c2b' | 'b2c', seq: number, ack: number, flags: Parameters<typeof tcpFlags>[0], nowUs: number): void => {
    const from = dir === 'c2b' ? s.client : s.backend;
    const { frame, tcpEnd } = frameOf({ srcPort: from.port, dstPort: from.localPort, seq, ack, window: 1000, urgentPointer: 0, flags: tcpFlags(flags), options: {}, payload: new Uint8Array(0) }, from.ip, s.serviceIp);
    rewriteSegment(s, dir, frame, ETHERNET_HEADER_LEN, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN, tcpEnd, OUR_MAC, nowUs, timers);
  };
  send('b2c', 500, 100, { fin: true, ack: true }, 1);      // back end's FIN at 500 → 501
  assert.equal(s.finBackend, 501);
  send('c2b', 100, 500, { ack: true }, 2);                  // does not cover the FIN
  assert.equal(s.finBackendAcked, false);
  send('c2b', 100, 501, { fin: true, ack: true }, 3);       // acknowledges it and sends the client's FIN
  assert.ok(s.finBackendAcked);
  assert.equal(s.expiresUs, undefined);
  send('b2c', 501, 101, { ack: true }, 4);
  assert.ok(s.finClientAcked);
  assert.equal(s.expiresUs, 4 + timers.finLingerUs);
  const r = state();
  const { frame, tcpEnd } = frameOf({ srcPort: r.client.port, dstPort: 80, seq: 1, ack: 0, window: 0, urgentPointer: 0, flags: tcpFlags({ rst: true }), options: {}, payload: new Uint8Array(0) }, r.client.ip, r.serviceIp);
  rewriteSegment(r, 'c2b', frame, ETHERNET_HEADER_LEN, ETHERNET_HEADER_LEN + IPV4_HEADER_LEN, tcpEnd, OUR_MAC, 100, timers);
  assert.ok(r.rst);
  assert.equal(r.expiresUs, 100 + timers.rstLingerUs);
});
