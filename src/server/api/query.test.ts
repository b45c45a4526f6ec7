import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseQuery, parseRfc3339, parseTime, timeParam } from './query.js';
import { z } from 'zod';

const NOW = 1_796_119_200_000; // 2026-12-01T10:00:00Z
const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

test('an RFC 3339 time names the same instant whatever its offset, separator and fraction', () => {
  fc.assert(fc.property(
    fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 30) }),
    fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
    fc.constantFrom('T', 't', ' '), fc.constantFrom('', '.', 'µ'),
    (ms, offsetMin, sep, frac) => {
      const local = new Date(ms + offsetMin * 60_000);
      const fraction = frac === '' ? '' : frac === '.' ? '.' + pad(local.getUTCMilliseconds(), 3) : '.' + pad(local.getUTCMilliseconds(), 3) + '999';
      const zone = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${pad(Math.trunc(offsetMin / 60))}:${pad(offsetMin % 60)}`;
      const text = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}${sep}${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${zone}`;
      const expected = frac === '' ? ms - (ms % 1000 + 1000) % 1000 : ms;
      assert.equal(parseRfc3339(text), expected, text);
      assert.equal(parseTime(text, NOW), expected, text);
    },
  ));
});

test('a date-time with a field out of range is refused rather than rolled over', () => {
  for (const bad of ['2026-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-12-01T24:00:00Z', '2026-12-01T10:60:00Z', '2026-12-01T10:00:60Z', '2026-12-01T10:00:00+24:00', '2026-12-01T10:00:00', '2026-12-01']) {
    assert.equal(parseTime(bad, NOW), undefined, bad);
  }
  assert.equal(parseTime('2028-02-29T00:00:00Z', NOW), Date.UTC(2028, 1, 29), 'a leap day');
});

test('unix ms and durations before now', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ms) => { assert.equal(parseTime(String(ms), NOW), ms); }));
  fc.assert(fc.property(fc.nat(10_000), fc.constantFrom(['ms', 1], ['s', 1000], ['m', 60_000], ['h', 3_600_000], ['d', 86_400_000], ['w', 604_800_000]), fc.boolean(), (n, [unit, f], minus) => {
    assert.equal(parseTime(`${minus ? '-' : ''}${n}${unit}`, NOW), Math.max(0, NOW - n * (f as number)));
  }));
  assert.equal(parseTime('1h30m', NOW), NOW - 5_400_000);
  assert.equal(parseTime('100000w', NOW), 0, 'before 1970 is 1970');
});

test('any other text is refused, never thrown on, and every accepted text is a time in unix ms', () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
    const t = parseTime(s, NOW);
    if (t !== undefined) assert.ok(Number.isSafeInteger(t) && t >= 0, `${JSON.stringify(s)} → ${t}`);
  }));
  const q = z.strictObject({ since: timeParam(() => NOW).optional() });
  assert.deepEqual(parseQuery(q, { since: '15m' }), { since: NOW - 900_000 });
  assert.throws(() => parseQuery(q, { since: 'noon' }), /parameter since: expected unix milliseconds .*, got "noon"/);
});
