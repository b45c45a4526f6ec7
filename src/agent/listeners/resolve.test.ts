import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingContext } from './testing.js';
import { Resolver } from './resolve.js';

test('resolver: beyond its bound the check that fired longest ago is resolved early; an ok pattern resolves at once', () => {
  const ctx = recordingContext();
  const r = new Resolver(ctx, { afterMs: 3_600_000, reason: 'quiet', tags: ['t'], max: 2 });
  try {
    r.fired('file /a');
    r.fired('file /b');
    r.fired('file /a'); // fired again: now the newest
    assert.equal(ctx.events.length, 0);
    r.fired('file /c');
    assert.deepEqual(ctx.events.map((e) => [e.service, e.state]), [['file /b', 'ok']], 'the one that fired longest ago is resolved early');
    assert.match(ctx.events[0]!.description!, /resolved early: more than 2/);
    assert.equal(r.firing('file /b'), false);
    r.resolve('file /a', 'line', { ok_pattern: 'x' });
    assert.deepEqual(ctx.events[1]!.attributes, { ok_pattern: 'x', resolved: 'true' });
    assert.deepEqual(ctx.events[1]!.tags, ['t']);
    assert.equal(r.firing('file /a'), false);
    assert.equal(r.firing('file /c'), true);
  } finally { r.stop(); }
});
