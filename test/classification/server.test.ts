import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/core/log.js';
import type { BlickEvent } from '../../src/core/event.js';
import { Producer } from '../../src/transport/producer.js';
import { api, deferrals, listAll, runBlick, serverForTest, tempDir, until } from '../fixtures/blick.js';
import { serverProcess } from '../faults/processes.js';
import { HookReceiver } from '../alerting/hook.js';

// Issue #14, items 4–7, server side: desired state in, derived checks and check sets out,
// the `classified` and `never-seen` alerts nobody configured. A real `blick server` process.

const quiet = createLogger('test', { level: 'silent' });
const WRITE = 'write-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const SITE_PP = '/etc/puppet/code/environments/production/manifests/site.pp';

const TOKENS = [
  '  tokens:',
  `    - { token: ${WRITE}, role: write }`,
  `    - { token: ${READ}, role: read }`,
];
const CHECKS = [
  '  checks:',
  '    - name: nginx status',
  '      command: [/usr/lib/nagios/plugins/check_dummy, "0", "nginx fine"]',
  '      interval: 10s',
  '      subscriptions: [nginx]',
  '    - name: db replication',
  '      command: [/bin/true]',
  '      subscriptions: [db]',
  '    - name: only web-01',
  '      command: [/bin/true]',
  '      subscriptions: ["host:web-01"]',
  '    - name: nobody',
  '      command: [/bin/true]',
  '      subscriptions: [mail]',
];

/** A Puppet catalog's classification as the agent uploads it. */
function catalog(resources: unknown[], version = '1700000000') {
  return {
    source: 'puppet-catalog',
    origin: { catalog: '/var/lib/puppet/client_data/catalog/web-01.json', version, environment: 'production', time: 1_700_000_000_000 },
    classes: ['nginx', 'profile::web'], roles: [], resources, facts: { os: 'debian' },
  };
}
const DEMO = { type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: SITE_PP, line: 3 };
const MOTD = { type: 'File', title: '/etc/motd', parameters: { ensure: 'file' }, file: SITE_PP, line: 7 };
const CRON = { type: 'Cron', title: 'logrotate', parameters: { command: '/usr/sbin/logrotate' }, file: SITE_PP, line: 9 };

function put(url: string, host: string, body: unknown, token: string | null = WRITE) {
  return api(url, `/api/v1/hosts/${host}/classification`, {
    method: 'PUT', headers: { 'content-type': 'application/json', ...(token ? auth(token) : {}) }, body: JSON.stringify(body),
  });
}

test('classification API: PUT needs the write role; GET /hosts/:host shows it with derived checks and their origin; it survives a SIGKILL', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir, [...TOKENS, ...CHECKS]);
  await srv.start();

  assert.equal((await put(srv.url, 'web-01', catalog([DEMO]), null)).status, 401);
  const forbidden = await put(srv.url, 'web-01', catalog([DEMO]), READ);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.error.code, 'AUTH_FORBIDDEN');

  const bad = await put(srv.url, 'web-01', { source: 'ansible', origin: {}, resources: 'x' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BAD_REQUEST');
  assert.match(bad.body.error.message, /source/);

  const ok = await put(srv.url, 'web-01', catalog([DEMO, MOTD, CRON, { type: 'Exec', title: 'apt-get update', parameters: {} }]));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.host, 'web-01');
  assert.deepEqual(ok.body.derived.map((d: any) => [d.kind, d.target, d.service]), [
    ['service-running', 'demo.service', 'systemd demo.service'],
    ['file', '/etc/motd', 'file /etc/motd'],
  ]);

  const show = async () => {
    const h = await api(srv.url, '/api/v1/hosts/web-01', { headers: auth(READ) });
    assert.equal(h.status, 200, JSON.stringify(h.body));
    return h.body;
  };
  const host = await show();
  assert.equal(host.classification.length, 1);
  const c = host.classification[0];
  assert.equal(c.source, 'puppet-catalog');
  assert.deepEqual(c.classes, ['nginx', 'profile::web']);
  assert.equal(c.origin.catalog, '/var/lib/puppet/client_data/catalog/web-01.json');
  assert.deepEqual(c.resources.map((r: any) => `${r.type}[${r.title}]`), ['Service[demo]', 'File[/etc/motd]', 'Cron[logrotate]'], 'Exec is not kept; Cron is kept but derives nothing');
  assert.deepEqual(host.derived[0].origin, {
    source: 'puppet-catalog', catalog: '/var/lib/puppet/client_data/catalog/web-01.json', version: '1700000000',
    resource: 'Service[demo]', file: SITE_PP, line: 3,
  });
  const list = await listAll(srv.url, '/api/v1/hosts', { headers: auth(READ) });
  const row = list.find((h: any) => h.host === 'web-01');
  assert.ok(row, 'a host only a source knows is listed');
  assert.equal(row.derived, 2);
  assert.equal(row.classification[0].resources, 3);

  await srv.kill();
  await srv.start();
  const again = await show();
  assert.deepEqual(again.derived, host.derived, 'the desired state is kept across a SIGKILL');
  assert.deepEqual(again.classification, host.classification);

  // the CLI shows the derived checks with their origin, file:line uncut
  const cli = await runBlick(['hosts', 'web-01', '--url', srv.url, '--token', READ]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /classification from puppet-catalog \(\/var\/lib\/puppet\/client_data\/catalog\/web-01\.json, version 1700000000, production\), updated .*: 3 resource\(s\)/);
  assert.match(cli.stdout, /classes: nginx, profile::web/);
  assert.match(cli.stdout, /derived checks \(2\)\n {2}systemd demo\.service +service-running +Service\[demo\] \(\/etc\/puppet\/code\/environments\/production\/manifests\/site\.pp:3\) +puppet-catalog 1700000000\n {2}file \/etc\/motd +file +File\[\/etc\/motd\] \(.*site\.pp:7\)/);
  const json = JSON.parse((await runBlick(['hosts', 'web-01', '--json', '--url', srv.url, '--token', READ])).stdout);
  assert.deepEqual(json.derived, host.derived);
});

