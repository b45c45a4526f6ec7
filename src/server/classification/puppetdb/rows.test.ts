import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { desiredStateSchema } from '../schema.js';
import { desiredStateOf, nodeRow } from './rows.js';

const node = (over: Record<string, unknown> = {}) => nodeRow({ certname: 'web-01', deactivated: null, expired: null, catalog_timestamp: '2026-12-01T10:00:00.000Z', facts_timestamp: null, catalog_environment: 'production', ...over })!;
const o = { url: 'https://puppetdb:8081', maxFacts: 20, now: () => 5 };

test('node rows: certname is required; the rest is read as strings or null', () => {
  assert.equal(nodeRow({}), undefined);
  assert.equal(nodeRow({ certname: '' }), undefined);
  assert.equal(nodeRow({ certname: 'x'.repeat(256) }), undefined);
  assert.equal(nodeRow([]), undefined);
  assert.deepEqual(nodeRow({ certname: 'a', deactivated: 7, catalog_timestamp: '2026-01-01T00:00:00Z' }), { certname: 'a', deactivated: null, expired: null, catalog_timestamp: '2026-01-01T00:00:00Z', facts_timestamp: null, catalog_environment: null });
});

test('resource rows: classes lower case without Settings and main, once each; resources with file and line; malformed rows left out', () => {
  const s = desiredStateOf(node(), [
    { type: 'Class', title: 'Settings' }, { type: 'Class', title: 'Nginx' }, { type: 'Class', title: 'nginx' },
    { type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: '/site.pp', line: 3 },
    { type: 'Service', title: '' }, { type: 7, title: 'x' }, null, 'Service[x]',
    { type: 'File', title: '/etc/motd', parameters: { ensure: 'file', content: 'hello' }, file: null, line: -1 },
  ], [{ name: 'os', value: { family: 'Debian' } }, { name: 7, value: 'x' }, { name: 'kernel', value: 'Linux' }], o);
  assert.deepEqual(s.classes, ['nginx']);
  assert.deepEqual(s.resources, [
    { type: 'Service', title: 'demo', parameters: { ensure: 'running' }, file: '/site.pp', line: 3 },
    { type: 'File', title: '/etc/motd', parameters: { ensure: 'file' } },
  ]);
  assert.deepEqual(s.facts, { 'os.family': 'Debian', kernel: 'Linux' });
  assert.deepEqual(s.origin, { catalog: o.url, version: '2026-12-01T10:00:00.000Z', environment: 'production', time: Date.parse('2026-12-01T10:00:00.000Z') });
  assert.equal(desiredStateOf(node({ catalog_timestamp: 'yesterday' }), [], [], o).origin.time, 5, 'an unreadable timestamp: the server\'s clock');
});

test('property: whatever PuppetDB answers, the desired state is one the server\'s book accepts', () => {
  const row = fc.record({
    type: fc.oneof(fc.constantFrom('Class', 'Service', 'Package', 'File', 'Mount', 'Cron'), fc.string({ maxLength: 300 }), fc.anything()),
    title: fc.oneof(fc.string({ maxLength: 1100 }), fc.anything()),
    parameters: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.anything()),
    file: fc.oneof(fc.string(), fc.constant(null), fc.anything()),
    line: fc.oneof(fc.integer(), fc.double(), fc.constant(null)),
  }, { requiredKeys: [] });
  const fact = fc.record({ name: fc.oneof(fc.string(), fc.anything()), value: fc.jsonValue() }, { requiredKeys: [] });
  const n = fc.record({
    certname: fc.constantFrom('web-01', 'db.example.org'),
    catalog_timestamp: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string(), fc.constant(null)),
    catalog_environment: fc.oneof(fc.string(), fc.constant(null), fc.anything()),
  });
  fc.assert(fc.property(n, fc.array(fc.oneof(row, fc.anything()), { maxLength: 40 }), fc.array(fc.oneof(fact, fc.anything()), { maxLength: 40 }), (nr, rows, facts) => {
    const s = desiredStateOf(nodeRow(nr)!, rows, facts, o);
    const parsed = desiredStateSchema.safeParse(s);
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues.slice(0, 3)));
    assert.ok(Object.keys(s.facts ?? {}).length <= o.maxFacts);
  }), { numRuns: 1000 });
});
