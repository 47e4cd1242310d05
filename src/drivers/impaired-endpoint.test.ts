import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';
import { ImpairedEndpoint, parseImpairment } from './impaired-endpoint.js';

/** Records what it receives and echoes every frame back at once. */
class Mirror implements FrameEndpoint {
  got: Array<[number, number]> = [];
  private out: OutgoingFrame[] = [];
  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void { this.got.push([frame[0], nowUs]); this.out.push({ ifIndex, frame }); }
  handleTimeout(): void { /* none */ }
  pollTransmit(): OutgoingFrame | undefined { return this.out.shift(); }
  pollDeadline(): number | undefined { return undefined; }
}

function imp(args: string) {
  const p = parseImpairment(args);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

/** Drives like a driver: handle, drain, jump to each deadline. */
function drive(ep: ImpairedEndpoint, frames: number[], gapUs: number): Array<[number, number]> {
  const sent: Array<[number, number]> = [];
  let now = 0;
  const drain = (): void => { for (let f = ep.pollTransmit(); f; f = ep.pollTransmit()) sent.push([f.frame[0], now]); };
  for (const b of frames) { ep.handleFrame(0, Uint8Array.of(b), now); drain(); now += gapUs; }
  for (let d = ep.pollDeadline(); d !== undefined; d = ep.pollDeadline()) { now = Math.max(now, d); ep.handleTimeout(now); drain(); }
  return sent;
}

test('delay holds each direction for the delay; nothing is lost or reordered', () => {
  const m = new Mirror();
  const out = drive(new ImpairedEndpoint(m, imp('delay 20ms'), 1), [1, 2, 3], 1000);
  assert.deepEqual(m.got, [[1, 20_000], [2, 21_000], [3, 22_000]]);
  assert.deepEqual(out, [[1, 40_000], [2, 41_000], [3, 42_000]]);
});

test('loss drops about the rate, deterministically for a seed', () => {
  const frames = Array.from({ length: 2000 }, (_, i) => i & 0xff);
  const a = drive(new ImpairedEndpoint(new Mirror(), imp('loss 5%'), 7), frames, 10);
  const b = drive(new ImpairedEndpoint(new Mirror(), imp('loss 5%'), 7), frames, 10);
  assert.deepEqual(a, b);
  // Two lossy passes (in and out): about 9.75 % lost.
  const lost = 1 - a.length / frames.length;
  assert.ok(lost > 0.06 && lost < 0.14, `lost ${lost}`);
});

test('reorder lets some frames overtake delayed ones', () => {
  const frames = Array.from({ length: 200 }, (_, i) => i);
  const m = new Mirror();
  drive(new ImpairedEndpoint(m, imp('delay 5ms reorder 25% 50%'), 3), frames, 100);
  const order = m.got.map(([b]) => b);
  assert.equal(order.length, 200);
  assert.notDeepEqual(order, frames);
  assert.deepEqual([...order].sort((x, y) => x - y), frames);
});

test('parser: accepted forms and one-line errors', () => {
  assert.deepEqual(imp('delay 1.5ms'), { delayUs: 1500, rules: [] });
  assert.equal(imp('delay 10ms 2ms loss 1% 25% duplicate 1%').rules.length, 3);
  for (const bad of ['loss', 'loss 5', 'delay fast', 'reorder 10%', 'rate 1mbit']) {
    const p = parseImpairment(bad);
    assert.equal(p.ok, false, bad);
  }
});