test('check set: server.checks by subscription (agent, Puppet class, host:), ETag, 304, and a long-poll that a PUT wakes', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir, [...TOKENS, ...CHECKS]);
  await srv.start();
  assert.equal((await put(srv.url, 'web-01', catalog([DEMO]))).status, 200);

  const get = (q: string, headers: Record<string, string> = {}) => api(srv.url, `/api/v1/hosts/web-01/checkset${q}`, { headers: { ...auth(READ), ...headers } });
  assert.equal((await api(srv.url, '/api/v1/hosts/web-01/checkset')).status, 401);
  const first = await get('?subscriptions=db,extra');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('etag'), `"${first.body.version}"`);
  assert.match(first.body.version, /^[0-9a-f]{64}$/);
  assert.deepEqual(first.body.subscriptions, ['db', 'extra', 'host:web-01', 'nginx', 'profile::web']);
  assert.deepEqual(first.body.checks.map((c: any) => [c.name, c.origin.subscription]), [['nginx status', 'nginx'], ['db replication', 'db'], ['only web-01', 'host:web-01']]);
  const nginx = first.body.checks[0];
  assert.deepEqual(nginx, {
    name: 'nginx status', command: ['/usr/lib/nagios/plugins/check_dummy', '0', 'nginx fine'], interval: '10000ms', timeout: '10000ms',
    timeout_state: 'critical', tags: [], origin: { source: 'server.checks', subscription: 'nginx' },
  });
  assert.deepEqual(first.body.derived.map((d: any) => d.service), ['systemd demo.service']);

  const etag = first.headers.get('etag')!;
  assert.equal((await get('?subscriptions=db,extra', { 'if-none-match': etag })).status, 304, 'unchanged without wait: 304 at once');
  assert.equal((await get('?subscriptions=db', { 'if-none-match': etag })).status, 200, 'other subscriptions, another set');
  const waited = await get('?subscriptions=db,extra&wait=1s', { 'if-none-match': etag });
  assert.equal(waited.status, 304, 'unchanged until the wait ends: 304');
  assert.equal((await get('?wait=2m')).status, 400, 'wait is bounded at 60s');

  // a long-poll held while a new catalog arrives answers with the new set
  const polling = get('?subscriptions=db,extra&wait=30s', { 'if-none-match': etag });
  await until(async () => (await (await fetch(`${srv.url}/metrics`, { headers: auth(READ) })).text()).includes('blick_checkset_waits 1'), 'the long-poll to be held');
  assert.equal((await put(srv.url, 'web-01', catalog([DEMO, MOTD], '1700000001'))).status, 200);
  const woken = await polling;
  assert.equal(woken.status, 200);
  assert.notEqual(woken.headers.get('etag'), etag);
  assert.deepEqual(woken.body.derived.map((d: any) => d.service), ['systemd demo.service', 'file /etc/motd']);

  // a host nobody classified still gets the checks of its own subscriptions
  const fresh = await api(srv.url, '/api/v1/hosts/db-07/checkset?subscriptions=db', { headers: auth(READ) });
  assert.deepEqual(fresh.body.checks.map((c: any) => c.name), ['db replication']);
  assert.deepEqual(fresh.body.derived, []);
});

