import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { recordingContext } from '../testing.js';
import { MysqlSlowLogListener, SlowLogParser, fingerprint, mysqlSlowLogSchema, percentile, type SlowQuery } from './index.js';

const td = fileURLToPath(new URL('../../../../../src/agent/listeners/mysql-slow-log/testdata/', import.meta.url));

function parseAll(text: string): SlowQuery[] {
  const out: SlowQuery[] = [];
  const p = new SlowLogParser((q) => out.push(q));
  for (const l of text.split('\n')) p.line(l);
  p.endOfInput();
  return out;
}

test('parses a real MariaDB 10.11 slow log, with and without # Time lines', () => {
  const qs = parseAll(readFileSync(join(td, 'mariadb-10.11.slow'), 'utf8'));
  assert.equal(qs.length, 3);
  assert.equal(qs[0]!.queryTime, 0.200197);
  assert.equal(qs[0]!.query, 'SELECT SLEEP(0.2)');
  assert.equal(qs[0]!.fingerprint, 'select sleep(?)');
  assert.equal(qs[0]!.user, 'root');
  assert.equal(qs[0]!.ip, '127.0.0.1');
  assert.equal(qs[0]!.time, 1795654778000);
  assert.equal(qs[1]!.schema, 'shop');
  assert.equal(qs[1]!.rowsExamined, 250000);
  assert.equal(qs[1]!.extra.Bytes_sent, '412');
  assert.equal(qs[1]!.fingerprint, 'select o.id, o.total from orders o where o.customer_id in(?+) and o.note = ? order by o.created_at desc limit ?');
  assert.equal(qs[2]!.fingerprint, 'update stock set qty = qty - ? where sku = ?');
});

test('parses MySQL 5.7 and 8.0 slow logs (8.0 with log_slow_extra)', () => {
  const [q57] = parseAll(readFileSync(join(td, 'mysql-5.7.slow'), 'utf8'));
  assert.equal(q57!.queryTime, 12.004212);
  assert.equal(q57!.schema, 'analytics');
  assert.equal(q57!.extra.Id, '7');
  assert.equal(q57!.fingerprint, 'select count(*) from events where created_at > ? and kind = ?');
  const q8 = parseAll(readFileSync(join(td, 'mysql-8.0.slow'), 'utf8'));
  assert.equal(q8.length, 2);
  assert.equal(q8[0]!.user, 'app');
  assert.equal(q8[0]!.host, 'web-01');
  assert.equal(q8[0]!.ip, '10.0.0.5');
  assert.equal(q8[0]!.rowsSent, 10);
  assert.equal(q8[1]!.extra.Errno, '0');
  assert.equal(q8[1]!.extra.Start, '2024-03-01T10:15:42.250100Z');
  assert.equal(q8[1]!.fingerprint, 'insert into audit (user_id, action, at) values(?+)');
});

test('a torn entry at the end waits for the rest', () => {
  const out: SlowQuery[] = [];
  const p = new SlowLogParser((q) => out.push(q));
  const lines = readFileSync(join(td, 'mysql-5.7.slow'), 'utf8').split('\n').filter(Boolean);
  const last = lines.pop()!;
  for (const l of lines) p.line(l);
  p.endOfInput();
  assert.equal(out.length, 0, 'header without statement: wait');
  p.line(last.slice(0, 20)); // cannot happen through FileTail (only whole lines), but a statement without `;` waits too
  p.endOfInput();
  assert.equal(out.length, 0);
  p.flush();
  assert.equal(out.length, 1);
});

test('fingerprints fold literals the way pt-query-digest does', () => {
  assert.equal(fingerprint("SELECT * FROM t WHERE a = 'x''y' AND b = \"q\" AND c = 12.5e3 AND d IN (1,2, 3) -- trailing"), 'select * from t where a = ? and b = ? and c = ? and d in(?+)');
  assert.equal(fingerprint('INSERT INTO t2 VALUES (1, 2), (3, 4);'), 'insert into t2 values(?+)');
  assert.equal(fingerprint('select /* hint */ x from t1 limit 10, 20'), 'select x from t1 limit ?');
  assert.equal(fingerprint('SELECT col1 FROM tbl_2 WHERE x IS NULL'), 'select col1 from tbl_2 where x is ?');
});

test('percentile is nearest-rank', () => {
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95), 95);
});

test('the parser never throws on random, truncated or shuffled input', () => {
  const sample = readFileSync(join(td, 'mariadb-10.11.slow'), 'utf8') + readFileSync(join(td, 'mysql-8.0.slow'), 'utf8');
  const lines = sample.split('\n');
  fc.assert(fc.property(fc.array(fc.string()), (ls) => { parseAll(ls.join('\n')); }));
  fc.assert(fc.property(fc.nat(sample.length), (n) => {
    for (const q of parseAll(sample.slice(0, n))) assert.ok(Number.isFinite(q.queryTime));
  }));
  fc.assert(fc.property(fc.array(fc.constantFrom(...lines), { maxLength: 60 }), (ls) => { parseAll(ls.join('\n')); }));
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => { fingerprint(s); }));
});

