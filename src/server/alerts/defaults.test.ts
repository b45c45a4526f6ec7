import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeEvent, type EventInput } from '../../core/event.js';
import { loadBlickConfig } from '../../cli/config.js';
import { RuleEngine } from '../rules/index.js';
import { defaultAlerting } from './defaults.js';

const EXAMPLE = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', '..', 'docs', 'blick.example.yaml');

/** The names of the default rules that hold for an event. */
function firing(e: EventInput & { source?: 'agent' | 'server' }): string[] {
  const engine = new RuleEngine(defaultAlerting().rules);
  return engine.evaluate([makeEvent(e, { source: e.source ?? 'agent', now: () => 1_767_225_600_000 })]).filter((s) => s.active).map((s) => s.rule.name);
}

test('the default rules: a critical check (after 1m), a gone host, a disk observer above 90 % (after 5m); not an expiry as a check, not perfdata in bytes', () => {
  const d = defaultAlerting();
  assert.deepEqual(d.rules.map((r) => [r.name, r.for]), [['check-critical', 60_000], ['host-gone', 0], ['disk-full', 300_000]]);
  assert.deepEqual(Object.entries(d.notifiers).map(([n, c]) => [n, c.type]), [['log', 'log']]);
  assert.deepEqual(firing({ host: 'h', service: 'app', state: 'critical' }), ['check-critical']);
  assert.deepEqual(firing({ host: 'h', service: 'app', state: 'warning' }), []);
  const expired = { state: 'critical', attributes: { expired: 'true' }, source: 'server' as const };
  assert.deepEqual(firing({ host: 'h', service: 'heartbeat', ...expired }), ['host-gone'], 'a gone host is host-gone alone');
  assert.deepEqual(firing({ host: 'h', service: 'app', ...expired }), [], 'an expired check is not its own verdict');
  const observer = { host: 'h', service: 'disk /', state: 'ok', attributes: { mount_point: '/', total_bytes: '100' } };
  assert.deepEqual(firing({ ...observer, metric: 93.5 }), ['disk-full']);
  assert.deepEqual(firing({ ...observer, metric: 90 }), []);
  assert.deepEqual(firing({ host: 'h', service: 'disk /', state: 'ok', metric: 52_000_000_000 }), [], 'check_disk perfdata in bytes');
});

test('docs/blick.example.yaml carries the default rules and inhibition as they are, and routes every alert to a log notifier', () => {
  const example = loadBlickConfig(EXAMPLE, { env: {} }).server;
  const d = defaultAlerting();
  for (const r of d.rules) assert.deepEqual(example.rules.find((x) => x.name === r.name), r, r.name);
  for (const i of d.inhibit) assert.ok(example.inhibit.some((x) => JSON.stringify(x) === JSON.stringify(i)), 'the host-gone inhibition');
  assert.deepEqual(example.notifiers.log, d.notifiers.log);
  assert.deepEqual({ match: example.routes[0]!.match, notify: example.routes[0]!.notify, continue: example.routes[0]!.continue }, { match: {}, notify: ['log'], continue: true });
});
