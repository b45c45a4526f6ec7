import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassificationSource, DesiredState, DesiredStateSink } from '../../src/server/classification/types.js';
import { api, listAll, metric, ROOT, serverForTest, startServer, tempDir, deferrals } from '../fixtures/blick.js';
import { serverProcess } from '../faults/processes.js';

const TOKEN = 'chef-data-collector-token-0123456789';
const READ = 'read-token-0123456789abcdef';
const payload = (name: string) => readFileSync(join(ROOT, 'src', 'server', 'classification', 'chef', 'testdata', name), 'utf8');

class RecordingSink implements DesiredStateSink {
  readonly current = new Map<string, DesiredState>();
  updates = 0;
  async update(s: DesiredState): Promise<void> { this.updates++; this.current.set(s.host, s); }
  async forget(host: string, _source: ClassificationSource): Promise<void> { this.current.delete(host); }
}

const post = (base: string, body: string, headers: Record<string, string> = {}) =>
  api(base, '/api/v1/chef/data-collector', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

test('Chef run_converge: a wrong or missing token is 401, the right one (and no bearer token) classifies the node and makes a chef run event', async (t) => {
  const sink = new RecordingSink();
  const { server } = await serverForTest(t, { tokens: [{ token: READ, role: 'read' }], chef: { token: TOKEN } }, { desiredState: sink });
  const base = server.url;
  const auth = { authorization: `Bearer ${READ}` };

  const none = await post(base, payload('run_converge_success.json'));
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'AUTH_REQUIRED');
  assert.match(none.body.error.message, /x-data-collector-token/);
  const wrong = await post(base, payload('run_converge_success.json'), { 'x-data-collector-token': `${TOKEN}x` });
  assert.equal(wrong.status, 401);
  const bearerOnly = await post(base, payload('run_converge_success.json'), { authorization: `Bearer ${READ}` });
  assert.equal(bearerOnly.status, 401, 'an API token is not a data-collector token');
  assert.equal(sink.updates, 0);

  const start = await post(base, payload('run_start.json'), { 'x-data-collector-token': TOKEN });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  assert.deepEqual(start.body, { host: 'web-02.example.org', message_type: 'run_start' });
  const ok = await post(base, payload('run_converge_success.json'), { 'x-data-collector-token': TOKEN });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body, { host: 'web-02.example.org', message_type: 'run_converge', status: 'success', resources: 6, ignored: 2, kept_last_state: false });
  const state = sink.current.get('web-02.example.org')!;
  assert.equal(state.source, 'chef');
  assert.ok(state.resources.some((r) => r.type === 'Service' && r.title === 'nginx' && r.parameters.ensure === 'running'));
  assert.ok(state.roles.includes('web'));

  const checks = await listAll(base, '/api/v1/checks?host=web-02.example.org', { headers: auth });
  const run = checks.find((c) => c.service === 'chef run');
  assert.ok(run, JSON.stringify(checks));
  assert.equal(run.state, 'ok');
  assert.match(run.description, /Chef run 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d succeeded/);

  const failed = await post(base, payload('run_converge_failure.json'), { 'x-data-collector-token': TOKEN });
  assert.equal(failed.status, 200, JSON.stringify(failed.body));
  const after = (await listAll(base, '/api/v1/checks?host=web-02.example.org', { headers: auth })).find((c) => c.service === 'chef run');
  assert.equal(after.state, 'critical');
  assert.match(after.description, /^Chef run 0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d failed: apt_package\[nginx\] \(nginx::default\): Mixlib::ShellOut::ShellCommandFailed/);
  const events = await listAll(base, '/api/v1/events?host=web-02.example.org&service=chef%20run', { headers: auth });
  assert.deepEqual(events.map((e) => [e.state, e.source]).sort(), [['critical', 'server'], ['ok', 'server']]);

  const m = await (await fetch(`${base}/metrics`, { headers: auth })).text();
  assert.equal(metric(m, 'blick_chef_messages_rejected_total{reason="token"}'), 3);
  assert.equal(metric(m, 'blick_chef_messages_total{type="run_converge"}'), 2);
  assert.equal(metric(m, 'blick_chef_runs_failed_total'), 1);
});

test('Chef data collector: malformed JSON and an unknown message are 400, a body over max_body_bytes 413, all counted; the server keeps serving', async (t) => {
  const sink = new RecordingSink();
  const sha256 = createHash('sha256').update(TOKEN).digest('hex');
  const { server } = await serverForTest(t, { chef: { sha256, max_body_bytes: 65536, max_resources: 5 } }, { desiredState: sink });
  const base = server.url;
  const h = { 'x-data-collector-token': TOKEN };
  const broken = await post(base, '{"message_type": "run_converge", "node_name": ', h);
  assert.equal(broken.status, 400);
  assert.equal(broken.body.error.code, 'BAD_REQUEST');
  const action = await post(base, JSON.stringify({ message_type: 'action', node_name: 'x' }), h);
  assert.equal(action.status, 400);
  assert.match(action.body.error.message, /message_type "action"/);
  const big = await post(base, JSON.stringify({ message_type: 'run_converge', pad: 'x'.repeat(70_000) }), h);
  assert.equal(big.status, 413);
  const many = await post(base, payload('run_converge_success.json'), h);
  assert.equal(many.status, 413, 'nine resource records, max_resources 5');
  assert.match(many.body.error.message, /max_resources \(5\)/);
  assert.equal(sink.updates, 0);
  const m = await (await fetch(`${base}/metrics`)).text();
  assert.equal(metric(m, 'blick_chef_messages_rejected_total{reason="invalid"}'), 2);
  assert.equal(metric(m, 'blick_chef_messages_rejected_total{reason="too_large"}'), 2);
  assert.equal((await post(base, payload('run_start.json'), h)).status, 200, 'still serving');
});

