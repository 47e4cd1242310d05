// Interop: every message kind the codec prints (sample corpus, long and compact, UDP and TPKT over TCP)
// is written to a pcap and decoded by tshark's Megaco dissector; no "Malformed", no expert error.
// Skipped (with the reason) where tshark is missing, unless UNBROKEN_LAB=required.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from './text-printer.js';
import { sampleMessages } from './sample-messages.js';
import { encodeTpkt } from './tpkt.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const required = process.env.UNBROKEN_LAB === 'required';
const skip = !hasTshark && !required ? 'tshark not installed (CI installs it; set UNBROKEN_LAB=required to fail instead)' : false;

// --- a tiny pcap writer: Ethernet II / IPv4 / UDP or TCP, built by hand -----------------

function ipv4Checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(proto: 'udp' | 'tcp', src: number, dst: number, sport: number, dport: number, payload: Uint8Array, seq = 0): Uint8Array {
  const l4Len = proto === 'udp' ? 8 : 20;
  const f = new Uint8Array(14 + 20 + l4Len + payload.length);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, dst & 0xff, 2, 0, 0, 0, 0, src & 0xff], 0);
  v.setUint16(12, 0x0800);
  const ip = 14;
  f[ip] = 0x45;
  v.setUint16(ip + 2, 20 + l4Len + payload.length);
  f[ip + 8] = 64;
  f[ip + 9] = proto === 'udp' ? 17 : 6;
  v.setUint32(ip + 12, src);
  v.setUint32(ip + 16, dst);
  v.setUint16(ip + 10, ipv4Checksum(f.subarray(ip, ip + 20)));
  const l4 = ip + 20;
  v.setUint16(l4, sport);
  v.setUint16(l4 + 2, dport);
  if (proto === 'udp') {
    v.setUint16(l4 + 4, 8 + payload.length); // checksum 0: none (RFC 768)
  } else {
    v.setUint32(l4 + 4, seq);
    v.setUint32(l4 + 8, 1);
    f[l4 + 12] = 5 << 4;
    f[l4 + 13] = 0x18; // PSH|ACK
    v.setUint16(l4 + 14, 65535);
    // TCP checksum over the pseudo-header
    const pseudo = new Uint8Array(12 + 20 + payload.length + 1);
    const pv = new DataView(pseudo.buffer);
    pv.setUint32(0, src); pv.setUint32(4, dst); pseudo[9] = 6; pv.setUint16(10, 20 + payload.length);
    pseudo.set(f.subarray(l4, l4 + 20), 12);
    pseudo.set(payload, 32);
    v.setUint16(l4 + 16, ipv4Checksum(pseudo.subarray(0, 32 + payload.length + (payload.length & 1))));
  }
  f.set(payload, l4 + l4Len);
  return f;
}

