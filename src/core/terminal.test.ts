import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { terminalSafe, terminalSafeJson } from './terminal.js';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** strings rich in controls, escapes and bidi characters */
const nasty = fc.array(fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\x1b]0;pwned\x07', '\x1b[2J', '\u009b', '\u202e', '\u2066', '\u061c', '\\'),
), { maxLength: 20 }).map((a) => a.join(''));

test('terminalSafe leaves ordinary text alone and writes controls as visible escapes', () => {
  assert.equal(terminalSafe('disk / 95% — ünïcode ✓'), 'disk / 95% — ünïcode ✓');
  assert.equal(terminalSafe('\x1b]0;pwned\x07\x1b[2J'), '\\x1b]0;pwned\\x07\\x1b[2J');
  assert.equal(terminalSafe('a\nb\tc\r\u0000\u007f\u009b\u202e'), 'a\\nb\\tc\\r\\x00\\x7f\\x9b\\u202e');
});

test('property: terminalSafe output holds no control or bidi character and is the identity on safe text', () => {
  fc.assert(fc.property(nasty, (s) => {
    const out = terminalSafe(s);
    assert.doesNotMatch(out, UNSAFE);
    if (!UNSAFE.test(s)) assert.equal(out, s);
  }), { numRuns: 2000 });
});

test('property: terminalSafeJson keeps the JSON value and leaves no control or bidi character', () => {
  fc.assert(fc.property(fc.dictionary(nasty, fc.oneof(nasty, fc.integer(), fc.array(nasty, { maxLength: 3 }))), fc.boolean(), (value, pretty) => {
    const json = JSON.stringify(value, null, pretty ? 2 : undefined);
    const out = terminalSafeJson(json);
    assert.doesNotMatch(out.replace(/\n/g, ''), UNSAFE);
    assert.deepEqual(JSON.parse(out), JSON.parse(json));
  }), { numRuns: 1000 });
});
