import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeEvent, STATES, type BlickEvent } from '../src/core/event.js';
import type { BlickServer } from '../src/server/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../src/server/store/sqlite/index.js';
import type { Store } from '../src/server/store/store.js';
import { api, deferrals, exited, metric, metricSum, runBlick, serverForTest, spawnBlick, startServer, tempDir, until } from './fixtures/blick.js';

const json = { 'content-type': 'application/json' };
const MiB = 1024 * 1024;

interface Page { body: any[]; bytes: number; next: string | undefined }

async function getPage(base: string, path: string): Promise<Page> {
  const res = await fetch(base + path);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text.slice(0, 300)}`);
  const m = /^<([^>]+)>; rel="next"$/.exec(res.headers.get('link') ?? '');
  return { body: JSON.parse(text), bytes: Buffer.byteLength(text), next: m?.[1] };
}

/** Follow the Link headers from `path` to the end; `between` runs after each page. */
async function allPages(base: string, path: string, between?: (p: Page, i: number) => Promise<void> | void): Promise<Page[]> {
  const pages: Page[] = [];
  for (let next: string | undefined = path; next !== undefined;) {
    const p = await getPage(base, next);
    pages.push(p);
    await between?.(p, pages.length);
    next = p.next;
  }
  return pages;
}

const scrape = async (s: BlickServer) => (await api<string>(s.url, '/metrics')).body;

/**
 * History seeded through the store (setup, not the path under test): one
 * `unknown` event at the oldest end, then `n` small `ok` events over 20 series.
 */
async function seedHistory(store: Store, n: number): Promise<BlickEvent> {
  const now = Date.now();
  const planted = makeEvent({ host: 'h-7', service: 'svc-3', state: 'unknown', description: 'the one', time: now - n - 1 });
  const events = [planted];
  for (let i = 0; i < n; i++) events.push(makeEvent({ id: `e${i}`, host: `h-${i % 10}`, service: `svc-${i % 2}`, state: 'ok', time: now - n + i }));
  await store.commit({ events, checks: [], facts: [] });
  return planted;
}

test('GET /api/v1/events?limit=10000 over large events answers pages under max_page_bytes; following the links returns every event once, newest first', async (t) => {
  // only the byte bound ends pages here (the default time budget would too, on a slow machine)
  const { server: s } = await serverForTest(t, { limits: { query_budget_ms: 600_000 } });
  const big = (n: number) => 'x'.repeat(n);
  const posted: string[] = [];
  const attrs = (count: number, size: number) => Object.fromEntries(Array.from({ length: count }, (_, k) => [`a${k}`, big(size)]));
  // 600 events of ~50 KB (description at its 32 KiB limit, 16 attributes of 1 KiB) and 4 at the largest size an event may have
  for (let b = 0; b < 6; b++) {
    const events = Array.from({ length: 100 }, (_, i) => ({ host: `big-${i % 5}`, service: 'payload', state: 'ok', description: big(32 * 1024), attributes: attrs(16, 1024), metric: b * 100 + i }));
    const r = await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) });
    assert.equal(r.status, 202);
    posted.push(...r.body.ids);
  }
  for (let i = 0; i < 4; i++) {
    const r = await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify([{ host: 'big-max', service: 'payload', description: big(32 * 1024), attributes: attrs(64, 8 * 1024), metric: 600 + i }]) });
    assert.equal(r.status, 202);
    posted.push(...r.body.ids);
  }
  const pages = await allPages(s.url, '/api/v1/events?limit=10000');
  assert.ok(pages.length > 1, 'the first page ends at max_page_bytes with a next link');
  for (const p of pages) assert.ok(p.bytes <= 4 * MiB, `a page of ${p.bytes} bytes is over max_page_bytes`);
  const ids = pages.flatMap((p) => p.body.map((e) => e.id));
  assert.deepEqual(ids, posted.slice().reverse(), 'every event exactly once, newest first');
  assert.equal(pages.at(-1)!.next, undefined);
  assert.ok(metric(await scrape(s), 'blick_api_page_bytes_limited_total{path="/api/v1/events"}') >= pages.length - 1);
});

test('a filter that matches nothing over 300k rows answers within its row budget; the links lead to the one match at the oldest end', async (t) => {
  const { server: s } = await serverForTest(t);
  const planted = await seedHistory(s.store, 300_000);
  const budget = 50_000; // the default server.limits.query_scan_rows
  for (const path of ['/api/v1/events?state=unknown', `/api/v1/events?host=${encodeURIComponent('h-*')}&state=unknown`, `/api/v1/events?host=${encodeURIComponent('h-?')}&since=${planted.time}&state=unknown&limit=5`]) {
    const before = metricSum(await scrape(s), 'blick_query_budget_exhausted_total');
    let rows = metric(await scrape(s), 'blick_query_rows_examined_total');
    const first = await getPage(s.url, path);
    assert.deepEqual(first.body, [], `${path}: the first page is empty…`);
    assert.ok(first.next, `${path}: …and has a next link`);
    const afterFirst = metric(await scrape(s), 'blick_query_rows_examined_total');
    assert.ok(afterFirst - rows <= budget, `${path}: the first request examined ${afterFirst - rows} rows`);
    // allPages asks for the first page again: count each request on its own
    rows = afterFirst;
    const pages = await allPages(s.url, path, async () => {
      const now = metric(await scrape(s), 'blick_query_rows_examined_total');
      assert.ok(now - rows <= budget, `${path}: one request examined ${now - rows} rows`);
      rows = now;
    });
    assert.deepEqual(pages.flatMap((p) => p.body.map((e) => e.id)), [planted.id], path);
    assert.ok(pages.length >= 300_000 / budget, `${path}: ${pages.length} pages`);
    assert.ok(metricSum(await scrape(s), 'blick_query_budget_exhausted_total') - before >= pages.length - 1, 'each partial page is counted');
  }
});

test('while a long scan is paged, the server process answers /healthz and an ingest POST between its pages', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  // seed the database file, then run `blick server` on it as a user would
  const store = new SqliteStore({ path: join(dir, 'blick.db') });
  await store.open();
  const planted = await seedHistory(store, 300_000);
  await store.close();
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, `data_dir: ${JSON.stringify(dir)}\nserver:\n  http: 127.0.0.1:0\n  ingest: tcp://127.0.0.1:0\n  limits:\n    query_scan_rows: 20000\n`);
  const proc = spawnBlick(['server', '--config', file], { env: { BLICK_LOG_LEVEL: 'info', BLICK_LOG_FORMAT: 'json' } });
  defer(async () => { if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited(proc); } });
  const url = await until(() => /"http":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(proc.output())?.[1], 'the server to listen', 30_000);
  const order: string[] = [];
  const firstPage = getPage(url, '/api/v1/events?state=unknown').then((p) => { order.push('page'); return p; });
  // sent while the first page is being read
  const health = fetch(url + '/healthz').then((r) => { order.push('healthz'); return r.status; });
  const ingest = api(url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify([{ host: 'live', service: 'ping', state: 'ok' }]) }).then((r) => { order.push('ingest'); return r.status; });
  const first = await firstPage;
  const rest = first.next ? await allPages(url, first.next, () => { order.push('page'); }) : [];
  assert.equal(await health, 200);
  assert.equal(await ingest, 202);
  assert.deepEqual([first, ...rest].flatMap((p) => p.body.map((e) => e.id)), [planted.id]);
  const lastPage = order.lastIndexOf('page');
  assert.ok(order.indexOf('healthz') < lastPage && order.indexOf('ingest') < lastPage, `answered between pages: ${order.join(' ')}`);
  assert.equal((await api<any[]>(url, '/api/v1/checks?host=live')).body[0]?.state, 'ok');
});

