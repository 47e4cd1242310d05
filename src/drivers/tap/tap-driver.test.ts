// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// The driver loop on a real TAP: a small FrameEndpoint fixture (answers ARP for
// 10.9.1.1, but only from handleTimeout 5 ms after the request) shows that frames
// reach handleFrame, pollTransmit is drained, and the pollDeadline timer fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { labSkip } from '../../lab/prerequisites.js';
import type { FrameEndpoint, OutgoingFrame } from '../../stack/endpoint.js';
import { TapDevice } from './tap-device.js';
import { TapDriver } from './tap-driver.js';

const skip = labSkip(['bash']);
const sh = (c: string[]): string => execFileSync(c[0], c.slice(1), { encoding: 'utf8' });

class DelayedArpResponder implements FrameEndpoint {
  private out: OutgoingFrame[] = [];
  private pending: { frame: Uint8Array; atUs: number } | undefined;
  readonly seen: number[] = [];
  constructor(private readonly mac: Uint8Array, private readonly ip: Uint8Array) {}
  handleFrame(ifIndex: number, f: Uint8Array, nowUs: number): void {
    this.seen.push(nowUs);
    if (ifIndex !== 0 || f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06 || f[21] !== 1) return;
    if (!f.subarray(38, 42).every((b, i) => b === this.ip[i]) || this.pending !== undefined) return;
    const r = new Uint8Array(42);
    r.set(f.subarray(22, 28), 0); r.set(this.mac, 6); r.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
    r.set(this.mac, 22); r.set(this.ip, 28); r.set(f.subarray(22, 32), 32);
    this.pending = { frame: r, atUs: nowUs + 5000 };
  }
  handleTimeout(nowUs: number): void {
    if (this.pending !== undefined && nowUs >= this.pending.atUs) { this.out.push({ ifIndex: 0, frame: this.pending.frame }); this.pending = undefined; }
  }
  pollTransmit(): OutgoingFrame | undefined { return this.out.shift(); }
  pollDeadline(): number | undefined { return this.pending?.atUs; }
}

test('TapDriver: frames in, transmit drained, deadline timer fires', { skip, timeout: 30_000 }, async () => {
  const id = randomBytes(3).toString('hex');
  const ns = `ubtest-${id}`;
  const dev = `ubt${id}`;
  sh(['ip', 'netns', 'add', ns]);
  const tap = TapDevice.open(dev);
  const ep = new DelayedArpResponder(Uint8Array.from([2, 0, 0, 0, 0, 9]), Uint8Array.from([10, 9, 1, 1]));
  const driver = new TapDriver(tap, ep);
  try {
    sh(['ip', 'link', 'set', dev, 'netns', ns]);
    sh(['ip', '-n', ns, 'addr', 'add', '10.9.1.2/24', 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    driver.start();
    const poke = spawn('ip', ['netns', 'exec', ns, 'bash', '-c', 'for i in 1 2 3 4 5; do echo x > /dev/udp/10.9.1.1/9; sleep 1; done'], { stdio: 'ignore' });
    let neigh = '';
    for (let i = 0; i < 200 && !/02:00:00:00:00:09/.test(neigh); i++) {
      await new Promise((r) => setTimeout(r, 25));
      neigh = sh(['ip', '-n', ns, 'neigh', 'show', '10.9.1.1']);
    }
    poke.kill();
    assert.match(neigh, /lladdr 02:00:00:00:00:09/);
    assert.ok(driver.counters.timeouts >= 1, 'the reply is only sent from handleTimeout');
    assert.ok(driver.counters.framesOut >= 1);
    assert.ok(ep.seen.every((t, i) => i === 0 || t >= ep.seen[i - 1]), 'clock never decreases');
  } finally {
    await driver.stop();
    sh(['ip', 'netns', 'del', ns]);
  }
});

/** Records the order of frames and timer firings; one deadline, `dueInUs` after the first call. */
class OrderRecorder implements FrameEndpoint {
  readonly events: string[] = [];
  private deadline: number | undefined;
  constructor(private readonly marker: Uint8Array) {}
  arm(nowUs: number, inUs: number): void { this.deadline = nowUs + inUs; }
  handleFrame(_ifIndex: number, f: Uint8Array): void {
    // The marker datagram's payload, anywhere in the frame.
    for (let i = 0; i + this.marker.length <= f.length; i++) {
      if (this.marker.every((b, j) => f[i + j] === b)) { this.events.push('marker'); return; }
    }
    this.events.push('frame');
  }
  handleTimeout(nowUs: number): void {
    if (this.deadline !== undefined && nowUs >= this.deadline) { this.events.push('timeout'); this.deadline = undefined; }
  }
  pollTransmit(): OutgoingFrame | undefined { return undefined; }
  pollDeadline(): number | undefined { return this.deadline; }
}

test('TapDriver: after an event-loop stall, frames already read go before the overdue timer', { skip, timeout: 30_000 }, async () => {
  const id = randomBytes(3).toString('hex');
  const ns = `ubtest-${id}`;
  const dev = `ubt${id}`;
  sh(['ip', 'netns', 'add', ns]);
  const tap = TapDevice.open(dev);
  const marker = new TextEncoder().encode(`stall-${id}`);
  const ep = new OrderRecorder(marker);
  const driver = new TapDriver(tap, ep);
  try {
    sh(['ip', 'link', 'set', dev, 'netns', ns]);
    // Quiet link: no IPv6 chatter, a static neighbour so the datagram needs no ARP.
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
    sh(['ip', '-n', ns, 'addr', 'add', '10.9.2.2/24', 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    sh(['ip', '-n', ns, 'neigh', 'replace', '10.9.2.1', 'lladdr', '02:00:00:00:00:09', 'dev', dev]);
    driver.start();
    // The timer falls due 20 ms from now; the event loop is then held until the reader
    // thread has read the marker datagram (sent meanwhile), so both are pending at once.
    driver.run((now) => ep.arm(now, 20_000));
    execFileSync('ip', ['netns', 'exec', ns, 'bash', '-c', `printf '${new TextDecoder().decode(marker)}' > /dev/udp/10.9.2.1/9`]);
    const until = Date.now() + 10_000;
    while (tap.counters.framesIn === 0 && Date.now() < until && !readerHasBatch(tap)) { /* hold the event loop */ }
    const start = Date.now();
    while (Date.now() - start < 50) { /* past the deadline for sure */ }
    for (let i = 0; i < 100 && !ep.events.includes('timeout'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ep.events.includes('marker'), `the datagram arrived: ${ep.events.join(',')}`);
    assert.ok(ep.events.indexOf('marker') < ep.events.indexOf('timeout'), `the frame went before the overdue timer: ${ep.events.join(',')}`);
    // Held 50 ms or more past a deadline 20 ms after arming: the driver counts the lateness.
    assert.ok(driver.counters.maxTimerLateUs >= 30_000, `timer late by ${driver.counters.maxTimerLateUs} µs`);
    assert.ok(driver.counters.timersLateOver10ms >= 1);
  } finally {
    await driver.stop();
    sh(['ip', 'netns', 'del', ns]);
  }
});

/** Whether the reader thread has handed a batch over that the event loop has not taken yet. */
function readerHasBatch(tap: TapDevice): boolean { return tap.pendingBatches() > 0; }
