import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProcess, api, deferrals, exited, metric, tempDir, until } from './fixtures/blick.js';
import { serverProcess } from './faults/processes.js';

const hostKnown = async (url: string, host: string) => (await api(url, `/api/v1/hosts/${host}`)).status === 200;

test('a host deleted just before the server is killed with SIGKILL stays deleted after the restart (its events are not replayed back)', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir);
  await srv.start();
  const post = await api(srv.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [
    { host: 'old-01', service: 'nginx', state: 'critical' }, { host: 'keep-01', service: 'nginx', state: 'ok' },
  ] }) });
  assert.equal(post.status, 202);
  assert.equal((await api(srv.url, '/api/v1/hosts/old-01', { method: 'DELETE' })).status, 200);
  await srv.kill();
  await srv.start();
  assert.equal(await hostKnown(srv.url, 'old-01'), false, 'the deleted host is still gone');
  assert.equal(await hostKnown(srv.url, 'keep-01'), true);
});

test('end to end: the agent of a host is killed with SIGKILL → the server deregisters the host after server.deregister_after', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir, ['  deregister_after: 3s']);
  await srv.start();
  const agent = agentProcess(defer, dir, { host: 'doomed-01', upstream: srv.ingest }).start();
  await until(() => hostKnown(srv.url, 'doomed-01'), 'the agent\'s host to report', 20_000);
  // alive: heartbeats every second keep it registered past deregister_after
  const first = (await api<any>(srv.url, '/api/v1/hosts/doomed-01')).body.last_seen as number;
  await until(async () => ((await api<any>(srv.url, '/api/v1/hosts/doomed-01')).body.last_seen as number) > first + 3000, 'heartbeats for longer than deregister_after', 20_000);

  agent.kill('SIGKILL');
  await exited(agent);
  await until(async () => !(await hostKnown(srv.url, 'doomed-01')), 'the host to be deregistered', 20_000);
  const text = await (await fetch(srv.url + '/metrics')).text();
  assert.equal(metric(text, 'blick_hosts_deregistered_total'), 1);
});
