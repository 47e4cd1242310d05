// The RESP key-value app: one KvStore shared by all connections, commands executed
// in arrival order, pipelined replies batched per read, protocol errors answered with
// a RESP error and a close (as Redis does). While replies are backed up the session stops
// reading, so a pipelining client is slowed by TCP rather than cut off at the input
// limit. Codec: resp-codec.ts; commands: kv-store.ts.
import type { StreamConnection } from '../../stack/app.js';
import { Outbox, concatBytes, type OutboxState } from '../outbox.js';
import { ReadGate } from '../read-gate.js';
import { Counters, type AppSession, type ReplicableApp } from '../replicable.js';
import { DEFAULT_KV_LIMITS, KvStore, type KvLimits, type KvState } from './kv-store.js';
import { DEFAULT_RESP_LIMITS, encodeReply, err, joinParts, parseCommand, type RespLimits } from './resp-codec.js';

export interface RespOptions {
  limits?: Partial<RespLimits>;
  kv?: Partial<KvLimits>;
  /** Replies waiting for the connection; past it, commands wait unparsed (pipelining backpressure). */
  maxQueuedReplyBytes?: number;
}

interface RespSessionState { out: OutboxState; input: Uint8Array; peerEnded: boolean; closing: boolean; readPaused?: boolean }

export class RespServer implements ReplicableApp {
  readonly kind = 'resp' as const;
  readonly service = (conn: StreamConnection): AppSession => this.open(conn);
  readonly store: KvStore;
  private readonly stats = new Counters();
  private readonly limits: RespLimits;
  private readonly maxQueued: number;
  private readonly maxInput: number;

  constructor(opts: RespOptions = {}) {
    this.limits = { ...DEFAULT_RESP_LIMITS, ...opts.limits };
    this.store = new KvStore({ ...DEFAULT_KV_LIMITS, ...opts.kv });
    this.maxQueued = opts.maxQueuedReplyBytes ?? 1024 * 1024;
    // One maximal command plus pipelined input that arrives while replies are blocked.
    this.maxInput = this.limits.maxBulkBytes + 1024 * 1024;
  }

  open(conn: StreamConnection): AppSession {
    this.stats.inc('connections');
    return this.session(conn, undefined);
  }
  resume(conn: StreamConnection, state: unknown): AppSession { return this.session(conn, state as RespSessionState); }
  snapshot(): unknown { return this.store.snapshot(); }
  restore(state: unknown): void { this.store.restore(state as KvState); }
  counters(): Readonly<Record<string, number>> { return this.stats.get(); }

  private session(conn: StreamConnection, from: RespSessionState | undefined): AppSession {
    const out = new Outbox(conn);
    if (from !== undefined) out.restoreFrom(from.out);
    let input: Uint8Array = from?.input.slice() ?? new Uint8Array(0);
    let closing = from?.closing ?? false;
    let peerEnded = from?.peerEnded ?? false;
    const gate = new ReadGate(conn, this.stats);
    if (from?.readPaused === true) gate.set(true);

    const step = (): void => {
      for (;;) {
        const parts: Uint8Array[] = [];
        let partsBytes = 0;
        let needMore = false;
        while (!closing && out.queuedBytes() + partsBytes < this.maxQueued) {
          const c = parseCommand(input, this.limits);
          if (c.kind === 'incomplete') { needMore = true; break; }
          const before = parts.length;
          if (c.kind === 'protocol-error') {
            this.stats.inc('protocol-errors');
            encodeReply(err(`ERR Protocol error: ${c.detail}`), parts);
            closing = true;
            break;
          }
          input = input.subarray(c.bytes);
          if (c.args.length === 0) continue;
          this.stats.inc('commands');
          const { reply, effect } = this.store.execute(c.args);
          encodeReply(reply, parts);
          for (let i = before; i < parts.length; i++) partsBytes += parts[i]!.length;
          if (effect === 'close') closing = true;
          if (parts.length > 4096) { out.pushBytes(joinParts(parts)); parts.length = 0; partsBytes = 0; }
        }
        const blocked = !closing && !needMore;
        if (parts.length > 0) out.pushBytes(joinParts(parts));
        // After the client's FIN no further command can complete: reply, then close.
        if (!closing && peerEnded && needMore) closing = true;
        if (closing) { out.pushEnd(); input = new Uint8Array(0); }
        // A full queue the connection took whole owes no onWritable: parse on (every pass
        // consumes commands, so this ends).
        if (out.pump() && blocked) continue;
        // Stopped by a reply queue the connection has not taken: read no more until it
        // drains (onWritable steps again).
        gate.set(blocked);
        return;
      }
    };

    return {
      onData: (data: Uint8Array): void => {
        if (closing) return;
        input = concatBytes(input, data.slice());
        if (input.length > this.maxInput) {
          this.stats.inc('aborted-input-limit');
          closing = true;
          conn.destroy();
          return;
        }
        step();
      },
      onEnd: (): void => {
        peerEnded = true;
        if (!closing) step();
      },
      onWritable: (): void => { if (out.pump() && !closing) step(); },
      onClose: (): void => { closing = true; },
      snapshot: (): unknown => ({ out: out.snapshot(), input: input.slice(), peerEnded, closing, readPaused: gate.isPaused() } satisfies RespSessionState),
    };
  }
}
