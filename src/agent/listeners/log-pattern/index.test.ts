import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingContext, type RecordingContext } from '../testing.js';
import { LogPatternListener, logPatternMonitor, logPatternSchema } from './index.js';

/** A listener following DIR/app.log (holding `initial`) with `entry`'s options, stopped and cleaned up after `fn`. */
async function following(initial: string, entry: Record<string, unknown>, fn: (path: string, ctx: RecordingContext) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'blick-logpat-'));
  const path = join(dir, 'app.log');
  await writeFile(path, initial);
  const [e] = logPatternSchema.parse([{ path, ...entry }]);
  const l = new LogPatternListener(e!, { pollMs: 20 });
  const ctx = recordingContext();
  await l.start(ctx);
  try { await fn(path, ctx); } finally { await l.stop(); await rm(dir, { recursive: true, force: true }); }
}

test('log pattern emits one event per matching line, with named groups, across a rotation', async () => {
  await following('ERROR before start is not reported\n', { pattern: 'ERROR (?<code>E\\d+) took (?<metric>\\d+)ms', service: 'app errors', state: 'critical' }, async (path, ctx) => {
    await appendFile(path, 'INFO fine\nERROR E42 took 1500ms\nINFO fine\n');
    const e = await ctx.waitFor((x) => x.service === 'app errors');
    assert.equal(e.state, 'critical');
    assert.equal(e.metric, 1500);
    assert.equal(e.attributes?.code, 'E42');
    assert.equal(e.description, 'ERROR E42 took 1500ms');
    await rename(path, path + '.1');
    await writeFile(path, 'ERROR E7 took 3ms\n');
    await ctx.waitFor((x) => x.attributes?.code === 'E7');
    assert.equal(ctx.events.length, 2);
  });
});

test('log pattern config rejects an invalid regular expression', () => {
  const r = logPatternSchema.safeParse([{ path: '/x', pattern: '(' }]);
  assert.equal(r.success, false);
  assert.deepEqual(logPatternMonitor.create(undefined, { host: 'h', dataDir: '/tmp' }), []);
});

test('log pattern with resolve_after counts down from its start too: a check left firing by a restart returns to ok', async () => {
  await following('', { pattern: 'ERROR', state: 'critical', resolve_after: '100ms' }, async (path, ctx) => {
    const ok = await ctx.waitFor((e) => e.state === 'ok');
    assert.equal(ok.service, `log ${path}`);
    assert.equal(ok.description, 'no new match of ERROR for 100ms');
  });
});

test('log pattern config: resolve_after is a duration and ok_pattern a valid regular expression', () => {
  assert.equal(logPatternSchema.safeParse([{ path: '/x', pattern: 'E', ok_pattern: '(' }]).success, false);
  assert.equal(logPatternSchema.parse([{ path: '/x', pattern: 'E', resolve_after: '5m' }])[0]!.resolve_after, 300_000);
});
