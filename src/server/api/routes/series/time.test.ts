import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBlickError } from '../../../../core/errors.js';
import { parseInstant, parseStep } from './time.js';

const NOW = 1_780_000_000_000;

test('from/to read unix ms, RFC 3339, durations before now and now', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
    assert.equal(parseInstant('from', String(ms), NOW), ms);
    assert.equal(parseInstant('from', new Date(ms).toISOString(), NOW), ms);
  }));
  fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(['s', 1000], ['m', 60_000], ['h', 3_600_000], ['d', 86_400_000]), (n, [u, ms]) => {
    assert.equal(parseInstant('from', `${n}${u}`, NOW), NOW - n * (ms as number));
  }));
  assert.equal(parseInstant('to', 'now', NOW), NOW);
  assert.equal(parseInstant('to', '2026-01-31T13:00:00+01:00', NOW), Date.UTC(2026, 0, 31, 12));
});

test('any other from/to/step text is a BAD_REQUEST naming the parameter, never NaN', () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => {
    for (const parse of [(x: string) => parseInstant('from', x, NOW), parseStep]) {
      try {
        const v = parse(text);
        assert.ok(Number.isFinite(v), `${JSON.stringify(text)} gave ${v}`);
      } catch (err) {
        assert.ok(isBlickError(err, 'BAD_REQUEST'), String(err));
        assert.match((err as Error).message, /^parameter (from|step): /);
      }
    }
  }));
  assert.throws(() => parseStep('0'), /is not a step/);
});
