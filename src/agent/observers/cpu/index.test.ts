import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { recordingContext } from '../../listeners/testing.js';
import { testdataDir } from '../testdata.js';
import { CpuObserver, cpuMonitor, cpuSchema, parseProcStat } from './index.js';

const td = testdataDir('cpu');

test('cpu reports used percent and per-state percent from /proc/stat deltas', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'blick-cpu-'));
  try {
    await copyFile(join(td, 'stat.0'), join(proc, 'stat'));
    const obs = new CpuObserver(cpuSchema.parse({ warning: 50, critical: 90 }), proc);
    const ctx = recordingContext();
    await obs.observe(ctx);
    assert.equal(ctx.events.length, 0, 'the first observation only records counters');
    await copyFile(join(td, 'stat.1'), join(proc, 'stat'));
    await obs.observe(ctx);
    // deltas: user 600 system 200 idle 1000 iowait 100 → total 1900
    const cpu = ctx.events.find((e) => e.service === 'cpu')!;
    assert.equal(cpu.metric, 42.11);
    assert.equal(cpu.state, 'ok');
    assert.equal(cpu.attributes?.user, '31.58');
    assert.equal(ctx.events.find((e) => e.service === 'cpu iowait')?.metric, 5.26);
    assert.equal(ctx.events.find((e) => e.service === 'cpu idle')?.metric, 52.63);
  } finally { await rm(proc, { recursive: true, force: true }); }
});

test('cpu is on by default at 10s and can be turned off', () => {
  const [m] = cpuMonitor.create(undefined, { host: 'h', dataDir: '/tmp' });
  assert.equal(m?.kind, 'observer');
  assert.equal((m as CpuObserver).intervalMs, 10_000);
  assert.deepEqual(cpuMonitor.create(cpuSchema.parse({ enabled: false }), { host: 'h', dataDir: '/tmp' }), []);
});

test('parseProcStat never throws on random or truncated input', () => {
  fc.assert(fc.property(fc.string(), (s) => { parseProcStat(s); }));
  fc.assert(fc.property(fc.nat(200), (n) => { parseProcStat('cpu  1000 50 500 8000 200 10 20 5 0 0\n'.slice(0, n)); }));
});
