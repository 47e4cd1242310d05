// Runs one FrameEndpoint (a Host, a splicer) on one TAP device in real time: frames
// in → handleFrame, then drain pollTransmit to the device; one timer for pollDeadline;
// the clock is process.hrtime in integer microseconds. Interface index 0 is the TAP.
//
// Frames already read go before overdue timers: when the event loop stalled, the peer's
// frames that wait in the queue are handled before a retransmission or liveness timer
// that fell due meanwhile could judge the peer silent. Every read batch carries the time
// the reader found the device readable, so "already read" means read before the turn
// that found the timer due began; frames read after that wait for the timer, and a
// steady flood of frames cannot hold a due timer back beyond the backlog it found.
//
// Work per event-loop turn is bounded: at most maxFramesPerTurn frames handled and
// maxWritesPerTurn frames written, then the turn ends and the rest continues from
// setImmediate, so the process's other timers and I/O (heartbeats of a lab host, its
// logs, a relay's sockets) run between slices instead of after a whole backlog.
import type { FrameEndpoint } from '../../stack/endpoint.js';
import { monotonicUs, type TapError, type TapReader } from './tap-device.js';

export interface TapDriverCounters {
  framesIn: number; framesOut: number; dropsWrite: number; timeouts: number; wrongIfIndex: number;
  /** Event-loop turns the driver ran (a batch arrived, a timer, a continuation). */
  turns: number;
  /** Turns that ended with work left over (the budget was spent): continued from setImmediate. */
  turnsYielded: number;
  /** Longest turn, microseconds of wall time (a stall the driver itself caused). */
  maxTurnUs: number;
  /** Turns longer than 10 ms. */
  turnsOver10ms: number;
  /** Longest time, microseconds, an endpoint's deadline was overdue when its timers fired. */
  maxTimerLateUs: number;
  /** Timers fired more than 10 ms after their deadline. */
  timersLateOver10ms: number;
}

/** What the driver needs from a TAP device (TapDevice; a fake in tests). */
export interface TapPort {
  startReading(onReadable: () => void, onError: (e: TapError) => void, reader?: TapReader): void;
  /**
   * Up to `max` waiting frames, oldest first, each with the monotonicUs() time its batch
   * was read; none of a batch read after `notAfterUs`; stops after a frame for which `fn`
   * returns false. Returns how many were handed over.
   */
  takeFrames(max: number, fn: (frame: Uint8Array, readUs: number) => boolean, notAfterUs?: number): number;
  /** Read time (monotonicUs clock) of the oldest waiting frame, undefined when none waits. */
  oldestReadUs(): number | undefined;
  /** Moves what the reader has already read into the waiting queue, synchronously. */
  drainReadable(): void;
  write(frame: Uint8Array): boolean;
  close(): Promise<void>;
}

export interface TapDriverOptions {
  reader?: TapReader;
  /** Frames handled per event-loop turn at most (default 256). */
  maxFramesPerTurn?: number;
  /** Frames written per event-loop turn at most (default 1024). */
  maxWritesPerTurn?: number;
  /** The clock, monotonic microseconds on monotonicUs()'s scale (tests inject one). */
  clockUs?: () => number;
}

const DEFAULT_FRAMES_PER_TURN = 256;
const DEFAULT_WRITES_PER_TURN = 256;

/**
 * Turns for an endpoint whose timers carry heartbeats (an ST-TCP host): 32 frames each
 * way, so a heartbeat falls due at most one short slice before it runs. With 256, a turn
 * of freshly started code (tens of µs a frame before the JIT has optimized it) ran
 * 15–20 ms, and with the library's default liveness 11–18 of 20 lab pause runs at normal
 * priority ended in a spurious failover; with 32, 0–4 of 20 (`sttcp-lab-pause`).
 */
export const HEARTBEAT_TURNS: Readonly<TapDriverOptions> = Object.freeze({ maxFramesPerTurn: 32, maxWritesPerTurn: 32 });
const LONG_TURN_US = 10_000;

export class TapDriver {
  private readonly clockUs: () => number;
  private readonly originUs: number;
  private readonly reader: TapReader;
  private readonly maxFrames: number;
  private readonly maxWrites: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAtUs: number | undefined;
  private stopped = false;
  private inTurn = false;
  /** Writes left in the current turn. */
  private writeBudget = Infinity;
  /** While the deadline is due: frames read up to this time (monotonic µs) go before the timer. */
  private dueCutoffUs: number | undefined;
  /** A turn queued with setImmediate (frames arrived, or the last turn left work over). */
  private continuation: NodeJS.Immediate | undefined;
  readonly counters: TapDriverCounters = {
    framesIn: 0, framesOut: 0, dropsWrite: 0, timeouts: 0, wrongIfIndex: 0, turns: 0, turnsYielded: 0, maxTurnUs: 0, turnsOver10ms: 0, maxTimerLateUs: 0, timersLateOver10ms: 0,
  };

  constructor(
    private readonly tap: TapPort,
    private readonly endpoint: FrameEndpoint,
    private readonly onFatal: (e: TapError) => void = (e) => { throw e; },
    opts: TapReader | TapDriverOptions = {},
  ) {
    const o: TapDriverOptions = typeof opts === 'string' ? { reader: opts } : opts;
    this.reader = o.reader ?? 'worker';
    this.maxFrames = Math.max(1, o.maxFramesPerTurn ?? DEFAULT_FRAMES_PER_TURN);
    this.maxWrites = Math.max(1, o.maxWritesPerTurn ?? DEFAULT_WRITES_PER_TURN);
    this.clockUs = o.clockUs ?? monotonicUs;
    this.originUs = this.clockUs();
  }

  /** Microseconds since the driver was made (monotonic). */
  nowUs(): number { return this.clockUs() - this.originUs; }

