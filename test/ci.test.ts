import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { missing } from './agent/require.js';
import { requireProgram } from './statsd/fixtures.js';

/** Run `fn` with CI set to `value` (undefined: unset), restoring it after. */
function withCI<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.CI;
  if (value === undefined) delete process.env.CI; else process.env.CI = value;
  try { return fn(); } finally { if (saved === undefined) delete process.env.CI; else process.env.CI = saved; }
}

test('CI=1 means CI like CI=true: a missing program fails instead of skipping', () => {
  const noSkip = { skip() { assert.fail('must not skip in CI'); } } as unknown as TestContext;
  for (const v of ['true', '1', 'TRUE', 'yes']) {
    assert.throws(() => withCI(v, () => missing(noSkip, 'frobnicator', 'apt-get install frobnicator')), /frobnicator is not available .*CI must provide it/, `CI=${v}`);
    assert.throws(() => withCI(v, () => requireProgram(noSkip, false, 'frobnicator')), new RegExp(`frobnicator is not installed \\(CI=${v},`), `CI=${v}`);
  }
});

test('CI unset, empty, 0 or false: a missing program skips the test with the reason', () => {
  for (const v of [undefined, '', '0', 'false']) {
    let reason = '';
    const t = { skip(m: string) { reason = m; } } as unknown as TestContext;
    withCI(v, () => missing(t, 'frobnicator', 'apt-get install frobnicator'));
    assert.equal(reason, 'frobnicator is not available (apt-get install frobnicator)', `CI=${v}`);
  }
});
