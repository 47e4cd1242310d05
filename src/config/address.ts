// Address syntax shared by the config validator and the servers that bind them:
// "host:port" listen/peer addresses, IPv4 dotted quads and MAC addresses as text.
// No socket code here.

export interface HostPort { host: string; port: number }

/** "10.0.0.1:7400", "[::1]:9464", "localhost:9464" → {host, port}; undefined when malformed. */
export function parseHostPort(s: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const host = m[1] ?? m[2]!;
  if (m[2] !== undefined && /^[\d.]+$/.test(host) && !isIpv4(host)) return undefined;
  return { host, port };
}

export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isMac(s: string): boolean {
  return /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(s);
}

/** "10.0.0.0/24" style check used for prefix lengths written as numbers elsewhere. */
export function isPrefixLen(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 32;
}
