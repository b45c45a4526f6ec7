import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pino } from 'pino';
import { deferrals, metricSum, startServer, tempDir, until } from '../fixtures/blick.js';
import { OpsgenieStandIn, PagerDutyStandIn, type Received } from '../../src/server/notifiers/testdata/stand-ins.js';
import { post } from './hook.js';

type StandIn = PagerDutyStandIn | OpsgenieStandIn;

/**
 * A real server with one rule routed to `notifier`; a unit fails and recovers
 * (through POST /api/v1/events) while the stand-in first answers 429 with
 * Retry-After: 1, then as the real API does; a second host's alert meets a 400.
 */
async function drive(t: { after(fn: () => unknown): void }, standIn: StandIn, notifier: () => Record<string, unknown>, key: (r: Received) => string, action: (r: Received) => 'trigger' | 'resolve', title: (r: Received) => string) {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  await standIn.start();
  defer(() => standIn.stop());
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => { lines.push(l); } });
  const server = await startServer({
    dataDir: join(dir, 'server'),
    config: {
      rules: [{ name: 'unit-failed', match: { service: 'systemd *' }, when: 'state == "critical"' }],
      // without the Retry-After, the retry would come after about 50 ms
      notifiers: { rx: { ...notifier(), title_template: '{{host}}: {{service}} is {{state}} ({{description}})', retry: { initial: '50ms', max: '100ms' } } },
      routes: [{ notify: ['rx'] }],
    },
    deps: { log },
  });
  defer(() => server.stop());
  const metrics = async () => (await fetch(server.url + '/metrics')).text();

  standIn.script.push({ status: 429, headers: { 'retry-after': '1' }, body: { message: 'Too many requests' } });
  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'critical', description: 'nginx failed' }]);
  const trigger = await until(() => standIn.accepted2xx[0], 'the trigger accepted after the 429');
  assert.equal(standIn.received.length, 2, 'one 429, then one accepted delivery');
  assert.equal(standIn.received[0]!.status, 429);
  assert.ok(trigger.at - standIn.received[0]!.at >= 1000, `the retry came ${trigger.at - standIn.received[0]!.at} ms after the 429 (Retry-After: 1)`);
  assert.equal(action(trigger), 'trigger');
  assert.equal(title(trigger), 'web-01: systemd nginx.service is critical (nginx failed)', 'title_template rendered');

  await post(server.url, [{ host: 'web-01', service: 'systemd nginx.service', state: 'ok', description: 'running' }]);
  const resolve = await until(() => standIn.accepted2xx[1], 'the resolve');
  assert.equal(action(resolve), 'resolve');
  assert.equal(key(resolve), key(trigger), 'the resolve names the incident the trigger opened');
  assert.equal(standIn.accepted2xx.length, 2);

  standIn.script.push({ status: 400, body: { message: 'invalid' } });
  await post(server.url, [{ host: 'web-02', service: 'systemd nginx.service', state: 'critical', description: 'nginx failed' }]);
  await until(async () => metricSum(await metrics(), 'blick_notifications_total{notifier="rx",status="failed"}') === 1, 'the refused notification counted as failed');
  const m = await metrics();
  assert.equal(metricSum(m, 'blick_notifications_queued'), 0, 'dropped from the outbox: never retried');
  assert.equal(metricSum(m, 'blick_notifications_total{notifier="rx",status="sent"}'), 2);
  assert.equal(standIn.received.filter((r) => r.status === 400).length, 1);
  assert.ok(lines.some((l) => /refused by the receiver as invalid: not retried/.test(l) && /answered 400/.test(l)), 'the refusal is logged with the answer');
}

test('PagerDuty through a real server: a templated trigger after a 429 waited for Retry-After, resolve with the same dedup_key, a 400 not retried', async (t) => {
  const pd = new PagerDutyStandIn();
  await drive(t, pd, () => ({ type: 'pagerduty', routing_key: 'R0UT1NGKEY', url: pd.url }), (r) => r.body.dedup_key, (r) => r.body.event_action, (r) => r.body.payload.summary);
});

test('Opsgenie through a real server: a templated create after a 429 waited for Retry-After, close by the same alias, a 400 not retried', async (t) => {
  const og = new OpsgenieStandIn('genie');
  await drive(t, og, () => ({ type: 'opsgenie', api_key: 'genie', url: og.base }),
    (r) => r.path === '/v2/alerts' ? r.body.alias : decodeURIComponent(/^\/v2\/alerts\/([^/]+)\/close\?identifierType=alias$/.exec(r.path)?.[1] ?? ''),
    (r) => r.path === '/v2/alerts' ? 'trigger' : 'resolve', (r) => r.body.message);
});
