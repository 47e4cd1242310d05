// The call detail record (CDR) as a plain value, and the store interface the
// controllers' drivers write through. Database code lives in sqlite-store.ts and
// pg-store.ts; the controller only emits CdrRecord values.

export const RELEASE_REASONS = [
  'normal',            // a party hung up after answer
  'caller-abandoned',  // caller hung up before answer
  'busy',              // callee line busy
  'no-answer',         // ringing timed out
  'unallocated-number',// dialled digits match no line
  'failover-unstable', // ringing / half set up when the controller failed; released by the alternate
  'gateway-lost',      // a gateway of the call stopped answering
  'transferred',       // this leg ended because the call was transferred on
] as const;
export type ReleaseReason = (typeof RELEASE_REASONS)[number];

export interface CdrRecord {
  /** Unique call id (controller-issued, carried in the call-state record). */
  readonly callId: string;
  /** Calling party number. */
  readonly caller: string;
  /** Called party number (digits dialled). */
  readonly callee: string;
  /** Party the call ended connected to (differs from callee after a transfer). */
  readonly connectedTo: string;
  /** Times in microseconds since the Unix epoch (the drivers pass wall-clock µs). */
  readonly startUs: number;
  readonly answerUs: number | null;
  readonly endUs: number;
  readonly releaseReason: ReleaseReason;
  /** Which controller wrote the record (shows failover in billing). */
  readonly writtenBy: string;
  /** Features used on the call, comma separated (hold,transfer,conference). */
  readonly features: string;
}

export type CdrInsertOutcome = 'inserted' | 'duplicate';

export interface CdrStore {
  /** Idempotent: a second record for the same callId is ignored and reported as 'duplicate'. */
  insert(r: CdrRecord): Promise<CdrInsertOutcome>;
  get(callId: string): Promise<CdrRecord | undefined>;
  count(): Promise<number>;
  all(): Promise<CdrRecord[]>;
  close(): Promise<void>;
}

export function validateCdr(r: CdrRecord): string | undefined {
  if (!r.callId) return 'empty call id';
  if (!(RELEASE_REASONS as readonly string[]).includes(r.releaseReason)) return `unknown reason ${r.releaseReason}`;
  if (r.endUs < r.startUs) return 'end before start';
  if (r.answerUs !== null && (r.answerUs < r.startUs || r.answerUs > r.endUs)) return 'answer outside call';
  return undefined;
}
