// The backend role's source filter: split-splice state is taken only from the splicers'
// service address; everything else passes to the stack untouched. The whole role runs in
// the lab (test/lab/serve-backend.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SplitSourceFilter } from './backend-role.js';
import { SPLIT_CONTROL_PORT } from '../craft/split-backend.js';
import type { FrameEndpoint, OutgoingFrame } from '../stack/endpoint.js';

function frame(o: { src: string; proto: number; dport: number; fragOffset?: number }): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 4);
  f[12] = 0x08; f[13] = 0x00;
  f[14] = 0x45;
  f[14 + 6] = ((o.fragOffset ?? 0) >> 8) & 0x1f; f[14 + 7] = (o.fragOffset ?? 0) & 0xff;
  f[14 + 9] = o.proto;
  o.src.split('.').forEach((b, i) => { f[14 + 12 + i] = Number(b); });
  [10, 0, 0, 11].forEach((b, i) => { f[14 + 16 + i] = b; });
  f[34 + 2] = o.dport >> 8; f[34 + 3] = o.dport & 0xff;
  return f;
}

test('split-splice state from an address other than the splicers\' service address is dropped and counted', () => {
  const seen: Uint8Array[] = [];
  const inner: FrameEndpoint = {
    handleFrame: (_i, f) => { seen.push(f); },
    handleTimeout: () => {}, pollDeadline: () => undefined, pollTransmit: (): OutgoingFrame | undefined => undefined,
  };
  const filter = new SplitSourceFilter(inner, ['10.0.0.80']);
  const ok = frame({ src: '10.0.0.80', proto: 17, dport: SPLIT_CONTROL_PORT });
  const foreign = frame({ src: '10.0.0.99', proto: 17, dport: SPLIT_CONTROL_PORT });
  const otherPort = frame({ src: '10.0.0.99', proto: 17, dport: 53 });
  const tcp = frame({ src: '10.0.0.99', proto: 6, dport: SPLIT_CONTROL_PORT });
  const laterFragment = frame({ src: '10.0.0.99', proto: 17, dport: SPLIT_CONTROL_PORT, fragOffset: 185 });
  for (const f of [ok, foreign, otherPort, tcp, laterFragment, new Uint8Array(20)]) filter.handleFrame(0, f, 0);
  assert.equal(filter.droppedCount(), 1);
  assert.equal(seen.length, 5);
  assert.ok(!seen.includes(foreign));
});
