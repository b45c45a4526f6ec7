import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { loadConfig } from '../core/config.js';
import { readEtsyConfigFile, statsdConfigSchema } from './config.js';

const require = createRequire(import.meta.url);

test('defaults are the ones in PRODUCT.md', () => {
  const c = statsdConfigSchema.parse({});
  assert.equal(c.udp, '0.0.0.0:8125');
  assert.equal(c.tcp, '0.0.0.0:8125');
  assert.equal(c.admin, '127.0.0.1:8126');
  assert.equal(c.flushInterval, 10_000);
  assert.deepEqual(c.percentThreshold, [90]);
  assert.equal(c.graphite.host, '127.0.0.1');
  assert.equal(c.graphite.port, 2003);
  assert.deepEqual(c.upstreams, ['tcp://127.0.0.1:5556']);
  assert.equal(c.graphite.legacyNamespace, true);
  assert.equal(c.deleteCounters, false);
  assert.equal(c.maxNames, 100_000);
  assert.equal(c.maxNewNamesPerInterval, 20_000);
  assert.equal(c.sideChannel.maxSeriesPerFlush, 10_000);
  const limits = statsdConfigSchema.parse({ max_names: 5, max_new_names_per_interval: 2, side_channel: { max_series_per_flush: 7 } });
  assert.deepEqual([limits.maxNames, limits.maxNewNamesPerInterval, limits.sideChannel.maxSeriesPerFlush], [5, 2, 7]);
  assert.throws(() => statsdConfigSchema.parse({ max_names: 0 }));
  assert.throws(() => statsdConfigSchema.parse({ side_channel: { max_series: 7 } }), 'unknown keys are refused');
});

test('Blick YAML keys (snake_case) are read', () => {
  const c = statsdConfigSchema.parse({
    udp: '127.0.0.1:9125', tcp: false, flush_interval: '2s', percent_threshold: [90, 99], delete_idle_stats: true, delete_gauges: false,
    graphite: { host: 'carbon', port: 2103, protocol: 'pickle', pickle_port: 2104, legacy_namespace: false, global_suffix: 'x' },
  });
  assert.equal(c.udp, '127.0.0.1:9125');
  assert.equal(c.tcp, null);
  assert.equal(c.flushInterval, 2000);
  assert.deepEqual(c.percentThreshold, [90, 99]);
  assert.equal(c.deleteCounters, true);
  assert.equal(c.deleteGauges, false);
  assert.equal(c.graphite.protocol, 'pickle');
  assert.equal(c.graphite.picklePort, 2104);
  assert.equal(c.graphite.globalSuffix, '.x');
});

test('Etsy config keys are accepted under their own names', () => {
  const c = statsdConfigSchema.parse({
    port: 9999, address: '127.0.0.1', mgmt_port: 9998, flushInterval: 5000, percentThreshold: 95, deleteIdleStats: true,
    graphiteHost: 'g', graphitePort: 2013, graphite: { legacyNamespace: false, globalPrefix: 'p' }, prefixStats: 'me', gaugesMaxTTL: 3,
    backends: ['./backends/graphite'],
  });
  assert.equal(c.udp, '127.0.0.1:9999');
  assert.equal(c.tcp, null, 'Etsy without servers[] listens on UDP only');
  assert.equal(c.admin, '127.0.0.1:9998');
  assert.equal(c.flushInterval, 5000);
  assert.deepEqual(c.percentThreshold, [95]);
  assert.equal(c.deleteTimers, true);
  assert.equal(c.graphite.host, 'g');
  assert.equal(c.graphite.port, 2013);
  assert.equal(c.graphite.legacyNamespace, false);
  assert.equal(c.graphite.globalPrefix, 'p');
  assert.equal(c.prefixStats, 'me');
  assert.equal(c.gaugesMaxTTL, 3);
  const s = statsdConfigSchema.parse({ servers: [{ server: './servers/udp', port: 1 }, { server: './servers/tcp', address: '::1', port: 2 }] });
  assert.equal(s.udp, '0.0.0.0:1');
  assert.equal(s.tcp, '[::1]:2');
});

test('the snake_case key wins when both spellings are given', () => {
  assert.equal(statsdConfigSchema.parse({ flush_interval: '1s', flushInterval: 5000 }).flushInterval, 1000);
});

test('unknown keys and bad values are refused', () => {
  assert.equal(statsdConfigSchema.safeParse({ flush_intervall: '1s' }).success, false);
  assert.equal(statsdConfigSchema.safeParse({ udp: 'nonsense' }).success, false);
  assert.equal(statsdConfigSchema.safeParse({ graphite: { protocol: 'udp' } }).success, false);
});

test('BLICK_STATSD_* environment overrides reach the section', () => {
  const c = loadConfig(undefined, z.object({ statsd: statsdConfigSchema.prefault({}) }), { env: { BLICK_STATSD_FLUSH_INTERVAL: '3s', BLICK_STATSD_UDP: '127.0.0.1:7125' } });
  assert.equal(c.statsd.flushInterval, 3000);
  assert.equal(c.statsd.udp, '127.0.0.1:7125');
});

test("Etsy's own exampleConfig.js is read", () => {
  const c = readEtsyConfigFile(require.resolve('statsd/exampleConfig.js'));
  assert.equal(c.graphite.host, 'graphite.example.com');
  assert.equal(c.udp, '0.0.0.0:8125');
});
