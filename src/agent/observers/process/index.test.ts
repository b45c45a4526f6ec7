import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingContext } from '../../listeners/testing.js';
import { ProcessObserver, processMonitor, processSchema } from './index.js';

async function fakeProc(root: string, procs: Record<number, [string, string]>): Promise<void> {
  for (const [pid, [comm, cmdline]] of Object.entries(procs)) {
    await mkdir(join(root, pid), { recursive: true });
    await writeFile(join(root, pid, 'comm'), comm + '\n');
    await writeFile(join(root, pid, 'cmdline'), cmdline.split(' ').join('\0') + '\0');
  }
}

test('process counts processes by name, command line and pid file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-proc-'));
  try {
    const proc = join(dir, 'proc');
    await fakeProc(proc, { 10: ['nginx', 'nginx: master process'], 11: ['nginx', 'nginx: worker process'], 20: ['python3', 'python3 /srv/app.py --port 80'] });
    await writeFile(join(dir, 'good.pid'), '20\n');
    await writeFile(join(dir, 'stale.pid'), '999\n');
    const obs = new ProcessObserver(processSchema.parse({ processes: [
      { name: 'nginx' },
      { name: 'app', cmdline: 'app\\.py' },
      { name: 'redis-server' },
      { name: 'good', pidfile: join(dir, 'good.pid') },
      { name: 'stale', pidfile: join(dir, 'stale.pid') },
    ] }), proc);
    const ctx = recordingContext();
    await obs.observe(ctx);
    const by = new Map(ctx.events.map((e) => [e.service, e]));
    assert.equal(by.get('process nginx')?.metric, 2);
    assert.equal(by.get('process nginx')?.state, 'ok');
    assert.equal(by.get('process app')?.attributes?.pids, '20');
    assert.equal(by.get('process redis-server')?.state, 'critical');
    assert.equal(by.get('process good')?.state, 'ok');
    assert.equal(by.get('process stale')?.state, 'critical');
    assert.match(by.get('process stale')?.description ?? '', /not running/);
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('process is off unless configured', () => {
  assert.deepEqual(processMonitor.create(undefined, { host: 'h', dataDir: '/tmp' }), []);
});
