import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePerfData, parsePluginOutput } from './perfdata.js';

test('plugin output: first line text, long text, perfdata on the first and later lines', () => {
  const out = parsePluginOutput("DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%); | /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n");
  assert.equal(out.text, 'DISK OK - free space: / 3326 MB (56%);');
  assert.equal(out.longText, '/ 15272 MB (77%);\n/boot 68 MB (69%);');
  assert.deepEqual(out.perf, [
    { label: '/', value: 2643, uom: 'MB', warn: '5948', crit: '5958', min: 0, max: 5968 },
    { label: '/boot', value: 68, uom: 'MB', warn: '88', crit: '93', min: 0, max: 98 },
    { label: '/home', value: 69357, uom: 'MB', warn: '253404', crit: '253409', min: 0, max: 253414 },
  ]);
});

test("perfdata: quoted labels, ranges, missing fields, units; junk is skipped", () => {
  assert.deepEqual(parsePerfData("'free space'=3GB;;;0; load1=0.150;5.000;10.000;0; time=0.001s rta=1.2e-3ms junk =5 x=abc 'it''s'=1"), [
    { label: 'free space', value: 3, uom: 'GB', min: 0 },
    { label: 'load1', value: 0.15, uom: '', warn: '5.000', crit: '10.000', min: 0 },
    { label: 'time', value: 0.001, uom: 's' },
    { label: 'rta', value: 0.0012, uom: 'ms' },
    { label: "it's", value: 1, uom: '' },
  ]);
  assert.deepEqual(parsePerfData('used=97%;@10:20;~:30'), [{ label: 'used', value: 97, uom: '%', warn: '@10:20', crit: '~:30' }]);
});

test('property: any output (random, truncated) parses without throwing, values are finite', () => {
  const sample = "CHECK OK - x | a=1;2;3;0;10 'b c'=2.5ms;;;; d=3c\nmore | e=4\n";
  for (let i = 0; i <= sample.length; i++) parsePluginOutput(sample.slice(0, i));
  fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.string({ unit: fc.constantFrom("'", '=', ';', '|', ' ', '\n', '1', '.', 'a', '-', 'e') as fc.Arbitrary<string>, maxLength: 200 }), (a, b) => {
    for (const s of [a, b, a + '|' + b]) {
      const r = parsePluginOutput(s);
      for (const p of r.perf) assert.ok(Number.isFinite(p.value) && p.label.length > 0);
    }
  }), { numRuns: 3000 });
});