test('GET /api/v1/checks and /api/v1/hosts pages end at max_page_bytes with a next link; together they list everything once', async (t) => {
  const { server: s } = await serverForTest(t, { limits: { max_page_bytes: 16 * 1024 } });
  const events = Array.from({ length: 120 }, (_, i) => ({ host: `host-${String(i % 40).padStart(2, '0')}`, service: `svc-${i}`, state: 'ok', description: 'd'.repeat(500) }));
  assert.equal((await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) })).status, 202);
  const checks = await allPages(s.url, '/api/v1/checks');
  assert.ok(checks.length > 1);
  for (const p of checks) assert.ok(p.bytes <= 16 * 1024, `${p.bytes} bytes`);
  assert.deepEqual(checks.flatMap((p) => p.body.map((c) => c.service)).sort(), events.map((e) => e.service).sort());
  const hosts = await allPages(s.url, '/api/v1/hosts?limit=30');
  assert.deepEqual(hosts.flatMap((p) => p.body.map((h) => h.host)), Array.from({ length: 40 }, (_, i) => `host-${String(i).padStart(2, '0')}`));
  assert.ok(metric(await scrape(s), 'blick_api_page_bytes_limited_total{path="/api/v1/checks"}') >= 1);
  // the CLI pages on through the links: every check, and the events up to --limit
  const cli = await runBlick(['checks', '--json', '--url', s.url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).length, 120);
  const ev = await runBlick(['events', '--json', '--limit', '100', '--url', s.url]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).length, 100);
});