test('Chef data collector: wrong tokens from one address are throttled like bearer tokens; a missing one is not a guess', async (t) => {
  const sink = new RecordingSink();
  const { server } = await serverForTest(t, { chef: { token: TOKEN }, auth_failures: { max: 3, window: '1h' } }, { desiredState: sink });
  for (let i = 0; i < 5; i++) assert.equal((await post(server.url, payload('run_start.json'))).status, 401, 'no token: 401, never 429');
  for (let i = 0; i < 3; i++) assert.equal((await post(server.url, payload('run_start.json'), { 'x-data-collector-token': `guess-${i}-0123456789abcdef` })).status, 401);
  const blocked = await post(server.url, payload('run_converge_success.json'), { 'x-data-collector-token': TOKEN });
  assert.equal(blocked.status, 429);
  assert.equal(blocked.body.error.code, 'AUTH_THROTTLED');
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  assert.equal(sink.updates, 0);
  const m = await (await fetch(`${server.url}/metrics`)).text();
  assert.equal(metric(m, 'blick_chef_messages_rejected_total{reason="throttled"}'), 1);
});

test('a run the server\'s book refuses (server.classification.max_resources) is answered with the refusal, and its chef run event is still made', async (t) => {
  const { server } = await serverForTest(t, { chef: { token: TOKEN }, classification: { max_resources: 2 } });
  const r = await post(server.url, payload('run_converge_success.json'), { 'x-data-collector-token': TOKEN });
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'CLASSIFICATION_TOO_LARGE');
  const run = (await listAll(server.url, '/api/v1/checks?host=web-02.example.org&service=chef%20run'))[0];
  assert.equal(run?.state, 'ok');
  assert.equal((await api(server.url, '/api/v1/hosts/web-02.example.org')).body.derived.length, 0);
});

test('without server.chef there is no data-collector route; token_file is read at start', async (t) => {
  const { server } = await serverForTest(t);
  assert.equal((await post(server.url, payload('run_start.json'), { 'x-data-collector-token': TOKEN })).status, 404);
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'chef-token');
  writeFileSync(file, `${TOKEN}\n`);
  const sink = new RecordingSink();
  const s2 = await startServer({ dataDir: dir, config: { chef: { token_file: file } }, deps: { desiredState: sink } });
  defer(() => s2.stop());
  assert.equal((await post(s2.url, payload('run_start.json'), { 'x-data-collector-token': TOKEN })).status, 200);
  await assert.rejects(startServer({ dataDir: dir, config: { chef: { token_file: join(dir, 'missing') } }, deps: { desiredState: sink } }), /server\.chef\.token_file: cannot read/);
});

test('a real `blick server`: a Chef run_converge with the right token gives the node derived checks in GET /api/v1/hosts/:host, a wrong one 401, a failed run a critical `chef run`', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir, ['  tokens:', `    - { token: ${READ}, role: read }`, '  chef:', `    token: ${TOKEN}`]);
  await srv.start();
  const auth = { headers: { authorization: `Bearer ${READ}` } };
  const host = '/api/v1/hosts/web-02.example.org';

  assert.equal((await post(srv.url, payload('run_converge_success.json'), { 'x-data-collector-token': 'not-the-token-at-all-0000' })).status, 401);
  assert.equal((await post(srv.url, payload('run_converge_success.json'))).status, 401);
  assert.equal((await api(srv.url, host, auth)).status, 404, 'nothing classified by a refused run');

  assert.equal((await post(srv.url, payload('run_converge_success.json'), { 'x-data-collector-token': TOKEN })).status, 200);
  const h = await api(srv.url, host, auth);
  assert.equal(h.status, 200, JSON.stringify(h.body));
  const chef = h.body.classification.find((c: any) => c.source === 'chef');
  assert.ok(chef, JSON.stringify(h.body.classification));
  assert.equal(chef.origin.version, '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
  assert.ok(chef.roles.includes('web'));
  const derived = Object.fromEntries(h.body.derived.map((d: any) => [d.service, d]));
  assert.deepEqual(Object.keys(derived).sort(), ['disk /srv', 'file /etc/nginx/nginx.conf', 'package nginx', 'systemd apache2.service', 'systemd nginx.service']);
  assert.equal(derived['systemd nginx.service'].kind, 'service-running');
  assert.equal(derived['systemd apache2.service'].kind, 'service-stopped');
  assert.deepEqual(derived['systemd nginx.service'].origin, { source: 'chef', catalog: 'https://chef.example.org/organizations/ops', version: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', resource: 'Service[nginx]', file: 'nginx::default' });
  const checkset = await api(srv.url, `${host}/checkset`, auth);
  assert.equal(checkset.status, 200);
  assert.ok(checkset.body.subscriptions.includes('web'), 'the Chef role subscribes the node');
  assert.equal(checkset.body.derived.length, 5);

  assert.equal((await post(srv.url, payload('run_converge_failure.json'), { 'x-data-collector-token': TOKEN })).status, 200);
  const run = (await listAll(srv.url, '/api/v1/checks?host=web-02.example.org&service=chef%20run', auth))[0];
  assert.equal(run.state, 'critical');
  assert.match(run.description, /failed: apt_package\[nginx\]/);
  // the failed run listed the resources it had (nginx package and service): they are what Chef says now
  const after = await api(srv.url, host, auth);
  assert.deepEqual(after.body.derived.map((d: any) => d.service).sort(), ['package nginx', 'systemd nginx.service']);
});
