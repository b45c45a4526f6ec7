import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { Producer } from '../../src/transport/producer.js';
import { deferrals, tempDir, until } from '../fixtures/blick.js';
import { prng, serverProcess } from './processes.js';

/**
 * The durability promise, end to end: a real `blick server` process is killed with
 * SIGKILL five times, at moments picked by a seeded random generator, while a
 * ZeroMQ producer and HTTP clients keep writing. Every event the server
 * acknowledged (ZeroMQ ack, HTTP 202) must be in the database exactly once, and
 * the producer's resends after each restart must not store anything twice.
 */
test('kill -9 of the server under ZeroMQ and HTTP load, five times: every acknowledged event is stored exactly once', { timeout: 170_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir);
  let proc = await srv.start();

  const producer = new Producer({
    upstreams: [srv.ingest], spoolDir: join(dir, 'producer'), producer: 'crash-load',
    batchEvents: 200, ackTimeoutMs: 100, // short: resends of batches already committed happen routinely, not only after a kill
    log: createLogger('test', { level: 'silent' }),
  });
  await producer.start();
  defer(() => producer.stop());

  let running = true;
  let zmqSent = 0;
  const zmqLoad = (async () => {
    while (running) {
      for (let i = 0; i < 100; i++) {
        const n = zmqSent++;
        producer.send(makeEvent({ id: `z-${String(n).padStart(7, '0')}`, host: `zhost-${n % 20}`, service: `svc ${n % 13}`, metric: n, state: n % 50 === 0 ? 'warning' : 'ok' }, { source: 'agent' }));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();

  const httpAcked = new Set<string>();
  let httpSent = 0;
  let httpFailed = 0;
  const httpLoad = (async () => {
    while (running) {
      const events = Array.from({ length: 25 }, () => { const n = httpSent++; return { id: `h-${String(n).padStart(7, '0')}`, host: `hhost-${n % 5}`, service: 'http load', metric: n }; });
      try {
        const res = await fetch(`${srv.url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
        if (res.status === 202) { const body = await res.json() as { ids: string[] }; for (const id of body.ids) httpAcked.add(id); }
        else { httpFailed++; await res.body?.cancel(); }
      } catch {
        httpFailed++; // connection refused or reset by the kill: not acknowledged, not resent
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();

  const random = prng(0xb11c);
  for (let kill = 0; kill < 5; kill++) {
    // a random amount of acknowledged work between kills (a condition, not a clock)
    const zTarget = producer.stats.eventsAcked + 500 + Math.floor(random() * 4000);
    const hTarget = httpAcked.size + 50 + Math.floor(random() * 500);
    await until(() => producer.stats.eventsAcked >= zTarget && httpAcked.size >= hTarget, `load before kill ${kill + 1} (output: ${proc.output().slice(-2000)})`, 60_000);
    await srv.kill();
    proc = await srv.start();
  }
  running = false;
  await Promise.all([zmqLoad, httpLoad]);
  await until(async () => { await Promise.race([producer.drained(), new Promise((r) => setTimeout(r, 200))]); return producer.unacknowledged.events === 0; }, 'the producer to drain its spool', 60_000);
  assert.equal(await srv.stop(), 0, 'the last server stops cleanly');

  const db = new Database(srv.dbFile, { readonly: true });
  defer(() => db.close());
  const twice = db.prepare('SELECT id, count(*) AS n FROM events GROUP BY id HAVING n > 1 LIMIT 5').all();
  assert.deepEqual(twice, [], 'no event is stored twice');
  const has = db.prepare('SELECT 1 FROM events WHERE id = ?').pluck();
  const zStored = db.prepare("SELECT count(*) FROM events WHERE id LIKE 'z-%'").pluck().get() as number;
  assert.equal(zStored, zmqSent, 'every event the producer queued reached the store once (the spool resends what was not acknowledged)');
  const missing = [...httpAcked].filter((id) => has.get(id) === undefined);
  assert.deepEqual(missing.slice(0, 5), [], 'every event acknowledged over HTTP (202) is stored');
  assert.ok(httpFailed > 0, 'some HTTP requests met a killed server (the kills happened under load)');
  assert.ok(producer.stats.batchesResent > 0 || producer.stats.duplicates > 0, 'the producer resent batches whose ack died with a server');
});
