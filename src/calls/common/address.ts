// Controller and gateway addresses: the transport's "ip:port" and H.248's mId
// form "[ip]:port" (RFC 3525 Annex B mId = domainAddress [":" portNumber]).

export function midOfAddress(addr: string): string {
  const i = addr.lastIndexOf(':');
  return `[${addr.slice(0, i)}]:${addr.slice(i + 1)}`;
}

export function addressOfMid(mid: string): string | undefined {
  const m = /^\[([0-9.]+)\]:([0-9]{1,5})$/.exec(mid.trim());
  return m ? `${m[1]}:${m[2]}` : undefined;
}
