// The driver's turn logic without a TAP (no root): a fake TapPort and an injected clock.
// Work per event-loop turn is bounded (frames handled, frames written) and the rest
// continues after a yield; frames and timers are handled in the order they happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameEndpoint, OutgoingFrame } from '../../stack/endpoint.js';
import { TapDriver, type TapPort } from './tap-driver.js';

class FakePort implements TapPort {
  readonly written: Uint8Array[] = [];
  private readonly queue: Array<{ frame: Uint8Array; readUs: number }> = [];
  private onReadable: (() => void) | undefined;
  startReading(onReadable: () => void): void { this.onReadable = onReadable; }
  /** A batch of `n` frames read at `readUs`; frame i holds its tag in byte 0..1. */
  arrive(tag: number, n: number, readUs: number): void {
    for (let i = 0; i < n; i++) this.queue.push({ frame: Uint8Array.of(tag, i & 0xff, i >> 8), readUs });
    this.onReadable?.();
  }
  takeFrames(max: number, fn: (frame: Uint8Array, readUs: number) => boolean, notAfterUs = Infinity): number {
    let n = 0;
    while (n < max && this.queue.length > 0 && this.queue[0]!.readUs <= notAfterUs) {
      const f = this.queue.shift()!;
      n++;
      if (!fn(f.frame, f.readUs)) break;
    }
    return n;
  }
  oldestReadUs(): number | undefined { return this.queue[0]?.readUs; }
  waiting(): number { return this.queue.length; }
  drainReadable(): void {}
  write(frame: Uint8Array): boolean { this.written.push(frame); return true; }
  async close(): Promise<void> {}
}

/** Logs frames (by tag) and timer firings; one optional deadline; `echo` output frames per frame. */
class Recorder implements FrameEndpoint {
  readonly log: string[] = [];
  deadline: number | undefined;
  private out: OutgoingFrame[] = [];
  constructor(private readonly echo = 0) {}
  handleFrame(_i: number, f: Uint8Array): void {
    this.log.push(`f${f[0]}`);
    for (let i = 0; i < this.echo; i++) this.out.push({ ifIndex: 0, frame: f });
  }
  handleTimeout(now: number): void {
    if (this.deadline !== undefined && now >= this.deadline) { this.log.push('timer'); this.deadline = undefined; }
  }
  pollTransmit(): OutgoingFrame | undefined { return this.out.shift(); }
  pollDeadline(): number | undefined { return this.deadline; }
}

const yieldOnce = (): Promise<void> => new Promise((r) => setImmediate(r));
/** Collapses runs: f1 x3, timer, f2 x2 → "f1*3 timer f2*2". */
const runs = (log: string[]): string => {
  const out: string[] = [];
  for (const e of log) {
    const last = out[out.length - 1];
    const m = last?.match(/^(\S+?)(?:\*(\d+))?$/);
    if (m !== null && m !== undefined && m[1] === e) out[out.length - 1] = `${e}*${Number(m[2] ?? 1) + 1}`;
    else out.push(e);
  }
  return out.join(' ');
};

test('TapDriver turns: at most maxFramesPerTurn frames per turn; the rest after a yield, in order', async () => {
  const port = new FakePort();
  const ep = new Recorder();
  const driver = new TapDriver(port, ep, undefined, { maxFramesPerTurn: 100, clockUs: () => 1_000 });
  driver.start();
  port.arrive(1, 150, 10);
  port.arrive(2, 120, 20);
  assert.equal(ep.log.length, 0, 'arrival queues a turn, it does not run one inside the callback');
  await yieldOnce();
  assert.equal(ep.log.length, 100, 'the first turn stops at its budget');
  assert.equal(port.waiting(), 170);
  await yieldOnce();
  assert.equal(ep.log.length, 200, 'the second turn, from setImmediate, took the next 100');
  await yieldOnce();
  assert.equal(runs(ep.log), 'f1*150 f2*120');
  assert.equal(driver.counters.framesIn, 270);
  assert.equal(driver.counters.turnsYielded, 2);
  await driver.stop();
});

test('TapDriver turns: frames read before the overdue timer was found go first, even over several turns; later ones after it', async () => {
  const port = new FakePort();
  const ep = new Recorder();
  let clock = 1_000;
  const driver = new TapDriver(port, ep, undefined, { maxFramesPerTurn: 4, clockUs: () => clock });
  driver.start();
  // The driver's origin is 1000: deadline 200 on its clock is 1200 on the port's.
  ep.deadline = 200;
  port.arrive(1, 6, 1_100); // read before the deadline
  port.arrive(2, 3, 1_300); // after it, but before the late turn that finds the timer overdue
  clock = 1_500;
  await yieldOnce();
  assert.equal(runs(ep.log), 'f1*4', 'the first turn spent its budget on the backlog; the timer waits');
  clock = 1_600;
  port.arrive(3, 2, 1_550); // read after that turn began: goes after the timer
  await yieldOnce();
  assert.equal(runs(ep.log), 'f1*6 f2*2', 'the second turn goes on with the backlog, still within budget');
  await yieldOnce();
  assert.equal(runs(ep.log), 'f1*6 f2*3 timer f3*2');
  await driver.stop();
});

test('TapDriver turns: a due timer with no frame waiting fires at once; one found due with frames waiting fires after them', async () => {
  const port = new FakePort();
  const ep = new Recorder();
  let clock = 1_000;
  const driver = new TapDriver(port, ep, undefined, { clockUs: () => clock });
  driver.start();
  ep.deadline = 50;
  clock = 1_100;
  driver.run(() => undefined);
  await yieldOnce();
  assert.equal(runs(ep.log), 'timer');
  ep.deadline = 150;
  port.arrive(1, 3, 1_200);
  clock = 1_300;
  await yieldOnce();
  assert.equal(runs(ep.log), 'timer f1*3 timer');
  await driver.stop();
});

test('TapDriver turns: at most maxWritesPerTurn frames written per turn; the output continues after a yield', async () => {
  const port = new FakePort();
  const ep = new Recorder(30); // every frame in makes 30 frames out
  const driver = new TapDriver(port, ep, undefined, { maxWritesPerTurn: 100, clockUs: () => 1_000 });
  driver.start();
  port.arrive(1, 10, 10);
  await yieldOnce();
  assert.equal(port.written.length, 100, 'the first turn wrote its budget');
  assert.equal(ep.log.length, 4, 'and took no frame after the budget ran out');
  for (let i = 0; i < 10 && port.written.length < 300; i++) await yieldOnce();
  assert.equal(port.written.length, 300);
  assert.equal(runs(ep.log), 'f1*10');
  assert.equal(driver.counters.framesOut, 300);
  await driver.stop();
});
