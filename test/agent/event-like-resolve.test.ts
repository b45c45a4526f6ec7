import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, startAgent, startServer, until } from '../fixtures/blick.js';
import { withHook } from '../alerting/hook.js';

const quiet = { cpu: { enabled: false }, load: { enabled: false }, memory: { enabled: false }, disk: { enabled: false }, network: { enabled: false } };

/** A real server (config from the webhook receiver's url) and a real agent with `monitors` (log_patterns, files). */
async function setup(t: { after(fn: () => unknown): void }, monitors: (dir: string) => Record<string, unknown>, server: (hookUrl: string) => Record<string, unknown> = () => ({})) {
  const { defer, dir, hook } = await withHook(t);
  const srv = await startServer({ dataDir: join(dir, 'server'), config: server(hook.url) });
  defer(() => srv.stop());
  const agent = await startAgent({ dataDir: join(dir, 'agent'), upstreams: [srv.receiver.endpoint], config: { host: 'evt-01', ...quiet, ...monitors(dir) } });
  defer(() => agent.stop());
  const check = async (service: string) => (await api<any[]>(srv.url, `/api/v1/checks?host=evt-01&service=${encodeURIComponent(service)}`)).body[0];
  const inState = (service: string, state: string) => until(async () => { const c = await check(service); return c?.state === state ? c : undefined; }, `${service} ${state}`, 15_000);
  return { dir, hook, check, inState, srv };
}

test('a log_patterns match goes critical and returns to ok after resolve_after without a new match', { timeout: 60_000 }, async (t) => {
  let log = '';
  const { inState } = await setup(t, (dir) => {
    log = join(dir, 'app.log');
    writeFileSync(log, '');
    return { log_patterns: [{ path: log, pattern: 'ERROR', service: 'app log', state: 'critical', resolve_after: '1s' }] };
  });
  appendFileSync(log, 'ERROR disk full\n');
  const bad = await inState('app log', 'critical');
  assert.equal(bad.description, 'ERROR disk full');
  const ok = await inState('app log', 'ok');
  assert.equal(ok.description, 'no new match of ERROR for 1s');
  assert.equal(ok.attributes.resolved, 'true');
  assert.equal(ok.source, 'agent');
});

test('a log_patterns ok_pattern line clears the check at once', { timeout: 60_000 }, async (t) => {
  let log = '';
  const { inState } = await setup(t, (dir) => {
    log = join(dir, 'app.log');
    writeFileSync(log, '');
    return { log_patterns: [{ path: log, pattern: 'ERROR', ok_pattern: 'recovered', service: 'app log', state: 'critical', resolve_after: '1h' }] };
  });
  appendFileSync(log, 'ERROR upstream down\n');
  await inState('app log', 'critical');
  appendFileSync(log, 'INFO upstream recovered\n');
  const ok = await inState('app log', 'ok');
  assert.equal(ok.description, 'INFO upstream recovered');
  assert.equal(ok.attributes.ok_pattern, 'recovered');
});

test('a files change returns to ok after resolve_after', { timeout: 60_000 }, async (t) => {
  let watched = '';
  const { inState } = await setup(t, (dir) => {
    mkdirSync(join(dir, 'etc'));
    watched = join(dir, 'etc', 'app.conf');
    writeFileSync(watched, 'a=1\n');
    return { files: [{ path: watched, state: 'critical', resolve_after: '1s' }] };
  });
  // the listener's first scan is done when the agent has started
  appendFileSync(watched, 'b=2\n');
  const bad = await inState(`file ${watched}`, 'critical');
  assert.equal(bad.attributes.change, 'modified');
  const ok = await inState(`file ${watched}`, 'ok');
  assert.equal(ok.description, 'no change for 1s');
});

test('with renotify_on: description, a second, different error while firing sends a second notification; without, it does not', { timeout: 60_000 }, async (t) => {
  let log = '';
  const { hook, inState } = await setup(t, (dir) => {
    log = join(dir, 'app.log');
    writeFileSync(log, '');
    return { log_patterns: [{ path: log, pattern: 'ERROR', service: 'app log', state: 'critical' }] };
  }, (url) => ({
    rules: [
      { name: 'app-errors', match: { service: 'app log' }, when: 'state == "critical"', renotify_on: 'description' },
      { name: 'app-errors-once', match: { service: 'app log' }, when: 'state == "critical"' },
    ],
    notifiers: { ops: { type: 'webhook', url } },
    routes: [{ notify: ['ops'], group_interval: '100ms' }],
  }));
  appendFileSync(log, 'ERROR disk full\n');
  await inState('app log', 'critical');
  await until(() => hook.of('app-errors', 'firing').length >= 1 && hook.of('app-errors-once', 'firing').length >= 1, 'the first notifications');
  appendFileSync(log, 'ERROR connection refused\n');
  const second = await until(() => hook.of('app-errors', 'firing')[1], 'a second notification for the new error');
  assert.match(JSON.stringify(second.body), /ERROR connection refused/);
  assert.equal(hook.of('app-errors-once', 'firing').length, 1, 'a rule without renotify_on notifies once');
});
