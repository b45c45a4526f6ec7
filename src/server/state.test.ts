import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeEvent } from '../core/event.js';
import { boundCheckText, ExpiryTracker, RecentIds, StateIndex, TRUNCATED_ATTRIBUTE, truncateUtf8 } from './state.js';

test('expiry: due once at time + ttl; a newer event re-arms; ttl null disarms', () => {
  const x = new ExpiryTracker();
  x.track('h', 'a', 1000, 1);
  x.track('h', 'b', 1000, 2);
  x.track('h', 'c', 1000, 1);
  assert.deepEqual(x.due(1999), []);
  x.track('h', 'a', 1500, 1); // newer event for a
  x.track('h', 'c', 1500, null); // c no longer has a ttl
  assert.deepEqual(x.due(2000), []);
  assert.deepEqual(x.due(2500), [{ host: 'h', service: 'a' }]);
  assert.deepEqual(x.due(3000), [{ host: 'h', service: 'b' }]);
  assert.deepEqual(x.due(10_000), []);
});

test('expiry reports many checks in deadline order', () => {
  const x = new ExpiryTracker();
  const ttls = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 500) + 1);
  ttls.forEach((t, i) => x.track('h', `s${i}`, 0, t));
  let last = 0;
  for (let now = 0; now <= 501_000; now += 1000) {
    for (const d of x.due(now)) { const i = Number(d.service.slice(1)); assert.ok(ttls[i]! * 1000 <= now && ttls[i]! * 1000 >= last); }
    last = now;
  }
  assert.equal(x.due(1e12).length, 0);
});

test('expiry memory stays proportional to checks when a check is re-armed many times', () => {
  const x = new ExpiryTracker();
  for (let i = 0; i < 100_000; i++) x.track('h', `s${i % 10}`, i, 60);
  assert.equal(x.size, 10);
  assert.equal(x.due(100_000 + 59_000).length, 0);
  assert.equal(x.due(100_000 + 61_000).length, 10);
  assert.equal(x.size, 0);
});

test('state: last_change moves only when the state changes; changed lists transitions', () => {
  const s = new StateIndex();
  const ev = (state: any, time: number) => makeEvent({ host: 'h', service: 's', state, time });
  let p = s.prepare([ev('ok', 1), ev('ok', 2), ev('critical', 3)]);
  assert.equal(p.rows.length, 1);
  assert.deepEqual([p.rows[0]!.state, p.rows[0]!.last_change], ['critical', 3]);
  assert.deepEqual(p.changed.map((c) => [c.before, c.after.state]), [[null, 'ok'], ['ok', 'critical']]);
  s.apply(p.rows);
  p = s.prepare([ev('critical', 4)]);
  assert.equal(p.rows[0]!.last_change, 3);
  assert.equal(p.changed.length, 0);
});

test('recent ids: bounded, forgets the oldest first', () => {
  const r = new RecentIds(1000);
  for (let i = 0; i < 5000; i++) r.add(`id${i}`);
  assert.ok(r.size <= 1000);
  assert.ok(r.has('id4999'));
  assert.ok(!r.has('id0'));
});

test('a check keeps at most the configured bytes of description and attributes, whole characters and whole values, marked when cut', () => {
  const limits = { maxChecks: 10, descriptionBytes: 100, attributesBytes: 300 };
  const text = fc.string({ unit: 'grapheme', maxLength: 200 });
  fc.assert(fc.property(text, fc.dictionary(fc.string({ maxLength: 20 }), text, { maxKeys: 12 }), (description, attributes) => {
    const b = boundCheckText(description, attributes, limits);
    assert.ok(Buffer.byteLength(b.description) <= 100);
    assert.ok(description.startsWith(b.description));
    // nothing is cut in the middle of a character: the next one would not have fitted
    if (b.description !== description) assert.ok(Buffer.byteLength(description.slice(0, b.description.length + (description.codePointAt(b.description.length)! > 0xffff ? 2 : 1))) > 100);
    const { [TRUNCATED_ATTRIBUTE]: marker, ...kept } = b.attributes;
    const cut = b.description !== description || Object.keys(kept).length !== Object.keys(attributes).length;
    assert.equal(marker, cut ? 'true' : attributes[TRUNCATED_ATTRIBUTE]);
    let bytes = 0;
    for (const [k, v] of Object.entries(kept)) {
      if (k === TRUNCATED_ATTRIBUTE) continue;
      assert.equal(v, attributes[k], 'values are kept whole or left out');
      bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
    assert.ok(bytes <= 300);
  }));
});

test('truncateUtf8 cuts at a character boundary, also for astral characters and lone surrogates', () => {
  assert.equal(truncateUtf8('aé😀b', 4), 'aé');
  assert.equal(truncateUtf8('aé😀b', 7), 'aé😀');
  assert.equal(truncateUtf8('\ud800abc', 4), '\ud800a');
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00'), maxLength: 100 }), fc.integer({ min: 0, max: 300 }), (s, max) => {
    const r = truncateUtf8(s, max);
    assert.ok(s.startsWith(r) && Buffer.byteLength(r) <= max);
    if (r.length < s.length) assert.ok(Buffer.byteLength(s.slice(0, r.length + 1)) > max || /[\ud800-\udbff]/.test(s[r.length]!));
  }));
});

test('state: beyond maxChecks an event for a new check is refused, one for a known check is not', () => {
  const s = new StateIndex({ maxChecks: 2 });
  const ev = (host: string) => makeEvent({ host, service: 's', state: 'ok' });
  let p = s.prepare([ev('a'), ev('b'), ev('c'), ev('a')]);
  assert.deepEqual(p.refused, [2]);
  s.apply(p.rows);
  p = s.prepare([ev('d'), ev('b')]);
  assert.deepEqual([p.refused, p.rows.map((r) => r.host)], [[0], ['b']]);
  assert.equal(s.load({ ...p.rows[0]!, host: 'e' }), false, 'the cap holds at load too');
  assert.equal(s.size, 2);
});
