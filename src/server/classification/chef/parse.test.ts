import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isBlickError } from '../../../core/errors.js';
import { desiredStateSchema } from '../schema.js';
import { parseChefMessage, type ChefMessage } from './parse.js';

const td = fileURLToPath(new URL('../../../../../src/server/classification/chef/testdata/', import.meta.url));
const load = (name: string): Record<string, any> => JSON.parse(readFileSync(td + name, 'utf8'));
const opts = { maxResources: 10_000, maxFacts: 500, now: () => 1_000 };
const converge = (body: unknown) => parseChefMessage(body, opts) as Extract<ChefMessage, { type: 'run_converge' }>;

test('a run_start names the node and the run, and nothing else', () => {
  const m = parseChefMessage(load('run_start.json'), opts);
  assert.deepEqual(m, { type: 'run_start', host: 'web-02.example.org', runId: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', time: Date.parse('2026-12-01T10:00:00Z') });
});

test('a successful run_converge maps services, packages, templates, mounts and crons to Puppet resources', () => {
  const m = converge(load('run_converge_success.json'));
  assert.equal(m.status, 'success');
  assert.equal(m.time, Date.parse('2026-12-01T10:00:42Z'));
  const s = m.state;
  assert.equal(s.source, 'chef');
  assert.equal(s.host, 'web-02.example.org');
  assert.deepEqual(s.origin, { catalog: 'https://chef.example.org/organizations/ops', version: '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', environment: 'production', time: Date.parse('2026-12-01T10:00:42Z') });
  const byKey = Object.fromEntries(s.resources.map((r) => [`${r.type}[${r.title}]`, r]));
  assert.deepEqual(Object.keys(byKey).sort(), ['Cron[logrotate-nginx]', 'File[/etc/nginx/nginx.conf]', 'Mount[/srv]', 'Package[nginx]', 'Service[apache2]', 'Service[nginx]']);
  // two action records (enable, start) are one resource
  assert.deepEqual(byKey['Service[nginx]']!.parameters, { ensure: 'running', enable: true });
  assert.deepEqual(byKey['Service[nginx]']!.chef, { type: 'service', name: 'nginx', actions: ['enable', 'start'], cookbook: 'nginx', recipe: 'default' });
  assert.equal(byKey['Service[nginx]']!.file, 'nginx::default');
  assert.deepEqual(byKey['Service[apache2]']!.parameters, { ensure: 'stopped' });
  assert.deepEqual(byKey['Package[nginx]']!.parameters, { ensure: 'installed', version: '1.22.1-9' });
  assert.deepEqual(byKey['File[/etc/nginx/nginx.conf]']!.parameters, { ensure: 'file', owner: 'root', group: 'root', mode: '0644' });
  assert.deepEqual(byKey['Mount[/srv]']!.parameters, { ensure: 'mounted', device: '/dev/vdb1', fstype: 'ext4' });
  assert.equal(byKey['Cron[logrotate-nginx]']!.parameters.command, '/usr/sbin/logrotate /etc/logrotate.d/nginx');
  // execute is no type Blick watches; the file behind only_if was skipped
  assert.equal(m.ignored, 2);
  assert.deepEqual(s.roles, ['web', 'recipe[nginx::default]', 'recipe[base::cron]']);
  assert.equal(s.facts!.platform, 'debian');
  assert.equal(s.facts!['kernel.release'], '6.1.0-28-amd64');
  assert.equal(s.facts!.chef_environment, 'production');
  assert.equal(m.error, undefined);
});

test('a failed run_converge says which resource failed and why, and keeps its unprocessed resources', () => {
  const m = converge(load('run_converge_failure.json'));
  assert.equal(m.status, 'failure');
  assert.match(m.error!, /^apt_package\[nginx\] \(nginx::default\): Mixlib::ShellOut::ShellCommandFailed: apt_package\[nginx\] \(nginx::default line 12\) had an error/);
  assert.deepEqual(m.state.resources.map((r) => `${r.type}[${r.title}]`).sort(), ['Package[nginx]', 'Service[nginx]']);
});

test('actions decide ensure: stop beats enable, disable alone is stopped, :nothing asserts nothing, a multi-package is one resource per package', () => {
  const rec = (type: string, name: string, result: string, after: Record<string, unknown> = {}) => ({ type, name, id: name, result, status: 'up-to-date', after, before: {}, delta: '', duration: '1', ignore_failure: false });
  const m = converge({
    message_type: 'run_converge', node_name: 'n1', status: 'success', run_id: 'r',
    resources: [
      rec('service', 'a', 'enable'), rec('service', 'a', 'stop'),
      rec('service', 'b', 'disable'),
      rec('service', 'c', 'nothing'),
      rec('systemd_unit', 'd.service', 'start'),
      { ...rec('package', 'x, y', 'install', { package_name: ['x', 'y'] }) },
      rec('package', 'z', 'purge'),
      rec('mount', '/m', 'enable'),
      rec('directory', '/var/www', 'create'),
      rec('remote_file', '/opt/app.tgz', 'create_if_missing'),
      rec('cron_d', 'backup', 'delete'),
      { ...rec('service', 'lazy', 'start'), id: 'unknown identity (due to NoMethodError)', after: { service_name: 'real-name' } },
    ],
  });
  const got = Object.fromEntries(m.state.resources.map((r) => [`${r.type}[${r.title}]`, r.parameters.ensure]));
  assert.deepEqual(got, {
    'Service[a]': 'stopped', 'Service[b]': 'stopped', 'Service[d.service]': 'running', 'Package[x]': 'installed', 'Package[y]': 'installed',
    'Package[z]': 'purged', 'Mount[/m]': 'defined', 'File[/var/www]': 'directory', 'File[/opt/app.tgz]': 'file', 'Cron[backup]': 'absent', 'Service[real-name]': 'running',
  });
  assert.equal(m.ignored, 1);
  assert.deepEqual(m.state.roles, []);
  assert.equal(m.state.origin.time, 1_000, 'no end_time: the server\'s clock');
});

test('what Chef would never send is a BAD_REQUEST naming the field; too many resources is BATCH_TOO_LARGE', () => {
  const base = load('run_converge_success.json');
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ ...base, message_type: 'action' }, /message_type "action" is not run_start or run_converge/],
    [{ ...base, node_name: '', node: {} }, /node_name is required/],
    [{ ...base, node_name: 'a\u0000b' }, /node_name .*control character/],
    [{ ...base, status: 'maybe' }, /status "maybe"/],
    [{ ...base, resources: {} }, /resources must be an array/],
    [{ ...base, resources: [42] }, /resources\[0\] must be an object/],
    [{ ...base, resources: [{ name: 'x' }] }, /resources\[0\]\.type/],
    [{ ...base, resources: [{ type: 'file', name: 'x'.repeat(70_000) }] }, /resources\[0\]\.name/],
  ];
  for (const [body, re] of cases) {
    assert.throws(() => parseChefMessage(body, opts), (e: unknown) => isBlickError(e, 'BAD_REQUEST') && re.test((e as Error).message), String(re));
  }
  const long = converge({ ...base, resources: [{ type: 'file', name: `/${'x'.repeat(2000)}`, result: 'create', status: 'updated' }] });
  assert.deepEqual([long.state.resources.length, long.ignored], [0, 1], 'a title longer than the server keeps is ignored, not refused');
  assert.throws(() => parseChefMessage(base, { ...opts, maxResources: 3 }), (e: unknown) => isBlickError(e, 'BATCH_TOO_LARGE') && /max_resources \(3\)/.test((e as Error).message));
});

