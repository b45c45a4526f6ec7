import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from '../../core/metrics.js';
import type { DerivedCheck } from '../../server/classification/types.js';
import type { SystemdListener } from '../listeners/systemd/index.js';
import { recordingContext } from '../listeners/testing.js';
import type { Monitor, MonitorContext } from '../monitor.js';
import { tempDir, until } from '../../../test/fixtures/blick.js';
import { CheckSetApplier } from './apply.js';
import { agentClassificationSchema } from './schema.js';

function host() {
  const ctx = recordingContext({ host: 'h1', realClock: true });
  const started = new Map<Monitor, MonitorContext>();
  const units: { running: Map<string, Record<string, string>>; stopped: Map<string, Record<string, string>> }[] = [];
  return {
    ctx, started, units,
    addMonitor: async (m: Monitor, c: MonitorContext) => { started.set(m, c); if (m.kind === 'listener') await m.start(c); },
    removeMonitor: async (m: Monitor) => { started.delete(m); if (m.kind === 'listener') await m.stop(); },
    systemd: async () => ({ setClassifiedUnits: async (s: (typeof units)[number]) => { units.push(s); } }) as unknown as SystemdListener,
  };
}

const origin = (resource: string, line: number) => ({ source: 'puppet-catalog' as const, catalog: '/c.json', resource, file: '/etc/puppet/site.pp', line });

test('applying a set: server checks beside local ones (the local one wins), derived checks watched, removed ones stop with an ok', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const h = host();
  const metrics = new Registry();
  const a = new CheckSetApplier(h, agentClassificationSchema.parse({}), new Set(['local-one']), pino({ level: 'silent' }), metrics);
  const motd = join(dir, 'motd');
  const derived: DerivedCheck[] = [
    { kind: 'service-running', target: 'demo.service', service: 'systemd demo.service', origin: origin('Service[demo]', 3) },
    { kind: 'service-stopped', target: 'telnet.service', service: 'systemd telnet.service', origin: origin('Service[telnet]', 4) },
    { kind: 'file', target: motd, service: `file ${motd}`, origin: origin(`File[${motd}]`, 5) },
    { kind: 'package', target: 'nginx', service: 'package nginx', origin: origin('Package[nginx]', 6) },
  ];
  await a.apply({ host: 'h1', version: '1', subscriptions: [], derived, checks: [
    { name: 'local-one', command: ['/bin/true'], interval: 30_000, timeout: 10_000, timeout_state: 'critical', tags: [] },
    { name: 'server-one', command: ['/bin/true'], interval: 30_000, timeout: 10_000, timeout_state: 'critical', tags: [], origin: { source: 'server.checks', subscription: 'web' } },
  ] });
  assert.deepEqual(a.active.sort(), ['check server-one', `file ${motd}`, 'service-running demo.service', 'service-stopped telnet.service']);
  assert.equal(metrics.counter('blick_agent_checkset_dropped_total', '').get({ reason: 'local' }), 1, 'the clash is counted');
  assert.equal(metrics.counter('blick_agent_checkset_dropped_total', '').get({ reason: 'packages' }), 1, 'packages are off by default');
  assert.deepEqual([...h.units[0]!.running.keys()], ['demo.service']);
  assert.deepEqual(h.units[0]!.running.get('demo.service'), { derived_from: 'Service[demo]', derived_source: 'puppet-catalog', derived_file: '/etc/puppet/site.pp', derived_line: '3' });
  assert.deepEqual([...h.units[0]!.stopped.keys()], ['telnet.service']);

  const missing = await h.ctx.waitFor((e) => e.service === `file ${motd}`);
  assert.equal(missing.state, 'critical');
  assert.match(missing.description!, /is missing \(File\[.*\] at \/etc\/puppet\/site\.pp:5\)/);
  assert.equal(missing.attributes!.derived_from, `File[${motd}]`);
  writeFileSync(motd, 'hello');
  const there = await h.ctx.waitFor((e) => e.service === `file ${motd}` && e.state === 'ok');
  assert.equal(there.attributes!.derived_line, '5');

  // the server check's events carry where it came from
  const [, serverCtx] = [...h.started].find(([m]) => m.name === 'check server-one')!;
  serverCtx.emit({ service: 'server-one', state: 'ok' });
  assert.equal(h.ctx.events.at(-1)!.attributes!.subscription, 'web');

  await a.apply({ host: 'h1', version: '2', subscriptions: [], checks: [], derived: [] });
  assert.deepEqual(a.active, []);
  assert.equal(h.started.size, 0, 'every monitor of the set stopped');
  for (const service of ['server-one', `file ${motd}`]) {
    const gone = h.ctx.events.filter((e) => e.service === service).at(-1)!;
    assert.equal(gone.state, 'ok');
    assert.equal(gone.description, 'no longer in the desired state');
  }
  assert.deepEqual(h.units.at(-1), { running: new Map(), stopped: new Map() }, 'the systemd listener is told the units left');
  await until(() => true, 'settled');
});

test('applying a set: agent.classification.max_checks bounds what runs (counted)', async () => {
  const h = host();
  const metrics = new Registry();
  const a = new CheckSetApplier(h, agentClassificationSchema.parse({ max_checks: 2 }), new Set(), pino({ level: 'silent' }), metrics);
  const checks = ['a', 'b', 'c'].map((name) => ({ name, command: ['/bin/true'], interval: 30_000, timeout: 10_000, timeout_state: 'critical' as const, tags: [] }));
  await a.apply({ host: 'h1', version: '1', subscriptions: [], checks, derived: [] });
  assert.equal(a.active.length, 2);
  assert.equal(metrics.counter('blick_agent_checkset_dropped_total', '').get({ reason: 'limit' }), 1);
  await a.stop();
});
