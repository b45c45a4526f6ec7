import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseArgs } from './main.js';

test('parseArgs never throws, and returns every positional in order and the last value of every flag, whatever the names', () => {
  fc.assert(fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 12 }), (argv) => { parseArgs(argv); }), { numRuns: 2000 });
  const name = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }).filter((n) => !n.includes('=') && !n.startsWith('-')), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'url'));
  const positional = fc.string({ maxLength: 8 }).filter((p) => !p.startsWith('--'));
  const item = fc.oneof(
    positional.map((p) => ({ p })),
    fc.tuple(name, fc.string({ maxLength: 8 })).map(([n, v]) => ({ n, v, inline: true })),
    fc.tuple(name, positional).map(([n, v]) => ({ n, v, inline: false })),
  );
  fc.assert(fc.property(fc.array(item, { maxLength: 10 }), fc.option(name), (items, lastBoolean) => {
    const argv: string[] = [];
    const want: { positional: string[]; flags: Record<string, string | true> } = { positional: [], flags: {} };
    for (const it of items) {
      if ('p' in it) { argv.push(it.p); want.positional.push(it.p); continue; }
      argv.push(...(it.inline ? [`--${it.n}=${it.v}`] : [`--${it.n}`, it.v]));
      Object.defineProperty(want.flags, it.n, { value: it.v, enumerable: true, configurable: true, writable: true });
    }
    if (lastBoolean !== null) { argv.push(`--${lastBoolean}`); Object.defineProperty(want.flags, lastBoolean, { value: true, enumerable: true, configurable: true, writable: true }); }
    const got = parseArgs(argv);
    assert.deepEqual(got.positional, want.positional);
    assert.deepEqual({ ...got.flags }, { ...want.flags });
    // a flag nobody gave is absent, even when its name is one of Object's
    for (const k of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) if (!Object.hasOwn(want.flags, k)) assert.equal(got.flags[k], undefined, k);
  }), { numRuns: 2000 });
});
