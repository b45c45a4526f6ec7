import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { recordingContext } from '../../listeners/testing.js';
import { testdataDir } from '../testdata.js';
import { MemoryObserver, memorySchema, parseMeminfo } from './index.js';

test('memory and swap report used percent from MemAvailable and SwapFree', async () => {
  const ctx = recordingContext();
  await new MemoryObserver(memorySchema.parse({ warning: 70 }), testdataDir('memory')).observe(ctx);
  const mem = ctx.events.find((e) => e.service === 'memory')!;
  assert.equal(mem.metric, 75);
  assert.equal(mem.state, 'warning');
  assert.equal(mem.attributes?.total_bytes, String(16384000 * 1024));
  const swap = ctx.events.find((e) => e.service === 'swap')!;
  assert.equal(swap.metric, 50);
  assert.equal(swap.state, 'ok');
});

test('parseMeminfo never throws on random input', () => {
  fc.assert(fc.property(fc.string(), (s) => { parseMeminfo(s); }));
});
