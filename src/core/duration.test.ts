import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';

const isMs = (v: number | undefined) => v === undefined || (Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0));
const durationText = fc.oneof(
  fc.string(), fc.string({ unit: 'binary' }),
  fc.array(fc.tuple(fc.oneof(fc.nat().map(String), fc.double({ min: 0, noNaN: true }).map(String), fc.stringMatching(/^\d{1,30}(\.\d{0,30})?$/)), fc.constantFrom('ms', 's', 'm', 'h', 'd', 'w', '', 'x', ' ', '.', 'mm')), { maxLength: 6 })
    .map((ps) => ps.map(([n, u]) => n + u).join('')),
);

test('parseDuration answers whole, non-negative, safe milliseconds or undefined, for any string or number', () => {
  fc.assert(fc.property(durationText, (s) => { assert.ok(isMs(parseDuration(s)), `${JSON.stringify(s)} → ${parseDuration(s)}`); }), { numRuns: 5000 });
  fc.assert(fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, Infinity, NaN, 1e300, MAX_DURATION_MS)), (n) => {
    assert.ok(isMs(parseDuration(n)), `${n} → ${parseDuration(n)}`);
  }));
  // fractions that binary floating point cannot hold exactly still give whole milliseconds
  assert.equal(parseDuration('1.1s'), 1100);
  assert.equal(parseDuration('0.7h'), 2_520_000);
  assert.equal(parseDuration('0.5ms'), 1);
  assert.equal(parseDuration(1.1), 1100);
});

/** The text formatDuration writes for a value it can state exactly: tenths of the largest unit that fits. */
const canonical = fc.oneof(
  fc.integer({ min: 0, max: 999 }).map((n) => `${n}ms`),
  ...([['s', 599], ['m', 599], ['h', 239], ['d', Math.floor(MAX_DURATION_MS / 8_640_000)]] as const).map(([unit, max]) =>
    fc.integer({ min: 10, max }).map((k) => `${Math.floor(k / 10)}${k % 10 ? `.${k % 10}` : ''}${unit}`)),
);

test('formatDuration(parseDuration(x)) is x for every value formatDuration writes; parse(format(ms)) is within its rounding of ms', () => {
  fc.assert(fc.property(canonical, (x) => { assert.equal(formatDuration(parseDuration(x)!), x); }), { numRuns: 2000 });
  // one decimal of the largest unit that fits: at most 5 % off (half a millisecond below a second)
  fc.assert(fc.property(fc.integer({ min: 0, max: 1e15 }), (ms) => {
    const back = parseDuration(formatDuration(ms));
    assert.ok(back !== undefined && Math.abs(back - ms) <= ms * 0.05 + 0.5, `${ms} → ${formatDuration(ms)} → ${back}`);
  }), { numRuns: 2000 });
});

test('parseDuration examines each character at most once: long adversarial strings cost work linear in their length', () => {
  const adversarial = fc.tuple(fc.constantFrom('1', '1.', '1.1', '9', 'm', 'ms', '1s', '1m', '1ms', '1.1.', ' ', '.', '1x', 'mms'), fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('', 'x', 's', '.', '1', ' 1', '!'))
    .map(([unit, n, end]) => unit.repeat(n) + end);
  fc.assert(fc.property(fc.oneof(adversarial, durationText), (s) => {
    const meter = { steps: 0 };
    const v = parseDuration(s, meter);
    assert.ok(isMs(v));
    assert.ok(meter.steps <= s.length, `${meter.steps} steps for ${s.length} characters (${JSON.stringify(s.slice(0, 40))}…)`);
  }), { numRuns: 500 });
  // and the long ones still parse as the sum of their parts
  assert.equal(parseDuration('1s'.repeat(50_000)), 50_000_000);
  assert.equal(parseDuration('1'.repeat(20_000) + 'x'), undefined);
});
