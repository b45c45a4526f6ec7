import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, startServer, until } from '../fixtures/blick.js';
import { post, withHook, type HookReceiver } from './hook.js';

/** issue #12 missing 6: a rule over a group of checks, one alert for the group (Riemann's coalesce). */
function config(hook: HookReceiver) {
  return {
    rules: [
      { name: 'web-down', match: { host: 'web-*', service: 'http' }, aggregate: 'count(state == "critical") >= 3', severity: 'critical' },
      { name: 'web-hot', match: { host: 'web-*', service: 'cpu' }, aggregate: 'avg(metric) > 80', severity: 'warning' },
    ],
    routes: [{ notify: ['ops'], group_wait: '0s', group_interval: '100ms', repeat_interval: '1h' }],
    notifiers: { ops: { type: 'webhook', url: hook.url, retry: { initial: '200ms', max: '1s' } } },
  };
}

const HOSTS = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5'];
const http = (host: string, state: string) => ({ host, service: 'http', state, description: `GET / ${state}` });

test('an aggregate rule fires once when 3 of 5 hosts go critical, names them, and resolves once when they recover', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  defer(() => server.stop());
  const alerts = async () => (await api<any[]>(server.url, '/api/v1/alerts')).body.filter((a) => a.rule === 'web-down');

  await post(server.url, HOSTS.map((h) => http(h, 'ok')));
  await post(server.url, [http('web-1', 'critical'), http('web-2', 'critical'), { host: 'db-1', service: 'http', state: 'critical' }]);
  assert.deepEqual(await alerts(), [], 'two of the group (and a host outside it) are not enough');

  await post(server.url, [http('web-4', 'critical')]);
  const [firing] = await until(() => (hook.of('web-down', 'firing').length ? hook.of('web-down', 'firing') : undefined), 'the group alert', 5000);
  const b = firing!.body;
  assert.equal(b.host, 'web-*', 'the alert speaks for the group: host is its glob');
  assert.equal(b.service, 'web-down', 'and service is the rule');
  assert.equal(b.severity, 'critical');
  assert.equal(b.state, 'critical');
  assert.equal(b.metric, 3, 'the count');
  assert.match(b.description, /count\(state == "critical"\) >= 3 holds over 5 members/);
  assert.match(b.description, /: web-1 http, web-2 http, web-4 http$/, 'the failing members, and only them');

  // a fourth failure and repeats of the same states change nothing for the notifications
  await post(server.url, [http('web-5', 'critical'), http('web-1', 'critical')]);
  assert.equal((await alerts()).length, 1, 'one alert for the group');

  await post(server.url, [http('web-1', 'ok')]);
  assert.equal((await alerts())[0].status, 'firing', 'web-2, web-4 and web-5 are still three');
  await post(server.url, [http('web-2', 'ok')]);
  const [resolved] = await until(() => (hook.of('web-down', 'resolved').length ? hook.of('web-down', 'resolved') : undefined), 'the resolution', 5000);
  assert.equal(resolved!.body.host, 'web-*');
  assert.equal(resolved!.body.state, 'ok');
  assert.match(resolved!.body.description, /no longer holds over 5 members .*: web-4 http, web-5 http$/);
  assert.equal(hook.of('web-down').length, 2, `exactly one firing and one resolved notification: ${JSON.stringify(hook.of('web-down').map((h) => h.body.status))}`);
  assert.equal(hook.of('web-hot').length, 0, 'no cpu figures, no cpu alert');
});

test('avg(metric) over the group: one host at 100 % does not fire, the group above 80 does', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  defer(() => server.stop());
  const cpu = (host: string, metric: number) => ({ host, service: 'cpu', metric });

  await post(server.url, [cpu('web-1', 100), cpu('web-2', 40), cpu('web-3', 50)]);
  const active = async () => (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body.filter((a) => a.rule === 'web-hot');
  assert.deepEqual(await active(), [], 'avg 63.3');
  await post(server.url, [cpu('web-2', 90), cpu('web-3', 85)]);
  const [hit] = await until(() => (hook.of('web-hot', 'firing').length ? hook.of('web-hot', 'firing') : undefined), 'the avg alert', 5000);
  assert.equal(hit!.body.severity, 'warning');
  assert.ok(Math.abs(hit!.body.metric - 275 / 3) < 1e-9, `metric is the average: ${hit!.body.metric}`);
  assert.match(hit!.body.description, /avg\(metric\) > 80 holds over 3 members of web-\* cpu \(avg 91\.67\)$/);
});

test('after a restart the group is rebuilt from the stored checks: one more ok host neither resolves nor re-sends the alert', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  let server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  defer(() => server.stop());
  await post(server.url, [...HOSTS.slice(0, 3).map((h) => http(h, 'critical')), ...HOSTS.slice(3).map((h) => http(h, 'ok'))]);
  await until(() => hook.of('web-down', 'firing')[0], 'the group alert', 5000);

  await server.stop();
  server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  await post(server.url, [http('web-5', 'ok')]);
  const [alert] = (await api<any[]>(server.url, '/api/v1/alerts')).body.filter((a) => a.rule === 'web-down');
  assert.equal(alert.status, 'firing', 'web-1..3 still count after the restart');
  assert.match(alert.description, /holds over 5 members .*: web-1 http, web-2 http, web-3 http$/);
  await post(server.url, [http('web-1', 'ok')]);
  await until(() => hook.of('web-down', 'resolved')[0], 'the resolution', 5000);
  assert.deepEqual(hook.of('web-down').map((h) => h.body.status), ['firing', 'resolved']);
});

test('ttl expiries count: three hosts that stop reporting fire the group alert without any event from them', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  defer(() => server.stop());
  await post(server.url, HOSTS.map((h, i) => ({ ...http(h, 'ok'), ttl: i < 3 ? 1 : 3600 })));
  const hit = await until(() => hook.of('web-down', 'firing')[0], 'the group alert from expiries', 10_000);
  assert.match(hit.body.description, /: web-1 http, web-2 http, web-3 http$/);
  assert.equal(hit.body.event.source, 'server', 'the event that tipped the group is an expiry');
  await post(server.url, [http('web-2', 'ok')]);
  await until(() => hook.of('web-down', 'resolved')[0], 'the resolution', 5000);
});
