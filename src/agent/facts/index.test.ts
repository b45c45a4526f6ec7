import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../core/log.js';
import type { MonitorContext, MonitorEvent } from '../monitor.js';
import { FactsObserver, gatherFacts } from './index.js';

test('facts: sent at start, not again while unchanged, again when they change', () => {
  const sent: MonitorEvent[] = [];
  const ctx: MonitorContext = { host: 'h', emit: (e) => sent.push(e), log: createLogger('t', { level: 'silent' }), now: Date.now };
  let extra: Record<string, string> = { role: 'web' };
  const o = new FactsObserver(60_000, '1.2.3', () => extra);
  o.observe(ctx);
  o.observe(ctx);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.service, 'facts');
  assert.equal(sent[0]!.attributes!.agent_version, '1.2.3');
  assert.equal(sent[0]!.attributes!.role, 'web');
  extra = { role: 'db' };
  o.observe(ctx);
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.attributes!.role, 'db');
});

test('facts name the OS, kernel, CPUs, memory and addresses', () => {
  const f = gatherFacts('0.0.0');
  for (const k of ['hostname', 'os', 'kernel', 'arch', 'cpus', 'memory_bytes', 'ip_addresses', 'agent_version']) assert.ok(k in f, k);
  assert.ok(Number(f.cpus) >= 1);
  assert.ok(Number(f.memory_bytes) > 0);
});
