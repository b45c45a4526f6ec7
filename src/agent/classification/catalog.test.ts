import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { CatalogError, parseCatalog } from './catalog.js';
import { resolveCatalogPath } from './puppet.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../test/fixtures/blick.js';

const TESTDATA = fileURLToPath(new URL('../../../../src/agent/classification/testdata/', import.meta.url));
const opts = { path: '/var/lib/puppet/client_data/catalog/vm.json', mtimeMs: 1_700_000_000_000, maxResources: 10_000 };

test('a catalog Puppet 7 wrote (puppet apply --catalog_cache_terminus json): classes without Settings and main, the Service with its file and line', () => {
  const u = parseCatalog(readFileSync(join(TESTDATA, 'puppet7-catalog.json'), 'utf8'), opts);
  assert.deepEqual(u.classes, ['web']);
  assert.equal(u.source, 'puppet-catalog');
  assert.deepEqual(u.origin, { catalog: opts.path, time: opts.mtimeMs, version: '1796158834', environment: 'production' });
  assert.deepEqual(u.resources, [{ type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: '/etc/puppet/code/environments/production/manifests/site.pp', line: 4 }]);
});

test('only Service, Package, File, Mount and Cron resources are sent; too many is refused', () => {
  const resources = [
    { type: 'Package', title: 'nginx', parameters: { ensure: 'installed' } },
    { type: 'Exec', title: 'x', parameters: { command: '/bin/true' } },
    { type: 'File', title: '/etc/motd', parameters: { ensure: 'file', content: 'hi' } },
    { type: 'Mount', title: '/srv' },
    { type: 'Cron', title: 'backup', parameters: {} },
    { type: 'User', title: 'bob' },
    { type: 'Class', title: 'Profile::Web' },
  ];
  const u = parseCatalog(JSON.stringify({ resources }), opts);
  assert.deepEqual(u.resources.map((r) => `${r.type}[${r.title}]`), ['Package[nginx]', 'File[/etc/motd]', 'Mount[/srv]', 'Cron[backup]']);
  assert.deepEqual(u.classes, ['profile::web']);
  assert.throws(() => parseCatalog(JSON.stringify({ resources }), { ...opts, maxResources: 3 }), (e: unknown) => e instanceof CatalogError && e.reason === 'too-many-resources');
});

test('not a catalog: a clear CatalogError', () => {
  for (const [text, reason] of [['{', 'json'], ['[]', 'shape'], ['{"resources": 3}', 'shape'], ['{"resources": [{"type": 1}]}', 'shape'], ['{"resources": [{"type": "Service", "title": "x", "parameters": []}]}', 'shape']] as const) {
    assert.throws(() => parseCatalog(text, opts), (e: unknown) => e instanceof CatalogError && e.reason === reason, text);
  }
});

test('property: any JSON either parses to sent types only or is refused with a CatalogError, never anything else', () => {
  const resource = fc.record({
    type: fc.oneof(fc.constantFrom('Service', 'Package', 'File', 'Mount', 'Cron', 'Class', 'Exec'), fc.string()),
    title: fc.oneof(fc.string(), fc.integer()),
    parameters: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    file: fc.oneof(fc.string(), fc.integer()), line: fc.oneof(fc.integer(), fc.string()),
  }, { requiredKeys: [] });
  const doc = fc.oneof(fc.jsonValue(), fc.record({ resources: fc.array(resource, { maxLength: 20 }), version: fc.jsonValue(), environment: fc.jsonValue() }));
  fc.assert(fc.property(doc, (d) => {
    try {
      const u = parseCatalog(JSON.stringify(d), opts);
      for (const r of u.resources) {
        assert.ok(['Service', 'Package', 'File', 'Mount', 'Cron'].includes(r.type));
        assert.equal(typeof r.title, 'string');
        assert.ok(r.line === undefined || (Number.isInteger(r.line) && r.line > 0));
      }
      assert.ok(!u.classes.includes('settings') && !u.classes.includes('main'));
    } catch (err) { assert.ok(err instanceof CatalogError, String(err)); }
  }), { numRuns: 500 });
});

test('auto: <host>.json in the first vardir that exists, else the single catalog there', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const debian = join(dir, 'debian'), aio = join(dir, 'aio');
  assert.equal(resolveCatalogPath('auto', 'web-01', [debian, aio]), join(debian, 'web-01.json'), 'nothing yet: the Debian path is watched');
  mkdirSync(aio);
  writeFileSync(join(aio, 'web-01.example.org.json'), '{}');
  assert.equal(resolveCatalogPath('auto', 'web-01', [debian, aio]), join(aio, 'web-01.example.org.json'), 'the only catalog in the AIO vardir');
  writeFileSync(join(aio, 'web-01.json'), '{}');
  assert.equal(resolveCatalogPath('auto', 'web-01', [debian, aio]), join(aio, 'web-01.json'));
  assert.equal(resolveCatalogPath('/etc/x.json', 'web-01', [debian, aio]), '/etc/x.json');
});
