import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { Producer } from '../../src/transport/producer.js';
import { hasProgram, missing } from '../agent/require.js';
import { api, deferrals, exited, listAll, metric, startServer, tempDir, until } from '../fixtures/blick.js';
import { logAgent, serverProcess, writeLines } from './processes.js';

async function storedNumbers(url: string, host: string): Promise<number[]> {
  const events = await listAll(url, `/api/v1/events?host=${host}&service=app%20errors&limit=1000`);
  return events.map((e) => Number(e.attributes.n)).sort((a, b) => a - b);
}

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('the SQLite file locked by another process: the server keeps answering, counts the failed commits, and stores every batch once the lock is gone', { timeout: 90_000 }, async (t) => {
  if (!(await hasProgram('sqlite3'))) return missing(t, 'sqlite3', 'apt-get install sqlite3');
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const srv = await serverProcess(defer, dir);
  const proc = await srv.start();
  const producer = new Producer({ upstreams: [srv.ingest], spoolDir: join(dir, 'producer'), producer: 'lock-test', ackTimeoutMs: 300, log: createLogger('test', { level: 'silent' }) });
  await producer.start();
  defer(() => producer.stop());
  let sent = 0;
  const send = (n: number) => { for (let i = 0; i < n; i++) { producer.send(makeEvent({ id: `lock-${sent}`, host: 'lock-host', service: `s ${sent % 3}`, metric: sent }, { source: 'agent' })); sent++; } };
  send(100);
  await until(() => producer.stats.eventsAcked >= 100, 'the first events before the lock');

  // another process takes the write lock and holds it
  const holder = spawn('sqlite3', [srv.dbFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  defer(() => { if (holder.exitCode === null) holder.kill('SIGKILL'); });
  let holderOut = '';
  holder.stdout.on('data', (b) => { holderOut += b; });
  holder.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
  await until(() => holderOut.includes('locked'), 'sqlite3 to hold the exclusive lock');

  send(300);
  const failures = async () => metric(await (await fetch(`${srv.url}/metrics`)).text(), 'blick_store_failures_total');
  await until(async () => (await failures()) >= 3, 'commits failing on the lock', 30_000);
  // the server still serves while its database is locked
  const health = await fetch(`${srv.url}/healthz`);
  assert.equal(health.status, 200, '/healthz answers while the database is locked');
  const checks = await api<any[]>(srv.url, '/api/v1/checks?host=lock-host');
  assert.equal(checks.status, 200, 'reads from memory answer while the database is locked');
  assert.ok(producer.unacknowledged.events > 0, 'nothing is acknowledged that could not be committed');

  holder.stdin.end('COMMIT;\n.quit\n');
  await exited(holder);
  await until(() => producer.unacknowledged.events === 0, 'the producer to drain once the lock is gone', 30_000);
  const stored = await listAll(srv.url, '/api/v1/events?host=lock-host&limit=10000');
  assert.equal(stored.length, 400, 'every event stored');
  assert.equal(new Set(stored.map((e) => e.id)).size, 400, 'none twice');
  assert.equal(proc.exitCode, null, 'the server process kept running');
});

test('the agent\'s spool disk fills up: the agent keeps running, holds the events in memory, and delivers every one when the server comes', { timeout: 90_000 }, async (t) => {
  if (process.getuid?.() !== 0 || !(await hasProgram('unshare'))) return missing(t, 'unshare -m as root', 'the test mounts a small tmpfs in a private mount namespace');
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const { port, log, dataDir, start } = await logAgent(defer, dir, 'full-disk-01');
  mkdirSync(dataDir, { recursive: true });
  // the agent's data directory (spool, read positions) on a 64 KiB tmpfs that only it sees
  const agent = await start({ wrapper: ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"', dataDir] });
  // ~250 bytes each, written at once: one batch of them is larger than the whole tmpfs
  const TOTAL = 800;
  await writeLines(log, 0, TOTAL, TOTAL);
  await until(() => /cannot write to the spool/.test(agent.output()), `the agent to report the full spool (output: ${agent.output().slice(-1500)})`, 30_000);
  assert.equal(agent.exitCode, null, 'the agent keeps running with a full disk');

  const server = await startServer({ dataDir: join(dir, 'server'), config: { ingest: `tcp://127.0.0.1:${port}` } });
  defer(() => server.stop());
  await until(async () => (await storedNumbers(server.url, 'full-disk-01')).length >= TOTAL, `all ${TOTAL} lines at the server (agent output: ${agent.output().slice(-3000)})`, 60_000);
  assert.deepEqual(await storedNumbers(server.url, 'full-disk-01'), range(TOTAL), 'every line once, none lost to the full disk');
  assert.equal(agent.exitCode, null);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0);
});

for (const offset of ['+1h', '-1h']) {
  test(`an agent whose clock is ${offset === '+1h' ? '1 h ahead' : '1 h behind'}: its events are stored, counted, and its heartbeat does not expire`, { timeout: 60_000 }, async (t) => {
    if (!existsSync(LIBFAKETIME)) return missing(t, 'libfaketime', 'apt-get install faketime');
    const defer = deferrals(t);
    const { dir, cleanup } = tempDir();
    defer(cleanup);
    const server = await startServer({ dataDir: join(dir, 'server') });
    defer(() => server.stop());
    const host = offset === '+1h' ? 'clock-ahead' : 'clock-behind';
    const { log, start } = await logAgent(defer, dir, host, server.receiver.endpoint);
    // libfaketime preloaded into the agent itself (the faketime wrapper would stand between it and its signals)
    const agent = await start({ env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
    await until(async () => (await api<any[]>(server.url, `/api/v1/checks?host=${host}`)).body.find((c) => c.service === 'heartbeat'), `the skewed agent's heartbeat (output: ${agent.output().slice(-1500)})`, 20_000);
    await writeLines(log, 0, 50);
    await until(async () => (await storedNumbers(server.url, host)).length >= 50, 'the skewed agent\'s events');
    assert.deepEqual(await storedNumbers(server.url, host), range(50), 'every event stored once');
    // heartbeats keep arriving and their ttl (armed from the server's clock) does not run out
    const beats = (await api<any[]>(server.url, `/api/v1/events?host=${host}&service=heartbeat&limit=1000`)).body.length;
    await until(async () => (await api<any[]>(server.url, `/api/v1/events?host=${host}&service=heartbeat&limit=1000`)).body.length >= beats + 3, 'three more heartbeats');
    const hb = (await api<any[]>(server.url, `/api/v1/checks?host=${host}&service=heartbeat`)).body[0];
    assert.notEqual(hb.attributes.expired, 'true', 'the heartbeat did not expire');
    assert.equal(hb.state, 'ok');
    if (offset === '+1h') {
      // a time from the future is bounded by the server's skew limit; the producer's time is kept
      assert.ok(hb.time <= Date.now() + 5 * 60_000, `the stored time is not an hour in the future (${new Date(hb.time).toISOString()})`);
      assert.ok(Number(hb.attributes.producer_time) > Date.now() + 50 * 60_000, 'the producer\'s own time is kept as an attribute');
      const m = await (await fetch(`${server.url}/metrics`)).text();
      assert.ok(metric(m, 'blick_events_time_clamped_total') > 0, 'clamped times are counted');
    }
    agent.kill('SIGTERM');
    assert.equal(await exited(agent), 0);
  });
}

test('the upstream unreachable for two minutes: the agent keeps producing and every event arrives once when it is back', { timeout: 240_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const { port, log, start } = await logAgent(defer, dir, 'far-away-01');
  const agent = await start();
  // two minutes of lines with nothing listening upstream (the outage is the scenario, not a wait for a result)
  const OUTAGE_MS = 120_000;
  const TICKS = OUTAGE_MS / 1000;
  let written = 0;
  for (let i = 0; i < TICKS; i++) {
    written = await writeLines(log, written, 5, 5);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(agent.exitCode, null, `the agent keeps running during the outage (output: ${agent.output().slice(-1000)})`);
  }
  const server = await startServer({ dataDir: join(dir, 'server'), config: { ingest: `tcp://127.0.0.1:${port}` } });
  defer(() => server.stop());
  written = await writeLines(log, written, 50);
  await until(async () => (await storedNumbers(server.url, 'far-away-01')).length >= written, `all ${written} lines (agent output: ${agent.output().slice(-1000)})`, 60_000);
  assert.deepEqual(await storedNumbers(server.url, 'far-away-01'), range(written), 'every line once, in spite of the outage');
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0);
});
