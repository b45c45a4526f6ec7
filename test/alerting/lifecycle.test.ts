import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { signature } from '../../src/server/notifiers/webhook/index.js';
import { api, metricSum, startServer, until } from '../fixtures/blick.js';
import type { HookReceiver } from './hook.js';
import { withHook, post, sleep } from './hook.js';

const SECRET = 'hook-secret-0123456789';

function config(hook: HookReceiver, extra: Record<string, unknown> = {}) {
  return {
    rules: [
      { name: 'disk-full', match: { service: 'disk *' }, when: 'metric > 90', severity: 'critical' },
      { name: 'unit-failed', match: { service: 'systemd *' }, when: 'state == "critical"' },
      { name: 'slow-fail', match: { service: 'api*' }, when: 'state == "critical"', for: '2s' },
    ],
    routes: [{ match: { severity: 'critical' }, notify: ['ops'], group_by: ['host'], group_wait: '0s', group_interval: '100ms', repeat_interval: '1h' }],
    notifiers: { ops: { type: 'webhook', url: hook.url, secret: SECRET, retry: { initial: '200ms', max: '1s' } } },
    ...extra,
  };
}

test('a check goes critical → one webhook with the documented fields; no repeat while it stays critical, not even across a restart; recovery → one resolved', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  let server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  defer(() => server.stop());

  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'ok', description: 'active' }]);
  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'critical', description: 'nginx.service failed', attributes: { unit: 'nginx.service' } }]);
  const [hit] = await until(() => (hook.of('unit-failed').length ? hook.of('unit-failed') : undefined), 'the firing webhook', 5000);
  const b = hit!.body;
  assert.deepEqual(Object.keys(b).sort(), ['description', 'endsAt', 'event', 'host', 'metric', 'rule', 'service', 'severity', 'startsAt', 'state', 'status'].sort());
  assert.equal(b.status, 'firing');
  assert.equal(b.rule, 'unit-failed');
  assert.equal(b.severity, 'critical');
  assert.equal(b.host, 'web-01');
  assert.equal(b.service, 'systemd nginx.service');
  assert.equal(b.state, 'critical');
  assert.equal(b.metric, null);
  assert.equal(b.description, 'nginx.service failed');
  assert.ok(!Number.isNaN(Date.parse(b.startsAt)));
  assert.equal(b.endsAt, null);
  assert.equal(b.event.attributes.unit, 'nginx.service');
  assert.equal(b.event.source, 'api');
  assert.equal(hit!.headers['x-blick-signature'], signature(SECRET, hit!.raw), 'HMAC-SHA256 of the body with the secret');
  assert.equal(hit!.headers['content-type'], 'application/json');

  const firing = await api<any[]>(server.url, '/api/v1/alerts?status=firing');
  assert.equal(firing.status, 200);
  assert.equal(firing.body.length, 1);
  assert.equal(firing.body[0].rule, 'unit-failed');

  // stays critical: more events, a wait of many group_intervals, a restart
  for (let i = 0; i < 5; i++) { await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'critical', description: 'still failed' }]); await sleep(100); }
  await sleep(500);
  const http = server.url.replace('http://', ''), ingest = server.receiver.endpoint;
  await server.stop();
  server = await startServer({ dataDir: join(dir, 'server'), config: { ...config(hook), http, ingest } });
  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'critical', description: 'still failed' }]);
  await sleep(700);
  assert.equal(hook.of('unit-failed').length, 1, 'no repeat before repeat_interval, and the restart neither re-sends nor forgets');
  assert.equal((await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body.length, 1, 'the firing alert survived the restart');

  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'ok', description: 'active again' }]);
  const resolved = await until(() => hook.of('unit-failed', 'resolved')[0], 'the resolved webhook', 5000);
  assert.equal(resolved.body.state, 'ok');
  assert.ok(Date.parse(resolved.body.endsAt) >= Date.parse(resolved.body.startsAt));
  assert.equal(resolved.body.startsAt, b.startsAt, 'the same alert resolves');
  await sleep(400);
  assert.equal(hook.hits.length, 2, 'exactly one firing and one resolved');
  const r = await api<any[]>(server.url, '/api/v1/alerts?status=resolved');
  assert.equal(r.body.length, 1);
  assert.equal(r.body[0].status, 'resolved');
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metricSum(m, 'blick_notifications_total{notifier="ops",status="sent"}'), 1, 'this process sent one (the firing one was sent before the restart)');
  assert.match(m, /blick_notification_latency_seconds_count 1/);
});

test('a `for: 2s` rule does not fire on a 1 s blip and fires on a 3 s problem without a further event', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: config(hook) });
  defer(() => server.stop());

  await post(server.url, [{ host: 'app-1', service: 'api health', state: 'critical', description: 'blip' }]);
  assert.equal((await api<any[]>(server.url, '/api/v1/alerts?status=pending')).body.length, 1, 'pending while `for` runs');
  await sleep(1000);
  await post(server.url, [{ host: 'app-1', service: 'api health', state: 'ok', description: 'fine' }]);
  assert.equal((await api<any[]>(server.url, '/api/v1/alerts?status=pending')).body.length, 0, 'the blip cancelled the pending alert');
  await sleep(1500);
  assert.equal(hook.of('slow-fail').length, 0, 'a 1 s blip does not fire');

  const t0 = Date.now();
  await post(server.url, [{ host: 'app-1', service: 'api health', state: 'critical', description: 'down for real' }]);
  const hit = await until(() => hook.of('slow-fail')[0], 'the for-rule to fire', 5000);
  const after = hit.at - t0;
  assert.ok(after >= 1950 && after < 2600, `fired ${after} ms after the problem began (for: 2s, no further event)`);
  assert.equal(hit.body.description, 'down for real');
  await sleep(1000); // the problem lasts 3 s in all
  await post(server.url, [{ host: 'app-1', service: 'api health', state: 'ok' }]);
  await until(() => hook.of('slow-fail', 'resolved')[0], 'resolved', 5000);
  assert.equal(hook.of('slow-fail', 'firing').length, 1);
});
