// The call-state record's text form: print/parse identity and garbage rejection.
// How records are used in a failover is tested in sim/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CALL_PHASES, parseRecord, printRecord } from './call-record.js';
import type { CallRecord } from './call-record.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`call-record property seed ${seed} (replay: FC_SEED=${seed} npm test -- src/calls/record/)`);
const tok = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);

test('call record: print then parse is the identity; garbage is a typed error', () => {
  const arb: fc.Arbitrary<CallRecord> = fc.record({
    callId: tok, seq: fc.nat(1e9), phase: fc.constantFrom(...CALL_PHASES), startUs: fc.nat(2 ** 52),
    answerUs: fc.option(fc.nat(2 ** 52), { nil: null }), caller: tok, callee: tok,
    parties: fc.array(tok, { minLength: 1, maxLength: 3 }), controller: fc.option(tok, { nil: null }),
    features: fc.array(fc.constantFrom('hold', 'transfer', 'conference'), { maxLength: 3 }),
  });
  fc.assert(fc.property(arb, (r) => {
    const t = printRecord(r);
    assert.match(t, /^[A-Za-z0-9._!+~\-]+$/);
    const p = parseRecord(t); assert.ok(p.ok); assert.deepEqual(p.value, { ...r });
    const q = parseRecord(`"${t}"`); assert.ok(q.ok);
  }), { seed, numRuns: 300 });
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => { parseRecord(s); }), { seed, numRuns: 500 });
  assert.equal(parseRecord('r1!x').ok, false);
});
