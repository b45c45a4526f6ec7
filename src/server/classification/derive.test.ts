import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deriveChecks, describeOrigin, unionDerived, unitOf } from './derive.js';
import type { DesiredResource, DesiredState } from './types.js';

const state = (resources: DesiredResource[], source: DesiredState['source'] = 'puppet-catalog'): Omit<DesiredState, 'host'> => ({
  source, origin: { catalog: '/var/lib/puppet/client_data/catalog/web-01.json', version: '42', time: 1 }, classes: [], roles: [], resources,
});
const r = (type: string, title: string, parameters: Record<string, unknown> = {}, line?: number): DesiredResource => ({ type, title, parameters, ...(line !== undefined ? { file: '/etc/puppet/site.pp', line } : {}) });

test('derivation: each resource kind gives its check and service name, as docs/classification.md tables it', () => {
  const got = deriveChecks(state([
    r('Service', 'demo', { ensure: 'running' }, 3),
    r('Service', 'getty@tty1.service', { ensure: 'running' }),
    r('Service', 'telnet', { ensure: 'stopped' }),
    r('Service', 'cups', { enable: true }), // enable only: says nothing about running now
    r('Mount', '/srv', { ensure: 'mounted' }),
    r('Mount', '/mnt/old', { ensure: 'absent' }),
    r('File', '/etc/motd', { ensure: 'file' }),
    r('File', '/etc/nginx', { ensure: 'directory' }),
    r('File', 'motd', { ensure: 'present', path: '/etc/motd.d/x' }),
    r('Package', 'nginx', { ensure: 'installed' }),
    r('Package', 'openssl', { ensure: '3.0.11-1~deb12u2' }),
    r('Package', 'telnetd', { ensure: 'purged' }),
    r('Cron', 'logrotate', { command: '/usr/sbin/logrotate' }),
    r('Exec', 'apt-get update'),
  ]));
  assert.deepEqual(got.map((d) => [d.kind, d.target, d.service]), [
    ['service-running', 'demo.service', 'systemd demo.service'],
    ['service-running', 'getty@tty1.service', 'systemd getty@tty1.service'],
    ['service-stopped', 'telnet.service', 'systemd telnet.service'],
    ['mount', '/srv', 'disk /srv'],
    ['file', '/etc/motd', 'file /etc/motd'],
    ['file', '/etc/motd.d/x', 'file /etc/motd.d/x'],
    ['package', 'nginx', 'package nginx'],
    ['package', 'openssl', 'package openssl'],
  ]);
  assert.deepEqual(got[0]!.origin, { source: 'puppet-catalog', catalog: '/var/lib/puppet/client_data/catalog/web-01.json', version: '42', resource: 'Service[demo]', file: '/etc/puppet/site.pp', line: 3 });
  assert.equal(describeOrigin(got[0]!.origin), 'Service[demo] (/etc/puppet/site.pp:3)');
  assert.equal(describeOrigin(got[1]!.origin), 'Service[getty@tty1.service]');
  assert.equal(unitOf('sshd'), 'sshd.service');
});

test('derivation: several sources give one check per service, the first in puppet-catalog, puppetdb, chef order', () => {
  const chef = deriveChecks(state([r('Service', 'nginx', { ensure: 'running' }), r('Service', 'redis', { ensure: 'running' })], 'chef'));
  const pdb = deriveChecks(state([r('Service', 'nginx', { ensure: 'running' }, 9)], 'puppetdb'));
  const u = unionDerived(new Map([['chef', chef], ['puppetdb', pdb]]));
  assert.deepEqual(u.map((d) => [d.service, d.origin.source]), [['systemd nginx.service', 'puppetdb'], ['systemd redis.service', 'chef']]);
});

test('derivation never throws on arbitrary resources, and names each service once (property)', () => {
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.boolean(), fc.integer(), fc.constant(null), fc.constantFrom('running', 'stopped', 'mounted', 'file', 'present', 'installed', 'latest', '1.2', 'absent'));
  const res = fc.record({
    type: fc.constantFrom('Service', 'Package', 'File', 'Mount', 'Cron', 'Exec', 'service', ''),
    title: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('/etc/x', 'a.b', 'demo')),
    parameters: fc.dictionary(fc.constantFrom('ensure', 'name', 'path', 'enable'), value, { maxKeys: 4 }),
  });
  fc.assert(fc.property(fc.array(res, { maxLength: 30 }), (resources) => {
    const d = deriveChecks(state(resources as DesiredResource[]));
    assert.equal(new Set(d.map((x) => x.service)).size, d.length);
    for (const x of d) assert.ok(x.service.endsWith(x.target));
  }));
});