  start(): void {
    // A batch arriving queues a turn (at the end of this event-loop phase) rather than
    // running one: the batches that arrive together are then handled together, within
    // one turn's budget, instead of each in a turn of its own with no yield between them.
    this.tap.startReading(() => { if (!this.inTurn) this.requestTurn(); }, (e) => { void this.stop(); this.onFatal(e); }, this.reader);
    this.schedule();
  }

  /**
   * Runs `fn` (e.g. host.connect, an app write from outside a callback) at the current
   * time, then drains and reschedules as after any handle* call.
   */
  run<T>(fn: (nowUs: number) => T): T {
    const r = fn(this.nowUs());
    if (!this.inTurn) {
      this.writeBudget = this.maxWrites;
      if (!this.flush()) this.requestTurn();
      this.writeBudget = Infinity;
    }
    this.schedule();
    return r;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer();
    if (this.continuation !== undefined) { clearImmediate(this.continuation); this.continuation = undefined; }
    await this.tap.close();
  }

  /**
   * One bounded turn: waiting frames and due timers in the order they happened, until
   * nothing is left or the turn's frame or write budget is spent (then it continues
   * from setImmediate). Re-entrant calls (a batch arriving inside drainReadable) are no-ops.
   */
  private turn(): void {
    if (this.stopped || this.inTurn) return;
    this.inTurn = true;
    const t0 = this.clockUs();
    this.counters.turns++;
    this.writeBudget = this.maxWrites;
    let frames = 0;
    let more = false;
    try {
      this.tap.drainReadable();
      // Output left over from the last turn goes first.
      more = !this.flush();
      // Timers fire at most once between slices of frames (an endpoint whose deadline is
      // still due after handleTimeout must not make this loop spin).
      let mayFire = true;
      while (!more && !this.stopped) {
        const now = this.nowUs();
        const oldest = this.tap.oldestReadUs();
        const d = this.endpoint.pollDeadline();
        const due = d !== undefined && d <= now;
        // The first turn that finds the deadline due fixes which frames go before it: those
        // read before that turn began (a backlog larger than one turn's budget keeps the
        // timer waiting over several turns; frames read later wait for the timer).
        if (!due) this.dueCutoffUs = undefined;
        else this.dueCutoffUs ??= t0;
        if (due && mayFire && (oldest === undefined || oldest > this.dueCutoffUs!)) {
          mayFire = false;
          const late = now - d;
          if (late > this.counters.maxTimerLateUs) this.counters.maxTimerLateUs = late;
          if (late > LONG_TURN_US) this.counters.timersLateOver10ms++;
          this.dueCutoffUs = undefined;
          more = !this.fire(now);
          continue;
        }
        if (oldest === undefined) break;
        if (frames >= this.maxFrames) { more = true; break; }
        const limit = due && mayFire ? this.dueCutoffUs! : Infinity;
        const taken = this.tap.takeFrames(this.maxFrames - frames, (f) => {
          if (this.stopped) return false;
          this.counters.framesIn++;
          this.endpoint.handleFrame(0, f, now);
          if (this.flush()) return true;
          more = true; // the write budget is spent: the next frame waits for the next turn
          return false;
        }, limit);
        frames += taken;
        if (taken === 0) { more = !this.stopped; break; }
        mayFire = true;
      }
    } finally {
      this.inTurn = false;
      this.writeBudget = Infinity;
    }
    if (more) { this.counters.turnsYielded++; this.requestTurn(); }
    this.schedule();
    const us = this.clockUs() - t0;
    if (us > this.counters.maxTurnUs) this.counters.maxTurnUs = us;
    if (us > LONG_TURN_US) this.counters.turnsOver10ms++;
  }

  /** A turn from setImmediate (after this phase of the event loop; at most one queued). */
  private requestTurn(): void {
    if (this.stopped || this.continuation !== undefined) return;
    this.continuation = setImmediate(() => { this.continuation = undefined; this.turn(); });
  }

  /** Drains pollTransmit to the device within the turn's write budget; false when output was left. */
  private flush(): boolean {
    while (this.writeBudget > 0) {
      const out = this.endpoint.pollTransmit();
      if (out === undefined) return true;
      this.writeBudget--;
      if (out.ifIndex !== 0) { this.counters.wrongIfIndex++; continue; }
      if (this.tap.write(out.frame)) this.counters.framesOut++;
      else this.counters.dropsWrite++;
    }
    return false;
  }

  /** Fires the endpoint's timers; false when its output was left for the next turn. */
  private fire(now: number): boolean {
    this.counters.timeouts++;
    this.endpoint.handleTimeout(now);
    return this.flush();
  }

  /**
   * Keeps one timer for the endpoint's deadline. A timer already armed to fire no later
   * than the deadline stays (a deadline that moved later, like a retransmission timer
   * restarted by every ACK, costs one early wake-up instead of a re-arm per turn).
   */
  private schedule(): void {
    if (this.stopped) return;
    const d = this.endpoint.pollDeadline();
    if (d === undefined) { this.clearTimer(); return; }
    const delayUs = d - this.nowUs();
    // Due now: the next turn (queued once, shared with frames that arrive meanwhile) fires it.
    if (delayUs <= 0) { this.requestTurn(); return; }
    if (this.timer !== undefined && this.timerAtUs !== undefined && this.timerAtUs <= d) return;
    this.clearTimer();
    this.timerAtUs = d;
    // Rounded up: a timer that fires early only costs a spurious turn and a re-arm, but
    // rounding down would spin on setImmediate for the last millisecond.
    this.timer = setTimeout(() => { this.timer = undefined; this.timerAtUs = undefined; this.turn(); }, Math.ceil(delayUs / 1000));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtUs = undefined;
  }
}
