import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isBlickError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { Registry } from '../../core/metrics.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { DesiredStateBook, type DesiredChange } from './book.js';
import type { DesiredState } from './types.js';

const log = createLogger('test', { level: 'silent' });
const limits = { max_hosts: 2, max_resources: 3, max_state_bytes: 4096 };
const svc = (title: string, line = 1) => ({ type: 'Service', title, parameters: { ensure: 'running' }, file: '/site.pp', line });
const st = (host: string, resources: DesiredState['resources'], source: DesiredState['source'] = 'puppet-catalog'): DesiredState =>
  ({ host, source, origin: { time: 1 }, classes: ['base'], roles: [], resources });

async function open(t: { after(fn: () => void): void }, path?: string) {
  const dir = path ?? mkdtempSync(join(tmpdir(), 'blick-book-'));
  if (!path) t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore({ path: join(dir, 'blick.db') });
  await store.open();
  t.after(() => store.close());
  const metrics = new Registry();
  const changes: DesiredChange[] = [];
  let now = 1000;
  const book = new DesiredStateBook({ store, config: limits, metrics, log, now: () => now, onChange: (c) => { changes.push(c); } });
  await book.load();
  return { dir, store, book, metrics, changes, tick: (ms: number) => { now += ms; } };
}

test('book: a source replaces what it said; removed derived checks are reported; known_since stays from the first update', async (t) => {
  const { book, changes, tick } = await open(t);
  await book.update(st('web-01', [svc('a'), svc('b'), { type: 'Exec', title: 'x', parameters: {} }]));
  assert.deepEqual(book.derived('web-01').map((d) => d.service), ['systemd a.service', 'systemd b.service']);
  assert.deepEqual(book.sourcesOf('web-01')[0]!.state.resources.map((r) => r.type), ['Service', 'Service'], 'types that derive nothing and are not Cron are dropped');
  tick(500);
  await book.update(st('web-01', [svc('b')]));
  assert.deepEqual(changes.at(-1)!.removed.map((d) => d.service), ['systemd a.service']);
  assert.equal(book.knownSince('web-01'), 1000);
  assert.equal(book.sourcesOf('web-01')[0]!.updated, 1500);
  assert.equal(book.derivedCheck('web-01', 'systemd b.service')?.origin.resource, 'Service[b]');
  await book.update(st('web-01', [svc('c')], 'chef'));
  await book.forget('web-01', 'puppet-catalog');
  assert.deepEqual(changes.at(-1)!.removed.map((d) => d.service), ['systemd b.service']);
  await book.forget('web-01', 'chef');
  assert.equal(book.get('web-01'), undefined);
  assert.deepEqual([...book.hostNames()], []);
});

test('book: bounded by max_hosts, max_resources and max_state_bytes, each refusal counted; invalid states refused', async (t) => {
  const { book, metrics } = await open(t);
  await book.update(st('h1', []));
  await book.update(st('h2', []));
  await assert.rejects(book.update(st('h3', [])), (e) => isBlickError(e, 'CLASSIFICATION_LIMIT'));
  await book.update(st('h1', [svc('x')], 'chef')); // a known host may still change
  await assert.rejects(book.update(st('h1', [svc('a'), svc('b'), svc('c'), svc('d')])), (e) => isBlickError(e, 'CLASSIFICATION_TOO_LARGE') && /max_resources/.test(e.message));
  await assert.rejects(book.update(st('h1', [{ type: 'File', title: '/x', parameters: { content: 'x'.repeat(5000) } }])), (e) => isBlickError(e, 'CLASSIFICATION_TOO_LARGE') && /max_state_bytes/.test(e.message));
  await assert.rejects(book.update({ host: 'h1', source: 'cfengine' } as never), (e) => isBlickError(e, 'BAD_REQUEST') && /source/.test(e.message));
  await assert.rejects(book.update(st('bad host', [])), (e) => isBlickError(e, 'BAD_REQUEST') && /host/.test(e.message));
  const text = metrics.render();
  for (const reason of ['hosts', 'resources', 'bytes', 'invalid']) assert.match(text, new RegExp(`blick_classification_refused_total\\{reason="${reason}"\\} [12]`));
  assert.deepEqual([...book.hostNames()].sort(), ['h1', 'h2']);
});

test('book: kept across a restart (the store), and a schema-3 database is migrated to 4', async (t) => {
  const first = await open(t);
  await first.book.update(st('web-01', [svc('demo', 3)]));
  await first.store.close();
  // make it a schema-3 file again: no classifications table
  const db = new Database(join(first.dir, 'blick.db'));
  db.exec('DROP TABLE classifications');
  db.prepare("UPDATE meta SET value = '3' WHERE key = 'schema_version'").run();
  db.close();
  const migrated = await open(t, first.dir);
  assert.equal(migrated.book.get('web-01'), undefined, 'a schema-3 file had no classifications');
  await migrated.book.update(st('web-01', [svc('demo', 3)]));
  await migrated.store.close();
  const again = await open(t, first.dir);
  assert.deepEqual(again.book.derived('web-01').map((d) => [d.service, d.origin.line]), [['systemd demo.service', 3]]);
  assert.equal(again.book.knownSince('web-01'), 1000);
  const v = new Database(join(first.dir, 'blick.db'), { readonly: true });
  t.after(() => v.close());
  assert.equal((v.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value, '4');
});

test('book: any JSON as a desired state is stored or refused with a BlickError, never anything else (property)', async (t) => {
  const fc = (await import('fast-check')).default;
  const { book } = await open(t);
  const json = fc.jsonValue({ maxDepth: 3 });
  const arb = fc.oneof(json, fc.record({ source: fc.constantFrom('puppet-catalog', 'chef', 'x'), origin: fc.oneof(json, fc.record({ time: fc.integer() })), classes: json, roles: json, resources: fc.oneof(json, fc.array(fc.record({ type: fc.constantFrom('Service', 'File', 'x'), title: fc.string(), parameters: fc.oneof(json, fc.dictionary(fc.string(), json)) }), { maxLength: 4 })) }, { requiredKeys: [] }));
  await fc.assert(fc.asyncProperty(arb, async (body) => {
    try { await book.update({ ...(body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {}), host: 'fuzz-01' } as DesiredState); } catch (e) {
      assert.ok(isBlickError(e, 'BAD_REQUEST') || isBlickError(e, 'CLASSIFICATION_TOO_LARGE'), String(e));
    }
  }), { numRuns: 200 });
});
