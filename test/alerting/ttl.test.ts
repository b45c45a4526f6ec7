import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProcess, api, exited, until } from '../fixtures/blick.js';
import { hostGoneServer, withHook } from './hook.js';

test('an agent killed with SIGKILL: the expired heartbeat alert fires within ttl + 1 s', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await hostGoneServer(defer, dir, hook);
  const agent = agentProcess(defer, dir, { host: 'doomed-01', upstream: server.receiver.endpoint }).start();
  const hb = await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=doomed-01&service=heartbeat')).body[0], `the agent's heartbeat (output: ${agent.output()})`, 15_000);
  assert.equal(hb.ttl, 3, 'heartbeat 1s → ttl 3s');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(hook.hits.length, 0, 'no alert while the agent lives');

  agent.kill('SIGKILL');
  const killedAt = Date.now();
  await exited(agent);
  const hit = await until(() => hook.of('host-gone', 'firing', 'doomed-01')[0], 'the host-gone alert', 10_000);
  const after = hit.at - killedAt;
  assert.ok(after <= 4000, `fired ${after} ms after SIGKILL (ttl 3 s + 1 s)`);
  assert.equal(hit.body.service, 'heartbeat');
  assert.equal(hit.body.state, 'critical');
  assert.equal(hit.body.event.attributes.expired, 'true');
  assert.equal(hit.body.event.source, 'server');
  assert.match(hit.body.description, /expired/);
});
