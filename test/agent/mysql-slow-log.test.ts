import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chown, mkdtemp, rename, rm, stat, truncate } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { recordingContext } from '../../src/agent/listeners/testing.js';
import { MysqlSlowLogListener, mysqlSlowLogSchema } from '../../src/agent/listeners/mysql-slow-log/index.js';
import { hasProgram, missing, run } from './require.js';

/** Runs SQL on a new connection (the global long_query_time applies to new sessions only). */
async function sql(query: string): Promise<string> {
  const { stdout } = await run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-N', '-B', '-e', query], { timeout: 10_000 });
  return stdout.trim();
}
const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

test('real MariaDB: slow queries become events with the right query time and fingerprint, through rotation and truncation', { timeout: 60_000 }, async (t) => {
  if (!(await hasProgram('mariadb'))) { missing(t, 'the mariadb client', 'apt-get install mariadb-client'); return; }
  try { await sql('SELECT 1'); } catch { missing(t, 'MariaDB on 127.0.0.1:3306 (root, no password)', 'see REAL-PARTS.md'); return; }
  const mysqlUid = Number(execFileSync('id', ['-u', 'mysql']).toString().trim());
  const dir = await mkdtemp('/tmp/blick-slowlog-');
  await chown(dir, mysqlUid, -1);
  const path = join(dir, 'slow.log');
  const saved = (await sql('SELECT @@global.slow_query_log, @@global.slow_query_log_file, @@global.long_query_time')).split('\t');
  const ctx = recordingContext({ realClock: true });
  const listener = new MysqlSlowLogListener(mysqlSlowLogSchema.parse({ path, from_beginning: true }), { pollMs: 100 });
  try {
    await listener.start(ctx);
    await sql(`SET GLOBAL slow_query_log_file=${quote(path)}, long_query_time=0.1, slow_query_log=1`);

    await sql('SELECT SLEEP(0.2)');
    const sleep = await ctx.waitFor((e) => e.attributes?.query === 'SELECT SLEEP(0.2)');
    assert.equal(sleep.service, 'mysql slow-query');
    assert.ok(sleep.metric! >= 0.2 && sleep.metric! < 1, `query time ${sleep.metric}`);
    assert.equal(sleep.attributes?.fingerprint, 'select sleep(?)');
    assert.equal(sleep.attributes?.user, 'root');

    await sql("SELECT SLEEP(0.15) AS s, 'blick' AS name, 42 AS answer FROM DUAL WHERE 7 IN (5, 6, 7)");
    const lit = await ctx.waitFor((e) => e.attributes?.query?.includes("'blick'") === true);
    assert.equal(lit.attributes?.fingerprint, 'select sleep(?) as s, ? as name, ? as answer from dual where ? in(?+)');
    assert.ok(lit.metric! >= 0.15, `query time ${lit.metric}`);

    // rotation as logrotate does it: rename, the server keeps writing to the old file until FLUSH SLOW LOGS
    await rename(path, path + '.1');
    await sql('SELECT SLEEP(0.11) AS before_flush');
    await sql('FLUSH SLOW LOGS');
    await sql('SELECT SLEEP(0.12) AS after_flush');
    await ctx.waitFor((e) => e.attributes?.query?.includes('before_flush') === true);
    await ctx.waitFor((e) => e.attributes?.query?.includes('after_flush') === true);
    assert.ok((await stat(path)).size > 0, 'the server wrote a new file');

    // truncation in place (copytruncate)
    await truncate(path, 0);
    await sql('SELECT SLEEP(0.13) AS after_truncate');
    await ctx.waitFor((e) => e.attributes?.query?.includes('after_truncate') === true);

    const perQuery = ctx.events.filter((e) => e.service === 'mysql slow-query');
    assert.equal(perQuery.length, 5, `one event per slow query, none lost or doubled: ${perQuery.map((e) => e.attributes?.query).join(' | ')}`);
    listener.flushDigests();
    const sleepDigest = ctx.events.find((e) => e.service.startsWith('mysql slow-query digest ') && e.attributes?.fingerprint === 'select sleep(?)');
    assert.equal(sleepDigest?.attributes?.count, '1');
    const asDigest = ctx.events.filter((e) => e.service.startsWith('mysql slow-query digest ') && e.attributes?.fingerprint === 'select sleep(?) as before_flush');
    assert.equal(asDigest.length, 1);
  } finally {
    await listener.stop();
    await sql(`SET GLOBAL slow_query_log=${Number(saved[0])}, long_query_time=${Number(saved[2])}, slow_query_log_file=${quote(saved[1]!)}`).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});
