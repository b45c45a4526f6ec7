import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { deferrals, metricSum, startServer, tempDir, until } from '../fixtures/blick.js';
import { HookReceiver, post, sleep } from './hook.js';

test('the webhook receiver is down for 20 s and the server restarts mid-retry: the notification arrives once, after the receiver is back', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const hook = await new HookReceiver().start();
  await hook.stop(); // keep its port, nobody listens: connection refused
  defer(() => hook.stop());
  const config = {
    rules: [{ name: 'unit-failed', match: { service: 'systemd *' }, when: 'state == "critical"' }],
    notifiers: { ops: { type: 'webhook', url: hook.url, retry: { initial: '250ms', max: '2s' } } },
    routes: [{ notify: ['ops'] }],
  };
  let server = await startServer({ dataDir: join(dir, 'server'), config });
  defer(() => server.stop());
  const downAt = Date.now();
  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'critical', description: 'failed' }]);

  await until(async () => metricSum(await (await fetch(server.url + '/metrics')).text(), 'blick_notification_failures_total') >= 3, 'a few failed attempts', 10_000);
  const m1 = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metricSum(m1, 'blick_notifications_total{notifier="ops",status="sent"}'), 0);

  // restart mid-retry: the outbox row survives, nothing is lost or doubled
  const http = server.url.replace('http://', ''), ingest = server.receiver.endpoint;
  await server.stop();
  await sleep(500);
  server = await startServer({ dataDir: join(dir, 'server'), config: { ...config, http, ingest } });

  await sleep(Math.max(0, 20_000 - (Date.now() - downAt)));
  assert.equal(hook.hits.length, 0);
  await hook.start(hook.port);
  const backAt = Date.now();
  const hit = await until(() => hook.hits[0], 'the notification after the receiver is back', 5000);
  assert.ok(hit.at - backAt < 3000, `delivered ${hit.at - backAt} ms after the receiver came back (backoff max 2s)`);
  assert.equal(hit.body.status, 'firing');
  assert.equal(hit.body.rule, 'unit-failed');
  await sleep(2500);
  assert.equal(hook.hits.length, 1, 'exactly one delivery');
  const m2 = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metricSum(m2, 'blick_notifications_total{notifier="ops",status="sent"}'), 1);
  assert.ok(metricSum(m2, 'blick_notification_failures_total') >= 1, 'failures after the restart are counted too');
  assert.match(m2, /blick_notification_latency_seconds_count 1/);
});
