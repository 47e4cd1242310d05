// A minimal scriptable FrameEndpoint for testing the simulator and boxes without a
// TCP/IP stack: it sends what it is told (now or at a virtual time), records what it
// receives, and can answer frames through a callback. Not for production use.
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';

export interface Received {
  ifIndex: number;
  frame: Uint8Array;
  atUs: number;
}

export class FakeEndpoint implements FrameEndpoint {
  readonly received: Received[] = [];
  timeoutCalls = 0;
  private readonly outbox: OutgoingFrame[] = [];
  private readonly timers: Array<{ atUs: number; ifIndex: number; frame: Uint8Array }> = [];
  /** Called for each received frame; may call send(). */
  onFrame: ((r: Received, self: FakeEndpoint) => void) | undefined;

  constructor(readonly name = 'fake') {}

  /** Queues a frame to send at the next drain. */
  send(ifIndex: number, frame: Uint8Array): void {
    this.outbox.push({ ifIndex, frame });
  }

  /** Sends a frame when the virtual clock reaches atUs (through the timer contract). */
  sendAt(atUs: number, ifIndex: number, frame: Uint8Array): void {
    this.timers.push({ atUs, ifIndex, frame });
    this.timers.sort((a, b) => a.atUs - b.atUs);
  }

  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void {
    const r = { ifIndex, frame, atUs: nowUs };
    this.received.push(r);
    this.onFrame?.(r, this);
  }

  handleTimeout(nowUs: number): void {
    this.timeoutCalls++;
    while (this.timers.length > 0 && this.timers[0]!.atUs <= nowUs) {
      const t = this.timers.shift()!;
      this.outbox.push({ ifIndex: t.ifIndex, frame: t.frame });
    }
  }

  pollTransmit(): OutgoingFrame | undefined {
    return this.outbox.shift();
  }

  pollDeadline(): number | undefined {
    return this.timers[0]?.atUs;
  }
}

/** MAC 02:00:00:00:00:<n> as bytes. */
export function fakeMac(n: number): Uint8Array {
  return Uint8Array.of(0x02, 0, 0, 0, (n >> 8) & 0xff, n & 0xff);
}

export const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/**
 * An Ethernet II frame of `totalBytes` (≥ 14) from MAC n to MAC m (or broadcast),
 * EtherType 0x88B5 (IEEE local experimental), payload bytes = `tag`.
 */
export function fakeFrame(dst: number | 'broadcast', src: number, totalBytes = 64, tag = 0): Uint8Array {
  if (totalBytes < 14) throw new RangeError('a frame has at least 14 bytes');
  const f = new Uint8Array(totalBytes).fill(tag & 0xff);
  f.set(dst === 'broadcast' ? BROADCAST_MAC : fakeMac(dst), 0);
  f.set(fakeMac(src), 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}
