import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DerivedCheck } from '../../server/classification/types.js';
import { recordingContext } from '../listeners/testing.js';
import { testdataDir } from '../observers/testdata.js';
import { DerivedMount, DerivedPackage, packageQuery } from './derived.js';

const derived = (kind: DerivedCheck['kind'], target: string, service: string, resource: string): DerivedCheck =>
  ({ kind, target, service, origin: { source: 'puppet-catalog', resource, file: '/etc/puppet/site.pp', line: 9 } });

test('a derived mount: the disk observer\'s figures while mounted, ok for a filesystem it skips, critical when not mounted', async () => {
  const ctx = recordingContext();
  const proc = testdataDir('disk');
  await new DerivedMount(derived('mount', '/var', 'disk /var', 'Mount[/var]'), 60_000, proc).observe(ctx);
  await new DerivedMount(derived('mount', '/run', 'disk /run', 'Mount[/run]'), 60_000, proc).observe(ctx);
  await new DerivedMount(derived('mount', '/srv', 'disk /srv', 'Mount[/srv]'), 60_000, proc).observe(ctx);
  const [v, run, srv] = ctx.events;
  assert.equal(v!.service, 'disk /var');
  assert.equal(typeof v!.metric, 'number', 'the used percent, as the disk observer measures it');
  assert.equal(v!.attributes!.derived_from, 'Mount[/var]');
  assert.deepEqual([run!.service, run!.state, run!.description], ['disk /run', 'ok', '/run mounted (tmpfs)']);
  assert.deepEqual([srv!.service, srv!.state], ['disk /srv', 'critical']);
  assert.equal(srv!.description, '/srv is not mounted (Mount[/srv] at /etc/puppet/site.pp:9)');
  assert.equal(srv!.attributes!.derived_line, '9');
});

test('a derived package: the real dpkg-query (or rpm) says whether it is installed', async (t) => {
  if (!packageQuery()) { t.skip('neither dpkg-query nor rpm here'); return; }
  const ctx = recordingContext();
  const there = packageQuery() === 'dpkg' ? 'dpkg' : 'rpm';
  await new DerivedPackage(derived('package', there, `package ${there}`, `Package[${there}]`), 60_000).observe(ctx);
  await new DerivedPackage(derived('package', 'blick-no-such-package', 'package blick-no-such-package', 'Package[blick-no-such-package]'), 60_000).observe(ctx);
  // a name that looks like an option is a package name, not a flag
  await new DerivedPackage(derived('package', '--version', 'package --version', 'Package[--version]'), 60_000).observe(ctx);
  const [ok, missing, flag] = ctx.events;
  assert.equal(ok!.state, 'ok', String(ok!.description));
  assert.match(ok!.attributes!.version!, /\d/);
  assert.equal(missing!.state, 'critical');
  assert.match(missing!.description!, /blick-no-such-package is not installed \(Package\[blick-no-such-package\] at \/etc\/puppet\/site\.pp:9\)/);
  assert.equal(flag!.state, 'critical');
});
