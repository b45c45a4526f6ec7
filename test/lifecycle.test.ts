import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, deferrals, metric, restartableServer, runBlick, serverForTest, tempDir, until } from './fixtures/blick.js';
import { connectSse } from './dashboard/sse.js';

const READ = 'read-token-0123456789';
const WRITE = 'write-token-0123456789';
const tokens = [{ token: READ, role: 'read' }, { token: WRITE, role: 'write' }];
const as = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) } });
const rules = [{ name: 'crit', match: { service: '*' }, when: 'state == "critical"' }];

async function post(url: string, events: unknown[]): Promise<void> {
  const r = await api(url, '/api/v1/events', as(WRITE, { method: 'POST', body: JSON.stringify({ events }) }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
}
const checks = async (url: string, host: string) => (await api<any[]>(url, `/api/v1/checks?host=${host}`, as(READ))).body;
const firing = async (url: string) => (await api<any[]>(url, '/api/v1/alerts?status=firing', as(READ))).body;

test('DELETE /api/v1/hosts/:host forgets the host\'s checks, facts and ttl timers and resolves its alerts; history stays; a restart does not bring it back; a later event recreates it', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const config = { tokens, rules };
  const s = await restartableServer(defer, dir, config);
  let url = s.server.url;
  await post(url, [
    { host: 'web-01', service: 'heartbeat', state: 'ok', ttl: 60 },
    { host: 'web-01', service: 'nginx', state: 'critical', description: 'down' },
    { host: 'web-01', service: 'facts', attributes: { os: 'linux' } },
    { host: 'web-02', service: 'heartbeat', state: 'ok', ttl: 60 },
  ]);
  await until(async () => (await firing(url)).length === 1, 'the nginx alert to fire');
  assert.equal((await api<any>(url, '/api/v1/hosts/web-01', as(READ))).body.facts.os, 'linux');
  const timers = s.server.ingest.expiry.size;

  const denied = await api<any>(url, '/api/v1/hosts/web-01', as(READ, { method: 'DELETE' }));
  assert.equal(denied.status, 403, 'a read token cannot delete');
  assert.equal(denied.body.error.code, 'AUTH_FORBIDDEN');

  const del = await api<any>(url, '/api/v1/hosts/web-01', as(WRITE, { method: 'DELETE' }));
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual(del.body.deleted.sort(), ['heartbeat', 'nginx']);
  assert.equal((await api(url, '/api/v1/hosts/web-01', as(READ))).status, 404);
  assert.deepEqual(await checks(url, 'web-01'), []);
  assert.deepEqual((await api<any[]>(url, '/api/v1/hosts', as(READ))).body.map((h) => h.host), ['web-02'], 'the other host stays');
  assert.equal(s.server.ingest.expiry.size, timers - 1, 'the deleted heartbeat\'s ttl timer is gone');
  assert.deepEqual(await firing(url), [], 'its alert resolved');
  const resolved = (await api<any[]>(url, '/api/v1/alerts?status=resolved', as(READ))).body;
  assert.equal(resolved.length, 1);
  assert.equal(resolved[0].service, 'nginx');
  assert.ok((await api<any[]>(url, '/api/v1/events?host=web-01', as(READ))).body.length >= 3, 'history stays until retention');
  assert.equal((await api<any>(url, '/api/v1/hosts/web-01', as(WRITE, { method: 'DELETE' }))).status, 404, 'a second delete finds nothing');

  // deleted before the checks were saved: the restart must not replay them back
  await s.stop();
  url = (await s.start()).url;
  assert.equal((await api(url, '/api/v1/hosts/web-01', as(READ))).status, 404, 'still gone after a restart');
  assert.equal((await checks(url, 'web-02')).length, 1);

  await post(url, [{ host: 'web-01', service: 'nginx', state: 'ok' }]);
  const back = await checks(url, 'web-01');
  assert.deepEqual(back.map((c) => [c.service, c.state]), [['nginx', 'ok']], 'a later event recreates the host with only what it sends');
});

test('DELETE /api/v1/checks/:host/:service forgets one check and resolves its alert; the host\'s other checks stay', async (t) => {
  const { server } = await serverForTest(t, { tokens, rules });
  const url = server.url;
  await post(url, [
    { host: 'db-01', service: 'log errors', state: 'critical', description: 'ERROR x' },
    { host: 'db-01', service: 'mysql', state: 'ok' },
  ]);
  await until(async () => (await firing(url)).length === 1, 'the log alert to fire');
  assert.equal((await api(url, '/api/v1/checks/db-01/nope', as(WRITE, { method: 'DELETE' }))).status, 404);
  const del = await api<any>(url, `/api/v1/checks/db-01/${encodeURIComponent('log errors')}`, as(WRITE, { method: 'DELETE' }));
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual((await checks(url, 'db-01')).map((c) => c.service), ['mysql']);
  assert.deepEqual(await firing(url), []);
  assert.equal((await api<any>(url, '/api/v1/hosts/db-01', as(READ))).body.state, 'ok', 'the host is no longer red');
});

test('POST /api/v1/checks/:host/:service/resolve stores an ok event from the API naming who and why; the alert resolves', async (t) => {
  const { server } = await serverForTest(t, { tokens, rules });
  const url = server.url;
  await post(url, [{ host: 'db-01', service: 'log errors', state: 'critical', description: 'ERROR disk full' }]);
  await until(async () => (await firing(url)).length === 1, 'the alert to fire');
  const body = JSON.stringify({ author: 'alice', reason: 'disk cleaned' });
  assert.equal((await api(url, '/api/v1/checks/db-01/log%20errors/resolve', as(READ, { method: 'POST', body }))).status, 403);
  assert.equal((await api(url, '/api/v1/checks/db-01/nope/resolve', as(WRITE, { method: 'POST', body }))).status, 404);
  const bad = await api<any>(url, '/api/v1/checks/db-01/log%20errors/resolve', as(WRITE, { method: 'POST', body: JSON.stringify({ why: 1 }) }));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BAD_REQUEST');
  const r = await api<any>(url, '/api/v1/checks/db-01/log%20errors/resolve', as(WRITE, { method: 'POST', body }));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [c] = await checks(url, 'db-01');
  assert.equal(c.state, 'ok');
  assert.equal(c.source, 'api');
  assert.match(c.description, /resolved by alice.*disk cleaned/);
  await until(async () => (await firing(url)).length === 0, 'the alert to resolve');
  const [latest] = (await api<any[]>(url, '/api/v1/events?host=db-01&limit=1', as(READ))).body;
  assert.equal(latest.attributes.resolved_by, 'alice', 'the history records who resolved it');
});

test('blick hosts rm, checks rm and checks resolve change the server through its API', async (t) => {
  const { server } = await serverForTest(t, { tokens, rules });
  const url = server.url;
  const env = { BLICK_URL: url, BLICK_TOKEN: WRITE };
  await post(url, [
    { host: 'a-01', service: 'log errors', state: 'critical' },
    { host: 'a-01', service: 'cron', state: 'warning' },
    { host: 'b-01', service: 'ping', state: 'ok' },
  ]);
  const res = await runBlick(['checks', 'resolve', 'a-01', 'log errors', '--reason', 'fixed by hand'], { env });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /resolved a-01 log errors/);
  const resolved = (await checks(url, 'a-01')).find((c) => c.service === 'log errors');
  assert.equal(resolved.state, 'ok');
  assert.match(resolved.description, /fixed by hand/);

  const rmCheck = await runBlick(['checks', 'rm', 'a-01', 'cron'], { env });
  assert.equal(rmCheck.code, 0, rmCheck.stderr);
  assert.deepEqual((await checks(url, 'a-01')).map((c) => c.service), ['log errors']);

  const rmHost = await runBlick(['hosts', 'rm', 'b-01'], { env });
  assert.equal(rmHost.code, 0, rmHost.stderr);
  assert.match(rmHost.stdout, /removed b-01 .*history kept/);
  assert.equal((await api(url, '/api/v1/hosts/b-01', as(READ))).status, 404);

  const missing = await runBlick(['hosts', 'rm', 'b-01'], { env });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no host named "b-01"/);
  const readOnly = await runBlick(['hosts', 'rm', 'a-01'], { env: { ...env, BLICK_TOKEN: READ } });
  assert.notEqual(readOnly.code, 0);
  assert.match(readOnly.stderr, /write role/);
  const usage = await runBlick(['checks', 'rm', 'a-01'], { env });
  assert.notEqual(usage.code, 0);
  assert.match(usage.stderr, /usage: blick hosts rm HOST/);
});

