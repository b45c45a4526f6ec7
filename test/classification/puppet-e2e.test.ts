import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentProcess, api, deferrals, exited, listAll, startServer, tempDir, until } from '../fixtures/blick.js';
import { hasProgram, missing } from '../agent/require.js';
import { bootSystemd, systemdNamespaceMissing } from '../agent/systemd-namespace.js';
import { compileCatalog, lineOf } from './puppet.js';

const UNIT = `[Unit]
Description=Blick classification demo
[Service]
ExecStart=/bin/sleep infinity
`;
const TOKEN = 'e2e-classification-token-0123456789';
const HOST = 'puppet-e2e-host';

const WITH_DEMO = `class web { }
include web

file { '/tmp/blick-classification-never-created': ensure => absent }

service { 'demo':
  ensure => running,
}
`;
const WITHOUT_DEMO = `class web { }
include web

file { '/tmp/blick-classification-never-created': ensure => absent }
`;

test('Puppet → agent → server: a unit the catalog says must run is stopped under real systemd → an alert nobody configured, naming Service[demo] and the manifest line; removed from the manifest → the derived check goes and no alert fires', { timeout: 180_000 }, async (t) => {
  const why = (await systemdNamespaceMissing()) ?? (!(await hasProgram('puppet')) ? 'puppet (apt-get install puppet)' : undefined);
  if (why) { missing(t, why, 'needed for the Puppet end-to-end test'); return; }
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const ns = await bootSystemd();
  defer(() => ns.stop());
  await ns.addUnit('demo.service', UNIT);
  await ns.systemctl('start', 'demo.service');

  const puppetDir = join(dir, 'puppet');
  const catalog = await compileCatalog(puppetDir, HOST, WITH_DEMO);
  const line = lineOf(WITH_DEMO, "service { 'demo'");

  const server = await startServer({ dataDir: join(dir, 'server'), config: { tokens: [{ token: TOKEN, role: 'write' }] } });
  defer(() => server.stop());
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
  const agent = agentProcess(defer, dir, {
    host: HOST, upstream: server.receiver.endpoint,
    lines: [
      `  server: { url: ${JSON.stringify(server.url)}, token: ${TOKEN} }`,
      `  puppet: { catalog: ${JSON.stringify(catalog)} }`,
      // the config watches dbus only: demo.service comes from the catalog
      `  systemd: { units: [dbus.service], bus: ${JSON.stringify(ns.busAddress)} }`,
      '  disk: { enabled: false }',
    ],
  }).start();

  // the catalog reached the server, which derived the check with its origin
  const hostRecord = async () => (await api<any>(server.url, `/api/v1/hosts/${HOST}`, auth)).body;
  const derived = await until(async () => (await hostRecord())?.derived?.find((d: any) => d.service === 'systemd demo.service'), 'the derived check at the server', 30_000);
  assert.equal(derived.kind, 'service-running');
  assert.equal(derived.origin.resource, 'Service[demo]');
  assert.equal(derived.origin.line, line);
  assert.equal(derived.origin.file, join(puppetDir, 'site.pp'));

  const check = async () => (await api<any[]>(server.url, `/api/v1/checks?host=${HOST}&service=${encodeURIComponent('systemd demo.service')}`, auth)).body[0];
  const ok = await until(async () => { const c = await check(); return c?.state === 'ok' && c; }, 'demo.service ok while it runs', 30_000);
  assert.equal(ok.attributes.derived_from, 'Service[demo]');
  assert.equal(ok.attributes.expected, 'true');
  const firing = async () => (await api<any[]>(server.url, `/api/v1/alerts?host=${HOST}&status=firing`, auth)).body;
  assert.deepEqual(await firing(), [], 'nothing fires while the unit runs');

  await ns.systemctl('stop', 'demo.service');
  const alert = await until(async () => (await firing()).find((a: any) => a.service === 'systemd demo.service'), 'an alert for the stopped unit', 20_000);
  assert.equal(alert.rule, 'classified', 'the built-in rule; nobody wrote one');
  assert.match(alert.description, /Service\[demo\]/);
  assert.match(alert.description, new RegExp(`site\\.pp:${line}`));
  const stopped = await check();
  assert.equal(stopped.state, 'critical');
  assert.equal(stopped.attributes.derived_line, String(line));

  // the resource leaves the manifest; Puppet rewrites the catalog; the agent sends it again
  await compileCatalog(puppetDir, HOST, WITHOUT_DEMO);
  await until(async () => { const h = await hostRecord(); return h?.derived && !h.derived.some((d: any) => d.service === 'systemd demo.service'); }, 'the derived check gone at the server', 30_000);
  await until(async () => (await check())?.state !== 'critical', 'the unit\'s check no longer critical', 20_000);
  const history = () => listAll<any>(server.url, `/api/v1/events?host=${HOST}&service=${encodeURIComponent('systemd demo.service')}`, auth);
  // the agent stopped treating the unit as declared and said so, so nothing it sent stays critical
  const removal = await until(async () => (await history()).find((e) => /no longer in the desired state/.test(e.description)), 'the agent\'s removal event', 20_000);
  assert.equal(removal.state, 'ok');
  assert.equal(removal.attributes.derived_from, 'Service[demo]');
  await until(async () => !(await firing()).some((a: any) => a.service === 'systemd demo.service'), 'the alert resolved', 20_000);
  // the unit runs and stops again: nothing is declared about it any more, so nothing fires
  await ns.systemctl('start', 'demo.service');
  await ns.systemctl('stop', 'demo.service');
  const seen = await listAll<any>(server.url, `/api/v1/events?host=${HOST}&service=${encodeURIComponent('heartbeat')}&limit=1`, auth);
  assert.ok(seen.length > 0, 'the agent still reports');
  // a heartbeat sent after the stop has passed through the same pipeline: the agent emitted anything it had by then
  const after = Date.now();
  await until(async () => (await listAll<any>(server.url, `/api/v1/events?host=${HOST}&service=heartbeat&limit=5`, auth)).some((e) => e.time > after + 1000), 'a heartbeat after the stop', 20_000);
  assert.deepEqual((await firing()).filter((a: any) => a.service === 'systemd demo.service'), [], 'no alert for the undeclared unit');
  assert.deepEqual((await history()).filter((e) => e.time > removal.time && e.state !== 'ok'), [], 'the agent sent nothing but ok for the unit after it left the catalog');
  assert.equal(agent.exitCode, null, agent.output());
  agent.kill('SIGTERM');
  await exited(agent);
});
