// Address text forms: dotted-quad IPv4 <-> unsigned 32-bit number, and MAC text <->
// 6 bytes. Config and logs use text; the stack and codecs use these numbers/bytes.

/** "10.0.0.1" → 0x0a000001, or undefined when the text is not a dotted quad of 0..255. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export function formatIpv4(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** "02:00:00:00:00:01" (or with '-') → 6 bytes, or undefined when malformed. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) return undefined;
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(parts[i]!)) return undefined;
    mac[i] = parseInt(parts[i]!, 16);
  }
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push((mac[i] ?? 0).toString(16).padStart(2, '0'));
  return out.join(':');
}

export const BROADCAST_MAC: Readonly<Uint8Array> = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Readonly<Uint8Array> = new Uint8Array(6);

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === 6 && b.length === 6 && a[0] === b[0] && a[1] === b[1] && a[2] === b[2]
    && a[3] === b[3] && a[4] === b[4] && a[5] === b[5];
}

/** The network mask for a prefix length 0..32 as an unsigned number. */
export function prefixMask(prefixLen: number): number {
  return prefixLen <= 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}
