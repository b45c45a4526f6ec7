import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEvent } from '../../../core/event.js';
import { glob } from '../../../core/glob.js';
import { createLogger } from '../../../core/log.js';
import { Registry } from '../../../core/metrics.js';
import { Ingest } from '../../ingest.js';
import type { EventQuery } from '../store.js';
import { SqliteStore } from './index.js';

/** A store in a temporary directory, closed and removed after the test. */
async function openStore(t: { after(fn: () => unknown): void }): Promise<SqliteStore> {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = new SqliteStore({ path: join(dir, 'blick.db') });
  await s.open();
  t.after(() => s.close());
  return s;
}

/** Every page of a query, following the cursors. */
async function allPages(s: SqliteStore, q: Omit<EventQuery, 'cursor'>): Promise<number[]> {
  const got: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await s.queryEvents({ ...q, cursor });
    got.push(...page.events.map((e) => e.metric!));
    cursor = page.next;
  } while (cursor);
  return got;
}

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
  const s = await openStore(t);
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

test('history of a host merges its services newest first, pages without gaps or repeats, and honours state and since', async (t) => {
  const s = await openStore(t);
  const now = Date.now();
  const events = Array.from({ length: 30 }, (_, i) => makeEvent({ host: i % 5 === 4 ? 'other' : 'web', service: `svc${i % 3}`, metric: i, state: i % 7 === 0 ? 'critical' : 'ok', time: now - (30 - i) * 1000 }));
  for (let i = 0; i < events.length; i += 4) await s.commit({ events: events.slice(i, i + 4), checks: [], facts: [] });
  const expected = events.filter((e) => e.host === 'web').map((e) => e.metric).reverse();
  assert.deepEqual(await allPages(s, { host: 'web', limit: 4 }), expected);
  assert.deepEqual((await s.queryEvents({ host: 'web', state: 'critical', limit: 100 })).events.map((e) => e.metric), [28, 21, 7, 0]);
  assert.deepEqual((await s.queryEvents({ host: 'web', service: 'svc1', limit: 3 })).events.map((e) => e.metric), [28, 25, 22]);
  assert.deepEqual((await s.queryEvents({ service: 'svc2', since: now - 6000, limit: 100 })).events.map((e) => `${e.host}${e.metric}`), ['other29', 'web26']);
  assert.deepEqual((await s.queryEvents({ since: now - 3500, limit: 100 })).events.map((e) => e.metric), [29, 28, 27]);
  assert.equal((await s.queryEvents({ host: 'nobody', limit: 10 })).events.length, 0);
});

test('host and service filters may be globs: a few series are merged, many are found in one walk; both page the same', async (t) => {
  const s = await openStore(t);
  const now = Date.now();
  // 600 hosts × 2 services; web-* is 400 hosts (800 series: the walk), db-1?? is 100 hosts × disk (100 series: the merge)
  const events = Array.from({ length: 1200 }, (_, i) => {
    const n = i % 600;
    const host = n < 400 ? `web-${n}` : `db-${n}`;
    return makeEvent({ host, service: i < 600 ? 'disk /' : 'http', metric: i, state: i % 50 === 0 ? 'critical' : 'ok', time: now - (1200 - i) });
  });
  for (let i = 0; i < events.length; i += 100) await s.commit({ events: events.slice(i, i + 100), checks: [], facts: [] });
  const all = (q: { host?: string; service?: string; state?: 'critical' }, limit: number) => allPages(s, { ...q, limit });
  const expect = (pred: (e: (typeof events)[number]) => boolean) => events.filter(pred).map((e) => e.metric!).reverse();
  assert.deepEqual(await all({ host: 'web-*' }, 97), expect((e) => e.host.startsWith('web-')));
  assert.deepEqual(await all({ host: 'db-4??', service: 'disk *' }, 7), expect((e) => /^db-4\d\d$/.test(e.host) && e.service === 'disk /'));
  assert.deepEqual(await all({ service: 'h*p', state: 'critical' }, 5), expect((e) => e.service === 'http' && e.state === 'critical'));
  assert.deepEqual(await all({ host: 'web-1?' }, 3), expect((e) => /^web-1\d$/.test(e.host)));
  assert.deepEqual(await all({ host: 'nobody-*' }, 10), []);
});

test('a batch whose commit fails is not remembered as seen: its resend is stored', async (t) => {
  const store = await openStore(t);
  const ingest = new Ingest({ store, log: createLogger('test', { level: 'silent' }), metrics: new Registry() });
  await ingest.init();
  const batch = [makeEvent({ id: 'same-1', host: 'h', service: 's', state: 'ok' }), makeEvent({ id: 'same-1', host: 'h', service: 's', state: 'ok' })];
  const commit = store.commit.bind(store);
  store.commit = async () => { throw new Error('disk full'); };
  await assert.rejects(ingest.ingest(batch, 'b1'), /disk full/);
  store.commit = commit;
  assert.deepEqual(await ingest.ingest(batch, 'b1'), { accepted: 1, duplicates: 1, refused: 0, refusedIndexes: [] }, 'stored once; the repeat inside the batch dropped');
});