test('blick events keeps paging through empty pages that have a next link', async (t) => {
  const { server: s } = await serverForTest(t, { limits: { query_scan_rows: 1000 } });
  const planted = await seedHistory(s.store, 20_000);
  const first = await getPage(s.url, '/api/v1/events?state=unknown');
  assert.deepEqual(first.body, []);
  assert.ok(first.next);
  const cli = await runBlick(['events', '--state', 'unknown', '--json', '--url', s.url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout).map((e: BlickEvent) => e.id), [planted.id]);
});

/** The glob dialect of the API (core/glob.ts), as a reference: `*` any run, `?` one character. */
function globRef(pattern: string): (v: string) => boolean {
  const re = new RegExp('^' + [...pattern].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('') + '$');
  return (v) => re.test(v);
}

test('property: any events query answers 200 or 400, never 500, and paging returns every match exactly once, newest first', async (t) => {
  const HOSTS = ['web-1', 'web-2', 'web-10', 'db-1', 'db-2'];
  const SERVICES = ['disk /', 'disk /var', 'http', 'cpu'];
  const base = Date.now() - 200_000;
  const events = Array.from({ length: 150 }, (_, i) => ({
    id: `p${i}`, host: HOSTS[(i * 7) % 5]!, service: SERVICES[(i * 3 + (i >> 2)) % 4]!,
    ...(i % 5 === 4 ? {} : { state: STATES[(i * 11) % 4] }), time: base + ((i * 37) % 150) * 1000, description: `event ${i}`,
  }));
  // budgets of 3 rows (every plan gives up early and walks), 40 (chains merge, deep cursors walk) and plenty
  const servers = await Promise.all([3, 40, 100_000].map(async (rows) => {
    const { server } = await serverForTest(t, { limits: { query_scan_rows: rows, max_page_bytes: 1024 } });
    assert.equal((await api(server.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) })).status, 202);
    return server;
  }));
  // the history is in arrival order: seq i+1 for events[i]
  for (const s of servers) assert.deepEqual((await allPages(s.url, '/api/v1/events?limit=1000')).flatMap((p) => p.body.map((e) => e.id)), events.map((e) => e.id).reverse());
  const part = (alphabet: string[]) => fc.array(fc.constantFrom(...alphabet), { maxLength: 5 }).map((a) => a.join(''));
  const query = fc.record({
    host: fc.option(fc.oneof(fc.constantFrom(...HOSTS, 'web-*', 'db-?', '*'), part(['web', 'db', '-', '1', '2', '0', '*', '?', 'x'])), { nil: undefined }),
    service: fc.option(fc.oneof(fc.constantFrom(...SERVICES, 'disk *'), part(['disk', ' ', '/', 'var', 'http', 'cpu', '*', '?'])), { nil: undefined }),
    state: fc.option(fc.constantFrom(...STATES), { nil: undefined }),
    since: fc.option(fc.integer({ min: base - 5000, max: base + 155_000 }), { nil: undefined }),
    limit: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    cursor: fc.option(fc.oneof(fc.integer({ min: 0, max: 160 }).map(String), fc.string({ maxLength: 6 })), { nil: undefined }),
    server: fc.integer({ min: 0, max: 2 }),
  });
  await fc.assert(fc.asyncProperty(query, async (q) => {
    const params = new URLSearchParams();
    for (const k of ['host', 'service', 'state', 'since', 'limit', 'cursor'] as const) if (q[k] !== undefined) params.set(k, String(q[k]));
    const s = servers[q.server]!;
    const first = await fetch(`${s.url}/api/v1/events?${params}`);
    const text = await first.text();
    assert.ok(first.status === 200 || first.status === 400, `${params}: ${first.status} ${text.slice(0, 200)}`);
    if (q.limit === 0) { assert.equal(first.status, 400, `${params} is refused`); return; }
    // other cursor strings: refused or read as Number() reads them (" 1", ""); only the status is the point
    if (q.cursor !== undefined && !/^\d+$/.test(q.cursor)) return;
    assert.equal(first.status, 200, `${params}: ${text.slice(0, 200)}`);
    const hostOk = q.host === undefined ? () => true : globRef(q.host);
    const serviceOk = q.service === undefined ? () => true : globRef(q.service);
    const below = q.cursor === undefined ? Infinity : Number(q.cursor);
    const expected = events.map((e, i) => ({ e, seq: i + 1 }))
      .filter(({ e, seq }) => seq < below && hostOk(e.host) && serviceOk(e.service) && (q.state === undefined || e.state === q.state) && (q.since === undefined || e.time >= q.since))
      .map(({ e }) => e.id).reverse();
    const got: string[] = [];
    let pages = 0;
    for (let path: string | undefined = `/api/v1/events?${params}`; path !== undefined; pages++) {
      assert.ok(pages < 400, `${params}: paging does not end`);
      const p = await getPage(s.url, path);
      assert.ok(p.body.length <= (q.limit ?? 100));
      got.push(...p.body.map((e) => e.id));
      path = p.next;
    }
    assert.deepEqual(got, expected, `${params}`);
  }), { numRuns: 150 });
});

test('the rules\' rebuild at start replays at most warm_max_bytes of stored events, and says so', async (t) => {
  const config = { rules: [{ name: 'flappy', match: { service: 'api' }, flapping: { low: 20, high: 30 } }] };
  const { server, dir, defer } = await serverForTest(t, config);
  const events = Array.from({ length: 40 }, (_, i) => ({ host: 'web-1', service: 'api', state: i % 2 ? 'ok' : 'critical', description: 'd'.repeat(8 * 1024) }));
  assert.equal((await api(server.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) })).status, 202);
  await server.stop();
  const restart = async (limits: Record<string, number>) => {
    const s = await startServer({ dataDir: dir, config: { ...config, limits } });
    defer(() => s.stop());
    const truncated = metric(await scrape(s), 'blick_alerting_warm_truncated_total');
    await s.stop();
    return truncated;
  };
  assert.equal(await restart({}), 0, 'all 330 KB are replayed under the default bound');
  assert.equal(await restart({ warm_max_bytes: 64 * 1024 }), 1, 'the replay stops at 64 KiB and is counted');
});
