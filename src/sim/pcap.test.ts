// pcap output: byte-exact global header and record layout, timestamps from the
// virtual clock, snaplen and size bounds, port captures, and tshark reading a file
// of valid frames without any malformed-packet or checksum error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from './pcap.js';
import { Simulator } from './simulator.js';
import { LearningSwitch } from './boxes.js';
import { FakeEndpoint, fakeFrame, fakeMac } from './fake-endpoint.js';
import { tsharkCheck, tsharkSkipReason } from './tshark.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('global header: a1b2c3d4 little-endian, v2.4, zone 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET', () => {
  const w = new PcapWriter({ snapLenBytes: 65535 });
  assert.equal(hex(w.bytes()), 'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '01000000');
});

test('record: ts_sec, ts_usec from virtual µs, incl_len, orig_len, then the bytes', () => {
  const w = new PcapWriter();
  w.record(3_000_042, Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
  w.record(0, Uint8Array.of(1));
  const b = w.bytes();
  assert.equal(b.length, 24 + 16 + 4 + 16 + 1);
  assert.equal(hex(b.subarray(24)), '03000000' + '2a000000' + '04000000' + '04000000' + 'deadbeef' + '00000000' + '00000000' + '01000000' + '01000000' + '01');
  assert.equal(w.frameCount(), 2);
});

test('snaplen truncates incl_len but keeps orig_len; maxFileBytes stops recording and counts', () => {
  const w = new PcapWriter({ snapLenBytes: 8, maxFileBytes: 24 + 2 * (16 + 8) });
  const f = new Uint8Array(20).map((_, i) => i);
  w.record(1, f);
  const b = w.bytes();
  const v = new DataView(b.buffer);
  assert.equal(v.getUint32(24 + 8, true), 8);
  assert.equal(v.getUint32(24 + 12, true), 20);
  assert.equal(hex(b.subarray(40)), '0001020304050607');
  w.record(2, f);
  w.record(3, f);
  assert.equal(w.frameCount(), 2);
  assert.equal(w.skippedCount(), 1);
});

test('capturePort records frames leaving (at serialization start) and arriving (at delivery)', () => {
  const sim = new Simulator({ seed: 1 });
  const a = new FakeEndpoint('a');
  const b = new FakeEndpoint('b');
  sim.addNode('a', a); sim.addNode('b', b);
  sim.link(['a', 0], ['b', 0], { latencyUs: 1000, bandwidthBps: 8_000_000 });
  const capA = sim.capturePort('a', 0);
  const capB = sim.capturePort('b', 0);
  b.onFrame = (_r, s) => s.send(0, fakeFrame(1, 2, 100, 2));
  sim.act('a', () => a.send(0, fakeFrame(2, 1, 100, 1)));
  sim.runUntil(1_000_000);
  const times = (w: PcapWriter): number[] => {
    const bytes = w.bytes();
    const v = new DataView(bytes.buffer);
    const out: number[] = [];
    for (let off = 24; off < bytes.length; off += 16 + v.getUint32(off + 8, true)) {
      out.push(v.getUint32(off, true) * 1_000_000 + v.getUint32(off + 4, true));
    }
    return out;
  };
  // a sends at 0; b gets it at 100 + 1000; b's reply starts at 1100 and reaches a at 2200.
  assert.deepEqual(times(capA), [0, 2200]);
  assert.deepEqual(times(capB), [1100, 1100]);
});

/** A valid ARP request from host n (10.0.0.n) for 10.0.0.m. */
function arpRequest(n: number, m: number): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(fakeMac(n), 6);
  f.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01], 12);
  f.set(fakeMac(n), 22);
  f.set([10, 0, 0, n], 28);
  f.set([10, 0, 0, m], 38);
  return f;
}

test('tshark reads a simulator capture with no malformed packet', (t) => {
  const skip = tsharkSkipReason();
  if (skip) {
    t.skip(skip);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-pcap-'));
  try {
    const sim = new Simulator({ seed: 1 });
    sim.addNode('sw', new LearningSwitch({ ports: 3 }));
    const hosts = [1, 2, 3].map((n) => {
      const h = new FakeEndpoint(`h${n}`);
      sim.addNode(`h${n}`, h);
      sim.link([`h${n}`, 0], ['sw', n - 1], { latencyUs: 50 + n, bandwidthBps: 100_000_000 });
      return h;
    });
    const cap = sim.capturePort('sw', 0);
    for (let i = 0; i < 30; i++) hosts[i % 3]!.sendAt(1000 * i + 999_000 * (i % 2), 0, arpRequest((i % 3) + 1, ((i + 1) % 3) + 1));
    sim.flushAll();
    sim.runUntil(60_000_000);
    const path = join(dir, 'arp.pcap');
    cap.writeFile(path);
    const rep = tsharkCheck(path);
    assert.equal(rep.frames, cap.frameCount());
    assert.equal(rep.frames, 30); // 10 sent on port 0's host + 20 flooded to it
    assert.deepEqual(rep.errors, []);
    assert.deepEqual(Object.keys(rep.protocols), ['eth:ethertype:arp']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
