import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, deferrals, restartableServer, ROOT, runBlick, startAgent, startServer, tempDir, until } from '../fixtures/blick.js';
import { withHook } from './hook.js';

const CHECK = join(ROOT, 'test', 'fixtures', 'plugins', 'check_state_file.sh');
const quiet = { cpu: { enabled: false }, load: { enabled: false }, memory: { enabled: false }, disk: { enabled: false }, network: { enabled: false } };

test('end to end: acknowledging a firing alert stops its repeat webhooks (others keep repeating) until its state changes; shown by the API and blick alerts', { timeout: 90_000 }, async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: {
    rules: [{ name: 'app-down', match: { service: 'app-?' }, when: 'state != "ok"' }],
    // one group for both alerts: app-b's repeats flush the group that holds the acknowledged app-a
    routes: [{ match: {}, notify: ['ops'], group_by: ['rule', 'host'], group_wait: '0s', group_interval: '100ms', repeat_interval: '1s' }],
    notifiers: { ops: { type: 'webhook', url: hook.url, retry: { initial: '100ms', max: '1s' } } },
  } });
  defer(() => server.stop());
  const fileA = join(dir, 'a'), fileB = join(dir, 'b');
  writeFileSync(fileA, '2\n');
  writeFileSync(fileB, '2\n');
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: { host: 'app-01', checks: [
      { name: 'app-a', command: [CHECK, fileA], interval: '200ms', timeout: '5s' },
      { name: 'app-b', command: [CHECK, fileB], interval: '200ms', timeout: '5s' },
    ], ...quiet },
  });
  defer(() => agent.stop());
  const firing = (service: string) => hook.hits.filter((h) => h.body.status === 'firing' && h.body.service === service);

  await until(() => firing('app-a').length >= 2, 'app-a to fire and repeat', 20_000);
  const alerts = (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body;
  const a = alerts.find((x) => x.service === 'app-a');
  assert.equal(a.acknowledged, null);

  const bad = await api<any>(server.url, `/api/v1/alerts/${a.id}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ author: 'alice' }) });
  assert.equal(bad.status, 400, 'a comment is required');
  assert.equal((await api(server.url, '/api/v1/alerts/nope/ack', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ comment: 'x' }) })).status, 404);

  const ack = await runBlick(['alerts', 'ack', a.id, '--comment', 'looking into it', '--author', 'alice'], { env: { BLICK_URL: server.url } });
  assert.equal(ack.code, 0, ack.stderr);
  assert.match(ack.stdout, /acknowledged .*app-down on app-01 app-a/);
  // a repeat queued before the ack may still arrive: count from the next repeat of the other alert
  const b0 = firing('app-b').length;
  await until(() => firing('app-b').length > b0, 'a repeat of app-b after the ack', 10_000);
  const afterAck = firing('app-a').length;
  const b1 = firing('app-b').length;
  await until(() => firing('app-b').length >= b1 + 3, 'three more repeats of the unacknowledged app-b', 20_000);
  assert.equal(firing('app-a').length, afterAck, 'no repeat of the acknowledged alert while app-b repeated three times');

  const shown = (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body.find((x) => x.id === a.id);
  assert.equal(shown.acknowledged.by, 'alice');
  assert.equal(shown.acknowledged.comment, 'looking into it');
  assert.equal(typeof shown.acknowledged.at, 'number');
  const list = await runBlick(['alerts'], { env: { BLICK_URL: server.url } });
  assert.match(list.stdout, /alice: looking into it/);

  // critical → warning: still firing, but changed, so the acknowledgement ends and repeats resume
  writeFileSync(fileA, '1\n');
  await until(() => firing('app-a').length > afterAck, 'app-a to notify again after its state changed', 20_000);
  const changed = (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body.find((x) => x.id === a.id);
  assert.equal(changed.acknowledged, null);
  assert.equal(changed.state, 'warning');
});

test('an acknowledgement (with expires) is stored with the alert and survives a restart; a pending alert cannot be acknowledged', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const s = await restartableServer(defer, dir, { rules: [
    { name: 'down', match: { service: 'nginx' }, when: 'state == "critical"' },
    { name: 'slow', match: { service: 'api' }, when: 'state == "critical"', for: '1h' },
  ] });
  const json = { 'content-type': 'application/json' };
  await api(s.server.url, '/api/v1/events', { method: 'POST', headers: json, body: JSON.stringify({ events: [{ host: 'w-1', service: 'nginx', state: 'critical' }, { host: 'w-1', service: 'api', state: 'critical' }] }) });
  const list = await until(async () => { const l = (await api<any[]>(s.server.url, '/api/v1/alerts')).body; return l.length === 2 ? l : undefined; }, 'one firing and one pending alert');
  const firing = list.find((a) => a.status === 'firing'), pending = list.find((a) => a.status === 'pending');
  const p = await api<any>(s.server.url, `/api/v1/alerts/${pending.id}/ack`, { method: 'POST', headers: json, body: JSON.stringify({ comment: 'x' }) });
  assert.equal(p.status, 400);
  assert.match(p.body.error.message, /only a firing alert/);
  assert.equal((await api(s.server.url, `/api/v1/alerts/${firing.id}/ack`, { method: 'POST', headers: json, body: JSON.stringify({ comment: 'x', expires: 'soon' }) })).status, 400, 'expires must be a duration');
  const r = await api<any>(s.server.url, `/api/v1/alerts/${firing.id}/ack`, { method: 'POST', headers: json, body: JSON.stringify({ comment: 'swapping the disk', author: 'bob', expires: '4h' }) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.acknowledged.expiresAt - r.body.acknowledged.at, 4 * 3600_000);

  await s.stop();
  const again = await s.start();
  const after = (await api<any[]>(again.url, '/api/v1/alerts?status=firing')).body.find((a) => a.id === firing.id);
  assert.deepEqual(after.acknowledged, r.body.acknowledged, 'the acknowledgement survived the restart');
});
