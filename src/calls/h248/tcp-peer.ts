// H.248 over TCP for one peer (RFC 3525 Annex D.2): a TransactionEngine in 'tcp' mode behind
// TPKT framing. Byte-stream chunks in, framed bytes out; a framing error is sticky and asks the
// driver to close the connection (the stream cannot be resynchronised).

import type * as M from './model.js';
import { TransactionEngine, type SendResult, type TransactionConfig, type TransactionEvent } from './transactions.js';
import { TpktDecoder, encodeTpkt, TPKT_MAX_BYTES } from './tpkt.js';
import type { WireError } from '../../wire/result.js';

export class H248TcpPeer {
  readonly engine: TransactionEngine;
  private readonly decoder: TpktDecoder;
  private framingError: WireError | undefined;

  constructor(config: TransactionConfig, firstTransactionId = 1) {
    // Annex D.2: TCP is reliable, so the engine does not retransmit; datagram size is the TPKT bound.
    this.engine = new TransactionEngine({ maxDatagramBytes: TPKT_MAX_BYTES - 4, ...config, transport: 'tcp' }, firstTransactionId);
    this.decoder = new TpktDecoder();
  }

  /** Bytes read from the connection, in any chunking. */
  handleBytes(chunk: Uint8Array, nowUs: number): void {
    if (this.framingError) return;
    const r = this.decoder.push(chunk);
    if (!r.ok) { this.framingError = r.error; return; }
    for (const m of r.messages) this.engine.handle(m, nowUs);
  }

  /** Set once the byte stream is broken; the driver should close the connection. */
  fatalError(): WireError | undefined {
    return this.framingError;
  }

  sendRequest(actions: readonly M.ActionRequest[], nowUs: number): SendResult {
    return this.engine.sendRequest(actions, nowUs);
  }

  sendReply(reply: M.TransactionReply, nowUs: number): boolean {
    return this.engine.sendReply(reply, nowUs);
  }

  handleTimeout(nowUs: number): void {
    this.engine.handleTimeout(nowUs);
  }

  /** The next TPKT-framed message to write to the connection. */
  pollTransmit(): Uint8Array | undefined {
    const m = this.engine.pollTransmit();
    return m ? encodeTpkt(m) : undefined;
  }

  pollEvent(): TransactionEvent | undefined {
    return this.engine.pollEvent();
  }

  pollDeadline(): number | undefined {
    return this.engine.pollDeadline();
  }
}
