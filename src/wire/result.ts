// The one result type every wire parser returns. Parsing network bytes never
// throws: a bad frame is an expected condition with a stable error code.

export type WireErrorCode =
  | 'truncated'      // fewer bytes than the header or a length field promises
  | 'bad-checksum'   // checksum present and wrong
  | 'malformed'      // a field holds a value the format forbids
  | 'unsupported';   // well-formed but not handled (IPv4 fragment, unknown ethertype, ...)

export interface WireError {
  readonly code: WireErrorCode;
  /** Which layer/format rejected the bytes, e.g. 'ipv4', 'tcp-options'. */
  readonly layer: string;
  /** Human-readable detail for logs and counters; not for matching. */
  readonly detail: string;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: WireError };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: WireErrorCode, layer: string, detail: string): ParseResult<T> {
  return { ok: false, error: { code, layer, detail } };
}
