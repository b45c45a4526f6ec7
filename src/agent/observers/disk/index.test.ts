import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { recordingContext } from '../../listeners/testing.js';
import { testdataDir } from '../testdata.js';
import { DiskObserver, diskSchema, parseMounts, type FsStats } from './index.js';

const stats: Record<string, FsStats> = {
  '/': { bsize: 4096, blocks: 1000, bfree: 100, bavail: 50, files: 1000, ffree: 900 },
  '/var': { bsize: 4096, blocks: 1000, bfree: 600, bavail: 600, files: 100, ffree: 2 },
  '/srv/my data': { bsize: 4096, blocks: 1000, bfree: 500, bavail: 500, files: 100, ffree: 90 },
};

test('disk reports each real filesystem once with used percent, free bytes and inodes', async () => {
  const ctx = recordingContext();
  const obs = new DiskObserver(diskSchema.parse({}), testdataDir('disk'), async (p) => {
    const s = stats[p]; if (!s) throw new Error(`unexpected statfs ${p}`); return s;
  });
  await obs.observe(ctx);
  const byService = new Map(ctx.events.map((e) => [e.service, e]));
  assert.deepEqual([...byService.keys()].sort(), ['disk /', 'disk /srv/my data', 'disk /var']);
  const root = byService.get('disk /')!;
  assert.equal(root.metric, 94.74); // used 900 / (900 + 50)
  assert.equal(root.state, 'warning');
  assert.equal(root.attributes?.free_bytes, String(50 * 4096));
  const v = byService.get('disk /var')!;
  assert.equal(v.metric, 40);
  assert.equal(v.state, 'critical', 'inodes 98% used');
  assert.equal(v.attributes?.inodes_used_percent, '98');
});

test('a statfs that fails reports unknown for that mount', async () => {
  const ctx = recordingContext();
  await new DiskObserver(diskSchema.parse({ mount_points: ['/var'] }), testdataDir('disk'), async () => { throw new Error('EIO'); }).observe(ctx);
  assert.equal(ctx.events.length, 1);
  assert.equal(ctx.events[0]?.state, 'unknown');
});

test('disk works against the real /proc and statfs', async () => {
  const ctx = recordingContext();
  await new DiskObserver(diskSchema.parse({}), '/proc').observe(ctx);
  const root = ctx.events.find((e) => e.service === 'disk /');
  assert.ok(root, 'the root filesystem is reported');
  assert.ok(root.metric! >= 0 && root.metric! <= 100);
});

test('parseMounts never throws on random input', () => {
  fc.assert(fc.property(fc.string(), (s) => { parseMounts(s); }));
});
