import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../core/log.js';
import { Registry } from '../../core/metrics.js';
import { makeEvent, type BlickEvent } from '../../core/event.js';
import type { Ingest, IngestSubscriber } from '../ingest.js';
import { serverConfigSchema } from '../config.js';
import { StateIndex } from '../state.js';
import { DeliveryError, type Notifier, type NotificationPayload } from '../notifiers/notifier.js';
import { Alerting, ManualClock } from './index.js';
import { SqliteAlertStore } from './store.js';

/** Alerting on a manual clock, fed directly, delivering to a recorder. */
async function harness(server: Record<string, unknown>, fail: boolean | (() => Error | undefined) = false) {
  const clock = new ManualClock();
  let sub: IngestSubscriber | undefined;
  const ingest = { subscribe: (fn: IngestSubscriber) => { sub = fn; return () => { sub = undefined; }; }, onRemoved: () => () => undefined, state: new StateIndex() } as unknown as Ingest;
  const sent: NotificationPayload[] = [];
  const notifier: Notifier = { name: 'rec', type: 'test', send: async (p) => {
    const err = typeof fail === 'function' ? fail() : fail ? new Error('down') : undefined;
    if (err) throw err;
    sent.push(p);
  } };
  const config = serverConfigSchema.parse({ ...server, notifiers: {} });
  const a = new Alerting(config, {
    dataDir: '/nonexistent', ingest, metrics: new Registry(), log: createLogger('test', { level: 'silent' }), clock,
    store: new SqliteAlertStore(':memory:'),
    notifiers: new Map([['rec', { notifier, policy: { timeout: 1000, initial: 1000, max: 8000, giveUpAfter: 60_000 } }]]),
  });
  await a.start();
  const feed = async (e: Partial<BlickEvent> & { host?: string; service?: string }) => {
    sub!({ events: [makeEvent({ host: 'h', service: 's', ...e } as never, { source: (e.source as never) ?? 'agent', now: clock.now })], changed: [] });
    await flush();
  };
  const tick = async (ms: number) => { for (let i = 0; i < ms; i += 100) { clock.advance(Math.min(100, ms - i)); await flush(); } };
  return { a, clock, sent, feed, tick };
}
const flush = () => new Promise((r) => setImmediate(r));

test('for: pending → firing on the timer without a further event; a blip shorter than `for` never fires', async () => {
  const { a, sent, feed, tick } = await harness({ rules: [{ name: 'r', when: 'metric > 90', for: '2m' }], routes: [{ notify: ['rec'] }] });
  await feed({ metric: 95 });
  assert.equal(a.book.list()[0]!.status, 'pending');
  await tick(60_000);
  await feed({ metric: 50 });
  assert.equal(a.book.list().length, 0, 'cancelled');
  await tick(120_000);
  assert.equal(sent.length, 0);
  await feed({ metric: 95 });
  await tick(119_900);
  assert.equal(sent.length, 0);
  await tick(200);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.status, 'firing');
  await a.stop();
});

test('repeat_interval re-sends a firing alert; group_interval batches resolutions; group_wait delays the first notification', async () => {
  const { a, sent, feed, tick } = await harness({ rules: [{ name: 'r', when: 'state == "critical"' }], routes: [{ notify: ['rec'], group_by: ['host'], group_wait: '10s', group_interval: '1m', repeat_interval: '1h' }] });
  await feed({ state: 'critical' });
  await feed({ service: 's2', state: 'critical' });
  await tick(9_900);
  assert.equal(sent.length, 0, 'group_wait');
  await tick(200);
  assert.equal(sent.length, 2, 'both alerts of the host group in the first flush');
  await feed({ service: 's2', state: 'ok' });
  await tick(30_000);
  assert.equal(sent.length, 2, 'the resolution waits for group_interval');
  await tick(31_000);
  assert.equal(sent.length, 3);
  assert.equal(sent[2]!.status, 'resolved');
  await tick(3_600_000 - 61_000 - 600); // t = 1h + 9.5s; first sent at 10s
  assert.equal(sent.length, 3);
  await tick(1_000);
  assert.equal(sent.length, 4, 'repeated after repeat_interval');
  assert.equal(sent[3]!.status, 'firing');
  await a.stop();
});

test('routes: first match wins unless continue; a route names several notifiers; unknown notifiers are a configuration error', async () => {
  const { a, sent, feed } = await harness({
    rules: [{ name: 'r', when: 'state != "ok"' }],
    routes: [
      { match: { severity: 'warning' }, notify: ['rec'], continue: true },
      { match: { host: 'db-*' }, notify: ['rec'] },
      { notify: ['rec'] },
    ],
  });
  await feed({ host: 'db-1', state: 'warning' }); // routes 0 and 1
  await feed({ host: 'web-1', state: 'warning' }); // routes 0 and 2
  await feed({ host: 'db-2', state: 'critical' }); // route 1 only
  assert.equal(sent.filter((p) => p.host === 'db-1').length, 2);
  assert.equal(sent.filter((p) => p.host === 'web-1').length, 2);
  assert.equal(sent.filter((p) => p.host === 'db-2').length, 1);
  assert.equal(sent.find((p) => p.host === 'db-2')!.severity, 'critical', 'severity follows the event state when the rule sets none');
  await a.stop();
  await assert.rejects(harness({ routes: [{ notify: ['nope'] }] }), /names "nope", which is not in server.notifiers/);
});

