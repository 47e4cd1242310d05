// Package tables and validators: the call-flow items validate, and unknown packages, items,
// parameters and values get the H.248.8 code a gateway answers with (440, 451/452, 446, 449).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as P from './packages.js';
import * as M from './model.js';
import { sampleMessages } from './sample-messages.js';

test('every command in the sample corpus validates', () => {
  let n = 0;
  for (const [label, m] of sampleMessages()) {
    if (m.body.kind !== 'transactions') continue;
    for (const t of m.body.transactions) {
      if (t.kind !== 'request') continue;
      for (const a of t.actions) for (const c of a.commands) { assert.equal(P.validateCommand(c), undefined, label); n++; }
    }
  }
  assert.ok(n > 20);
});

test('unknown package, item, parameter and value are refused with the right code', () => {
  assert.equal(P.validateRequestedEvent({ name: 'xx/of' })?.code, 440);
  assert.equal(P.validateRequestedEvent({ name: 'al/zz' })?.code, 451);
  assert.equal(P.validateSignal(M.signal('cg/zz'))?.code, 452);
  assert.equal(P.validateRequestedEvent({ name: 'al/of', params: { bogus: '1' } })?.code, 446);
  assert.equal(P.validateRequestedEvent({ name: 'al/of', params: { strict: 'sometimes' } })?.code, 449);
  assert.equal(P.validateRequestedEvent(P.inactivityTimer(0))?.code, undefined, 'mit clamps to 1');
  assert.equal(P.validateRequestedEvent({ name: 'it/ito', params: { mit: 'soon' } })?.code, 449);
  assert.equal(P.validateProperty('nt/jit', 'x')?.code, 449);
  assert.equal(P.validateProperty('nt/xyz', '1')?.code, 445);
  // embedded signals are checked too
  assert.equal(P.validateRequestedEvent({ name: 'al/of', embed: { signals: [M.signal('cg/nope')] } })?.code, 452);
  assert.equal(P.validateCommand(M.notify('al/1', 1, [{ name: 'dd/ce', params: { ds: '2001', Meth: 'UM' } }])), undefined);
  assert.equal(P.validateRequestedEvent({ name: 'dd/d5' }), undefined);
});

test('builders and accessors', () => {
  assert.deepEqual(P.hookEvent('off'), { name: 'al/of', params: { strict: 'state' } });
  assert.deepEqual(P.digitMapCompletion({ name: 'dp' }), { name: 'dd/ce', digitMap: { name: 'dp' } });
  assert.equal(P.dialledDigits({ name: 'dd/ce', params: { ds: '123' } }), '123');
  assert.equal(P.dialledDigits({ name: 'al/of' }), undefined);
  assert.ok(P.SUPPORTED_PACKAGES.some((p) => p.name === 'it'));
});
