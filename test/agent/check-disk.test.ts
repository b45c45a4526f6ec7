import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { api, deferrals, startAgent, startServer, tempDir, until, listAll } from '../fixtures/blick.js';
import { missing } from './require.js';

const CHECK_DISK = '/usr/lib/nagios/plugins/check_disk';

test('a Nagios check named disk running the real check_disk does not land on the disk observer\'s series, and disk-full does not fire on its bytes', { timeout: 60_000 }, async (t) => {
  if (!existsSync(CHECK_DISK)) return missing(t, CHECK_DISK, 'apt-get install monitoring-plugins-basic');
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const server = await startServer({
    dataDir: join(dir, 'server'),
    config: { rules: [{ name: 'disk-full', match: { service: 'disk *' }, when: 'metric > 90' }] },
  });
  defer(() => server.stop());
  const agent = await startAgent({
    dataDir: join(dir, 'agent'), upstreams: [server.receiver.endpoint],
    config: {
      host: 'disk-01',
      checks: [{ name: 'disk', command: [CHECK_DISK, '-w', '1%', '-c', '1%', '-p', '/'], interval: '200ms' }],
      // the observer would go warning on a full test machine; its thresholds are not under test
      disk: { interval: '200ms', mount_points: ['/'], warning: 100, critical: 100, inodes_warning: 100, inodes_critical: 100 },
      cpu: { enabled: false }, load: { enabled: false }, memory: { enabled: false }, network: { enabled: false },
    },
  });
  defer(() => agent.stop());
  const events = async (service: string) => (await listAll<any>(server.url, `/api/v1/events?host=disk-01&service=${encodeURIComponent(service)}&limit=1000`));

  // several runs of both, so that a shared series would have alternated by now
  await until(async () => (await events('disk')).length >= 3, 'three runs of the check', 20_000);
  const observed = await until(async () => { const e = await events('disk /'); return e.length >= 3 ? e : undefined; }, 'the disk observer\'s `disk /`', 20_000);
  for (const e of observed) {
    assert.ok(e.metric >= 0 && e.metric <= 100, `the observer's series holds percent only (${e.metric} ${e.attributes.uom ?? ''})`);
    assert.equal(e.attributes.check, undefined, 'no perfdata on the observer\'s series');
  }
  const perf = await events('check disk /');
  assert.ok(perf.length >= 1, 'check_disk\'s perfdata series is `check disk /`');
  for (const e of perf) {
    assert.equal(e.attributes.check, 'disk');
    assert.equal(e.attributes.uom, 'B', 'check_disk reports bytes');
    assert.ok(e.metric > 100, `bytes, not percent (${e.metric})`);
  }
  const check = (await api<any[]>(server.url, '/api/v1/checks?host=disk-01&service=disk')).body[0];
  assert.match(check.description, /^DISK /, 'the check itself keeps its name');
  const alerts = (await api<any[]>(server.url, '/api/v1/alerts')).body;
  assert.deepEqual(alerts.filter((a) => a.rule === 'disk-full'), [], 'disk-full does not fire on a byte count');
});
