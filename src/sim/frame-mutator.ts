// Hostile frames for robustness tests: garbage, bit flips, truncations and field
// mutations of real (sniffed) Ethernet/IPv4/TCP frames, some with checksums fixed up
// so they reach deep parsers and the TCP state machine. Every mutation here is one an
// OFF-PATH sender or a faulty link could produce: none forges an acceptable in-window
// segment, so a correct stack must neither crash nor let any of them alter a stream.
// Templates must be IPv4 frames: ARP has no checksum, and a mutated real ARP packet is a
// forged address binding — an on-path attack, not bad input.
import type { SeededRng } from '../util/rng.js';
import { internetChecksum, onesSum, pseudoHeaderSum, foldChecksum } from '../wire/checksum.js';

export const MUTATIONS = [
  'garbage', // random bytes after a real destination MAC
  'garbage-ipv4', // random bytes under an IPv4 EtherType
  'bit-flip', // one flipped bit past the Ethernet header (checksums catch it)
  'truncate', // cut short anywhere
  'pad', // random trailing bytes beyond IP total length (a harmless duplicate)
  'ip-header', // a random IPv4 header field, header checksum fixed up
  'tcp-options', // random option bytes with valid TCP checksum
  'tcp-data-offset', // impossible data offset, valid checksum
  'tcp-syn-in-window', // SYN at an observed sequence number (RFC 5961 §4: challenge ACK)
  'tcp-rst-far', // RST far outside the window (RFC 5961 §3: drop)
  'tcp-data-far', // data far outside the window (RFC 9293 §3.10.7.4: drop + ACK)
  'tcp-ack-far', // ACK of data never sent (RFC 5961 §5: drop + ACK)
  'tcp-bad-port', // valid segment to a closed port (RST reply)
] as const;

export type Mutation = (typeof MUTATIONS)[number];

const ETH = 14;

function randomBytes(rng: SeededRng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.nextInt(256);
  return b;
}

/** Offsets of the IPv4 and TCP headers if the frame is Ethernet/IPv4/TCP with sane lengths. */
function tcpLayout(f: Uint8Array): { ip: number; ihl: number; tcp: number; tcpLen: number } | undefined {
  if (f.length < ETH + 20 || f[12] !== 0x08 || f[13] !== 0x00) return undefined;
  const ihl = (f[ETH]! & 0x0f) * 4;
  const total = (f[ETH + 2]! << 8) | f[ETH + 3]!;
  if (f[ETH + 9] !== 6 || ihl < 20 || total < ihl + 20 || ETH + total > f.length) return undefined;
  return { ip: ETH, ihl, tcp: ETH + ihl, tcpLen: total - ihl };
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24; b[i + 1] = (v >>> 16) & 0xff; b[i + 2] = (v >>> 8) & 0xff; b[i + 3] = v & 0xff;
}

/** Recomputes the IPv4 header checksum in place. */
export function fixIpv4Checksum(f: Uint8Array): void {
  const ihl = Math.max(20, (f[ETH]! & 0x0f) * 4);
  if (f.length < ETH + ihl) return;
  f[ETH + 10] = 0; f[ETH + 11] = 0;
  const c = internetChecksum(f, ETH, ihl);
  f[ETH + 10] = c >>> 8; f[ETH + 11] = c & 0xff;
}

/** Recomputes the TCP checksum in place (RFC 9293 §3.1 pseudo-header). */
export function fixTcpChecksum(f: Uint8Array): void {
  const l = tcpLayout(f);
  if (!l) return;
  f[l.tcp + 16] = 0; f[l.tcp + 17] = 0;
  const src = readU32(f, l.ip + 12);
  const dst = readU32(f, l.ip + 16);
  const c = foldChecksum(onesSum(f, l.tcp, l.tcpLen, pseudoHeaderSum(src, dst, 6, l.tcpLen)));
  f[l.tcp + 16] = c >>> 8; f[l.tcp + 17] = c & 0xff;
}

/** Rebuilds a TCP frame with a new TCP header+payload (keeps Ethernet/IP, fixes lengths and checksums). */
function withTcp(f: Uint8Array, tcp: Uint8Array): Uint8Array {
  const l = tcpLayout(f)!;
  const out = new Uint8Array(l.tcp + tcp.length);
  out.set(f.subarray(0, l.tcp));
  out.set(tcp, l.tcp);
  const total = l.ihl + tcp.length;
  out[ETH + 2] = total >>> 8; out[ETH + 3] = total & 0xff;
  fixIpv4Checksum(out);
  fixTcpChecksum(out);
  return out;
}

/** A bare 20-byte TCP header copied from the frame's, with flags/seq/ack set and no options. */
function bareTcp(f: Uint8Array, flags: number, seq: number, ack: number, payload: Uint8Array): Uint8Array {
  const l = tcpLayout(f)!;
  const t = new Uint8Array(20 + payload.length);
  t.set(f.subarray(l.tcp, l.tcp + 4)); // ports
  writeU32(t, 4, seq);
  writeU32(t, 8, ack);
  t[12] = 5 << 4;
  t[13] = flags;
  t[14] = f[l.tcp + 14]!; t[15] = f[l.tcp + 15]!; // window
  t.set(payload, 20);
  return t;
}

const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

/**
 * A hostile frame derived from `sniffed` (a real frame seen on the wire) by `kind`.
 * `srcMac` replaces the source MAC so the switch never learns a victim's address on
 * the attacker's port. Returns undefined when the kind does not apply to this frame.
 */