test('property: any JSON value either parses into bounded desired state the server\'s book accepts or is refused with a catalogued 4xx error', () => {
  const resource = fc.record({
    type: fc.oneof(fc.constantFrom('service', 'package', 'apt_package', 'file', 'template', 'mount', 'cron', 'execute', 'directory'), fc.string()),
    name: fc.oneof(fc.string(), fc.integer()),
    id: fc.option(fc.string(), { nil: undefined }),
    result: fc.oneof(fc.constantFrom('start', 'stop', 'enable', 'disable', 'install', 'create', 'delete', 'mount', 'nothing'), fc.string(), fc.constant(null)),
    status: fc.constantFrom('updated', 'up-to-date', 'skipped', 'failed', 'unprocessed', 'weird'),
    after: fc.oneof(fc.object(), fc.constant(null), fc.record({ package_name: fc.array(fc.string()) })),
  }, { requiredKeys: [] });
  const message = fc.record({
    message_type: fc.oneof(fc.constantFrom('run_start', 'run_converge'), fc.anything()),
    node_name: fc.oneof(fc.constantFrom('web-01', 'db.example.org'), fc.string(), fc.anything()),
    run_id: fc.oneof(fc.uuid(), fc.anything()),
    status: fc.oneof(fc.constantFrom('success', 'failure'), fc.anything()),
    start_time: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()),
    end_time: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.anything()),
    resources: fc.oneof(fc.array(resource, { maxLength: 30 }), fc.anything()),
    node: fc.oneof(fc.record({ automatic: fc.oneof(fc.object(), fc.record({ roles: fc.array(fc.anything()), recipes: fc.array(fc.string()) })), chef_environment: fc.anything() }), fc.anything()),
    expanded_run_list: fc.anything(),
    run_list: fc.oneof(fc.array(fc.constantFrom('role[web]', 'recipe[nginx]', 'bogus')), fc.anything()),
    error: fc.anything(),
  }, { requiredKeys: [] });
  fc.assert(fc.property(fc.oneof(message, fc.anything()), (body) => {
    let m: ChefMessage;
    try { m = parseChefMessage(body, { ...opts, maxResources: 20, maxFacts: 50 }); } catch (e) {
      assert.ok(isBlickError(e, 'BAD_REQUEST') || isBlickError(e, 'BATCH_TOO_LARGE'), String(e));
      return;
    }
    assert.ok(typeof m.host === 'string' && m.host.length > 0 && m.host.length <= 255);
    assert.ok(Number.isFinite(m.time));
    if (m.type === 'run_start') return;
    assert.ok(m.state.resources.length <= 2 * 20 * 30, 'bounded by the records (a multi-package may split)');
    for (const r of m.state.resources) {
      assert.ok(['Service', 'Package', 'File', 'Mount', 'Cron'].includes(r.type));
      assert.ok(typeof r.title === 'string' && r.title.length > 0 && r.title.length <= 1024);
      assert.equal(typeof r.parameters.ensure, 'string');
    }
    assert.ok(Object.keys(m.state.facts ?? {}).length <= 50);
    assert.ok(m.state.roles.every((x) => typeof x === 'string'));
    if (m.status === 'failure') assert.ok(typeof m.error === 'string' && m.error.length <= 1025);
    const accepted = desiredStateSchema.safeParse(m.state);
    assert.ok(accepted.success, `the server's book would refuse it: ${JSON.stringify(accepted.error?.issues.slice(0, 3))}`);
  }), { numRuns: 2000 });
});
