// A real TCP transfer between two of our Hosts with loss, reordering and duplication,
// captured at the client's port: tshark (with IP/TCP checksum validation on) decodes
// every frame with no malformed packet and no bad checksum, and sees the retransmissions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runTransfer } from '../../src/sim/scenarios/transfer.js';
import { tsharkCheck, tsharkSkipReason } from '../../src/sim/tshark.js';

test('tshark reads a lossy TCP transfer capture: no malformed packets, no bad checksums', (t) => {
  const skip = tsharkSkipReason();
  if (skip) {
    t.skip(skip);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-tshark-'));
  try {
    const r = runTransfer({
      seed: 7,
      clientBytes: 300_000,
      serverBytes: 1_000_000,
      faults: [{ kind: 'loss', rate: 0.05 }, { kind: 'reorder', rate: 0.03, delayUs: 2000 }, { kind: 'duplicate', rate: 0.02 }],
      capture: true,
    });
    assert.ok(r.ok, r.reason);
    assert.ok(r.wire.retransmits > 0, 'the capture contains retransmissions');
    const path = join(dir, 'transfer.pcap');
    r.pcap!.writeFile(path);
    const rep = tsharkCheck(path);
    t.diagnostic(`${rep.frames} frames: ${JSON.stringify(rep.protocols)}`);
    assert.equal(rep.frames, r.pcap!.frameCount());
    assert.deepEqual(rep.errors, []);
    assert.ok((rep.protocols['eth:ethertype:ip:tcp'] ?? 0) + (rep.protocols['eth:ethertype:ip:tcp:data'] ?? 0) > 500);
    assert.ok((rep.protocols['eth:ethertype:arp'] ?? 0) >= 2);
    // tshark's own TCP analysis agrees that data was retransmitted.
    const rt = spawnSync('tshark', ['-r', path, '-n', '-Y', 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
    assert.equal(rt.status, 0, rt.stderr);
    assert.ok(rt.stdout.trim().split('\n').filter(Boolean).length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
