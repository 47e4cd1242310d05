// TCP segment model (the `Repr`) shared by the codec and the sans-IO TCP engine.
// The codec (parse/emit/checksum) lives in this file too; state machines never touch bytes.

/** TCP header flags as booleans, named as in RFC 9293 §3.1. */
export interface TcpFlags {
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ack: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
}

/** A SACK block [left, right): left edge inclusive, right edge exclusive (RFC 2018 §3). */
export interface SackBlock {
  left: number;
  right: number;
}

export interface TcpTimestamp {
  /** TSval (RFC 7323 §3.2), unsigned 32-bit. */
  value: number;
  /** TSecr, unsigned 32-bit. */
  echo: number;
}

/** An option the codec does not interpret; kept so it can be re-emitted unchanged. */
export interface TcpUnknownOption {
  kind: number;
  data: Uint8Array;
}

export interface TcpOptions {
  mss?: number;               // kind 2, SYN only
  windowScale?: number;       // kind 3, shift count 0..14, SYN only
  sackPermitted?: boolean;    // kind 4, SYN only
  sack?: SackBlock[];         // kind 5, up to 4 blocks (3 with timestamps)
  timestamp?: TcpTimestamp;   // kind 8
  unknown?: TcpUnknownOption[];
}

/** A parsed TCP segment: every field a plain value. Sequence numbers are unsigned 32-bit. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: TcpFlags;
  /** The raw 16-bit window field, before window scaling. */
  window: number;
  urgentPointer: number;
  options: TcpOptions;
  payload: Uint8Array;
}

export const NO_FLAGS: Readonly<TcpFlags> = Object.freeze({
  fin: false, syn: false, rst: false, psh: false, ack: false, urg: false, ece: false, cwr: false,
});

export function tcpFlags(set: Partial<TcpFlags>): TcpFlags {
  return { ...NO_FLAGS, ...set };
}
