// A G.711 RTP sender for one stream: 20 ms packets, sequence numbers and
// timestamps per RFC 3550 §5.1. Sans-IO: the driver asks for due packets with
// the current time and sends the bytes; sockets and timers are not here.
import type { Rng } from '../../util/rng.js';
import { emitRtp } from './packet.js';
import { G711_PAYLOAD_TYPE, cachedToneFrame } from './g711.js';
import type { G711Law } from './g711.js';

export const G711_SAMPLE_RATE_HZ = 8000;
export const PTIME_US = 20_000;
/** Samples per 20 ms packet at 8 kHz. */
export const SAMPLES_PER_PACKET = 160;
/** Bound on packets emitted per poll after a long stall (no burst of stale audio). */
const CATCH_UP_PACKETS_MAX = 5;

export interface RtpSenderState {
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly nextSendUs: number;
  readonly packetsSent: number;
}

export class RtpSender {
  readonly ssrc: number;
  readonly law: G711Law;
  private seq: number;
  private ts: number;
  private nextUs: number;
  private sent = 0;
  private samplesSent = 0;
  private first = true;

  constructor(rng: Rng, law: G711Law, startUs: number) {
    // RFC 3550 §5.1: SSRC, initial sequence number and timestamp are random.
    this.ssrc = rng.nextU32();
    this.seq = rng.nextU32() & 0xffff;
    this.ts = rng.nextU32();
    this.law = law;
    this.nextUs = startUs;
  }

  /** When the next packet is due. */
  pollDeadline(): number { return this.nextUs; }

  /**
   * Packets due at `nowUs`. A sender that was starved (the driver ran late) skips
   * the missed slots — their sequence numbers too would be a lie, so it advances the
   * timestamp across the silence and keeps the sequence contiguous (RFC 3550 §5.1:
   * the timestamp reflects sampling instant, the sequence counts packets sent).
   */
  poll(nowUs: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.nextUs <= nowUs && out.length < CATCH_UP_PACKETS_MAX) {
      out.push(this.emitOne());
      this.nextUs += PTIME_US;
    }
    if (this.nextUs <= nowUs) {
      const missed = Math.floor((nowUs - this.nextUs) / PTIME_US) + 1;
      this.ts = (this.ts + missed * SAMPLES_PER_PACKET) >>> 0;
      this.nextUs += missed * PTIME_US;
    }
    return out;
  }

  /**
   * Time passes without sending (mode inactive/receive-only, no remote yet): the
   * timestamp keeps the sampling clock, the sequence number does not move (RFC 3550
   * §5.1: it counts packets sent), so the receiver sees no false loss.
   */
  idle(nowUs: number): void {
    if (this.nextUs > nowUs) return;
    const slots = Math.floor((nowUs - this.nextUs) / PTIME_US) + 1;
    this.ts = (this.ts + slots * SAMPLES_PER_PACKET) >>> 0;
    this.samplesSent += slots * SAMPLES_PER_PACKET;
    this.nextUs += slots * PTIME_US;
    this.first = true; // the next packet starts a talkspurt (RFC 3551 §4.1 marker)
  }

  private emitOne(): Uint8Array {
    const bytes = emitRtp({
      // RFC 3551 §4.1: marker on the first packet of a talkspurt.
      marker: this.first,
      payloadType: G711_PAYLOAD_TYPE[this.law],
      sequenceNumber: this.seq,
      timestamp: this.ts,
      ssrc: this.ssrc,
      csrcs: [],
      payload: cachedToneFrame(this.law, Math.floor(this.samplesSent / SAMPLES_PER_PACKET)),
    });
    this.first = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + SAMPLES_PER_PACKET) >>> 0;
    this.samplesSent += SAMPLES_PER_PACKET;
    this.sent++;
    return bytes;
  }

  state(): RtpSenderState {
    return { ssrc: this.ssrc, sequenceNumber: this.seq, timestamp: this.ts, nextSendUs: this.nextUs, packetsSent: this.sent };
  }
}
