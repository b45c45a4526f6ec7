import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, deferrals, restartableServer, ROOT, serverForTest, startAgent, tempDir, until } from '../fixtures/blick.js';

const CHECK = join(ROOT, 'test', 'fixtures', 'plugins', 'check_state_file.sh');
const quiet = { cpu: { enabled: false }, load: { enabled: false }, memory: { enabled: false }, disk: { enabled: false }, network: { enabled: false } };

test('a Nagios check that fails (no perfdata) and recovers brings its host back to ok, across a server restart; one failure is one critical row', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const restartable = await restartableServer(defer, join(dir, 'server'));
  let server = restartable.server;
  const outcome = join(dir, 'outcome');
  writeFileSync(outcome, '0 42\n');
  // ttl 1 s: the perfdata series run out while the plugin fails
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: { host: 'rec-01', checks: [{ name: 'app', command: [CHECK, outcome], interval: '200ms', timeout: '5s', ttl: 1 }], ...quiet },
  });
  defer(() => agent.stop());
  const checks = async () => (await api<any[]>(server.url, '/api/v1/checks?host=rec-01')).body;
  const host = async () => (await api<any>(server.url, '/api/v1/hosts/rec-01')).body;
  const series = (cs: any[]) => cs.find((c) => c.service === 'check app value');

  await until(async () => { const cs = await checks(); return series(cs)?.metric === 42 && cs.find((c) => c.service === 'app')?.state === 'ok'; }, 'the check ok with its perfdata');
  assert.equal((await host()).state, 'ok');

  writeFileSync(outcome, '2\n');
  const failing = await until(async () => { const cs = await checks(); return series(cs)?.attributes.stale === 'true' ? cs : undefined; }, 'the perfdata series to go stale while the plugin fails');
  assert.equal(series(failing).state, null, 'a stale series has no state of its own');
  assert.match(series(failing).description, /^stale: no value for rec-01 check app value within its ttl of 1s/);
  assert.deepEqual(failing.filter((c) => c.state === 'critical').map((c) => c.service), ['app'], 'one failure is one critical row');
  assert.equal((await host()).state, 'critical');

  // the server restarts while the check fails; the stale series stays stale, not critical
  await restartable.stop();
  server = await restartable.start();
  const after = await checks();
  assert.equal(series(after)?.state, null);
  assert.deepEqual(after.filter((c) => c.state === 'critical').map((c) => c.service), ['app']);

  writeFileSync(outcome, '0 43\n');
  const back = await until(async () => { const cs = await checks(); return series(cs)?.metric === 43 && cs.find((c) => c.service === 'app')?.state === 'ok' ? cs : undefined; }, 'the check and its series back', 20_000);
  assert.equal(series(back).state, null);
  assert.equal(series(back).source, 'agent');
  assert.deepEqual(back.filter((c) => c.state !== 'ok' && c.state !== null), [], 'nothing left red');
  assert.equal((await host()).state, 'ok', 'the host is back to ok');
});

test('a metric-only event ends an expiry: a check that expired critical returns to the state it had', async (t) => {
  const { server } = await serverForTest(t);
  const post = (events: object[]) => api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  await post([{ host: 'rec-02', service: 'queue', state: 'ok', metric: 1, ttl: 1 }]);
  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=rec-02&service=queue')).body[0]?.state === 'critical', 'the check to expire critical');
  await post([{ host: 'rec-02', service: 'queue', metric: 2 }]);
  const c = await until(async () => { const x = (await api<any[]>(server.url, '/api/v1/checks?host=rec-02&service=queue')).body[0]; return x?.metric === 2 ? x : undefined; }, 'the metric event');
  assert.equal(c.state, 'ok', 'back to its state before the expiry');
  assert.equal((await api<any>(server.url, '/api/v1/hosts/rec-02')).body.state, 'ok');
});
