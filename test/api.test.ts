import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlickServer, serverConfigSchema } from '../src/server/index.js';
import { api, serverForTest } from './fixtures/blick.js';

const READ = 'read-token-0123456789';
const WRITE = 'write-token-0123456789';
const auth = (t: string) => ({ authorization: `Bearer ${t}` });
const json = { 'content-type': 'application/json' };

test('tokens: no token → 401, read token cannot write (403), write token submits; health is open', async (t) => {
  const { server: s } = await serverForTest(t, { tokens: [{ token: READ, role: 'read' }, { token: WRITE, role: 'write' }] });
  assert.equal((await api(s.url, '/healthz')).status, 200);
  assert.equal((await api(s.url, '/readyz')).body.status, 'ready');
  const none = await api(s.url, '/api/v1/checks');
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'AUTH_REQUIRED');
  assert.equal((await api(s.url, '/api/v1/checks', { headers: auth('wrong-token-0123456789') })).status, 401);
  assert.equal((await api(s.url, '/metrics')).status, 401, '/metrics needs a token when tokens are configured');
  const body = JSON.stringify([{ host: 'h1', service: 'disk /', state: 'warning', metric: 88.5 }]);
  const ro = await api(s.url, '/api/v1/events', { method: 'POST', headers: { ...json, ...auth(READ) }, body });
  assert.equal(ro.status, 403);
  assert.equal(ro.body.error.code, 'AUTH_FORBIDDEN');
  const rw = await api(s.url, '/api/v1/events', { method: 'POST', headers: { ...json, ...auth(WRITE) }, body });
  assert.equal(rw.status, 202);
  assert.equal(rw.body.accepted, 1);
  const checks = await api<any[]>(s.url, '/api/v1/checks', { headers: auth(READ) });
  assert.equal(checks.status, 200);
  assert.deepEqual(checks.body.map((c) => [c.host, c.service, c.state, c.metric, c.source]), [['h1', 'disk /', 'warning', 88.5, 'api']]);
});

test('POST /api/v1/events rejects a malformed event with a 400 naming the event and field, and stores nothing of it', async (t) => {
  const { server: s } = await serverForTest(t);
  const bad = await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify({ events: [{ host: 'a', service: 'b' }, { host: 'a', service: 'c', state: 'on fire' }] }) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'EVENT_INVALID');
  assert.match(bad.body.error.message, /^events\[1\]: event field "state" must be one of ok, warning, critical, unknown/);
  const notJson = await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: '{"events": [' });
  assert.equal(notJson.status, 400);
  const wrongShape = await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: '{"event": {}}' });
  assert.equal(wrongShape.status, 400);
  assert.equal((await api<any[]>(s.url, '/api/v1/events')).body.length, 0);
  const badQuery = await api(s.url, '/api/v1/events?state=purple');
  assert.equal(badQuery.status, 400);
  assert.match(badQuery.body.error.message, /parameter state/);
  assert.equal((await api(s.url, '/api/v1/hosts/nobody')).status, 404);
  // the server keeps serving
  const ok = await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify({ events: [{ host: 'a', service: 'b', state: 'ok' }] }) });
  assert.equal(ok.status, 202);
});

test('GET /api/v1/events pages newest first with a Link header; filters by host, service, state and since', async (t) => {
  const { server: s } = await serverForTest(t);
  const base = Date.now() - 100_000;
  const events = Array.from({ length: 25 }, (_, i) => ({ host: i % 2 ? 'odd' : 'even', service: 'n', metric: i, state: i === 24 ? 'critical' : 'ok', time: base + i * 1000 }));
  assert.equal((await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify(events) })).status, 202);
  const seen: number[] = [];
  let path: string | undefined = '/api/v1/events?host=even&limit=5';
  while (path) {
    const r: { body: any[]; headers: Headers } = await api<any[]>(s.url, path);
    seen.push(...r.body.map((e) => e.metric));
    const link = r.headers.get('link');
    path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
  }
  assert.deepEqual(seen, [24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0]);
  const globbed = (await api<any[]>(s.url, `/api/v1/events?host=${encodeURIComponent('?dd')}&limit=3`)).body;
  assert.deepEqual(globbed.map((e) => [e.host, e.metric]), [['odd', 23], ['odd', 21], ['odd', 19]], 'host and service may be globs');
  const crit = (await api<any[]>(s.url, '/api/v1/events?state=critical')).body;
  assert.deepEqual(crit.map((e) => e.metric), [24]);
  const recent = (await api<any[]>(s.url, `/api/v1/events?since=${base + 20_000}`)).body;
  assert.deepEqual(recent.map((e) => e.metric), [24, 23, 22, 21, 20]);
  const hosts = (await api<any[]>(s.url, '/api/v1/hosts')).body;
  assert.deepEqual(hosts.map((h) => [h.host, h.state]), [['even', 'critical'], ['odd', 'ok']], 'worst first');
  // current-state lists page too
  const first = await api<any[]>(s.url, '/api/v1/hosts?limit=1');
  assert.deepEqual(first.body.map((h) => h.host), ['even']);
  const next = /^<([^>]+)>; rel="next"$/.exec(first.headers.get('link') ?? '')![1]!;
  const second = await api<any[]>(s.url, next);
  assert.deepEqual(second.body.map((h) => h.host), ['odd']);
  assert.equal(second.headers.get('link'), null, 'no further page');
  const checks = await api<any[]>(s.url, '/api/v1/checks?limit=1');
  assert.equal(checks.body.length, 1);
  assert.match(checks.headers.get('link') ?? '', /cursor=1/);
  assert.equal((await api(s.url, '/api/v1/checks?cursor=abc')).status, 400);
});

test('the API refuses to listen beyond loopback without tokens', () => {
  const config = serverConfigSchema.parse({ http: '0.0.0.0:0', ingest: 'tcp://127.0.0.1:0' });
  assert.throws(() => new BlickServer(config, { dataDir: '/nonexistent' }), (err: any) => err.code === 'INSECURE_BIND' && /add tokens or listen on 127\.0\.0\.1/.test(err.message));
});

test('state follows the newest event: a late, older event is kept in history but does not roll the check back', async (t) => {
  const { server: s } = await serverForTest(t);
  const now = Date.now();
  await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify([{ host: 'h', service: 's', state: 'critical', time: now }]) });
  await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify([{ host: 'h', service: 's', state: 'ok', time: now - 5000 }]) });
  const c = (await api<any[]>(s.url, '/api/v1/checks')).body[0];
  assert.equal(c.state, 'critical');
  assert.equal((await api<any[]>(s.url, '/api/v1/events?host=h')).body.length, 2);
  // a metric-only event keeps the state, updates the metric
  await api(s.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify([{ host: 'h', service: 's', metric: 7, time: now + 1000 }]) });
  const c2 = (await api<any[]>(s.url, '/api/v1/checks')).body[0];
  assert.deepEqual([c2.state, c2.metric, c2.last_change], ['critical', 7, now]);
});
