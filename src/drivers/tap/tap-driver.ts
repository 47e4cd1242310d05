// Runs one FrameEndpoint (a Host, a splicer) on one TAP device in real time: frames
// in → handleFrame, then drain pollTransmit to the device; one timer for pollDeadline;
// the clock is process.hrtime in integer microseconds. Interface index 0 is the TAP.
// Frames already read go before overdue timers: when the event loop stalled, the peer's
// frames that wait in the queue are handled before a retransmission or liveness timer
// that fell due meanwhile could judge the peer silent.
import type { FrameEndpoint } from '../../stack/endpoint.js';
import type { TapDevice, TapError, TapReader } from './tap-device.js';

export interface TapDriverCounters { framesIn: number; framesOut: number; dropsWrite: number; timeouts: number; wrongIfIndex: number }

export class TapDriver {
  private readonly originNs = process.hrtime.bigint();
  private timer: { kind: 'timeout'; h: NodeJS.Timeout } | { kind: 'immediate'; h: NodeJS.Immediate } | undefined;
  private timerAtUs: number | undefined;
  private stopped = false;
  readonly counters: TapDriverCounters = { framesIn: 0, framesOut: 0, dropsWrite: 0, timeouts: 0, wrongIfIndex: 0 };

  constructor(
    private readonly tap: TapDevice,
    private readonly endpoint: FrameEndpoint,
    private readonly onFatal: (e: TapError) => void = (e) => { throw e; },
    private readonly reader: TapReader = 'worker',
  ) {}

  /** Microseconds since the driver was made (monotonic). */
  nowUs(): number { return Number((process.hrtime.bigint() - this.originNs) / 1000n); }

  start(): void {
    this.tap.startReading((frames) => this.onFrames(frames), (e) => { void this.stop(); this.onFatal(e); }, this.reader);
    this.schedule();
  }

  /**
   * Runs `fn` (e.g. host.connect, an app write from outside a callback) at the current
   * time, then drains and reschedules as after any handle* call.
   */
  run<T>(fn: (nowUs: number) => T): T {
    const r = fn(this.nowUs());
    this.flush();
    this.schedule();
    return r;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer();
    await this.tap.close();
  }

  private onFrames(frames: Uint8Array[]): void {
    if (this.stopped) return;
    const now = this.nowUs();
    for (const f of frames) {
      this.counters.framesIn++;
      this.endpoint.handleFrame(0, f, now);
      this.flush();
    }
    if (this.timerAtUs !== undefined && this.timerAtUs <= this.nowUs()) this.fire();
    this.schedule();
  }

  /** The deadline timer: first every frame already read, then the timers still due. */
  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.tap.drainReadable();
    if (this.stopped) return;
    const d = this.endpoint.pollDeadline();
    if (d !== undefined && d <= this.nowUs()) this.fire();
    this.schedule();
  }

  private flush(): void {
    for (let out = this.endpoint.pollTransmit(); out !== undefined; out = this.endpoint.pollTransmit()) {
      if (out.ifIndex !== 0) { this.counters.wrongIfIndex++; continue; }
      if (this.tap.write(out.frame)) this.counters.framesOut++;
      else this.counters.dropsWrite++;
    }
  }

  private fire(): void {
    this.clearTimer();
    this.counters.timeouts++;
    this.endpoint.handleTimeout(this.nowUs());
    this.flush();
  }

  private schedule(): void {
    if (this.stopped) return;
    const d = this.endpoint.pollDeadline();
    if (d === undefined) { this.clearTimer(); return; }
    if (this.timer !== undefined && this.timerAtUs === d) return;
    this.clearTimer();
    this.timerAtUs = d;
    const delayUs = d - this.nowUs();
    const cb = (): void => this.onTimer();
    // Rounded up: a timer that fires early only costs a spurious handleTimeout (a no-op)
    // and a re-arm, but rounding down would spin on setImmediate for the last millisecond.
    this.timer = delayUs <= 0 ? { kind: 'immediate', h: setImmediate(cb) } : { kind: 'timeout', h: setTimeout(cb, Math.ceil(delayUs / 1000)) };
  }

  private clearTimer(): void {
    if (this.timer?.kind === 'timeout') clearTimeout(this.timer.h);
    else if (this.timer?.kind === 'immediate') clearImmediate(this.timer.h);
    this.timer = undefined;
    this.timerAtUs = undefined;
  }
}
