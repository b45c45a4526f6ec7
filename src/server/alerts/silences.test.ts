import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from './clock.js';
import { MAX_SILENCE_MS, Silences } from './silences.js';
import { SqliteAlertStore } from './store.js';

/** A manual clock whose timers are capped like Node's (longer ones fire after ~24.8 days). */
class NodeLikeClock extends ManualClock {
  override setTimeout(fn: () => void, ms: number): unknown { return super.setTimeout(fn, Math.min(ms, 2 ** 31 - 1)); }
}

async function silencesForTest(t: { after(fn: () => unknown): void }, clock: ManualClock, onChange: () => void): Promise<Silences> {
  const dir = mkdtempSync(join(tmpdir(), 'blick-silences-'));
  const store = new SqliteAlertStore(join(dir, 'alerts.db'));
  await store.open();
  const s = new Silences(store, clock, onChange);
  t.after(async () => { s.stop(); await store.close(); rmSync(dir, { recursive: true, force: true }); });
  return s;
}

test('a silence may end at most a year from now', async (t) => {
  const clock = new ManualClock();
  const s = await silencesForTest(t, clock, () => undefined);
  const base = { matchers: { host: 'web-01' }, author: 'test', reason: 'maintenance' };
  await assert.rejects(s.add({ ...base, endsAt: clock.now() + MAX_SILENCE_MS + 1 }), /at most 366 days/);
  await assert.rejects(s.add({ ...base, endsAt: 8.64e15 + 1 }), /at most 366 days/);
  assert.equal((await s.add({ ...base, endsAt: clock.now() + MAX_SILENCE_MS })).endsAt, clock.now() + MAX_SILENCE_MS);
});

test('a silence longer than a timer can wait still ends on time (re-routes its alerts then)', async (t) => {
  const clock = new NodeLikeClock();
  const changes: number[] = [];
  const s = await silencesForTest(t, clock, () => changes.push(clock.now()));
  const start = clock.now();
  const endsAt = start + 60 * 86_400_000;
  await s.add({ matchers: { host: 'web-01' }, endsAt, author: 'test', reason: 'two months' });
  changes.length = 0;
  clock.advance(59 * 86_400_000);
  assert.deepEqual(changes, [], 'nothing changes before the end');
  clock.advance(86_400_000);
  assert.deepEqual(changes, [endsAt]);
  assert.equal(s.all()[0]!.status, 'expired');
});