test('rate over a window, state_change re-notification, expired only from the server', async () => {
  const { a, sent, feed, clock } = await harness({
    rules: [
      { name: 'fast', match: { service: 'requests' }, when: 'rate > 10', window: '1m' },
      { name: 'change', match: { service: 'unit' }, state_change: true },
      { name: 'gone', match: { service: 'heartbeat' }, expired: true },
    ],
    routes: [{ notify: ['rec'], group_interval: '0s' }],
  });
  for (let i = 0; i <= 6; i++) { await feed({ service: 'requests', metric: i * 50, time: clock.now() }); clock.advance(10_000); }
  assert.equal(sent.filter((p) => p.rule === 'fast').length, 0, '5/s is below 10/s');
  await feed({ service: 'requests', metric: 5000, time: clock.now() });
  assert.equal(sent.filter((p) => p.rule === 'fast').length, 1, 'a jump in the window fires');
  await feed({ service: 'unit', state: 'ok' });
  await feed({ service: 'unit', state: 'warning' });
  await feed({ service: 'unit', state: 'warning' });
  await feed({ service: 'unit', state: 'critical' });
  await feed({ service: 'unit', state: 'ok' });
  assert.deepEqual(sent.filter((p) => p.rule === 'change').map((p) => `${p.status}:${p.state}`), ['firing:warning', 'firing:critical', 'resolved:ok']);
  await feed({ service: 'heartbeat', state: 'critical', attributes: { expired: 'true' }, source: 'api' } as never);
  assert.equal(sent.filter((p) => p.rule === 'gone').length, 0, 'an API client cannot fake an expiry');
  await feed({ service: 'heartbeat', state: 'critical', attributes: { expired: 'true' }, source: 'server' } as never);
  assert.equal(sent.filter((p) => p.rule === 'gone').length, 1);
  await a.stop();
});

test('failed deliveries back off exponentially (1 s, 2 s, 4 s, 8 s cap) and are counted', async () => {
  const { a, feed, tick } = await harness({ rules: [{ name: 'r', when: 'state == "critical"' }], routes: [{ notify: ['rec'] }] }, true);
  await feed({ state: 'critical' });
  const failures = () => Number(/blick_notification_failures_total\{notifier="rec"\} (\d+)/.exec((a as any).deps.metrics.render())?.[1] ?? 0);
  assert.equal(failures(), 1);
  await tick(1200); assert.equal(failures(), 2);
  await tick(2300); assert.equal(failures(), 3);
  await tick(4500); assert.equal(failures(), 4);
  await tick(8900); assert.equal(failures(), 5);
  await tick(8900); assert.equal(failures(), 6, 'capped at retry.max');
  assert.equal(a.outbox.queued, 1);
  await a.stop();
});

test('a receiver\'s Retry-After replaces the backoff once; a notification the receiver refuses as invalid is not retried and counted as failed', async () => {
  const errors: (Error | undefined)[] = [new DeliveryError('answered 429', { retryAfterMs: 30_000 })];
  const { a, sent, feed, tick } = await harness({ rules: [{ name: 'r', when: 'state == "critical"' }], routes: [{ notify: ['rec'] }] }, () => errors.shift());
  const m = (name: string) => Number(new RegExp(name.replace(/[{}]/g, '\\$&') + ' (\\d+)').exec((a as any).deps.metrics.render())?.[1] ?? 0);
  await feed({ state: 'critical' });
  assert.equal(m('blick_notification_failures_total{notifier="rec"}'), 1);
  await tick(29_800);
  assert.equal(sent.length, 0, 'waited for Retry-After, not the 1 s backoff');
  await tick(300);
  assert.equal(sent.length, 1);
  errors.push(new DeliveryError('answered 400', { permanent: true }));
  await feed({ state: 'ok' });
  assert.equal(m('blick_notifications_total{notifier="rec",status="failed"}'), 1);
  await tick(120_000);
  assert.equal(sent.length, 1, 'never retried');
  assert.equal(m('blick_notification_failures_total{notifier="rec"}'), 2);
  assert.equal(a.outbox.queued, 0);
});

test('an aggregate with a window resolves when its events leave the window, without a further event; its bound is counted', async () => {
  const { a, sent, feed, tick, clock } = await harness({
    rules: [{ name: 'web-errors', match: { host: 'web-*' }, aggregate: 'percent(state != "ok") > 50', window: '1m', max_window_events: 4 }],
    routes: [{ notify: ['rec'], group_interval: '0s' }],
  });
  await feed({ host: 'web-1', state: 'ok', time: clock.now() });
  await feed({ host: 'web-2', state: 'critical', time: clock.now() });
  assert.equal(sent.length, 0, '50 % is not above 50');
  await tick(10_000);
  await feed({ host: 'web-3', state: 'critical', time: clock.now() });
  assert.deepEqual(sent.map((p) => `${p.status} ${p.host} ${p.service}`), ['firing web-* web-errors']);
  await tick(50_100);
  assert.equal(sent.length, 1, 'at 60.1 s the first two events have left: web-3 alone is 100 %');
  await tick(10_000);
  assert.deepEqual(sent.map((p) => p.status), ['firing', 'resolved'], 'the window emptied on the timer');
  assert.match(sent[1]!.description, /no longer holds over 3 members/);
  for (let i = 0; i < 6; i++) await feed({ host: 'web-1', state: 'ok', time: clock.now() });
  assert.match((a as any).deps.metrics.render(), /blick_rule_aggregate_limited_total\{limit="window_events",rule="web-errors"\} 2/);
  await a.stop();
});
