import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/core/log.js';
import { Registry } from '../../src/core/metrics.js';
import type { ClassificationSource, DesiredState, DesiredStateSink } from '../../src/server/classification/types.js';
import { PuppetdbPoller, puppetdbConfigSchema } from '../../src/server/classification/puppetdb/index.js';
import { PuppetdbRequestError } from '../../src/server/classification/puppetdb/client.js';
import { hasProgram, missing } from '../agent/require.js';
import { api, deferrals, metric, startServer, tempDir, until } from '../fixtures/blick.js';
import { serverProcess } from '../faults/processes.js';
import { makePki, type TestPki } from '../fixtures/pki.js';
import { nodeRow, PuppetdbStandIn } from '../fixtures/puppetdb.js';

/** A sink that records what it is told. */
class RecordingSink implements DesiredStateSink {
  readonly updates: DesiredState[] = [];
  readonly forgotten: [string, ClassificationSource][] = [];
  readonly current = new Map<string, DesiredState>();
  async update(s: DesiredState): Promise<void> { this.updates.push(s); this.current.set(s.host, s); }
  async forget(host: string, source: ClassificationSource): Promise<void> { this.forgotten.push([host, source]); this.current.delete(host); }
}

const SITE = '/etc/puppetlabs/code/environments/production/manifests/site.pp';

/** The stand-in's fleet: web-01 and db-01 active, old-01 deactivated. */
function fleet(pdb: PuppetdbStandIn): void {
  pdb.nodes.set('web-01', nodeRow('web-01'));
  pdb.nodes.set('db-01', nodeRow('db-01', { catalog_environment: 'staging' }));
  pdb.nodes.set('old-01', nodeRow('old-01', { deactivated: '2026-11-30T08:00:00.000Z' }));
  pdb.resources.set('web-01', [
    { type: 'Class', title: 'Settings', file: null, line: null, parameters: {} },
    { type: 'Class', title: 'main', file: null, line: null, parameters: { name: 'main' } },
    { type: 'Class', title: 'Nginx', file: SITE, line: 1, parameters: {} },
    { type: 'Class', title: 'Profile::Web', file: SITE, line: 2, parameters: {} },
    { type: 'Service', title: 'nginx', file: '/etc/puppetlabs/code/environments/production/modules/nginx/manifests/init.pp', line: 14, parameters: { ensure: 'running', enable: true } },
    { type: 'Package', title: 'nginx', file: SITE, line: 5, parameters: { ensure: 'installed' } },
    { type: 'File', title: '/etc/nginx/nginx.conf', file: SITE, line: 6, parameters: { ensure: 'file', content: 'x'.repeat(100_000), owner: 'root' } },
    { type: 'Mount', title: '/srv', file: SITE, line: 9, parameters: { ensure: 'mounted', device: '/dev/vdb1' } },
    { type: 'Cron', title: 'logrotate', file: SITE, line: 12, parameters: { command: '/usr/sbin/logrotate', hour: 3 } },
    { type: 'Exec', title: 'apt-get update', file: SITE, line: 20, parameters: {} },
    { type: 'User', title: 'deploy', file: SITE, line: 22, parameters: { ensure: 'present' } },
  ]);
  pdb.resources.set('db-01', [
    { type: 'Class', title: 'Postgresql::Server', file: SITE, line: 30, parameters: {} },
    { type: 'Service', title: 'postgresql', file: SITE, line: 31, parameters: { ensure: 'running' } },
  ]);
  pdb.resources.set('old-01', [{ type: 'Service', title: 'gone', file: SITE, line: 40, parameters: { ensure: 'running' } }]);
  pdb.facts.set('web-01', { kernel: 'Linux', os: { family: 'Debian', release: { major: '12', full: '12.8' } }, processors: { count: 4, models: ['a', 'b'] } });
  pdb.facts.set('db-01', { kernel: 'Linux' });
}

async function setup(t: { after(fn: () => unknown): void }): Promise<{ pki: TestPki; pdb: PuppetdbStandIn; defer: (fn: () => unknown) => void }> {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir('blick-pdb-');
  defer(cleanup);
  const pki = makePki(dir);
  const pdb = new PuppetdbStandIn(pki);
  await pdb.start();
  defer(() => pdb.stop());
  fleet(pdb);
  return { pki, pdb, defer };
}

