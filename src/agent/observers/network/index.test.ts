import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { recordingContext } from '../../listeners/testing.js';
import { testdataDir } from '../testdata.js';
import { NetworkObserver, networkSchema, parseNetDev } from './index.js';

test('network reports per-second rates per interface, skipping lo', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'blick-net-'));
  try {
    await mkdir(join(proc, 'net'));
    await copyFile(join(testdataDir('network'), 'dev.0'), join(proc, 'net', 'dev'));
    const obs = new NetworkObserver(networkSchema.parse({}), proc);
    const ctx = recordingContext();
    await obs.observe(ctx);
    assert.equal(ctx.events.length, 0);
    await copyFile(join(testdataDir('network'), 'dev.1'), join(proc, 'net', 'dev'));
    ctx.clock += 10_000;
    await obs.observe(ctx);
    const m = new Map(ctx.events.map((e) => [e.service, e.metric]));
    assert.equal(m.get('network eth0 rx_bytes'), 10_000);
    assert.equal(m.get('network eth0 tx_packets'), 50);
    assert.equal(m.get('network eth0 rx_errors'), 0.2);
    assert.equal(m.get('network eth0 tx_drops'), 0.1);
    assert.ok(![...m.keys()].some((k) => k.startsWith('network lo ')));
  } finally { await rm(proc, { recursive: true, force: true }); }
});

test('parseNetDev never throws on random input', () => {
  fc.assert(fc.property(fc.string(), (s) => { parseNetDev(s); }));
});

test('virtual interfaces (docker, bridges, veth, virbr, lo) are skipped by default, and reported once named', async (t) => {
  const proc = await mkdtemp(join(tmpdir(), 'blick-net-'));
  t.after(() => rm(proc, { recursive: true, force: true }));
  await mkdir(join(proc, 'net'));
  const interfacesSeen = async (config: Record<string, unknown>) => {
    const obs = new NetworkObserver(networkSchema.parse(config), proc);
    const ctx = recordingContext();
    await copyFile(join(testdataDir('network'), 'dev.virtual.0'), join(proc, 'net', 'dev'));
    await obs.observe(ctx);
    await copyFile(join(testdataDir('network'), 'dev.virtual.1'), join(proc, 'net', 'dev'));
    ctx.clock += 10_000;
    await obs.observe(ctx);
    return [...new Set(ctx.events.map((e) => e.attributes!.interface))].sort();
  };
  assert.deepEqual(await interfacesSeen({}), ['enp3s0', 'eth0']);
  assert.deepEqual(await interfacesSeen({ interfaces: ['eth*', 'docker0'] }), ['docker0', 'eth0']);
  assert.deepEqual(await interfacesSeen({ ignore: [] }), ['br-4f2a9c1e7b3d', 'docker0', 'enp3s0', 'eth0', 'lo', 'veth1a2b3c4', 'virbr0']);
});
