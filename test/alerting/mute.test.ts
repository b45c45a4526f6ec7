import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { api, startServer, until } from '../fixtures/blick.js';
import { withHook, post, sleep } from './hook.js';

/** Run the compiled CLI that sits beside this test (dist/ or another outDir). */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const main = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js')).href;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(main)}).then((m) => m.main(${JSON.stringify(args)}))`], { env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const rules = [
  { name: 'host-gone', match: { service: 'heartbeat' }, expired: true, severity: 'critical' },
  { name: 'svc-critical', match: { service: 'svc *' }, when: 'state == "critical"' },
];

/**
 * How long the CLI's silence lasts. Everything between `silence add` and the check that
 * db-1 is still muted (two posts, a notification, two CLI runs) must happen within it;
 * 2 s was too short on a loaded machine, so the silence expired before that check.
 */
const SILENCE_MS = 6000;

test('a silence (from the CLI) mutes notifications but not state; its expiry un-mutes; expired silences stay listed', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: { rules, notifiers: { ops: { type: 'webhook', url: hook.url } }, routes: [{ notify: ['ops'], group_interval: '100ms' }] } });
  defer(() => server.stop());
  const env = { BLICK_URL: server.url };

  // the silence starts while the CLI runs, so no earlier than t0
  const t0 = Date.now();
  const add = await cli(['silence', 'add', '--host', 'db-*', '--service', 'svc *', '--for', `${SILENCE_MS / 1000}s`, '--reason', 'maintenance window', '--author', 'alice'], env);
  assert.equal(add.code, 0, add.stderr);
  const id = add.stdout.trim();
  assert.match(id, /^[0-9A-Z]{26}$/);
  await post(server.url, [{ host: 'db-1', service: 'svc postgres', state: 'critical', description: 'down' }]);
  await post(server.url, [{ host: 'web-1', service: 'svc nginx', state: 'critical', description: 'down' }]);
  await until(() => hook.of('svc-critical', 'firing', 'web-1')[0], 'the unsilenced host to notify');
  const alerts = (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body;
  const db = alerts.find((a) => a.host === 'db-1');
  assert.ok(db, 'the silenced alert still fires (state is kept)');
  assert.equal(db.muted, `silence ${id}`);
  const list = await cli(['alerts'], env);
  assert.match(list.stdout, /firing\s+critical\s+svc-critical\s+db-1/);
  assert.equal(hook.of('svc-critical', undefined, 'db-1').length, 0, 'muted while the silence is active');

  const hit = await until(() => hook.of('svc-critical', 'firing', 'db-1')[0], 'the notification after the silence expires', SILENCE_MS + 10_000);
  assert.ok(hit.at - t0 >= SILENCE_MS - 100, `sent ${hit.at - t0} ms after the silence began (${SILENCE_MS / 1000} s)`);
  const sl = await cli(['silence', 'list', '--json'], env);
  const silences = JSON.parse(sl.stdout);
  assert.equal(silences.length, 1);
  assert.equal(silences[0].status, 'expired', 'kept for audit');
  assert.equal(silences[0].author, 'alice');
  assert.equal(silences[0].reason, 'maintenance window');

  // rm expires an active silence and keeps it
  const add2 = await cli(['silence', 'add', '--host', 'web-1', '--for', '1h', '--reason', 'noisy'], env);
  const id2 = add2.stdout.trim();
  await post(server.url, [{ host: 'web-1', service: 'svc nginx', state: 'ok' }]);
  await sleep(300);
  assert.equal(hook.of('svc-critical', 'resolved', 'web-1').length, 0, 'the resolution is muted too');
  const rm = await cli(['silence', 'rm', id2], env);
  assert.equal(rm.code, 0, rm.stderr);
  const all = (await api<any[]>(server.url, '/api/v1/silences')).body;
  assert.deepEqual(all.map((s) => s.status).sort(), ['expired', 'expired']);
  assert.equal((await api(server.url, '/api/v1/silences/nope', { method: 'DELETE' })).status, 404);
  assert.equal((await api(server.url, '/api/v1/silences', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matchers: {}, duration: '1h', reason: 'x' }) })).status, 400, 'a silence without matchers is refused');
});

test('inhibition: while a host is down (expired heartbeat), its service alerts are muted; the host-down alert is sent', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({
    dataDir: join(dir, 'server'),
    config: {
      rules, notifiers: { ops: { type: 'webhook', url: hook.url } },
      routes: [{ notify: ['ops'], group_interval: '100ms' }],
      inhibit: [{ source_match: { rule: 'host-gone' }, target_match: { rule: 'svc-*' }, equal: ['host'] }],
    },
  });
  defer(() => server.stop());

  await post(server.url, [{ host: 'h1', service: 'heartbeat', state: 'ok', ttl: 1 }, { host: 'h2', service: 'heartbeat', state: 'ok', ttl: 3600 }]);
  const gone = await until(() => hook.of('host-gone', 'firing', 'h1')[0], 'the expired heartbeat alert', 5000);
  assert.equal(gone.body.event.source, 'server');
  assert.equal(gone.body.event.attributes.expired, 'true');
  await post(server.url, [{ host: 'h1', service: 'svc app', state: 'critical' }, { host: 'h2', service: 'svc app', state: 'critical' }]);
  await until(() => hook.of('svc-critical', 'firing', 'h2')[0], 'the other host\'s service alert');
  await sleep(400);
  assert.equal(hook.of('svc-critical', undefined, 'h1').length, 0, 'the down host\'s service alert is inhibited');
  const a = (await api<any[]>(server.url, '/api/v1/alerts?status=firing')).body.find((x) => x.host === 'h1' && x.rule === 'svc-critical');
  assert.match(a.muted, /inhibited by host-gone/);

  // the host comes back: the inhibition lifts and the still-firing service alert is sent
  await post(server.url, [{ host: 'h1', service: 'heartbeat', state: 'ok', ttl: 3600 }]);
  await until(() => hook.of('host-gone', 'resolved', 'h1')[0], 'host-gone resolved');
  await until(() => hook.of('svc-critical', 'firing', 'h1')[0], 'the service alert once the host is back', 3000);
});

test('muted notifications are a Prometheus counter, blick_notifications_muted_total, by reason', async (t) => {
  const { defer, dir, hook } = await withHook(t);
  const server = await startServer({ dataDir: join(dir, 'server'), config: { rules, notifiers: { ops: { type: 'webhook', url: hook.url } }, routes: [{ notify: ['ops'], group_interval: '100ms' }] } });
  defer(() => server.stop());
  const s = await api(server.url, '/api/v1/silences', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matchers: { host: 'db-*' }, duration: '1h', reason: 'maintenance' }) });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  await post(server.url, [{ host: 'db-1', service: 'svc postgres', state: 'critical' }, { host: 'db-2', service: 'svc postgres', state: 'critical' }]);
  const text = await until(async () => {
    const m = (await api<string>(server.url, '/metrics')).body;
    return /^blick_notifications_muted_total\{reason="silence"\} 2$/m.test(m) ? m : undefined;
  }, 'two muted notifications counted');
  assert.match(text, /^# TYPE blick_notifications_muted_total counter$/m);
  assert.doesNotMatch(text, /^blick_notifications_muted /m, 'the old gauge is gone');
  assert.equal(hook.of('svc-critical').length, 0);
});
