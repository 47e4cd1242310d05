// The identity of a TCP connection (RFC 9293 §3.3.1: local and remote socket).
// Plain data only: address parsing/formatting lives in src/wire/addr.ts.

/** A connection's addresses and ports, IPv4 addresses as unsigned 32-bit numbers. */
export interface FourTuple {
  localIp: number;
  localPort: number;
  remoteIp: number;
  remotePort: number;
}

/** The same connection seen from the other end. */
export function reverseTuple(t: FourTuple): FourTuple {
  return { localIp: t.remoteIp, localPort: t.remotePort, remoteIp: t.localIp, remotePort: t.localPort };
}

export function tupleEquals(a: FourTuple, b: FourTuple): boolean {
  return a.localIp === b.localIp && a.localPort === b.localPort
    && a.remoteIp === b.remoteIp && a.remotePort === b.remotePort;
}

/** A string key for maps (e.g. a host's connection table). */
export function tupleKey(t: FourTuple): string {
  return `${t.localIp >>> 0}:${t.localPort}>${t.remoteIp >>> 0}:${t.remotePort}`;
}
