// Blick's statsd flushing into a real carbon-cache (Debian's graphite-carbon),
// read back with whisper-fetch: plaintext, pickle, and carbon coming up late.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { createStatsd, type StatsdServer } from '../../src/statsd/index.js';
import { carbonConfig, haveCarbon, missingCarbon } from '../fixtures/carbon.js';
import { requireProgram, sendUdp, waitFor, waitForAsync } from './fixtures.js';

function blickTo(port: number, protocol: 'text' | 'pickle'): StatsdServer {
  return createStatsd({
    udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '1s',
    graphite: protocol === 'text' ? { host: '127.0.0.1', port, protocol, reconnect_min: '100ms', reconnect_max: '500ms' } : { host: '127.0.0.1', pickle_port: port, protocol, reconnect_min: '100ms', reconnect_max: '500ms' },
  }, { log: pino({ level: 'silent' }) });
}

test('a real carbon-cache stores what Blick flushes (plaintext and pickle), also when carbon comes up after the flush', { timeout: 90_000 }, async (t) => {
  if (!requireProgram(t, haveCarbon, missingCarbon)) return;
  const carbon = await carbonConfig();
  // carbon is not running yet: the first flushes must wait in Blick's buffer
  const text = blickTo(carbon.linePort, 'text');
  const pickle = blickTo(carbon.picklePort, 'pickle');
  try {
    await text.start();
    await pickle.start();
    await sendUdp(text.addresses.udp!, ['blick.test.value:42|g', 'blick.test.req:3|c\nblick.test.req:4|c', 'blick.test.lat:5|ms\nblick.test.lat:15|ms']);
    await sendUdp(pickle.addresses.udp!, ['blick.pickled.value:7.5|g', 'blick.pickled.req:2|c']);
    // let the flush carrying these counts happen while carbon is still down
    await waitForAsync(async () => (await text.metrics('counters')).get('blick.test.req') === 0 && (await pickle.metrics('counters')).get('blick.pickled.req') === 0, 5000, 'a flush while carbon is down');
    assert.ok((text.backends[0] as unknown as { stats: { buffered_bytes: number } }).stats.buffered_bytes > 0, 'the flush waits in the buffer while carbon is down');
    await carbon.start();
    await waitFor(() => carbon.fetch('stats.gauges.blick.test.value').length > 0 && carbon.fetch('stats.gauges.blick.pickled.value').length > 0
      && carbon.fetch('stats_counts.blick.test.req').includes(7) && carbon.fetch('stats_counts.blick.pickled.req').includes(2), 20_000, 'whisper files with the flushed values');
    assert.ok(carbon.fetch('stats.gauges.blick.test.value').includes(42));
    assert.ok(carbon.fetch('stats_counts.blick.test.req').includes(7));
    assert.ok(carbon.fetch('stats.blick.test.req').includes(7)); // rate per second at a 1 s flush
    assert.ok(carbon.fetch('stats.timers.blick.test.lat.mean').includes(10));
    assert.ok(carbon.fetch('stats.timers.blick.test.lat.upper_90').includes(15));
    assert.ok(carbon.fetch('stats.gauges.blick.pickled.value').includes(7.5));
    assert.ok(carbon.fetch('stats_counts.blick.pickled.req').includes(2));
  } finally {
    await text.stop();
    await pickle.stop();
    await carbon.stop();
    rmSync(carbon.dir, { recursive: true, force: true });
  }
});
