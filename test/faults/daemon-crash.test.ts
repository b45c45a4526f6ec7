import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeMessage } from '../../src/transport/wire.js';
import { deferrals, exited, spawnBlick, startServer, tempDir, until } from '../fixtures/blick.js';
import { freeTcpPort, freeUdpPort, sendUdp, statsdProcessConfig } from '../statsd/fixtures.js';
import { logAgent } from './processes.js';

/**
 * The event ids a producer holds in its spool (what it has taken responsibility
 * for and not yet had acknowledged), read from the batch files as they are on disk.
 */
function spooledIds(spoolDir: string): string[] {
  if (!existsSync(spoolDir)) return [];
  const ids: string[] = [];
  for (const name of readdirSync(spoolDir)) {
    if (!name.endsWith('.pb')) continue;
    const d = decodeMessage(readFileSync(join(spoolDir, name)), undefined, Date.now);
    if (d.kind === 'batch') for (const e of d.batch.events) ids.push(e.id);
  }
  return ids;
}

/** How many of `ids` the server's database does not hold yet (read beside the running server: WAL). */
function notStored(dbFile: string, ids: string[]): number {
  if (!existsSync(dbFile)) return ids.length;
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const has = db.prepare('SELECT 1 FROM events WHERE id = ?').pluck();
    return ids.filter((id) => has.get(id) === undefined).length;
  } finally { db.close(); }
}

/** Every id in `ids` stored exactly once, and no event stored twice at all. */
function assertStoredOnce(dbFile: string, ids: string[]): void {
  const db = new Database(dbFile, { readonly: true });
  try {
    assert.deepEqual(db.prepare('SELECT id, count(*) AS n FROM events GROUP BY id HAVING n > 1 LIMIT 5').all(), [], 'no event is stored twice');
    const has = db.prepare('SELECT count(*) FROM events WHERE id = ?').pluck();
    const missing = ids.filter((id) => has.get(id) !== 1);
    assert.deepEqual(missing.slice(0, 5), [], `every event that was in the spool at the kill is stored once (${missing.length} of ${ids.length} are not)`);
  } finally { db.close(); }
}

test('blick statsd killed with SIGKILL while its upstream is down: every metric event it had spooled reaches the server once after the restart', { timeout: 90_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const ingestPort = await freeTcpPort();
  const udp = await freeUdpPort();
  const adminPort = await freeTcpPort();
  const file = statsdProcessConfig(dir, { udp, admin: adminPort, flushInterval: '200ms', host: 'crashy-statsd', upstream: `tcp://127.0.0.1:${ingestPort}`, graphite: '{ host: "" }' });
  const spool = join(dir, 'statsd', 'spool', 'statsd');
  let child = spawnBlick(['statsd', '--config', file], { env: { BLICK_LOG_LEVEL: 'warn' } });
  defer(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited(child); } });

  // values keep coming; with no server, each flush's events wait in the spool
  let sending = true;
  const sender = (async () => {
    for (let n = 0; sending; n++) {
      await sendUdp(udp, [Array.from({ length: 10 }, (_, k) => `crash.c${k}:1|c\ncrash.g${k}:${n}|g`).join('\n')]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await until(() => spooledIds(spool).length >= 200, `flushed events in the spool (output: ${child.output()})`, 30_000);
  child.kill('SIGKILL');
  await exited(child);
  const atKill = spooledIds(spool);
  assert.ok(atKill.length >= 200);

  child = spawnBlick(['statsd', '--config', file], { env: { BLICK_LOG_LEVEL: 'warn' } });
  const server = await startServer({ dataDir: join(dir, 'server'), config: { ingest: `tcp://127.0.0.1:${ingestPort}` } });
  defer(() => server.stop());
  const db = join(dir, 'server', 'blick.db');
  await until(() => notStored(db, atKill) === 0, `the events spooled at the kill, at the server (output: ${child.output()})`, 30_000);
  sending = false;
  await sender;
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, `statsd stops cleanly (output: ${child.output()})`);
  await server.stop();
  assertStoredOnce(db, atKill);
});

test('blick agent killed with SIGKILL while its upstream is down: every event it had spooled reaches the server once after the restart', { timeout: 90_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const { port: ingestPort, log, dataDir, start } = await logAgent(defer, dir, 'crashy-agent');
  const spool = join(dataDir, 'spool', 'agent');
  let agent = await start();
  let n = 0;
  await until(() => {
    for (let i = 0; i < 20; i++) appendFileSync(log, `ERROR ${++n} disk on fire\n`);
    return spooledIds(spool).length >= 300;
  }, 'log events in the agent\'s spool', 30_000);
  agent.kill('SIGKILL');
  await exited(agent);
  const atKill = spooledIds(spool);

  agent = await start();
  const server = await startServer({ dataDir: join(dir, 'server'), config: { ingest: `tcp://127.0.0.1:${ingestPort}` } });
  defer(() => server.stop());
  const db = join(dir, 'server', 'blick.db');
  await until(() => notStored(db, atKill) === 0, `the events spooled at the kill, at the server (output: ${agent.output()})`, 30_000);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0);
  await server.stop();
  assertStoredOnce(db, atKill);
});
