import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { isBlickError } from './errors.js';
import { envPath, loadConfig, zDuration } from './config.js';

const schema = z.strictObject({
  data_dir: z.string().default('./.blick'),
  statsd: z.strictObject({ flush_interval: zDuration.prefault('10s'), percent_threshold: z.array(z.number()).default([90]) }).prefault({}),
  server: z.strictObject({ http: z.string().default('127.0.0.1:8080'), tokens: z.array(z.object({ token: z.string() })).default([]) }).prefault({}),
});

test('env names map to the longest matching key at each level', () => {
  assert.deepEqual(envPath('STATSD_FLUSH_INTERVAL', schema)?.path, ['statsd', 'flush_interval']);
  assert.deepEqual(envPath('DATA_DIR', schema)?.path, ['data_dir']);
  assert.equal(envPath('NOPE_THING', schema), undefined);
});

test('environment overrides beat the file; lists and numbers parse as YAML, strings stay strings', () => {
  const c = loadConfig('x.yaml', schema, {
    text: 'statsd:\n  flush_interval: 1s\n',
    env: { BLICK_STATSD_FLUSH_INTERVAL: '2s', BLICK_STATSD_PERCENT_THRESHOLD: '[90, 99]', BLICK_SERVER_HTTP: '0.0.0.0:9090', BLICK_UNRELATED: 'x' },
  });
  assert.equal(c.statsd.flush_interval, 2000);
  assert.deepEqual(c.statsd.percent_threshold, [90, 99]);
  assert.equal(c.server.http, '0.0.0.0:9090');
});

test('errors name the line of the offending key, nested in lists too', () => {
  assert.throws(() => loadConfig('f.yaml', schema, { text: 'data_dir: x\nserver:\n  tokens:\n    - token: 5\n', env: {} }),
    /f\.yaml:4: key server\.tokens\.0\.token: /);
  assert.throws(() => loadConfig('f.yaml', schema, { text: '- a\n- b\n', env: {} }), /f\.yaml:1: the configuration must be a YAML mapping/);
  assert.throws(() => loadConfig('f.yaml', schema, { text: 'a: 1\na: 2\n', env: {} }), /f\.yaml:2: YAML syntax error/);
});

test('no file: defaults only', () => {
  const c = loadConfig(undefined, schema, { env: {} });
  assert.equal(c.data_dir, './.blick');
  assert.equal(c.statsd.flush_interval, 10_000);
});

/** `levels` anchors, each a list of `width` aliases of the one before ("billion laughs" when deep). */
function aliasTower(levels: number, width: number): string {
  const lines = ['l0: &l0 [lol, lol]'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

test('nested YAML aliases are refused with FILE:LINE and CONFIG_INVALID, without expanding them', () => {
  const lax = z.record(z.string(), z.unknown());
  assert.throws(() => loadConfig('bomb.yaml', lax, { text: aliasTower(9, 9), env: {} }),
    (err: unknown) => isBlickError(err, 'CONFIG_INVALID') && /^bomb\.yaml:2: YAML aliases expand beyond 100 references/.test(err.message));
  // a few aliases, as real files use them, still work
  assert.deepEqual(loadConfig('ok.yaml', lax, { text: aliasTower(2, 3), env: {} }).l1, [['lol', 'lol'], ['lol', 'lol'], ['lol', 'lol']]);
});

test('property: any text, alias towers included, loads or fails with a BlickError naming the file', () => {
  const lax = z.record(z.string(), z.unknown());
  const texts = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.array(fc.constantFrom('a: ', '&x ', '*x', '[', ']', '{', '}', ', ', '\n', '- ', '  ', 'k', '1', '"', "'", ':', '#', '!!str ', '? '), { maxLength: 60 }).map((a) => a.join('')),
    fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 12 })).map(([l, w]) => aliasTower(l, w)),
  );
  fc.assert(fc.property(texts, (text) => {
    try { loadConfig('p.yaml', lax, { text, env: {} }); } catch (err) {
      assert.ok(isBlickError(err), `not a BlickError: ${String(err)}`);
      assert.match(err.message, /^p\.yaml(:\d+)?: /);
    }
  }), { numRuns: 500 });
});
