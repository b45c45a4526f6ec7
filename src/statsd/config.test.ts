import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { loadConfig } from '../core/config.js';
import { isBlickError } from '../core/errors.js';
import { etsyStatsdConfigSchema, readEtsyConfigFile, statsdConfigSchema } from './config.js';

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

const unusedKeys = (c: { unused: { key: string }[] }) => c.unused.map((u) => u.key).sort();

test("YAML: keys Etsy ignores and third-party backends' sections are warned about, not refused; a misspelt key still is", () => {
  const c = statsdConfigSchema.parse({
    graphService: 'graphite', batch: 200, debug: false, librato: { email: 'ops@example.com', token: 't' }, datadogApiKey: 'k',
    backends: ['./backends/graphite', 'statsd-librato-backend', './backends/console'], flushInterval: 1000,
  });
  assert.deepEqual(unusedKeys(c), ['backends', 'batch', 'datadogApiKey', 'graphService', 'librato']);
  assert.match(c.unused.find((u) => u.key === 'librato')!.why, /librato backend/);
  assert.match(c.unused.find((u) => u.key === 'backends')!.why, /statsd-librato-backend, \.\/backends\/console/);
  assert.equal(c.flushInterval, 1000);
  assert.equal(c.graphite.host, '127.0.0.1', 'backends lists graphite');
  // a section named after a module in `backends` is that backend's too
  assert.deepEqual(unusedKeys(statsdConfigSchema.parse({ backends: ['statsd-acme-backend'], acme: { key: 1 } })), ['acme', 'backends']);
  for (const bad of [{ flushIntervall: 1000 }, { graphite: { legacyNamspace: false } }, { servers: [{ server: './servers/udp', prot: 1 }] }, { libratoo: {} }]) {
    const r = statsdConfigSchema.safeParse(bad);
    assert.equal(r.success, false, JSON.stringify(bad));
    assert.equal(r.error!.issues[0]!.code, 'unrecognized_keys');
  }
});

test("Etsy's listener forms: the single server, a top-level socket, servers with a Unix socket; nothing else listens", () => {
  const single = statsdConfigSchema.parse({ server: './servers/tcp', address: '127.0.0.1', port: 9125 });
  assert.deepEqual([single.udp, single.tcp, single.socket], [null, '127.0.0.1:9125', null]);
  const unix = statsdConfigSchema.parse({ servers: [{ server: './servers/tcp', socket: '/run/statsd.sock', socket_mod: '660' }] });
  assert.deepEqual([unix.udp, unix.tcp, unix.socket, unix.socketMode], [null, null, '/run/statsd.sock', 0o660]);
  const top = statsdConfigSchema.parse({ socket: '/run/statsd.sock', port: 8125 });
  assert.deepEqual([top.udp, top.tcp, top.socket], [null, null, '/run/statsd.sock'], 'a socket without server is the tcp server on the socket');
  assert.deepEqual(unusedKeys(top), ['port', 'server']);
  const both = statsdConfigSchema.parse({ servers: [{ server: 'servers/udp', address: '::1', address_ipv6: true, port: 1 }, { server: './servers/tcp', socket: '/s' }, { server: './servers/tcp.js', port: 2 }], port: 5 });
  assert.deepEqual([both.udp, both.tcp, both.socket], ['[::1]:1', '0.0.0.0:2', '/s']);
  assert.deepEqual(unusedKeys(both), ['port'], 'servers replaces the top-level port, as in Etsy');
  assert.equal(statsdConfigSchema.parse({ server: './servers/udp', socket_mod: 1 }).unused[0]!.key, 'socket_mod');
  assert.equal(statsdConfigSchema.safeParse({ servers: [{ server: './servers/quic' }] }).success, false, 'a server Blick does not have');
  assert.equal(statsdConfigSchema.safeParse({ servers: [{ port: 1 }, { port: 2 }] }).success, false, 'two UDP servers: refused, not one silently dropped');
  assert.equal(statsdConfigSchema.safeParse({ socket: '/s', socket_mod: 'rw' }).success, false);
  assert.equal(statsdConfigSchema.parse({ servers: [{ server: './servers/tcp', socket: '/s' }], udp: '127.0.0.1:1' }).udp, '127.0.0.1:1', "Blick's own key wins for its protocol");
});

test('an Etsy file is read as Etsy reads it: unknown keys warned, UDP only, no Graphite without graphiteHost', () => {
  const c = etsyStatsdConfigSchema.parse({ flushIntrval: 5, graphite: { foo: 1 } });
  assert.deepEqual(unusedKeys(c), ['flushIntrval', 'graphite.foo']);
  assert.match(c.unused[0]!.why, /misspelt/);
  assert.deepEqual([c.udp, c.tcp, c.socket], ['0.0.0.0:8125', null, null]);
  assert.equal(c.graphite.host, '');
  assert.equal(etsyStatsdConfigSchema.parse({ graphiteHost: 'carbon' }).graphite.host, 'carbon');
  const consoleOnly = etsyStatsdConfigSchema.parse({ graphiteHost: 'carbon', backends: ['./backends/console'] });
  assert.equal(consoleOnly.graphite.host, '', 'backends without graphite: nothing to Graphite, as in Etsy');
  assert.deepEqual(unusedKeys(consoleOnly), ['backends', 'graphiteHost']);
});

test('an Etsy config file with code in it is refused with its line, and not run', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'blick-etsy-'));
  try {
    const file = join(dir, 'config.js');
    writeFileSync(file, '{ port: 8125\n, graphite: { globalSuffix: (globalThis.ran = 1, "x") } }\n');
    assert.throws(() => readEtsyConfigFile(file), (err: unknown) => isBlickError(err, 'CONFIG_INVALID') && (err as Error).message.startsWith(`${file}:2:29: `));
    assert.equal((globalThis as { ran?: number }).ran, undefined);
    writeFileSync(file, '{ port: 8125\n, flushInterval: "often"\n, socket_mod: 0660, socket: "/s" }\n');
    assert.throws(() => readEtsyConfigFile(file), (err: unknown) => (err as Error).message.startsWith(`${file}:2: key flushInterval: `));
    writeFileSync(file, '{ socket_mod: 0660, server: "./servers/tcp", socket: "/s" }\n');
    assert.equal(readEtsyConfigFile(file).socketMode, 0o660, "Etsy's sloppy-mode octal literal");
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