test('classified: a derived check going critical fires an alert nobody configured, naming the resource and manifest line; once the resource is gone, none', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const hook = await new HookReceiver().start();
  defer(() => hook.stop());
  const srv = await serverProcess(defer, dir, [...TOKENS, '  notifiers:', `    ops: { type: webhook, url: ${JSON.stringify(hook.url)} }`]);
  await srv.start();
  assert.equal((await put(srv.url, 'web-01', catalog([DEMO, MOTD]))).status, 200);

  const producer = new Producer({ upstreams: [srv.ingest], spoolDir: join(dir, 'spool'), producer: 'classify-test', log: quiet, ackTimeoutMs: 500 });
  await producer.start();
  defer(() => producer.stop());
  let n = 0;
  const send = async (service: string, state: 'ok' | 'critical', description: string, attributes: Record<string, string> = { derived_from: 'Service[demo]', derived_file: SITE_PP, derived_line: '3' }) => {
    const e: BlickEvent = { id: `ev-${++n}`, host: 'web-01', service, state, description, tags: [], attributes, time: Date.now(), source: 'agent' };
    producer.send(e);
    await producer.drained();
  };
  const alerts = async (status: string) => (await api<any[]>(srv.url, `/api/v1/alerts?status=${status}`, { headers: auth(READ) })).body.filter((a) => a.rule === 'classified');

  await send('systemd demo.service', 'ok', 'demo.service is active (running)');
  await send('cpu', 'critical', 'not derived', {});
  await send('systemd demo.service', 'critical', 'demo.service is inactive (dead)');
  const fired = await until(() => hook.of('classified', 'firing', 'web-01')[0], 'the classified alert to reach the webhook');
  assert.equal(fired.body.service, 'systemd demo.service');
  assert.match(fired.body.description, /^Service\[demo\] \(\/etc\/puppet\/code\/environments\/production\/manifests\/site\.pp:3\) from puppet-catalog \/var\/lib\/puppet\/client_data\/catalog\/web-01\.json is not as declared on web-01: demo\.service is inactive \(dead\)$/);
  const firing = await alerts('firing');
  assert.deepEqual(firing.map((a) => a.service), ['systemd demo.service'], 'a check that is not derived (cpu) does not fire classified');

  // the resource leaves the catalog: the derived check goes, its alert resolves, its state is forgotten
  const put2 = await put(srv.url, 'web-01', catalog([MOTD], '1700000001'));
  assert.deepEqual(put2.body.derived.map((d: any) => d.service), ['file /etc/motd']);
  await until(() => hook.of('classified', 'resolved', 'web-01')[0], 'the classified alert to resolve');
  assert.deepEqual(await alerts('firing'), []);
  const checks = await api<any[]>(srv.url, '/api/v1/checks?host=web-01', { headers: auth(READ) });
  assert.deepEqual(checks.body.map((c) => c.service).sort(), ['cpu'], 'the derived check\'s state is forgotten');

  // an agent that has not yet fetched its new set still reports it: nothing fires
  await send('systemd demo.service', 'critical', 'still dead, late');
  await until(async () => (await api<any[]>(srv.url, '/api/v1/checks?host=web-01', { headers: auth(READ) })).body.some((c) => c.description === 'still dead, late'), 'the late event to be stored');
  assert.deepEqual(await alerts('firing'), [], 'no classified alert for a check that is no longer derived');
  assert.deepEqual(await alerts('pending'), []);
  assert.equal(hook.of('classified', 'firing').length, 1);
});

test('never seen: a classified host whose agent never reports raises never-seen after never_seen_after; its first agent event resolves it', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir, [...TOKENS, '  classification:', '    never_seen_after: 1s']);
  await srv.start();
  const t0 = Date.now();
  assert.equal((await put(srv.url, 'ghost-01', catalog([DEMO]))).status, 200);
  const alert = await until(async () => (await api<any[]>(srv.url, '/api/v1/alerts?status=firing', { headers: auth(READ) })).body.find((a) => a.rule === 'never-seen' && a.host === 'ghost-01'), 'the never-seen alert', 15_000);
  assert.ok(Date.now() - t0 >= 1000, 'not before never_seen_after');
  assert.equal(alert.service, 'blick never seen');
  assert.match(alert.description, /^ghost-01 is known to puppet-catalog since .*, but its agent never reported/);
  const ghost = (await api(srv.url, '/api/v1/hosts/ghost-01', { headers: auth(READ) })).body;
  assert.equal(ghost.last_seen, null, 'the server\'s never seen event is not the host being seen');

  const producer = new Producer({ upstreams: [srv.ingest], spoolDir: join(dir, 'spool'), producer: 'ghost-agent', log: quiet, ackTimeoutMs: 500 });
  await producer.start();
  defer(() => producer.stop());
  producer.send({ id: 'hb-1', host: 'ghost-01', service: 'heartbeat', state: 'ok', description: '', tags: [], attributes: {}, time: Date.now(), source: 'agent' });
  await producer.drained();
  await until(async () => (await api<any[]>(srv.url, '/api/v1/alerts?status=resolved', { headers: auth(READ) })).body.find((a) => a.id === alert.id), 'the never-seen alert to resolve');
  const check = (await api<any[]>(srv.url, '/api/v1/checks?host=ghost-01', { headers: auth(READ) })).body.find((c) => c.service === 'blick never seen');
  assert.equal(check.state, 'ok');
});