export function mutateFrame(rng: SeededRng, kind: Mutation, sniffed: Uint8Array, srcMac: Uint8Array): Uint8Array | undefined {
  const f = sniffed.slice();
  f.set(srcMac, 6);
  const l = tcpLayout(f);
  const seq = l ? readU32(f, l.tcp + 4) : 0;
  const ack = l ? readU32(f, l.tcp + 8) : 0;
  switch (kind) {
    case 'garbage': {
      const g = randomBytes(rng, rng.nextInt(1500));
      const out = new Uint8Array(12 + g.length);
      out.set(f.subarray(0, 12));
      out.set(g, 12);
      return out;
    }
    case 'garbage-ipv4': {
      const g = randomBytes(rng, rng.nextInt(1500));
      const out = new Uint8Array(14 + g.length);
      out.set(f.subarray(0, 12));
      out[12] = 0x08; out[13] = 0x00;
      out.set(g, 14);
      if (g.length >= 20 && rng.nextInt(2) === 0) {
        out[ETH] = 0x45; // make it look like IPv4 so the checksum check is reached
        fixIpv4Checksum(out);
      }
      return out;
    }
    case 'bit-flip': {
      if (f.length <= ETH) return undefined;
      const at = ETH + rng.nextInt(f.length - ETH);
      f[at] = f[at]! ^ (1 << rng.nextInt(8));
      return f;
    }
    case 'truncate':
      return f.subarray(0, rng.nextInt(f.length)).slice();
    case 'pad': {
      const out = new Uint8Array(f.length + 1 + rng.nextInt(64));
      out.set(f);
      out.set(randomBytes(rng, out.length - f.length), f.length);
      return out;
    }
    case 'ip-header': {
      if (f.length < ETH + 20) return undefined;
      const field = rng.nextInt(6);
      if (field === 0) f[ETH] = (rng.nextInt(16) << 4) | (f[ETH]! & 0x0f); // version
      else if (field === 1) f[ETH] = (f[ETH]! & 0xf0) | rng.nextInt(16); // IHL
      else if (field === 2) { const v = rng.nextInt(65536); f[ETH + 2] = v >>> 8; f[ETH + 3] = v & 0xff; } // total length
      else if (field === 3) { f[ETH + 6] = 0x20 | rng.nextInt(32); f[ETH + 7] = rng.nextInt(256); } // MF + offset: a fragment
      else if (field === 4) f[ETH + 9] = rng.nextInt(256); // protocol
      else f[ETH + 16] = f[ETH + 16]! ^ (1 + rng.nextInt(255)); // another destination: not for us
      fixIpv4Checksum(f);
      return f;
    }
    case 'tcp-options': {
      if (!l) return undefined;
      const optLen = 4 * (1 + rng.nextInt(10));
      const t = new Uint8Array(20 + optLen);
      t.set(f.subarray(l.tcp, l.tcp + 20));
      t[12] = ((20 + optLen) / 4) << 4;
      t[13] = ACK; // no payload: an ACK with junk options
      t.set(randomBytes(rng, optLen), 20);
      // Far outside the window, so even a parse that accepts the options cannot move state.
      writeU32(t, 4, (seq + 0x8000_0000) >>> 0);
      return withTcp(f, t);
    }
    case 'tcp-data-offset': {
      if (!l) return undefined;
      f[l.tcp + 12] = (rng.nextInt(2) === 0 ? rng.nextInt(5) : 15) << 4 | (f[l.tcp + 12]! & 0x0f);
      // Far outside the window: a long offset turns payload into "options" and the rest
      // would otherwise be a forged in-window segment carrying shifted bytes.
      writeU32(f, l.tcp + 4, (seq + 0x8000_0000) >>> 0);
      fixTcpChecksum(f);
      return f;
    }
    case 'tcp-syn-in-window':
      if (!l) return undefined;
      return withTcp(f, bareTcp(f, SYN | (rng.nextInt(2) === 0 ? ACK : 0), seq, ack, new Uint8Array(0)));
    case 'tcp-rst-far':
      if (!l) return undefined;
      return withTcp(f, bareTcp(f, RST | (rng.nextInt(2) === 0 ? ACK : 0), (seq + 0x8000_0000 + rng.nextInt(1 << 20)) >>> 0, ack, new Uint8Array(0)));
    case 'tcp-data-far':
      if (!l) return undefined;
      return withTcp(f, bareTcp(f, ACK | PSH | (rng.nextInt(4) === 0 ? FIN : 0), (seq + 0x8000_0000 + rng.nextInt(1 << 20)) >>> 0, ack, randomBytes(rng, 1 + rng.nextInt(1000))));
    case 'tcp-ack-far':
      if (!l) return undefined;
      return withTcp(f, bareTcp(f, ACK, seq, (ack + 0x4000_0000 + rng.nextInt(1 << 20)) >>> 0, new Uint8Array(0)));
    case 'tcp-bad-port': {
      if (!l) return undefined;
      const t = bareTcp(f, rng.nextInt(2) === 0 ? SYN : ACK, rng.nextU32(), rng.nextU32(), randomBytes(rng, rng.nextInt(100)));
      t[2] = 0x7f; t[3] = rng.nextInt(256); // destination port 32512..32767: nothing listens there
      return withTcp(f, t);
    }
  }
}
