import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serverConfigSchema } from '../config.js';
import { GraphiteNamer, graphiteComponent } from './naming.js';

const SAFE = /^[A-Za-z0-9_-]+$/;

test('graphite names: dots, spaces, slashes and ";" in hosts and services become one _ per run', () => {
  const n = new GraphiteNamer('{prefix}.{host}.{service}', 'blick');
  assert.equal(n.path('web-01.example.com', 'disk /var'), 'blick.web-01_example_com.disk_var');
  assert.equal(n.path('db 7', 'cpu'), 'blick.db_7.cpu');
  assert.equal(n.path('h', 'statsd req;env=prod'), 'blick.h.statsd_req_env_prod');
  assert.equal(n.path('h', ''), 'blick.h._');
  assert.equal(new GraphiteNamer('{prefix}.{host}.{service}', '').path('h', 's'), 'h.s', 'an empty prefix leaves no empty component');
  assert.equal(new GraphiteNamer('{prefix}.hosts.{host}.checks.{service}', 'ops.blick').path('a.b', 'c'), 'ops.blick.hosts.a_b.checks.c');
});

test('graphite names (property): any host and service give exactly the template\'s components, each a safe Graphite path component', () => {
  const n = new GraphiteNamer('{prefix}.{host}.{service}', 'blick');
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (host, service) => {
    const parts = n.path(host, service).split('.');
    assert.equal(parts.length, 3);
    assert.equal(parts[0], 'blick');
    for (const p of parts) assert.match(p, SAFE);
  }));
});

test('graphite names (property): sanitising keeps safe names, is idempotent, and only replaces unsafe runs', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (name) => {
    const once = graphiteComponent(name);
    assert.match(once, SAFE);
    assert.equal(graphiteComponent(once), once);
    // the safe characters survive, in order
    const kept = name.replace(/[^A-Za-z0-9_-]/g, '');
    assert.equal(once.replace(/_/g, ''), kept.replace(/_/g, ''));
  }));
  fc.assert(fc.property(fc.stringMatching(SAFE), (name) => { assert.equal(graphiteComponent(name), name); }));
});

test('server.graphite config: off by default; a template without {host} or with an unknown placeholder is refused with the reason', () => {
  assert.equal(serverConfigSchema.parse({}).graphite, undefined);
  const g = serverConfigSchema.parse({ graphite: { host: 'carbon' } }).graphite!;
  assert.deepEqual({ ...g }, { host: 'carbon', protocol: 'plaintext', prefix: 'blick', template: '{prefix}.{host}.{service}', flush_interval: 1000, reconnect_min: 100, reconnect_max: 30_000, max_queue_points: 100_000, max_queue_bytes: 16 * 1024 * 1024 });
  const problem = (graphite: unknown) => { const r = serverConfigSchema.safeParse({ graphite }); return r.success ? '' : r.error.issues.map((i) => i.message).join('; '); };
  assert.match(problem({ host: 'c', template: '{prefix}.{service}' }), /must contain \{host\} and \{service\}/);
  assert.match(problem({ host: 'c', template: '{prefix}.{hostname}.{service}' }), /unknown placeholder \{hostname\}/);
  assert.match(problem({ host: 'c', prefix: 'my prefix' }), /Graphite path components/);
  assert.match(problem({ host: 'c', protocol: 'udp' }), /plaintext|pickle/);
});