test('server.deregister_after removes a host whose own last event is older than that, counted, logged and told on the stream; a host that reports stays', async (t) => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const { server } = await serverForTest(t, { tokens, rules, deregister_after: '10m' }, { now: () => clock });
  const url = server.url;
  await post(url, [
    { host: 'gone-01', service: 'heartbeat', state: 'critical', time: clock },
    { host: 'live-01', service: 'heartbeat', state: 'ok', time: clock },
  ]);
  await until(async () => (await firing(url)).length === 1, 'the alert of gone-01');
  const sse = await connectSse(`${url}/api/v1/stream?kinds=removed&token=${READ}`);
  t.after(() => sse.close());
  await until(() => sse.frames.some((f) => f.event === 'hello'), 'the stream to open');

  clock += 9 * 60_000;
  await post(url, [{ host: 'live-01', service: 'heartbeat', state: 'ok', time: clock }]);
  assert.deepEqual(await server.deregisterSilent(), [], 'nobody is silent for 10 minutes yet');
  clock += 2 * 60_000; // gone-01 silent for 11 minutes, live-01 for 2

  await until(async () => (await api(url, '/api/v1/hosts/gone-01', as(READ))).status === 404, 'gone-01 to be deregistered');
  assert.equal((await checks(url, 'live-01')).length, 1, 'the host that reports stays');
  assert.deepEqual(await firing(url), [], 'the deregistered host\'s alert resolved');
  const text = await (await fetch(url + '/metrics', as(READ))).text();
  assert.equal(metric(text, 'blick_hosts_deregistered_total'), 1);
  const [item] = await until(() => { const i = sse.items(['removed']); return i.length ? i : undefined; }, 'the removed item on the stream');
  assert.deepEqual(item!.data, { host: 'gone-01', service: null, reason: 'deregistration', checks: ['heartbeat'] });
});
