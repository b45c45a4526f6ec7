import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, deferrals, ROOT, startAgent, startServer, tempDir, until, listAll } from '../fixtures/blick.js';

const HANG = join(ROOT, 'test', 'fixtures', 'plugins', 'check_hang.sh');

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
const pids = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : []);

test('a plugin that hangs is killed at its timeout, with its children, and reported with timeout_state', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const server = await startServer({ dataDir: join(dir, 'server') });
  defer(() => server.stop());
  const pidfile = join(dir, 'hang.pids');
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: { host: 'hang-01', checks: [{ name: 'hangs', command: [HANG, pidfile], interval: '1h', timeout: '300ms', timeout_state: 'warning' }] },
  });
  defer(() => agent.stop());
  const check = await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=hang-01&service=hangs')).body[0], 'the timed-out check at the server');
  assert.equal(check.state, 'warning', 'timeout_state');
  assert.match(check.description, /timed out after 0\.3s/);
  const [child] = pids(pidfile);
  assert.ok(child, 'the plugin started its child');
  await until(() => !alive(child!), `the plugin's child (pid ${child}) to be killed with it`);
});

test('a plugin whose grandchild escapes its process group and keeps stdout open still times out, and the check runs again', { timeout: 60_000 }, async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const pidfile = join(dir, 'hang.pids');
  defer(() => { for (const pid of pids(pidfile)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } });
  const server = await startServer({ dataDir: join(dir, 'server') });
  defer(() => server.stop());
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: { host: 'hang-02', checks: [{ name: 'escapes', command: [HANG, pidfile, 'escape'], interval: '500ms', timeout: '300ms' }] },
  });
  defer(() => agent.stop());
  const events = async () => (await listAll<any>(server.url, '/api/v1/events?host=hang-02&service=escapes'));
  // two results: the first run did not leave the check waiting for a pipe that never closes
  const got = await until(async () => { const e = await events(); return e.length >= 2 ? e : undefined; }, 'two timed-out runs of the check', 20_000);
  for (const e of got) {
    assert.equal(e.state, 'critical');
    assert.match(e.description, /timed out/);
  }
});
