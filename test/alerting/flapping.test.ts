import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, startServer } from '../fixtures/blick.js';
import { withHook, post, sleep } from './hook.js';

test('a check alternating every second (real pace) raises one flapping alert, not dozens of notifications', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({
    dataDir: join(dir, 'server'),
    config: {
      rules: [
        { name: 'flappy', match: { service: 'check *' }, flapping: { low: 20, high: 30 } },
        { name: 'check-critical', match: { service: 'check *' }, when: 'state == "critical"' },
      ],
      notifiers: { ops: { type: 'webhook', url: hook.url } },
      routes: [{ notify: ['ops'], group_interval: '0s' }],
    },
  });
  defer(() => server.stop());

  const flips = 14;
  for (let i = 0; i < flips; i++) {
    await post(server.url, [{ host: 'web-01', service: 'check http', state: i % 2 === 0 ? 'ok' : 'critical', description: `flip ${i}` }]);
    await sleep(1000);
  }
  const flapping = hook.of('flappy');
  assert.equal(flapping.length, 1, 'one flapping notification');
  assert.equal(flapping[0]!.body.status, 'firing');
  assert.equal(flapping[0]!.body.severity, 'warning');
  assert.match(flapping[0]!.body.description, /flapping: \d+\.\d% state change over the last 21 states/);
  const critical = hook.of('check-critical');
  // without flap detection there would be 7 firing + 7 resolved; once flapping is detected they are muted
  assert.ok(critical.length <= 6, `${critical.length} critical/resolved notifications before flapping was detected`);
  const alerts = (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body;
  assert.equal(alerts.filter((a) => a.rule === 'flappy').length, 1);
});
