// Tests of the progress line against fake streams: drawn in place on a TTY,
// throttled, nothing at all on a non-TTY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, progressLine } from './progress.js';

function fake(isTTY: boolean, columns = 80): { isTTY: boolean; columns: number; out: string[]; write(s: string): boolean } {
  const out: string[] = [];
  return { isTTY, columns, out, write(s: string) { out.push(s); return true; } };
}

test('non-TTY output stays completely quiet', () => {
  const s = fake(false);
  const p = createProgress(s, { label: 'calls', total: 10, nowMs: () => 0 });
  assert.equal(p.active, false);
  for (let i = 0; i <= 10; i++) p.update(i, 'x');
  p.finish();
  assert.deepEqual(s.out, []);
});

test('on a TTY the line is redrawn in place, throttled, the final state always drawn, then cleared', () => {
  const s = fake(true);
  let t = 0;
  const p = createProgress(s, { label: 'calls', total: 100, minIntervalMs: 100, nowMs: () => t });
  p.update(1);          // drawn (first)
  t = 50; p.update(2);  // throttled
  t = 150; p.update(50, '50 up');
  t = 160; p.update(100); // complete: drawn despite throttle
  p.finish();
  p.update(100);        // after finish: nothing
  assert.equal(s.out.length, 4);
  for (const w of s.out.slice(0, 3)) { assert.ok(w.startsWith('\r')); assert.ok(w.endsWith('\x1b[K')); }
  assert.match(s.out[1]!, /calls {2}\[#{10}\.{10}\] {2} 50% {2}50\/100 {2}50 up/);
  assert.match(s.out[2]!, /100%/);
  assert.equal(s.out[3], '\r\x1b[K');
});

test('lines are clipped to the terminal width', () => {
  const s = fake(true, 30);
  const p = createProgress(s, { label: 'a-very-long-label', total: 10, nowMs: () => 0 });
  p.update(5, 'and a long detail that does not fit');
  const line = s.out[0]!.replace('\r', '').replace('\x1b[K', '');
  assert.equal(line.length, 29);
  assert.ok(line.endsWith('…'));
});

test('open-ended counts show the number only', () => {
  assert.equal(progressLine('runs', 7), 'runs  7');
  assert.equal(progressLine('runs', 7, 0, 'seed 3'), 'runs  7  seed 3');
});
