import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, deferrals, startServer, tempDir, until, listAll } from './fixtures/blick.js';

const post = (url: string, events: unknown[]) => api(url, '/api/v1/events', {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }),
});
const check = async (url: string, host: string) => (await api<any[]>(url, `/api/v1/checks?host=${host}`)).body[0];

test('after a long outage every ttl gets one ttl of grace from the restart: the dead host expires and alerts, the live one does not, and last seen stays the dead host\'s own last event', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  let clock = Date.now();
  const now = () => clock;
  const config = { rules: [{ name: 'host-gone', match: { service: 'heartbeat' }, expired: true }] };
  const heartbeat = (host: string, time: number) => ({ host, service: 'heartbeat', state: 'ok', ttl: 30, time });

  const first = await startServer({ dataDir: dir, config, deps: { now } });
  const lastOwn = clock;
  assert.equal((await post(first.url, [heartbeat('dead-01', lastOwn), heartbeat('live-01', lastOwn)])).status, 202);
  await first.stop();

  // the server was down for ten minutes, far past both ttls
  clock += 10 * 60_000;
  const started = clock;
  const server = await startServer({ dataDir: dir, config, deps: { now } });
  defer(() => server.stop());
  // what the expiry timer would do at this instant: nothing is due yet
  assert.equal(await server.ingest.expireDue(), 0, 'no storm of expiries at start');
  assert.equal((await check(server.url, 'live-01')).state, 'ok');
  assert.equal((await check(server.url, 'dead-01')).state, 'ok');

  // the live host reaches the server again just after the restart
  clock = started + 1000;
  assert.equal((await post(server.url, [heartbeat('live-01', clock)])).status, 202);

  clock = started + 30_500; // one ttl after the start: the dead host is due, the live one not
  const dead = await until(async () => { const c = await check(server.url, 'dead-01'); return c.state === 'critical' ? c : undefined; }, 'the dead host to expire');
  assert.equal(dead.attributes.expired, 'true');
  assert.equal(dead.source, 'server');
  const alert = await until(async () => (await api<any[]>(server.url, '/api/v1/alerts')).body.find((a: any) => a.rule === 'host-gone' && a.status === 'firing'), 'the host-gone alert');
  assert.equal(alert.host, 'dead-01');
  assert.equal(await server.ingest.expireDue(), 0);
  assert.equal((await check(server.url, 'live-01')).state, 'ok', 'the live host did not expire');
  assert.deepEqual((await api<any[]>(server.url, '/api/v1/alerts')).body.filter((a: any) => a.host === 'live-01'), []);

  // last seen: the dead host's own last event, not the server's expiry
  const host = (await api<any>(server.url, '/api/v1/hosts/dead-01')).body;
  assert.equal(host.last_seen, lastOwn);
  assert.equal(host.checks_detail[0].last_seen, lastOwn);
  const listed = (await api<any[]>(server.url, '/api/v1/hosts')).body.find((h: any) => h.host === 'dead-01');
  assert.equal(listed.last_seen, lastOwn);
  assert.equal((await api<any>(server.url, '/api/v1/hosts/live-01')).body.last_seen, started + 1000);

  // and it stays so across the next restart, without a second expiry
  await server.stop();
  clock += 60_000;
  const third = await startServer({ dataDir: dir, config, deps: { now } });
  defer(() => third.stop());
  assert.equal((await api<any>(third.url, '/api/v1/hosts/dead-01')).body.last_seen, lastOwn);
  clock += 60_000;
  await until(async () => (await check(third.url, 'live-01')).state === 'critical', 'the live host, silent since, to expire');
  assert.equal(await third.ingest.expireDue(), 0);
  assert.equal((await listAll<any>(third.url, '/api/v1/events?host=dead-01')).length, 2, 'the dead host expired once');
});

test('a host whose check expired comes back with an event older than the expiry (its clock runs behind): the check is ok again', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  let clock = Date.now();
  const server = await startServer({ dataDir: dir, deps: { now: () => clock } });
  defer(() => server.stop());
  const behind = clock - 600_000; // the host's clock is ten minutes slow
  await post(server.url, [{ host: 'slow-01', service: 'heartbeat', state: 'ok', ttl: 5, time: behind }]);
  clock += 6000;
  await until(async () => (await check(server.url, 'slow-01')).state === 'critical', 'the expiry');
  await post(server.url, [{ host: 'slow-01', service: 'heartbeat', state: 'ok', ttl: 5, time: behind + 6000 }]);
  const c = await check(server.url, 'slow-01');
  assert.deepEqual([c.state, c.source, c.last_seen], ['ok', 'api', behind + 6000]);
});
