import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { recordingContext } from '../../listeners/testing.js';
import { testdataDir } from '../testdata.js';
import { LoadObserver, loadSchema, parseLoadavg } from './index.js';

test('load reports the 1-minute load and judges the 5-minute load per CPU', async () => {
  const ctx = recordingContext();
  await new LoadObserver(loadSchema.parse({}), testdataDir('load')).observe(ctx);
  const [e] = ctx.events;
  assert.equal(e?.service, 'load');
  assert.equal(e?.metric, 3.5);
  assert.equal(e?.attributes?.cpus, '2');
  assert.equal(e?.attributes?.load5_per_cpu, '4.5');
  assert.equal(e?.state, 'critical');
});

test('parseLoadavg never throws on random or truncated input', () => {
  fc.assert(fc.property(fc.string(), (s) => { parseLoadavg(s); }));
  fc.assert(fc.property(fc.nat(30), (n) => { const r = parseLoadavg('3.50 9.00 1.20 3/812 42424\n'.slice(0, n)); if (r) assert.ok(Number.isFinite(r.load1)); }));
});