function pcap(frames: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const g = new Uint8Array(24);
  const gv = new DataView(g.buffer);
  gv.setUint32(0, 0xa1b2c3d4, true); gv.setUint16(4, 2, true); gv.setUint16(6, 4, true);
  gv.setUint32(16, 65535, true); gv.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  parts.push(g);
  frames.forEach((f, i) => {
    const h = new Uint8Array(16);
    const hv = new DataView(h.buffer);
    hv.setUint32(0, 1_700_000_000 + i, true); hv.setUint32(8, f.length, true); hv.setUint32(12, f.length, true);
    parts.push(h, f);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/**
 * Valid messages that tshark 4.0's Megaco dissector cannot decode (its limits, not ours);
 * they stay in the corpus for the codec's own tests and are left out here, by name.
 */
const TSHARK_UNSUPPORTED: Readonly<Record<string, string>> = {
  'mgc sets an event buffer (EventBuffer)': 'EventBuffer descriptor unknown to the dissector ("No Descriptor detectable")',
  'several terminations in one command (termIDList, version 2)': 'bracketed termIDList (H.248.1 v2) read as one id, then "Missing \"=\""',
};

/** Decoded without any error or warning, but tshark 4.0 skips part of them: left out of the command count only. */
const TSHARK_PARTIAL: Readonly<Record<string, string>> = {
  'several transactions in one message': 'only the first transaction of a message is dissected when it is a ResponseAck',
  'context audit': 'the command after ContextAudit is not dissected',
};

function corpus(): [string, ReturnType<typeof sampleMessages>[number][1]][] {
  const all = sampleMessages();
  for (const label of Object.keys(TSHARK_UNSUPPORTED)) assert.ok(all.some(([l]) => l === label), `stale exclusion ${label}`);
  return all.filter(([l]) => !(l in TSHARK_UNSUPPORTED));
}

const MGC_IP = 0x0a000001;
const MG_IP = 0x0a00000b;

function runTshark(file: string, extra: string[]): string {
  const r = spawnSync('tshark', ['-r', file, '-V', '-o', 'megaco.ctx_info:FALSE', ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `tshark failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** Commands per tshark name across the corpus (requests and replies), for a positive check of the decode. */
function expectedCommands(msgs: ReturnType<typeof corpus>): Map<string, number> {
  const name: Record<string, string> = { add: 'Add', modify: 'Modify', move: 'Move', subtract: 'Subtract', auditValue: 'AuditValue', auditCapabilities: 'AuditCapability', notify: 'Notify', serviceChange: 'ServiceChange' };
  const n = new Map<string, number>();
  for (const [, m] of msgs) {
    if (m.body.kind !== 'transactions') continue;
    for (const t of m.body.transactions) {
      const actions = t.kind === 'request' || t.kind === 'reply' ? t.actions : [];
      for (const a of actions) for (const c of a.commands) n.set(name[c.type]!, (n.get(name[c.type]!) ?? 0) + 1);
    }
  }
  return n;
}

/** In long form tshark names each decoded command once as "Command: <Name>" inside its subtree. */
function assertCommandsDecoded(longFormOut: string, expected: Map<string, number>): void {
  assert.ok(expected.size >= 8, 'corpus holds all eight commands');
  for (const [cmd, count] of expected) {
    const seen = longFormOut.split('\n').filter((l) => l.trim() === `Command: ${cmd}`).length;
    assert.equal(seen, count, `tshark decoded ${seen} ${cmd} commands, expected ${count}`);
  }
}

function assertClean(out: string, expectedPackets: number): void {
  const frames = out.split(/\n(?=Frame \d+:)/);
  assert.equal(frames.length, expectedPackets, 'every packet decoded');
  frames.forEach((f, i) => {
    assert.match(f, /MEGACO|Media Gateway Control Protocol/i, `packet ${i + 1} not dissected as Megaco`);
    assert.doesNotMatch(f, /Malformed/i, `packet ${i + 1} malformed:\n${f}`);
    assert.doesNotMatch(f, /Expert Info \((Error|Warning)/i, `packet ${i + 1} has an expert error or warning:\n${f}`);
  });
}

test('tshark decodes every printed message over UDP 2944 without malformed fields', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-h248-'));
  try {
    const frames: Uint8Array[] = [];
    for (const form of ['long', 'compact'] as const) {
      for (const [, m] of corpus()) {
        const fromMg = m.mId.startsWith('[10.0.0.11]');
        frames.push(frame('udp', fromMg ? MG_IP : MGC_IP, fromMg ? MGC_IP : MG_IP, 2944, 2944, encodeMessage(m, { form })));
      }
    }
    const file = join(dir, 'h248-udp.pcap');
    writeFileSync(file, pcap(frames));
    const out = runTshark(file, ['-d', 'udp.port==2944,megaco']);
    assertClean(out, frames.length);
    const longFrames = out.split(/\n(?=Frame \d+:)/).slice(0, frames.length / 2).join('\n');
    for (const label of Object.keys(TSHARK_PARTIAL)) assert.ok(corpus().some(([l]) => l === label), `stale partial ${label}`);
    assertCommandsDecoded(longFrames, expectedCommands(corpus().filter(([l]) => !(l in TSHARK_PARTIAL))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// IANA: 2944 is megaco-h248 (text) on UDP and TCP; 2945 is h248-binary. Text over TCP therefore uses 2944.
test('tshark decodes TPKT-framed messages over TCP 2944 (Annex D.2)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-h248-'));
  try {
    const frames: Uint8Array[] = [];
    let seqMg = 1000;
    let seqMgc = 5000;
    for (const [, m] of corpus()) {
      const fromMg = m.mId.startsWith('[10.0.0.11]');
      const data = encodeTpkt(encodeMessage(m, { form: 'compact' }));
      if (fromMg) { frames.push(frame('tcp', MG_IP, MGC_IP, 40001, 2944, data, seqMg)); seqMg += data.length; }
      else { frames.push(frame('tcp', MGC_IP, MG_IP, 2944, 40001, data, seqMgc)); seqMgc += data.length; }
    }
    const file = join(dir, 'h248-tcp.pcap');
    writeFileSync(file, pcap(frames));
    assertClean(runTshark(file, ['-d', 'tcp.port==2944,megaco', '-o', 'tcp.check_checksum:TRUE']), frames.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