function poller(pdb: PuppetdbStandIn, pki: TestPki, over: Record<string, unknown> = {}, sink = new RecordingSink(), metrics = new Registry()) {
  const config = puppetdbConfigSchema.parse({ url: pdb.url, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, page_size: 2, interval: '1h', ...over });
  return { p: new PuppetdbPoller(config, { sink, metrics, log: createLogger('test', { level: 'silent' }) }), sink, metrics };
}

test('a poller with the client certificate learns every node\'s resources, classes and facts from a PuppetDB that requires one', async (t) => {
  if (!(await hasProgram('openssl'))) return missing(t, 'openssl', 'apt-get install openssl');
  const { pki, pdb, defer } = await setup(t);
  const { p, sink, metrics } = poller(pdb, pki);
  defer(() => p.stop());

  const first = await p.pollOnce();
  assert.deepEqual(first, { nodes: 3, updated: 2, unchanged: 0, forgotten: 0, skipped: 0, truncated: false });
  assert.deepEqual([...sink.current.keys()].sort(), ['db-01', 'web-01'], 'the deactivated node is not classified');
  const web = sink.current.get('web-01')!;
  assert.equal(web.source, 'puppetdb');
  assert.deepEqual(web.origin, { catalog: pdb.url, version: '2026-12-01T10:00:00.000Z', environment: 'production', time: Date.parse('2026-12-01T10:00:00.000Z') });
  assert.deepEqual(web.classes, ['nginx', 'profile::web'], 'lower case, without Settings and main');
  assert.deepEqual(web.resources.map((r) => `${r.type}[${r.title}]`), ['Cron[logrotate]', 'File[/etc/nginx/nginx.conf]', 'Mount[/srv]', 'Package[nginx]', 'Service[nginx]'], 'only the types checks derive from');
  const svc = web.resources.find((r) => r.type === 'Service')!;
  assert.deepEqual(svc, { type: 'Service', title: 'nginx', parameters: { ensure: 'running', enable: true }, file: '/etc/puppetlabs/code/environments/production/modules/nginx/manifests/init.pp', line: 14 });
  assert.deepEqual(web.resources.find((r) => r.type === 'File')!.parameters, { ensure: 'file', owner: 'root' }, 'a file\'s content is not kept');
  assert.deepEqual(web.facts, { kernel: 'Linux', 'os.family': 'Debian', 'os.release.major': '12', 'os.release.full': '12.8', 'processors.count': '4' });
  assert.equal(sink.current.get('db-01')!.origin.environment, 'staging');
  // the documented paging: page_size 2 means several pages, each with limit, offset and a stable order
  const nodePages = pdb.requests.filter((r) => r.startsWith('/pdb/query/v4/nodes'));
  assert.equal(nodePages.length, 2);
  for (const r of nodePages) {
    const u = new URL(r, 'https://x');
    assert.deepEqual(JSON.parse(u.searchParams.get('order_by')!), [{ field: 'certname', order: 'asc' }]);
    assert.equal(u.searchParams.get('limit'), '2');
  }
  assert.deepEqual(nodePages.map((r) => new URL(r, 'https://x').searchParams.get('offset')), ['0', '2']);
  assert.ok(pdb.requests.filter((r) => r.startsWith('/pdb/query/v4/resources')).length >= 3, 'web-01\'s resources took several pages');
  assert.equal(metric(metrics.render(), 'blick_puppetdb_nodes'), 2);

  // unchanged catalogs are not read again
  const before = pdb.requests.length;
  assert.deepEqual(await p.pollOnce(), { nodes: 3, updated: 0, unchanged: 2, forgotten: 0, skipped: 0, truncated: false });
  assert.equal(pdb.requests.length - before, 2, 'only the node list');

  // a new catalog is read; a deactivated node is forgotten; a purged one too
  pdb.nodes.set('web-01', nodeRow('web-01', { catalog_timestamp: '2026-12-01T10:30:00.000Z' }));
  pdb.resources.set('web-01', [{ type: 'Service', title: 'nginx', file: SITE, line: 3, parameters: { ensure: 'stopped' } }]);
  pdb.nodes.set('db-01', nodeRow('db-01', { deactivated: '2026-12-01T10:20:00.000Z' }));
  assert.deepEqual(await p.pollOnce(), { nodes: 3, updated: 1, unchanged: 0, forgotten: 1, skipped: 0, truncated: false });
  assert.deepEqual(sink.forgotten, [['old-01', 'puppetdb'], ['db-01', 'puppetdb']], 'old-01 once (the book may hold it from before a restart), db-01 when deactivated');
  assert.deepEqual(sink.current.get('web-01')!.resources, [{ type: 'Service', title: 'nginx', parameters: { ensure: 'stopped' }, file: SITE, line: 3 }]);
  assert.deepEqual(sink.current.get('web-01')!.classes, []);
  pdb.nodes.delete('web-01');
  assert.equal((await p.pollOnce()).forgotten, 1);
  assert.deepEqual(sink.forgotten.at(-1), ['web-01', 'puppetdb']);
  assert.equal(metric(metrics.render(), 'blick_puppetdb_nodes_forgotten_total'), 2);
});

