import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentProcess, exited, metric, serverForTest, until, listAll } from '../fixtures/blick.js';

/**
 * A log followed by the agent, and the agent SIGKILLed while lines keep coming:
 * the restarted agent reads again from its last saved position, so no line is
 * lost, and the lines it reads twice carry the same event ids, so the server
 * stores each line once.
 */
test('an agent killed while a log grows: every matching line is stored once', { timeout: 90_000 }, async (t) => {
  const { server, defer, dir } = await serverForTest(t);
  const log = join(dir, 'app.log');
  writeFileSync(log, 'started\n');
  const { start } = agentProcess(defer, dir, {
    host: 'crashy-01',
    upstream: server.receiver.endpoint,
    lines: ['  log_patterns:', `    - { path: ${JSON.stringify(log)}, pattern: "ERROR (?<n>\\\\d+)", service: app errors, state: critical }`],
  });
  const stored = async () => (await listAll<any>(server.url, '/api/v1/events?host=crashy-01&service=app%20errors&limit=10000'));
  const heartbeat = async () => (await listAll<any>(server.url, '/api/v1/events?host=crashy-01&service=heartbeat&limit=10000')).length;

  let agent = start();
  await until(heartbeat, `the agent's heartbeat (output: ${agent.output()})`, 15_000);

  const TOTAL = 600;
  let written = 0;
  const write = (upTo: number) => new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let i = 0; i < 5 && written < upTo; i++) appendFileSync(log, `${new Date().toISOString()} ERROR ${++written} something broke\n`);
      if (written >= upTo) { clearInterval(timer); resolve(); }
    }, 10);
  });
  // 2.4 s of lines (the read position is saved every second and lags one save), then kill -9 mid-stream
  await write(300);
  await until(async () => (await stored()).length >= 100, 'events before the kill', 15_000);
  agent.kill('SIGKILL');
  await exited(agent);
  await write(400); // written while the agent is down
  const beatsBefore = await heartbeat();
  agent = start();
  await until(async () => (await heartbeat()) > beatsBefore, 'the restarted agent', 15_000);
  await write(TOTAL);

  await until(async () => (await stored()).length >= TOTAL, `all ${TOTAL} lines at the server`, 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // anything stored twice would arrive by now
  const events = await stored();
  const numbers = events.map((e) => Number(e.attributes.n)).sort((a, b) => a - b);
  assert.equal(events.length, TOTAL, 'each line stored once');
  assert.deepEqual(numbers, Array.from({ length: TOTAL }, (_, i) => i + 1), 'no line lost');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.ok(metric(metrics, 'blick_events_duplicate_total') >= 1, 'the restarted agent read lines again, and the server dropped them as duplicates');
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0);
});
