import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, until } from '../fixtures/blick.js';
import { post, sleep, withHook } from './hook.js';

/**
 * Rules that remember (a rate window, a flap history) carry on across a server
 * restart: the restarted server evaluates the stored history again before it
 * takes new events, so the first events after the restart are judged with what
 * came before.
 */
test('after a restart, rate windows and flap histories continue from the stored events', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const config = {
    rules: [
      { name: 'queue-growing', match: { service: 'queue depth' }, window: '1m', when: 'rate > 10', severity: 'warning' },
      { name: 'flappy', match: { service: 'api' }, flapping: { low: 20, high: 30 } },
    ],
    routes: [{ match: {}, notify: ['ops'], group_wait: '0s', group_interval: '100ms', repeat_interval: '1h' }],
    notifiers: { ops: { type: 'webhook', url: hook.url } },
  };
  let server = await startServer({ dataDir: join(dir, 'server'), config });
  defer(() => server.stop());

  // before: one sample of the counter (no rate yet); four state changes of the api (23 %, below 30 %)
  const now = Date.now();
  await post(server.url, [{ host: 'mq-1', service: 'queue depth', metric: 0, time: now - 20_000 }]);
  for (const state of ['ok', 'critical', 'ok', 'critical', 'ok']) await post(server.url, [{ host: 'web-1', service: 'api', state }]);
  await sleep(300);
  assert.equal(hook.hits.length, 0, 'nothing fires before the restart');

  await server.stop();
  server = await startServer({ dataDir: join(dir, 'server'), config });

  // after: the second sample makes a rate of 50/s over the window; two more changes make 6 (36 %)
  await post(server.url, [{ host: 'mq-1', service: 'queue depth', metric: 1000, time: now }]);
  for (const state of ['critical', 'ok']) await post(server.url, [{ host: 'web-1', service: 'api', state }]);
  const rate = await until(() => hook.of('queue-growing')[0], 'the rate rule to fire with the sample from before the restart', 5000);
  assert.equal(rate.body.status, 'firing');
  assert.equal(rate.body.host, 'mq-1');
  const flap = await until(() => hook.of('flappy')[0], 'the flapping rule to fire with the history from before the restart', 5000);
  assert.equal(flap.body.host, 'web-1');
  assert.match(flap.body.description, /flapping/i);
});