test('a poller without the client certificate, or with a stranger\'s, fails loudly, is counted, and changes nothing', async (t) => {
  if (!(await hasProgram('openssl'))) return missing(t, 'openssl', 'apt-get install openssl');
  const { pki, pdb, defer } = await setup(t);
  for (const [what, over] of [['no certificate', { cert: undefined, key: undefined }], ['another CA\'s certificate', { cert: pki.stranger.cert, key: pki.stranger.key }]] as const) {
    const sink = new RecordingSink();
    const { p, metrics } = poller(pdb, pki, over, sink);
    defer(() => p.stop());
    await assert.rejects(p.pollOnce(), (e: unknown) => e instanceof PuppetdbRequestError && e.reason === 'tls', what);
    assert.equal(metric(metrics.render(), 'blick_puppetdb_poll_failures_total{reason="tls"}'), 1, what);
    assert.equal(metric(metrics.render(), 'blick_puppetdb_polls_total{result="failed"}'), 1, what);
    assert.deepEqual(sink.updates, [], what);
  }
  assert.ok(pdb.refusedHandshakes >= 2, 'the stand-in refused the handshakes');
  assert.equal(pdb.requests.length, 0, 'no request got through');
});

test('the running poller keeps the last good state while PuppetDB is away, and bounds nodes and resources', async (t) => {
  if (!(await hasProgram('openssl'))) return missing(t, 'openssl', 'apt-get install openssl');
  const { pki, pdb, defer } = await setup(t);
  const { p, sink, metrics } = poller(pdb, pki, { interval: '50ms', timeout: '2s' });
  await p.start();
  defer(() => p.stop());
  await until(() => sink.current.size === 2, 'the first poll of the running component');
  await pdb.stop();
  await until(() => metric(metrics.render(), 'blick_puppetdb_poll_failures_total{reason="connect"}') >= 2, 'failed polls while PuppetDB is down');
  assert.deepEqual([...sink.current.keys()].sort(), ['db-01', 'web-01'], 'nothing forgotten while PuppetDB is away');
  assert.deepEqual(sink.forgotten, [['old-01', 'puppetdb']], 'only the node PuppetDB listed as deactivated');
  await p.stop();

  const pdb2 = new PuppetdbStandIn(pki);
  await pdb2.start();
  defer(() => pdb2.stop());
  fleet(pdb2);
  const bounded = poller(pdb2, pki, { max_nodes: 2, max_resources: 3 });
  defer(() => bounded.p.stop());
  const s = await bounded.p.pollOnce();
  // certname order: db-01, old-01 are read; web-01 is beyond max_nodes
  assert.deepEqual(s, { nodes: 2, updated: 1, unchanged: 0, forgotten: 0, skipped: 0, truncated: true });
  assert.equal(metric(bounded.metrics.render(), 'blick_puppetdb_nodes_skipped_total{reason="max_nodes"}'), 1);
  const wide = poller(pdb2, pki, { max_resources: 3 });
  defer(() => wide.p.stop());
  assert.equal((await wide.p.pollOnce()).skipped, 1, 'web-01 has more than 3 resources');
  assert.equal(metric(wide.metrics.render(), 'blick_puppetdb_nodes_skipped_total{reason="max_resources"}'), 1);
  assert.deepEqual([...wide.sink.current.keys()], ['db-01']);
});