test('start-up reads checks a page at a time and the replay in chunks bounded by count and bytes, in order', async (t) => {
  const store = await openStore(t);
  const events = Array.from({ length: 2500 }, (_, i) => makeEvent({ host: `h${i % 1300}`, service: 's', metric: i, description: 'x'.repeat(i % 7 === 0 ? 20_000 : 10) }));
  for (let i = 0; i < events.length; i += 500) await store.commit({ events: events.slice(i, i + 500), checks: [], facts: [] });
  const chunks: number[][] = [];
  for await (const c of store.replayEvents({ events: 400, bytes: 100_000 })) chunks.push(c.map((e) => e.metric!));
  assert.deepEqual(chunks.flat(), events.map((e) => e.metric), 'every event after the last checks save, once, in order');
  assert.ok(chunks.every((c) => c.length <= 400));
  assert.ok(chunks.length > 2500 / 400 + 1, 'large events end a chunk early');

  const rows = events.slice(0, 1300).map((e) => ({ host: e.host, service: e.service, state: null, metric: e.metric!, description: '', time: e.time, last_change: e.time, source: e.source, ttl: null, tags: [], attributes: {}, event_id: e.id, last_seen: e.time }));
  await store.commit({ events: [], checks: rows, facts: [] });
  store.flushChecks();
  const loaded: string[] = [];
  for await (const c of store.loadChecks()) loaded.push(c.host);
  assert.deepEqual(loaded, rows.map((r) => r.host).sort(), 'every check once, across page boundaries');
});

test('a check stored under a name today\'s rules refuse (e.g. a tab in the host) does not stop the other checks from expiring', async (t) => {
  const store = await openStore(t);
  let now = 1_800_000_000_000;
  const ingest = new Ingest({ store, log: createLogger('test', { level: 'silent' }), metrics: new Registry(), now: () => now });
  // as written by a server before the name rules, straight into the pipeline
  const raw = (host: string) => ({ id: `e-${host}`, host, service: 'heartbeat', state: 'ok' as const, description: '', tags: [], attributes: {}, time: now, ttl: 1, source: 'agent' as const });
  await ingest.ingest([raw('old\thost'), raw('good-host')]);
  now += 5000;
  assert.equal(await ingest.expireDue(), 1);
  assert.equal(ingest.state.get('good-host', 'heartbeat')!.attributes.expired, 'true');
});

test('a query out of time (the injected clock) answers what it has with a cursor; the pages together hold every match once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = 0;
  const s = new SqliteStore({ path: join(dir, 'blick.db'), clock: () => now++ }); // every reading of the clock is 1 ms later
  await s.open();
  t.after(() => s.close());
  const events = Array.from({ length: 2000 }, (_, i) => makeEvent({ host: `h${i % 3}`, service: 's', metric: i, state: i % 100 === 0 ? 'critical' : 'ok' }));
  await s.commit({ events, checks: [], facts: [] });
  const budget = { rows: 1_000_000, ms: 20 };
  for (const q of [{ state: 'critical' as const }, { host: 'h?', state: 'critical' as const }, { host: 'h0' }]) {
    const first = await s.queryEvents({ ...q, limit: 1000, budget });
    assert.equal(first.stopped, 'time', JSON.stringify(q));
    assert.ok(first.next !== undefined && first.examined! < 2000);
    const got: number[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await s.queryEvents({ ...q, limit: 1000, cursor, budget });
      got.push(...page.events.map((e) => e.metric!));
      if (!(cursor = page.next)) break;
    }
    const want = events.filter((e) => (!q.state || e.state === q.state) && (!q.host || glob(q.host)(e.host))).map((e) => e.metric!).reverse();
    assert.deepEqual(got, want, JSON.stringify(q));
  }
});

test('a glob over more series than half the time budget can compare falls back to a walk, and paging still finds every match once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = 0;
  const s = new SqliteStore({ path: join(dir, 'blick.db'), clock: () => now++ });
  await s.open();
  t.after(() => s.close());
  // 200 series: comparing them all would read the clock ~12 times (every 16 series), past half of a 10 ms budget
  const events = Array.from({ length: 400 }, (_, i) => makeEvent({ host: `h${i % 200}`, service: 's', metric: i }));
  await s.commit({ events, checks: [], facts: [] });
  const q = { host: 'h1?', limit: 1000, budget: { rows: 1_000_000, ms: 10 } };
  const got: number[] = [];
  let pages = 0;
  for (let cursor: string | undefined; ; pages++) {
    const page = await s.queryEvents({ ...q, cursor });
    got.push(...page.events.map((e) => e.metric!));
    if (!(cursor = page.next)) break;
  }
  assert.ok(pages > 1, 'the budget ended pages early');
  assert.deepEqual(got, events.filter((e) => glob('h1?')(e.host)).map((e) => e.metric!).reverse());
});
