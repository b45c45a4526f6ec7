import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { api, deferrals, startAgent, startServer, tempDir, until, listAll } from '../fixtures/blick.js';
import { missing } from './require.js';
import { bootSystemd, systemdNamespaceMissing } from './systemd-namespace.js';

const UNIT = `[Unit]
Description=Blick end-to-end sleeper
[Service]
ExecStart=/bin/sleep infinity
`;

test('end to end: a unit killed under real systemd is critical at the server (agent → ZeroMQ → server → API); restarted, ok again', { timeout: 60_000 }, async (t) => {
  const why = await systemdNamespaceMissing();
  if (why) { missing(t, why, 'needed to boot systemd in a namespace'); return; }
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const ns = await bootSystemd();
  defer(() => ns.stop());
  await ns.addUnit('blick-e2e.service', UNIT);
  await ns.systemctl('start', 'blick-e2e.service');
  const server = await startServer({ dataDir: join(dir, 'server') });
  defer(() => server.stop());
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: { host: 'sd-host', systemd: { units: ['blick-e2e.service'], bus: ns.busAddress } },
  });
  defer(() => agent.stop());

  const check = async () => (await api<any[]>(server.url, '/api/v1/checks?host=sd-host&service=systemd%20blick-e2e.service')).body[0];
  const ok = await until(async () => (await check())?.state === 'ok' && check(), 'the unit reported ok at start');
  assert.equal(ok.attributes.active_state, 'active');

  const killedAt = performance.now();
  await ns.systemctl('kill', '-s', 'KILL', 'blick-e2e.service');
  const critical = await until(async () => { const c = await check(); return c?.state === 'critical' ? c : undefined; }, 'critical at the server', 10_000, 2);
  const delay = performance.now() - killedAt;
  t.diagnostic(`systemctl kill → critical at the server's API: ${delay.toFixed(1)} ms (includes the systemctl process and API polling every 2 ms)`);
  assert.equal(critical.attributes.result, 'signal');
  assert.equal(critical.attributes.active_state, 'failed');
  const history = (await listAll<any>(server.url, '/api/v1/events?host=sd-host&service=systemd%20blick-e2e.service'));
  assert.equal(history[0].state, 'critical', 'the failure is in the history');

  await ns.systemctl('restart', 'blick-e2e.service');
  await until(async () => { const c = await check(); return c?.state === 'ok' && c.attributes.sub_state === 'running'; }, 'ok again after restart');
});