test('a real `blick server` with server.puppetdb knows every PuppetDB node\'s resources and derived checks; without the client certificate it says so and counts it', async (t) => {
  if (!(await hasProgram('openssl'))) return missing(t, 'openssl', 'apt-get install openssl');
  const { pki, pdb, defer } = await setup(t);
  const READ = 'read-token-0123456789abcdef';
  const auth = { headers: { authorization: `Bearer ${READ}` } };
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir, ['  tokens:', `    - { token: ${READ}, role: read }`, '  puppetdb:',
    `    url: ${pdb.url}`, `    ca: ${pki.ca}`, `    cert: ${pki.client.cert}`, `    key: ${pki.client.key}`, '    interval: 200ms', '    page_size: 2']);
  await srv.start();
  const web = await until(async () => { const r = await api(srv.url, '/api/v1/hosts/web-01', auth); return r.status === 200 ? r.body : undefined; }, 'web-01 classified from PuppetDB');
  const pdbState = web.classification.find((c: any) => c.source === 'puppetdb');
  assert.deepEqual(pdbState.classes, ['nginx', 'profile::web']);
  assert.deepEqual(pdbState.resources.map((r: any) => `${r.type}[${r.title}]`), ['Cron[logrotate]', 'File[/etc/nginx/nginx.conf]', 'Mount[/srv]', 'Package[nginx]', 'Service[nginx]']);
  const svc = web.derived.find((d: any) => d.service === 'systemd nginx.service');
  assert.deepEqual(svc.origin, { source: 'puppetdb', catalog: pdb.url, version: '2026-12-01T10:00:00.000Z', resource: 'Service[nginx]', file: '/etc/puppetlabs/code/environments/production/modules/nginx/manifests/init.pp', line: 14 });
  const db = await api(srv.url, '/api/v1/hosts/db-01', auth);
  assert.deepEqual(db.body.derived.map((d: any) => d.service), ['systemd postgresql.service']);
  assert.equal((await api(srv.url, '/api/v1/hosts/old-01', auth)).status, 404, 'a deactivated node is not classified');
  const cs = await api(srv.url, '/api/v1/hosts/web-01/checkset', auth);
  assert.ok(cs.body.subscriptions.includes('nginx'), 'PuppetDB\'s classes subscribe the node');

  // deactivated in PuppetDB: forgotten by the server
  pdb.nodes.set('db-01', nodeRow('db-01', { deactivated: '2026-12-01T10:20:00.000Z' }));
  await until(async () => (await api(srv.url, '/api/v1/hosts/db-01', auth)).status === 404, 'db-01 forgotten after its deactivation');
  // expired while the server was down: the server keeps desired state across a restart, and still forgets it
  await srv.stop();
  pdb.nodes.set('web-01', nodeRow('web-01', { expired: '2026-12-01T11:00:00.000Z' }));
  await srv.start();
  await until(async () => (await api(srv.url, '/api/v1/hosts/web-01', auth)).status === 404, 'web-01 forgotten after the restart');

  // the same server without a client certificate: every poll refused in the TLS handshake, counted and logged
  const { dir: dir2, cleanup: cleanup2 } = tempDir();
  defer(cleanup2);
  const bare = await serverProcess(defer, dir2, ['  puppetdb:', `    url: ${pdb.url}`, `    ca: ${pki.ca}`, '    interval: 200ms']);
  const child = await bare.start();
  await until(async () => metric(await (await fetch(`${bare.url}/metrics`)).text(), 'blick_puppetdb_poll_failures_total{reason="tls"}') >= 1, 'a counted TLS failure');
  await until(() => /PuppetDB refused the TLS connection/.test(child.output()), 'the failure in the server log');
  assert.equal((await api(bare.url, '/api/v1/hosts/web-01')).status, 404);
});

test('server.puppetdb\'s PEM files are read at start: a missing or wrong one stops the server with a config error', async (t) => {
  if (!(await hasProgram('openssl'))) return missing(t, 'openssl', 'apt-get install openssl');
  const { pki, pdb, defer } = await setup(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const base = { url: pdb.url, ca: pki.ca, cert: pki.client.cert, key: pki.client.key };
  await assert.rejects(startServer({ dataDir: dir, config: { puppetdb: { ...base, cert: `${dir}/nope.pem` } } }), (e: any) => e.code === 'CONFIG_UNREADABLE' && /server\.puppetdb\.cert: cannot read/.test(e.message));
  await assert.rejects(startServer({ dataDir: dir, config: { puppetdb: { ...base, key: pki.stranger.key } } }), (e: any) => e.code === 'CONFIG_INVALID' && /server\.puppetdb: ca, cert and key must be PEM files/.test(e.message));
  assert.throws(() => puppetdbConfigSchema.parse({ url: 'http://puppetdb:8080' }), /https:\/\//);
  assert.throws(() => puppetdbConfigSchema.parse({ url: 'https://puppetdb:8081', cert: pki.client.cert }), /cert: and key: together/);
});
