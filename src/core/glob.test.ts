import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anyGlob, glob, wildcardMatch } from './glob.js';

/** The obvious definition, as a regular expression: right, but exponential on some patterns. */
function reference(pattern: string, value: string): boolean {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's').test(value);
}

test('globs: * any run, ? one character, the rest literal and case-sensitive', () => {
  assert.ok(glob('disk *')('disk /var'));
  assert.ok(glob('disk *')('disk '));
  assert.ok(!glob('disk *')('disk'));
  assert.ok(glob('web-??')('web-01'));
  assert.ok(!glob('web-??')('web-1'));
  assert.ok(glob('*.service')('nginx.service'));
  assert.ok(!glob('*.service')('nginx.socket'));
  assert.ok(glob('a.b')('a.b') && !glob('a.b')('axb'), 'a dot is a dot');
  assert.ok(!glob('Web*')('web-01'));
  assert.ok(glob('*')('') && glob('**')('x') && !glob('?')(''));
  assert.ok(glob('line*')('line\nnext'), 'a star crosses newlines');
  assert.ok(anyGlob(['db-*', 'web-*'])('web-3') && !anyGlob(['db-*', 'web-*'])('cache-1'));
});

test('globs agree with the regular-expression definition on random patterns and values', () => {
  const alphabet = fc.constantFrom('a', 'b', '*', '?', '.', '\n');
  fc.assert(fc.property(
    fc.array(alphabet, { maxLength: 8 }).map((a) => a.join('')),
    fc.array(fc.constantFrom('a', 'b', '.', '*', '?', '\n'), { maxLength: 12 }).map((a) => a.join('')),
    (pattern, value) => wildcardMatch(pattern, value) === reference(pattern, value) && glob(pattern)(value) === reference(pattern, value),
  ), { numRuns: 5000 });
});

test('a pattern with many stars against a long value is answered at once (a regular expression would backtrack for years)', { timeout: 10_000 }, () => {
  const evil = '*a'.repeat(30) + '*b';
  assert.equal(glob(evil)('a'.repeat(1000)), false);
  assert.equal(glob(evil)('a'.repeat(1000) + 'b'), true);
});
