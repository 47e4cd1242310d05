// The passive TCP observer: counts per flow direction, retransmission detection by
// sequence number (including across 2^32 wrap), and robustness to junk frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpObserver } from './tcp-observer.js';
import { tcpFrame } from './frames.js';
import { tcpFlags } from '../wire/tcp.js';

const A = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2' };
const B = { srcMac: '02:00:00:00:00:02', dstMac: '02:00:00:00:00:01', srcIp: '10.0.0.2', dstIp: '10.0.0.1' };
const data = (seq: number, n: number) => tcpFrame({ ...A, seg: { srcPort: 1000, dstPort: 80, seq, payload: new Uint8Array(n) } });

test('counts segments, flags, payload and retransmissions per direction', () => {
  const o = new TcpObserver();
  const isn = 0xffff_ff00; // the data crosses 2^32
  o.record(0, tcpFrame({ ...A, seg: { srcPort: 1000, dstPort: 80, seq: isn, flags: tcpFlags({ syn: true }) } }));
  o.record(5, tcpFrame({ ...B, seg: { srcPort: 80, dstPort: 1000, seq: 7, ack: isn + 1, flags: tcpFlags({ syn: true, ack: true }) } }));
  o.record(10, data(isn + 1, 200));
  o.record(11, data(isn + 201, 200)); // wraps
  o.record(12, data(isn + 1, 200)); // retransmission
  o.record(13, data((isn + 401) >>> 0, 100));
  o.record(14, data((isn + 201) >>> 0, 200)); // retransmission across the wrap
  o.record(20, tcpFrame({ ...A, seg: { srcPort: 1000, dstPort: 80, seq: (isn + 501) >>> 0, flags: tcpFlags({ fin: true, ack: true }) } }));
  o.record(21, tcpFrame({ ...B, seg: { srcPort: 80, dstPort: 1000, seq: 8, flags: tcpFlags({ rst: true }) } }));
  const [ab, ba] = o.flowStats();
  assert.equal(ab!.flow, '10.0.0.1:1000>10.0.0.2:80');
  assert.deepEqual({ ...ab }, { flow: ab!.flow, segments: 7, dataSegments: 5, payloadBytes: 900, retransmits: 2, syn: 1, fin: 1, rst: 0, firstUs: 0, lastUs: 20 });
  assert.equal(ba!.rst, 1);
  assert.equal(ba!.syn, 1);
  assert.deepEqual(o.totals(), { segments: 9, payloadBytes: 900, retransmits: 2, rst: 1, syn: 2, fin: 1 });
});

test('junk and non-TCP frames are counted, never thrown', () => {
  const o = new TcpObserver();
  o.record(0, new Uint8Array(3));
  const f = data(1, 10);
  f[f.length - 1] ^= 0xff; // bad TCP checksum
  o.record(1, f);
  const arp = new Uint8Array(42);
  arp[12] = 0x08; arp[13] = 0x06;
  o.record(2, arp);
  assert.equal(o.unparsable, 2);
  assert.equal(o.nonTcp, 1);
  assert.equal(o.flowStats().length, 0);
});
