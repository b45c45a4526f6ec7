import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, chmod, mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingContext, type RecordingContext } from '../testing.js';
import { FilesListener, fileEntrySchema } from './index.js';

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'blick-files-'));
  try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
}

async function listen(path: string, extra: Record<string, unknown> = {}): Promise<{ l: FilesListener; ctx: RecordingContext }> {
  const l = new FilesListener(fileEntrySchema.parse({ path, debounce: '30ms', ...extra }));
  const ctx = recordingContext({ realClock: true });
  await l.start(ctx);
  return { l, ctx };
}

const changes = (ctx: RecordingContext) => ctx.events.map((e) => `${e.attributes?.change} ${e.attributes?.path}`);

test('files: create, modify, rename-over and delete of real files give one event each, in order', async () => {
  await withDir(async (dir) => {
    const { l, ctx } = await listen(join(dir, '**'), { hash: true });
    try {
      const f = join(dir, 'app.conf');
      await writeFile(f, 'a=1\n');
      await ctx.waitFor((e) => e.attributes?.change === 'created');
      await settle();
      await appendFile(f, 'b=2\n');
      const mod = await ctx.waitFor((e) => e.attributes?.change === 'modified');
      assert.ok(mod.attributes?.sha256 && mod.attributes.previous_sha256 && mod.attributes.sha256 !== mod.attributes.previous_sha256);
      await settle();
      // an editor's save: write a temporary file, rename it over the original
      await writeFile(join(dir, '.app.conf.swp'), 'a=1\nb=3\n');
      await rename(join(dir, '.app.conf.swp'), f);
      const rep = await ctx.waitFor((e) => e.attributes?.replaced === 'true');
      assert.equal(rep.attributes?.change, 'modified');
      await settle();
      await unlink(f);
      await ctx.waitFor((e) => e.attributes?.change === 'deleted');
      await settle();
      assert.deepEqual(changes(ctx), [`created ${f}`, `modified ${f}`, `modified ${f}`, `deleted ${f}`]);
      assert.equal(ctx.events[0]?.service, `file ${f}`);
      assert.equal(ctx.events[0]?.state, 'warning');
    } finally { await l.stop(); }
  });
});

test('files: a single watched file keeps being watched after it is replaced', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'passwd');
    await writeFile(f, 'root:x:0:0\n');
    await writeFile(join(dir, 'other'), '');
    const { l, ctx } = await listen(f);
    try {
      await writeFile(f + '.new', 'root:x:0:0\nbob:x:1000:1000\n');
      await rename(f + '.new', f);
      await ctx.waitFor((e) => e.attributes?.change === 'modified');
      await settle();
      await appendFile(f, 'eve:x:1001:1001\n');
      await appendFile(join(dir, 'other'), 'not watched\n');
      for (let i = 0; i < 100 && ctx.events.length < 2; i++) await settle(20);
      await settle();
      assert.deepEqual(changes(ctx), [`modified ${f}`, `modified ${f}`]);
    } finally { await l.stop(); }
  });
});

test('files: attribute changes, moves and new subdirectories under a recursive glob', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'a.conf'), 'x');
    const { l, ctx } = await listen(join(dir, '**/*.conf'));
    try {
      await chmod(join(dir, 'a.conf'), 0o600);
      const attr = await ctx.waitFor((e) => e.attributes?.change === 'attributes');
      assert.equal(attr.attributes?.changed, 'mode');
      assert.equal(attr.attributes?.mode, '0600');
      await mkdir(join(dir, 'sites'));
      await settle();
      await writeFile(join(dir, 'sites', 'b.conf'), 'y');
      await ctx.waitFor((e) => e.attributes?.path === join(dir, 'sites', 'b.conf'));
      await settle();
      await rename(join(dir, 'sites', 'b.conf'), join(dir, 'sites', 'c.conf'));
      const mv = await ctx.waitFor((e) => e.attributes?.change === 'moved');
      assert.equal(mv.attributes?.from, join(dir, 'sites', 'b.conf'));
      assert.equal(mv.attributes?.path, join(dir, 'sites', 'c.conf'));
      await writeFile(join(dir, 'sites', 'ignored.txt'), 'z');
      await settle();
      assert.ok(!ctx.events.some((e) => e.attributes?.path?.endsWith('.txt')), 'files that do not match the glob are not reported');
    } finally { await l.stop(); }
  });
});
