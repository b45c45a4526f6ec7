import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryError } from '../notifier.js';
import { samplePayload } from '../testdata/payload.js';
import { OpsgenieStandIn } from '../testdata/stand-ins.js';
import { OpsgenieNotifier, opsgenieSchema } from './index.js';

test('opsgenie: a firing alert creates an alert with a stable alias (GenieKey auth, 202); its resolution closes it by that alias', async (t) => {
  const og = await new OpsgenieStandIn('k3y').start();
  t.after(() => og.stop());
  const n = new OpsgenieNotifier('og', opsgenieSchema.parse({ type: 'opsgenie', api_key: 'k3y', url: og.base, tags: ['team-db'] }));
  await n.send(samplePayload, AbortSignal.timeout(5000));
  await n.send({ ...samplePayload, status: 'resolved', endsAt: '2026-01-01T00:05:00.000Z' }, AbortSignal.timeout(5000));
  const [create, close] = og.received;
  assert.equal(create!.status, 202);
  assert.equal(create!.path, '/v2/alerts');
  assert.equal(create!.headers.authorization, 'GenieKey k3y');
  assert.equal(create!.body.message, 'disk-full on db-1 — disk /var');
  assert.equal(create!.body.description, '/var is 97% full');
  assert.equal(create!.body.priority, 'P1');
  assert.deepEqual(create!.body.tags, ['blick', 'disk-full', 'critical', 'team-db']);
  assert.equal(create!.body.details.host, 'db-1');
  assert.equal(close!.status, 202);
  assert.equal(close!.path, `/v2/alerts/${encodeURIComponent(create!.body.alias)}/close?identifierType=alias`);
});

test('opsgenie: priorities follow the configured map; long fields stay within the documented limits', async (t) => {
  const og = await new OpsgenieStandIn().start();
  t.after(() => og.stop());
  const n = new OpsgenieNotifier('og', opsgenieSchema.parse({ type: 'opsgenie', api_key: og.key, url: og.base, priorities: { warning: 'P4' } }));
  const tags = Array.from({ length: 40 }, (_, i) => `tag-${i}-${'y'.repeat(60)}`);
  await n.send({ ...samplePayload, severity: 'warning', rule: 'r'.repeat(300), description: 'd'.repeat(20_000), event: { ...samplePayload.event, tags } }, AbortSignal.timeout(5000));
  const create = og.received[0]!;
  assert.equal(create.status, 202, JSON.stringify(create.body).slice(0, 200));
  assert.equal(create.body.priority, 'P4');
  assert.equal(create.body.message.length, 130);
  assert.equal(create.body.description.length, 15_000);
  assert.equal(create.body.tags.length, 20);
});

test('opsgenie: a wrong key (401) and an invalid request are not retried; 429 carries its Retry-After', async (t) => {
  const og = await new OpsgenieStandIn('right').start();
  t.after(() => og.stop());
  const failure = async (key: string) => {
    const n = new OpsgenieNotifier('og', opsgenieSchema.parse({ type: 'opsgenie', api_key: key, url: og.base }));
    try { await n.send(samplePayload, AbortSignal.timeout(5000)); } catch (e) { return e as DeliveryError; }
    assert.fail('delivered');
  };
  const auth = await failure('wrong');
  assert.ok(auth instanceof DeliveryError && auth.permanent);
  assert.match(auth.message, /answered 401/);
  og.script.push({ status: 422, body: { message: 'Priority should be one of [P1, P2, P3, P4, P5]' } });
  const invalid = await failure('right');
  assert.ok(invalid.permanent);
  assert.match(invalid.message, /answered 422: .*Priority/);
  og.script.push({ status: 429, headers: { 'retry-after': '3' }, body: { message: 'Too many requests' } });
  const slow = await failure('right');
  assert.equal(slow.permanent, false);
  assert.equal(slow.retryAfterMs, 3000);
});

test('opsgenie templates: title_template is the message (cut at 130), body_template the description', async (t) => {
  const og = await new OpsgenieStandIn().start();
  t.after(() => og.stop());
  const n = new OpsgenieNotifier('og', opsgenieSchema.parse({ type: 'opsgenie', api_key: og.key, url: og.base, title_template: '{{host}} {{description}}', body_template: 'mount {{attributes.mount}}' }));
  await n.send({ ...samplePayload, description: 'z'.repeat(500) }, AbortSignal.timeout(5000));
  assert.equal(og.received[0]!.status, 202);
  assert.equal(og.received[0]!.body.message.length, 130);
  assert.ok(og.received[0]!.body.message.startsWith('db-1 zzz'));
  assert.equal(og.received[0]!.body.description, 'mount /var');
});
