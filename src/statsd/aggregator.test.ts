import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { WorkerAggregator } from './aggregator.js';
import { statsdConfigSchema } from './config.js';

/** A worker that dies as it starts, as a broken install or a bad upgrade would. */
const DOOMED = new URL(`data:text/javascript,${encodeURIComponent('throw new Error("cannot start");')}`);

test('a statsd worker that cannot start does not spin: after 5 crashes in a minute, one attempt a second', { timeout: 20_000 }, async () => {
  const errors: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => { errors.push(JSON.parse(line).msg); } });
  const agg = new WorkerAggregator(statsdConfigSchema.parse({}), log, DOOMED);
  try {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // the first crashes restart at once
    for (let waited = 0; agg.restarts < 6; waited += 50) {
      assert.ok(waited < 10_000, `only ${agg.restarts} restarts in 10 s`);
      await sleep(50);
    }
    const atBackoff = agg.restarts;
    // packets while no worker runs are dropped and reported, not queued without bound
    for (let i = 0; i < 50; i++) agg.packet(Buffer.from('a.b:1|c'));
    await sleep(3000);
    const more = agg.restarts - atBackoff;
    assert.ok(more >= 1 && more <= 4, `then about one restart a second, not a loop: ${more} in 3 s`);
    assert.ok(errors.some((m) => /packets dropped while the statsd worker was restarting/.test(m)), errors.join('\n'));
    await assert.rejects(agg.stats(), /restarting|crashed/);
  } finally {
    await agg.close();
  }
  assert.equal(agg.threads, 0, 'no worker thread left after close');
});
