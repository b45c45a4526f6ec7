import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEvent } from '../../core/event.js';
import { createLogger } from '../../core/log.js';
import { Registry } from '../../core/metrics.js';
import { ManualClock } from '../alerts/clock.js';
import { Ingest } from '../ingest.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { DesiredStateBook } from './book.js';
import { NeverSeenWatch } from './never-seen.js';
import { NEVER_SEEN_SERVICE } from './rules.js';

const log = createLogger('test', { level: 'silent' });

/** A store, an ingest, a book and a started watch on a manual clock, cleaned up after the test. */
async function harness(t: { after(fn: () => unknown): void }, start: number, afterMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'blick-never-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(start);
  const store = new SqliteStore({ path: join(dir, 'blick.db') });
  await store.open();
  t.after(() => store.close());
  const metrics = new Registry();
  const ingest = new Ingest({ store, log, metrics, now: clock.now });
  await ingest.init();
  const book = new DesiredStateBook({ store, config: { max_hosts: 10, max_resources: 10, max_state_bytes: 65536 }, metrics, log, now: clock.now });
  const watch = new NeverSeenWatch({ book, ingest, afterMs, log, metrics, clock });
  watch.start();
  t.after(() => watch.stop());
  return { clock, ingest, book, watch, metrics };
}

test('never seen on an injected clock: not before never_seen_after; critical once; ok at the first agent event; raised again when the agent falls silent', async (t) => {
  const { clock, ingest, book, watch, metrics } = await harness(t, Date.UTC(2026, 11, 1), 3_600_000);
  const state = () => ingest.state.get('ghost-01', NEVER_SEEN_SERVICE);

  await book.update({ host: 'ghost-01', source: 'puppetdb', origin: { time: clock.now() }, classes: [], roles: [], resources: [] });
  clock.advance(3_599_000);
  await watch.check();
  assert.equal(state(), undefined, 'not before never_seen_after');
  clock.advance(1000);
  await watch.check();
  assert.equal(state()?.state, 'critical');
  assert.match(state()!.description, /known to puppetdb since 2026-12-01T00:00:00\.000Z, but its agent never reported/);
  const first = state()!.event_id;
  await watch.check();
  assert.equal(state()!.event_id, first, 'raised once, not on every check');

  // an event from anything but the agent does not count
  await ingest.ingest([makeEvent({ host: 'ghost-01', service: 'ping', state: 'ok' }, { source: 'snmp', now: clock.now })]);
  assert.equal(state()?.state, 'critical');
  await ingest.ingest([makeEvent({ host: 'ghost-01', service: 'heartbeat', state: 'ok' }, { source: 'agent', now: clock.now })]);
  const ok = await waitFor(() => state()?.state === 'ok');
  assert.ok(ok);

  clock.advance(3_600_000);
  await watch.check();
  assert.equal(state()?.state, 'critical');
  assert.match(state()!.description, /its agent has not reported since/);
  assert.match(metrics.render(), /blick_never_seen_total 2/);

  // a host no source knows any more is not missing
  await book.forget('ghost-01', 'puppetdb');
  await watch.check();
  assert.equal(state()?.state, 'ok');
});

test('never seen is checked on the clock\'s timer', async (t) => {
  const { clock, ingest, book } = await harness(t, Date.UTC(2026, 11, 1), 60_000);
  await book.update({ host: 'ghost-02', source: 'chef', origin: { time: clock.now() }, classes: [], roles: [], resources: [] });
  for (let i = 0; i < 6; i++) { clock.advance(15_000); await new Promise((r) => setImmediate(r)); }
  assert.ok(await waitFor(() => ingest.state.get('ghost-02', NEVER_SEEN_SERVICE)?.state === 'critical'));
});

/** Settle pending commits (a few turns of the event loop), then read the condition. */
async function waitFor(fn: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !fn(); i++) await new Promise((r) => setImmediate(r));
  return fn();
}
