import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordingContext } from '../testing.js';
import { LogPatternListener, logPatternMonitor, logPatternSchema } from './index.js';

test('log pattern emits one event per matching line, with named groups, across a rotation', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-logpat-'));
  const path = join(dir, 'app.log');
  await writeFile(path, 'ERROR before start is not reported\n');
  const [entry] = logPatternSchema.parse([{ path, pattern: 'ERROR (?<code>E\\d+) took (?<metric>\\d+)ms', service: 'app errors', state: 'critical' }]);
  const l = new LogPatternListener(entry!, { pollMs: 20 });
  const ctx = recordingContext();
  await l.start(ctx);
  try {
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
  } finally { await l.stop(); await rm(dir, { recursive: true, force: true }); }
});

test('log pattern config rejects an invalid regular expression', () => {
  const r = logPatternSchema.safeParse([{ path: '/x', pattern: '(' }]);
  assert.equal(r.success, false);
  assert.deepEqual(logPatternMonitor.create(undefined, { host: 'h', dataDir: '/tmp' }), []);
});
