import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlapDetector, weightedChangePercent } from './flap.js';

test('Nagios weighting: a full history of changes is 100 %, none is 0 %, recent changes weigh more than old ones', () => {
  const alt = Array.from({ length: 21 }, (_, i) => (i % 2 ? 'ok' : 'critical'));
  assert.ok(Math.abs(weightedChangePercent(alt) - 100) < 1e-9);
  assert.equal(weightedChangePercent(Array(21).fill('ok')), 0);
  const old = ['critical', ...Array(20).fill('ok')];
  const recent = [...Array(20).fill('ok'), 'critical'];
  assert.ok(weightedChangePercent(recent) > weightedChangePercent(old));
  assert.ok(Math.abs(weightedChangePercent(old) - 3.75) < 1e-9, 'oldest transition weighs 0.75/20');
  assert.ok(Math.abs(weightedChangePercent(recent) - 6.25) < 1e-9, 'newest weighs 1.25/20');
});

test('hysteresis: flapping starts above high and ends only below low', () => {
  const d = new FlapDetector(20, 30);
  const seen: boolean[] = [];
  for (let i = 0; i < 21; i++) seen.push(d.record(i % 2 ? 'ok' : 'critical'));
  assert.equal(seen.indexOf(true) > 0, true);
  assert.equal(seen.slice(seen.indexOf(true)).every(Boolean), true, 'stays flapping while alternating');
  let n = 0;
  while (d.record('ok') && n < 30) n++;
  assert.ok(n > 5 && n < 21, `stops after ${n} stable states`);
  assert.ok(d.percent < 20);
});
