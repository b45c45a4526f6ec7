// The statsd side channel applies the same event rules as the server's edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { createLogger } from '../../src/core/log.js';
import { Registry } from '../../src/core/metrics.js';
import { statsdConfigSchema } from '../../src/statsd/config.js';
import { StatsdDaemon } from '../../src/statsd/daemon.js';
import { api, serverForTest, until } from '../fixtures/blick.js';

test('statsd side channel: a metric name with a control character (sanitising off) is refused and counted; the others reach the server', async (t) => {
  const { server, defer, dir } = await serverForTest(t);
  const metrics = new Registry();
  const config = statsdConfigSchema.parse({ udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '100ms', host: 'statsd-edge', graphite: { host: '' }, key_name_sanitize: false, upstreams: [server.receiver.endpoint] });
  const d = new StatsdDaemon(config, { dataDir: join(dir, 'statsd'), log: createLogger('test', { level: 'silent' }), metrics });
  await d.start();
  defer(() => d.stop());
  const sock = createSocket('udp4');
  defer(() => sock.close());
  await new Promise<void>((r, j) => sock.send('good.one:1|c\nbad\u0007name:1|c', d.statsd.addresses.udp!, '127.0.0.1', (e) => (e ? j(e) : r())));
  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=statsd-edge')).body.some((c) => c.service.startsWith('statsd good.one')), 'the good metric on the server');
  await until(() => metrics.counter('blick_statsd_side_channel_invalid_total', '').get() > 0, 'the refused name counted');
  const services = (await api<any[]>(server.url, '/api/v1/checks?host=statsd-edge')).body.map((c) => c.service as string);
  assert.ok(services.every((s) => !s.includes('\u0007')), services.join(', '));
});
