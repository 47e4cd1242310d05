// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// Raw frames through a real TAP device: an ARP request from a kernel in a network
// namespace arrives on our fd; the ARP reply we write makes the kernel's neighbour
// table learn our MAC. Needs root (skips with the reason otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { labSkip } from '../../lab/prerequisites.js';
import { TapDevice, TapError } from './tap-device.js';

const skip = labSkip();

function sh(cmd: string[]): string { return execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' }); }

test('TAP: ARP request seen on the fd, our reply lands in the kernel neighbour table', { skip }, async () => {
  const id = randomBytes(3).toString('hex');
  const ns = `ubtest-${id}`;
  const dev = `ubt${id}`;
  sh(['ip', 'netns', 'add', ns]);
  const tap = TapDevice.open(dev);
  try {
    // Created in this namespace (no address, down), moved at once into the test's own.
    sh(['ip', 'link', 'set', dev, 'netns', ns]);
    sh(['ip', '-n', ns, 'addr', 'add', '10.9.0.2/24', 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    const ourMac = Uint8Array.from([0x02, 0, 0, 0, 0, 0x01]);
    const ourIp = Uint8Array.from([10, 9, 0, 1]);
    const gotRequest = new Promise<Uint8Array>((resolve, reject) => {
      setTimeout(() => reject(new Error('no ARP request seen on the TAP within 10 s')), 10_000).unref();
      tap.startReading(() => {
        tap.takeFrames(Infinity, (f) => {
          // Ethertype ARP, opcode request, target 10.9.0.1
          if (f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 && f.subarray(38, 42).every((b, i) => b === ourIp[i])) resolve(f.slice());
        });
      }, (e) => { throw e; });
    });
    // The kernel ARPs for 10.9.0.1 when a datagram is sent there.
    const ping = spawn('ip', ['netns', 'exec', ns, 'bash', '-c', 'for i in 1 2 3 4 5; do echo x > /dev/udp/10.9.0.1/9; sleep 1; done'], { stdio: 'ignore' });
    const req = await gotRequest;
    const theirMac = req.subarray(22, 28);
    const reply = new Uint8Array(42);
    reply.set(theirMac, 0); reply.set(ourMac, 6); reply.set([0x08, 0x06], 12);
    reply.set([0, 1, 0x08, 0, 6, 4, 0, 2], 14); // Ethernet/IPv4, opcode reply (RFC 826)
    reply.set(ourMac, 22); reply.set(ourIp, 28); reply.set(theirMac, 32); reply.set(req.subarray(28, 32), 38);
    assert.equal(tap.write(reply), true);
    let neigh = '';
    for (let i = 0; i < 50 && !/02:00:00:00:00:01/.test(neigh); i++) {
      await new Promise((r) => setTimeout(r, 20));
      neigh = sh(['ip', '-n', ns, 'neigh', 'show', '10.9.0.1']);
    }
    assert.match(neigh, /10\.9\.0\.1 dev \S+ lladdr 02:00:00:00:00:01/);
    ping.kill();
  } finally {
    // The namespace goes even when closing the device fails.
    try { await tap.close(); } finally { sh(['ip', 'netns', 'del', ns]); }
  }
});

test('TAP: clear one-line errors for bad names and busy devices', { skip }, async () => {
  assert.throws(() => TapDevice.open('x'.repeat(16)), (e: unknown) => e instanceof TapError && e.code === 'TAP_BAD_NAME');
  const id = randomBytes(3).toString('hex');
  const ns = `ubtest-${id}`;
  sh(['ip', 'netns', 'add', ns]);
  try {
    // A persistent TAP inside our namespace, attached twice from a process in it.
    sh(['ip', '-n', ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
    const script = `import('${new URL('./tap-device.ts', import.meta.url).pathname}').then(async ({ TapDevice }) => {
      const a = TapDevice.open('tap0');
      try { TapDevice.open('tap0'); console.log('no error'); } catch (e) { console.log(e.code + ' ' + e.message); }
      await a.close();
    })`;
    const out = sh(['ip', 'netns', 'exec', ns, process.execPath, '--import', 'tsx', '-e', script]);
    assert.match(out, /^TAP_BUSY TAP device 'tap0' is busy: .+/);
    assert.equal(out.trim().split('\n').length, 1);
  } finally {
    sh(['ip', 'netns', 'del', ns]);
  }
});
