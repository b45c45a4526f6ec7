import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonPage, ReadBudget } from './page.js';

test('property: a JsonPage is valid JSON of a prefix of the items, within maxBytes unless it holds a single item', () => {
  const item = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ unit: 'grapheme', maxLength: 20 })), fc.double());
  fc.assert(fc.property(fc.array(item, { maxLength: 30 }), fc.integer({ min: 2, max: 400 }), (items, maxBytes) => {
    const page = new JsonPage(maxBytes);
    let n = 0;
    while (n < items.length && page.add(items[n])) n++;
    const text = page.text();
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(items.slice(0, n))));
    assert.equal(Buffer.byteLength(text), page.bytes);
    if (n > 1) assert.ok(page.bytes <= maxBytes);
    if (items.length > 0) assert.ok(n >= 1, 'the first item is always taken');
    if (n < items.length) assert.ok(page.bytes + Buffer.byteLength(JSON.stringify(items[n])) + 1 > maxBytes, 'it stopped only because the next item did not fit');
  }));
});

test('a ReadBudget ends at its rows, or at its time on the injected clock, and never without limits', () => {
  const rows = new ReadBudget({ rows: 5, ms: 1e9 }, () => 0);
  let spent = 0;
  while (rows.spend()) spent++;
  assert.deepEqual([spent, rows.exhausted], [4, 'rows']);
  let now = 0;
  const time = new ReadBudget({ rows: 1e9, ms: 10 }, () => now++);
  while (time.spend(0)) { /* the clock is read every 16 calls */ }
  assert.equal(time.exhausted, 'time');
  const none = new ReadBudget(undefined, () => { throw new Error('no clock without limits'); });
  for (let i = 0; i < 1000; i++) assert.ok(none.spend());
  assert.equal(none.halfSpent(), false);
});
