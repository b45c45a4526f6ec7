import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '../../src/core/log.js';
import { BlickRelay, relayConfigSchema } from '../../src/relay/index.js';
import { deferrals, tempDir, until } from '../fixtures/blick.js';

function refused(url: string): Promise<boolean> {
  const port = Number(/:(\d+)$/.exec(url)![1]);
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('a relay whose ingest socket dies stops its HTTP listener and producer and reports the failure instead of running deaf', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const config = relayConfigSchema.parse({ ingest: 'tcp://127.0.0.1:0', http: '127.0.0.1:0', upstreams: ['tcp://127.0.0.1:1'], heartbeat: 0 });
  const relay = new BlickRelay(config, { dataDir: join(dir, 'data'), log: createLogger('test', { level: 'silent' }) });
  await relay.start();
  defer(() => relay.stop());
  assert.equal((await fetch(`${relay.http.url}/readyz`)).status, 200);
  let reported: Error | undefined;
  relay.onFailure((err) => { reported = err; });
  (relay.receiver as unknown as { socket: { close(): void } }).socket.close();
  const err = await until(() => reported, 'the relay to report the failure');
  assert.match(err.message, /^receiver: the ingest socket tcp:\/\/127\.0\.0\.1:\d+ (closed while running|failed)/);
  await until(() => refused(relay.http.url), 'the HTTP listener to be closed');
  assert.equal(relay.producer.spoolWritable, false, 'the producer stopped too');
});
