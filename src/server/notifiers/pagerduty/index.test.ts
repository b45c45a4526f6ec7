import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryError } from '../notifier.js';
import { samplePayload } from '../testdata/payload.js';
import { PagerDutyStandIn } from '../testdata/stand-ins.js';
import { PagerDutyNotifier, pagerdutySchema } from './index.js';

test('pagerduty: a firing alert is a trigger the Events API accepts (202), its resolution a resolve with the same dedup_key', async (t) => {
  const pd = await new PagerDutyStandIn().start();
  t.after(() => pd.stop());
  const n = new PagerDutyNotifier('pd', pagerdutySchema.parse({ type: 'pagerduty', routing_key: 'R0UT1NGKEY', url: pd.url }));
  await n.send(samplePayload, AbortSignal.timeout(5000));
  await n.send({ ...samplePayload, status: 'resolved', endsAt: '2026-01-01T00:05:00.000Z' }, AbortSignal.timeout(5000));
  const [trigger, resolve] = pd.received;
  assert.equal(trigger!.status, 202);
  assert.equal(trigger!.body.event_action, 'trigger');
  assert.equal(trigger!.body.routing_key, 'R0UT1NGKEY');
  assert.deepEqual({ ...trigger!.body.payload, custom_details: undefined }, {
    summary: 'disk-full on db-1 — disk /var: /var is 97% full', source: 'db-1', severity: 'critical', timestamp: '2026-01-01T00:00:00.000Z',
    component: 'disk /var', class: 'disk-full', custom_details: undefined,
  });
  assert.equal(trigger!.body.payload.custom_details.metric, 97);
  assert.equal(resolve!.status, 202);
  assert.equal(resolve!.body.event_action, 'resolve');
  assert.equal(resolve!.body.dedup_key, trigger!.body.dedup_key);
  assert.ok(trigger!.body.dedup_key.length <= 255);
});

test('pagerduty: an unknown severity maps to default_severity; a long description stays within the 1024-character summary', async (t) => {
  const pd = await new PagerDutyStandIn().start();
  t.after(() => pd.stop());
  const n = new PagerDutyNotifier('pd', pagerdutySchema.parse({ type: 'pagerduty', routing_key: 'k', url: pd.url, default_severity: 'warning' }));
  await n.send({ ...samplePayload, severity: 'page-me', description: 'x'.repeat(5000) }, AbortSignal.timeout(5000));
  assert.equal(pd.received[0]!.status, 202);
  assert.equal(pd.received[0]!.body.payload.severity, 'warning');
  assert.equal(pd.received[0]!.body.payload.summary.length, 1024);
});

test('pagerduty: 400 is a permanent failure, 429 carries its Retry-After, 5xx is retried with backoff', async (t) => {
  const pd = await new PagerDutyStandIn().start();
  t.after(() => pd.stop());
  const n = new PagerDutyNotifier('pd', pagerdutySchema.parse({ type: 'pagerduty', routing_key: 'k', url: pd.url }));
  const failure = async () => { try { await n.send(samplePayload, AbortSignal.timeout(5000)); } catch (e) { return e as DeliveryError; } assert.fail('delivered'); };
  pd.script.push({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['x'] } });
  const bad = await failure();
  assert.ok(bad instanceof DeliveryError && bad.permanent && bad.code === 'NOTIFICATION_REJECTED');
  assert.match(bad.message, /answered 400: .*invalid event/);
  pd.script.push({ status: 429, headers: { 'retry-after': '7' } });
  const slow = await failure();
  assert.equal(slow.permanent, false);
  assert.equal(slow.retryAfterMs, 7000);
  pd.script.push({ status: 502, body: {} });
  const down = await failure();
  assert.equal(down.permanent, false);
  assert.equal(down.retryAfterMs, undefined);
});

test('pagerduty templates: title_template is the summary, body_template goes to custom_details.body; the event stays valid JSON', async (t) => {
  const pd = await new PagerDutyStandIn().start();
  t.after(() => pd.stop());
  const n = new PagerDutyNotifier('pd', pagerdutySchema.parse({ type: 'pagerduty', routing_key: 'k', url: pd.url, title_template: '[{{severity}}] {{host}}: {{description}}', body_template: '{{#tags}}{{.}};{{/tags}}' }));
  await n.send({ ...samplePayload, description: '"},{"x', event: { ...samplePayload.event, tags: ['a', 'b'] } }, AbortSignal.timeout(5000));
  assert.equal(pd.received[0]!.status, 202);
  assert.equal(pd.received[0]!.body.payload.summary, '[critical] db-1: "},{"x');
  assert.equal(pd.received[0]!.body.payload.custom_details.body, 'a;b;');
});
