import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isBlickError } from '../core/errors.js';
import { COMMANDS, flagsOf, parseArgs } from './commands.js';

const keys = Object.keys(COMMANDS);
const word = fc.stringMatching(/^[a-z0-9*?/ .:-]{1,12}$/).filter((s) => !s.startsWith('-'));

test('the flags a command knows come back as given, in either spelling, whatever their order', () => {
  fc.assert(fc.property(fc.constantFrom(...keys).chain((key) => {
    const known = flagsOf(COMMANDS[key]!);
    const names = Object.keys(known).filter((n) => n !== 'help');
    return fc.tuple(fc.constant(key), fc.uniqueArray(fc.constantFrom(...(names.length ? names : ['help'])), { maxLength: 6 }), fc.array(fc.tuple(word, fc.boolean()), { minLength: 6, maxLength: 6 }));
  }), ([key, chosen, values]) => {
    const known = flagsOf(COMMANDS[key]!);
    const argv = key.split(' ');
    const want: Record<string, string | true> = {};
    chosen.forEach((name, i) => {
      const [v, joined] = values[i]!;
      if (known[name]!.value === undefined) { argv.push(`--${name}`); want[name] = true; } else if (joined) { argv.push(`--${name}=${v}`); want[name] = v; } else { argv.push(`--${name}`, v); want[name] = v; }
    });
    const r = parseArgs(argv, known, key);
    assert.deepEqual(r.flags, want);
    assert.deepEqual(r.positional, key.split(' '));
  }));
});

test('any command line either parses or is a USAGE error; a flag the command does not know always is', () => {
  fc.assert(fc.property(fc.constantFrom(...keys), fc.array(fc.oneof(word, fc.string({ maxLength: 10 }).map((s) => `--${s}`)), { maxLength: 8 }), (key, argv) => {
    const known = flagsOf(COMMANDS[key]!);
    try {
      const r = parseArgs(argv, known, key);
      for (const name of Object.keys(r.flags)) assert.ok(known[name], `--${name} is known to ${key}`);
    } catch (err) {
      assert.ok(isBlickError(err, 'USAGE'), String(err));
    }
  }));
  fc.assert(fc.property(fc.constantFrom(...keys), fc.stringMatching(/^[a-z][a-z-]{0,15}$/), (key, name) => {
    fc.pre(!Object.hasOwn(flagsOf(COMMANDS[key]!), name));
    assert.throws(() => parseArgs([`--${name}`], flagsOf(COMMANDS[key]!), key), (e: unknown) => isBlickError(e, 'USAGE') && e.message.includes(`unknown flag --${name};`));
  }));
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    assert.throws(() => parseArgs([`--${name}`, 'x'], flagsOf(COMMANDS.checks!), 'checks'), /unknown flag/, name);
  }
});
