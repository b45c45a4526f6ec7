import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBlickError } from '../core/errors.js';
import { isEtsyConfigFile, MAX_ETSY_DEPTH, parseEtsyConfig } from './etsy-file.js';

/** What Etsy itself gets from the file: `eval('config = ' + data)`, here as indirect (sloppy, global) eval. */
function etsyEval(text: string): unknown {
  return (0, eval)(`var __etsyConfig = ${text}\n;__etsyConfig`);
}

const parse = (text: string) => parseEtsyConfig(text, 'config.js').value;

/** Any JSON-like value written the ways Etsy configs are: bare keys, either quote, comments, comma-first, trailing commas, other number forms. */
const jsText: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string; array: string; key: string; scalar: string; gap: string }>((tie) => ({
  gap: fc.constantFrom('', ' ', '\n', '\t', ' // a comment\n', '/* c */', '\r\n  '),
  key: fc.oneof(
    fc.stringMatching(/^[a-zA-Z_$][a-zA-Z0-9_$]{0,8}$/),
    fc.string({ maxLength: 6 }).filter((s) => s !== '__proto__').map((s) => JSON.stringify(s)),
    fc.string({ maxLength: 6 }).filter((s) => s !== '__proto__' && !/['\\\n\r\u2028\u2029]/.test(s)).map((s) => `'${s}'`),
    fc.nat(1000).map(String),
  ),
  scalar: fc.oneof(
    fc.constantFrom('true', 'false', 'null', 'undefined', 'NaN', 'Infinity', '-Infinity', '0660', '089', '0x1F', '0o17', '0b101', '.5', '5.', '1e3', '-2.5E-2', '+7', '1_000'),
    fc.double({ noNaN: true }).filter((d) => Number.isFinite(d)).map((d) => String(d)),
    fc.integer().map(String),
    fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
    fc.string({ maxLength: 8 }).filter((s) => !/['\\\n\r]/.test(s)).map((s) => `'${s}'`),
    fc.constantFrom(`'it\\'s'`, `"\\x41\\u0042\\u{1F600}\\t"`, `"line\\\ncontinued"`, `'\\0'`),
  ),
  value: fc.oneof({ depthSize: 'small' }, tie('scalar'), tie('object'), tie('array')),
  object: fc.tuple(fc.array(fc.tuple(tie('key'), tie('gap'), tie('value'), tie('gap')), { maxLength: 5 }), fc.boolean(), fc.boolean()).map(([members, trailing, commaFirst]) => {
    const parts = members.map(([k, g1, v, g2]) => `${g1}${k}${g1}:${g2}${v}${g2}`);
    const body = commaFirst ? parts.join('\n, ') : parts.join(',');
    return `{${body}${trailing && parts.length > 0 ? ',' : ''}}`;
  }),
  array: fc.tuple(fc.array(fc.tuple(tie('gap'), tie('value')), { maxLength: 5 }), fc.boolean()).map(([items, trailing]) => {
    const body = items.map(([g, v]) => `${g}${v}${g}`).join(',');
    return `[${body}${trailing && items.length > 0 ? ',' : ''}]`;
  }),
})).object;

test('property: what Etsy evaluates from a data-only config, Blick reads to the same value', () => {
  fc.assert(fc.property(jsText, fc.constantFrom('', ';', '\n', ' // end\n', ';\n'), (text, end) => {
    assert.deepStrictEqual(parse(text + end), etsyEval(text + end));
  }), { numRuns: 500 });
});

test('property: any JSON reads as JSON.parse reads it', () => {
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const text = JSON.stringify(v);
    fc.pre(!text.includes('"__proto__"'));
    assert.deepStrictEqual(parse(text), JSON.parse(text));
  }), { numRuns: 300 });
});

test('property: any text either reads to what Etsy would evaluate, or fails with a BlickError naming file, line and column', () => {
  const fragments = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', "'", '\\', '/*', '*/', '//', '\n', ' ', 'a', '1', '0x', '-', '+', '.', 'e', 'true', 'require(', ')', '(', ';', '__proto__', '`', '$', 'n', '\u2028');
  const texts = fc.oneof(fc.string({ maxLength: 40 }), fc.array(fragments, { maxLength: 30 }).map((a) => a.join('')), jsText.map((t) => t.slice(0, -1)));
  fc.assert(fc.property(texts, (text) => {
    let value: unknown;
    try { value = parse(text); } catch (err) {
      assert.ok(isBlickError(err, 'CONFIG_INVALID'), `not a BlickError: ${String(err)}`);
      assert.match((err as Error).message, /^config\.js:\d+:\d+: /);
      return;
    }
    // only data gets here, so evaluating it as Etsy does is safe and must agree
    assert.deepStrictEqual(value, etsyEval(text));
  }), { numRuns: 2000 });
});

test('code is refused with its line and column and never run', () => {
  const calls = [
    ['{ graphite: { globalSuffix: require("os").hostname() } }', /config\.js:1:29: .*does not run it; "require\("os"\)/],
    ['{\n  port: 8125,\n  flushInterval: 10 * 1000\n}', /config\.js:3:21: /],
    ['{ port: PORT }', /config\.js:1:9: /],
    ['{ port }', /config\.js:1:3: /],
    ['{ a: `template` }', /config\.js:1:6: /],
    ['{ a: 1 } + process.exit(3)', /config\.js:1:10: /],
    ['{ get port() { return 1 } }', /config\.js:1:3: /],
    ['{ __proto__: { polluted: true } }', /"__proto__" is not a configuration key/],
    ['{ a: 1 /* open', /comment is not closed/],
    ['{ a: "open\n" }', /not closed on its line/],
    ['{ a: [1,,2] }', /empty array element/],
    ['{ a: 10n }', /BigInt/],
    ['', /holds no configuration object/],
  ] as const;
  for (const [text, message] of calls) {
    assert.throws(() => parse(text), (err: unknown) => isBlickError(err, 'CONFIG_INVALID') && message.test((err as Error).message), text);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test(`nesting deeper than ${MAX_ETSY_DEPTH} levels is refused, not a stack overflow`, () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.throws(() => parse(deep), (err: unknown) => isBlickError(err, 'CONFIG_INVALID') && /nest deeper than 64/.test((err as Error).message));
  assert.deepEqual(parse('['.repeat(MAX_ETSY_DEPTH) + ']'.repeat(MAX_ETSY_DEPTH)), etsyEval('['.repeat(MAX_ETSY_DEPTH) + ']'.repeat(MAX_ETSY_DEPTH)));
});

test('the line of every key is known, for messages', () => {
  const f = parseEtsyConfig('{ port: 8125\n, servers: [\n  { server: "./servers/tcp"\n  , socket: "/run/s" } ]\n}', 'c.js');
  assert.equal(f.lineOf(['port']), 1);
  assert.equal(f.lineOf(['servers', 0, 'socket']), 4);
  assert.equal(f.lineOf(['servers', 0, 'nope']), 3, 'a missing key: its parent');
});

test('an Etsy file is told from YAML by name, else by its first character', () => {
  assert.equal(isEtsyConfigFile('/etc/statsd/config.js', ''), true);
  assert.equal(isEtsyConfigFile('/etc/blick.yaml', '{ statsd: {} }'), false);
  assert.equal(isEtsyConfigFile('/etc/statsd/localConfig', '/* Etsy */\n{ port: 8125 }'), true);
  assert.equal(isEtsyConfigFile('/etc/statsd/conf', '\n{\n  port: 8125\n}'), true);
  assert.equal(isEtsyConfigFile('/etc/blick/conf', '# blick\nstatsd:\n  udp: 127.0.0.1:8125\n'), false);
});