test('the listener emits per-query events and per-fingerprint digests from a followed file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-slow-'));
  const path = join(dir, 'slow.log');
  await writeFile(path, '');
  const l = new MysqlSlowLogListener(mysqlSlowLogSchema.parse({ path }), { pollMs: 20 });
  const ctx = recordingContext();
  await l.start(ctx);
  try {
    const text = readFileSync(join(td, 'mariadb-10.11.slow'), 'utf8');
    const cut = text.indexOf('# Time: 261126  1:00:02') + 40;
    await appendFile(path, text.slice(0, cut));
    await ctx.waitFor((e) => e.attributes?.query === 'SELECT SLEEP(0.2)');
    await ctx.waitFor((e) => e.attributes?.schema === 'shop');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ctx.events.length, 2, 'the torn third entry waits');
    await appendFile(path, text.slice(cut));
    const e = await ctx.waitFor((x) => x.attributes?.fingerprint?.startsWith('update') === true);
    assert.equal(e.service, 'mysql slow-query');
    assert.equal(e.metric, 0.31);
    assert.equal(e.time, 1795654802000);
    l.flushDigests();
    const digests = ctx.events.filter((x) => x.service.startsWith('mysql slow-query digest '));
    assert.equal(digests.length, 3);
    assert.equal(digests[0]!.attributes?.count, '1');
  } finally { await l.stop(); await rm(dir, { recursive: true, force: true }); }
});

test('an entry torn at a crash is read again whole after the restart, with the same id every time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-slow-'));
  const path = join(dir, 'slow.log');
  const stateDir = join(dir, 'positions');
  const text = readFileSync(join(td, 'mariadb-10.11.slow'), 'utf8');
  const cut = text.indexOf('# Time: 261126  1:00:02') + 40; // inside the third entry's header
  await writeFile(path, text.slice(0, cut));
  const run = async (ctx: ReturnType<typeof recordingContext>, then?: () => Promise<void>) => {
    const l = new MysqlSlowLogListener(mysqlSlowLogSchema.parse({ path, from_beginning: true }), { pollMs: 20, stateDir });
    await l.start(ctx);
    try { await then?.(); } finally { await l.stop(); }
  };
  try {
    const first = recordingContext();
    let atCrash = '';
    await run(first, async () => {
      await first.waitFor((e) => e.attributes?.schema === 'shop');
      await new Promise((r) => setTimeout(r, 2200)); // position saves
      atCrash = readFileSync(join(stateDir, readdirSync(stateDir)[0]!), 'utf8');
    });
    const perQuery = (c: typeof first) => c.events.filter((e) => e.service === 'mysql slow-query');
    assert.equal(perQuery(first).length, 2, 'the torn third entry waits');
    writeFileSync(join(stateDir, readdirSync(stateDir)[0]!), atCrash); // killed, not stopped
    await appendFile(path, text.slice(cut));

    const second = recordingContext();
    await run(second, () => second.waitFor((e) => e.attributes?.fingerprint?.startsWith('update') === true).then(() => {}));
    const torn = perQuery(second).find((e) => e.attributes?.fingerprint?.startsWith('update'))!;
    assert.equal(torn.metric, 0.31, 'the whole entry, header included');
    assert.equal(torn.time, 1795654802000);
    // a second crash at the same point: the same entry, the same id (the server keeps one)
    writeFileSync(join(stateDir, readdirSync(stateDir)[0]!), atCrash);
    const third = recordingContext();
    await run(third, () => third.waitFor((e) => e.attributes?.fingerprint?.startsWith('update') === true).then(() => {}));
    assert.equal(perQuery(second).length, 1, 'the finished entries are not read again');
    const again = perQuery(third).find((e) => e.attributes?.fingerprint?.startsWith('update'))!;
    assert.equal(again.id, torn.id);
    assert.ok(!perQuery(first).some((e) => e.id === torn.id));
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('with a state and resolve_after, the slow log check returns to ok once no slow query came for that long', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-slow-'));
  const path = join(dir, 'slow.log');
  await writeFile(path, '');
  const l = new MysqlSlowLogListener(mysqlSlowLogSchema.parse({ path, state: 'warning', resolve_after: '300ms' }), { pollMs: 20 });
  const ctx = recordingContext({ realClock: true });
  await l.start(ctx);
  try {
    // the countdown from the start (a slow query may have been sent before a restart)
    await ctx.waitFor((e) => e.state === 'ok');
    await appendFile(path, readFileSync(join(td, 'mariadb-10.11.slow'), 'utf8'));
    const slow = await ctx.waitFor((e) => e.state === 'warning');
    const ok = await ctx.waitFor((e) => e.state === 'ok' && ctx.events.indexOf(e) > ctx.events.indexOf(slow));
    assert.equal(ok.service, 'mysql slow-query');
    assert.equal(ok.description, 'no slow query for 300ms');
    assert.equal(ok.attributes?.resolved, 'true');
  } finally { await l.stop(); await rm(dir, { recursive: true, force: true }); }
});
