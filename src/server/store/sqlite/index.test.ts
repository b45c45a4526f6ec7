import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEvent } from '../../../core/event.js';
import { createLogger } from '../../../core/log.js';
import { Registry } from '../../../core/metrics.js';
import { Ingest } from '../../ingest.js';
import { SqliteStore } from './index.js';

test('after a crash between checks saves, current state is rebuilt from the history', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'blick.db');
  const log = createLogger('test', { level: 'silent' });
  const a = new SqliteStore({ path, checksFlushMs: 3_600_000 });
  await a.open();
  const ingestA = new Ingest({ store: a, log, metrics: new Registry() });
  await ingestA.init();
  await ingestA.ingest([makeEvent({ host: 'h', service: 'disk', state: 'ok', time: 1000 })]);
  a.flushChecks(); // saved: disk ok
  await ingestA.ingest([makeEvent({ host: 'h', service: 'disk', state: 'critical', metric: 97, time: 2000 }), makeEvent({ host: 'h', service: 'cpu', state: 'warning', time: 2000 })]);
  // crash: no close, no flush. A second process opens the same file.
  const b = new SqliteStore({ path });
  await b.open();
  t.after(() => b.close());
  const ingestB = new Ingest({ store: b, log, metrics: new Registry() });
  await ingestB.init();
  const disk = ingestB.state.get('h', 'disk')!;
  assert.deepEqual([disk.state, disk.metric, disk.last_change], ['critical', 97, 2000]);
  assert.equal(ingestB.state.get('h', 'cpu')?.state, 'warning');
  const page = await b.queryEvents({ host: 'h', limit: 10 });
  assert.deepEqual(page.events.map((e) => `${e.service}:${e.state}`), ['cpu:warning', 'disk:critical', 'disk:ok']);
});

test('retention: prune deletes history older than the cutoff (minute granularity) and old batch ids', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = new SqliteStore({ path: join(dir, 'blick.db') });
  await s.open();
  t.after(() => s.close());
  const realNow = Date.now;
  t.after(() => { Date.now = realNow; });
  const t0 = 1_700_000_000_000;
  Date.now = () => t0;
  await s.commit({ batchId: 'old', events: [makeEvent({ host: 'h', service: 's', time: t0 })], checks: [], facts: [] });
  Date.now = () => t0 + 10 * 60_000;
  await s.commit({ batchId: 'new', events: [makeEvent({ host: 'h', service: 's', time: t0 + 600_000 })], checks: [], facts: [] });
  const deleted = await s.prune(t0 + 5 * 60_000);
  assert.equal(deleted, 1);
  assert.equal((await s.queryEvents({ limit: 10 })).events.length, 1);
  assert.equal(await s.hasBatch('old'), false);
  assert.equal(await s.hasBatch('new'), true);
});