test('DELETE /api/v1/hosts/:host forgets the classification too; a server stopping answers its held long-polls (304) instead of waiting for them', async (t) => {
  const { server, defer } = await serverForTest(t, { tokens: [{ token: WRITE, role: 'write' }, { token: READ, role: 'read' }] });
  let running = true;
  defer(() => (running ? server.stop() : undefined));
  assert.equal((await put(server.url, 'web-01', catalog([DEMO]))).status, 200);
  assert.equal((await put(server.url, 'gone-01', catalog([DEMO]))).status, 200);
  const del = await api(server.url, '/api/v1/hosts/gone-01', { method: 'DELETE', headers: auth(WRITE) });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual(del.body, { host: 'gone-01', deleted: [] });
  assert.equal((await api(server.url, '/api/v1/hosts/gone-01', { headers: auth(READ) })).status, 404);
  assert.equal((await api(server.url, '/api/v1/hosts/gone-01', { method: 'DELETE', headers: auth(WRITE) })).status, 404);

  const first = await api(server.url, '/api/v1/hosts/web-01/checkset', { headers: auth(READ) });
  // a client that gives up is no longer held
  const abort = new AbortController();
  const given = fetch(`${server.url}/api/v1/hosts/web-01/checkset?wait=60s`, { headers: { ...auth(READ), 'if-none-match': first.headers.get('etag')! }, signal: abort.signal }).catch(() => 'aborted');
  await until(() => server.classification.waits.size === 1, 'the first long-poll to be held');
  abort.abort();
  assert.equal(await given, 'aborted');
  await until(() => server.classification.waits.size === 0, 'the aborted long-poll to be let go');

  const polling = api(server.url, '/api/v1/hosts/web-01/checkset?wait=60s', { headers: { ...auth(READ), 'if-none-match': first.headers.get('etag')! } });
  await until(() => server.classification.waits.size === 1, 'the long-poll to be held');
  let answered = false;
  void polling.then(() => { answered = true; });
  running = false;
  const stopping = server.stop();
  // answered at once (the wait was 60 s), and so the stop does not wait a minute for it
  await until(() => answered, 'the held long-poll to be answered when the server stops');
  assert.equal((await polling).status, 304);
  await stopping;
});

test('server.checks and server.classification are checked when the configuration loads, each problem with FILE:LINE', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, [
    'server:',
    '  classification:',
    '    never_seen_after: soon',
    '  checks:',
    '    - { name: http, command: [/bin/true] }',
    '    - { name: db, command: [/bin/true], subscriptions: ["db primary"] }',
    '    - { name: db, command: [/bin/true], subscriptions: [db], interval: 5s }',
    '  routes:',
    '    - { match: { rule: classified }, notify: [ops] }',
    '  notifiers: { ops: { type: log } }',
  ].join('\n') + '\n');
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`${file}:3: key server\\.classification\\.never_seen_after: "soon" is not a duration`));
  assert.match(r.stderr, new RegExp(`${file}:5: key server\\.checks\\.0\\.subscriptions: `));
  assert.match(r.stderr, new RegExp(`${file}:6: key server\\.checks\\.1\\.subscriptions\\.0: a subscription has no spaces or commas`));
  assert.doesNotMatch(r.stderr, /routes/, 'a route may name the built-in classified rule');
  // names are compared once every entry is valid
  writeFileSync(file, ['server:', '  checks:', '    - { name: db, command: [/bin/true], subscriptions: [db] }', '    - { name: db, command: [/bin/false], subscriptions: [web] }'].join('\n') + '\n');
  const dup = await runBlick(['check-config', file]);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, new RegExp(`${file}:4: key server\\.checks\\.1\\.name: check name "db" is used twice in server\\.checks`));
});
