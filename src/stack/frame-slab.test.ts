import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameSlab } from './frame-slab.js';

test('FrameSlab: frames are zeroed, disjoint, of the asked length, and never handed out twice', () => {
  const s = new FrameSlab(4096);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const len = 60 + ((i * 97) % 900);
    const f = s.take(len);
    assert.equal(f.length, len);
    assert.ok(f.every((b) => b === 0), 'a fresh frame is zeroed');
    f.fill(i + 1);
    frames.push(f);
  }
  // Writing every frame left all the others as they were: no two share a byte.
  frames.forEach((f, i) => assert.ok(f.every((b) => b === i + 1), `frame ${i} kept its bytes`));
  const slabs = new Set(frames.map((f) => f.buffer));
  assert.ok(slabs.size > 1 && slabs.size < frames.length, `frames share slabs (${slabs.size} for ${frames.length})`);
});

test('FrameSlab: a frame larger than a quarter slab gets its own buffer', () => {
  const s = new FrameSlab(4096);
  const big = s.take(2000);
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, 2000);
  assert.throws(() => new FrameSlab(10), RangeError);
});
