import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamHub, matches } from './hub.js';

const item = (hub: StreamHub, host: string) => ({ id: 0, kind: 'event' as const, host, service: 's', state: 'ok', json: '{}', size: 2 });

function push(hub: StreamHub, n: number): void {
  for (let i = 0; i < n; i++) {
    const it = item(hub, `h${i}`);
    hub.onIngest({ events: [{ id: String(i), host: it.host, service: 's', state: 'ok', tags: [], attributes: {}, description: '', time: 1, source: 'api' } as any], changed: [] });
  }
}

test('the ring buffer keeps the newest items and resumes after any id it still covers', () => {
  const hub = new StreamHub({ capacity: 4, firstId: 100 });
  assert.deepEqual(hub.since(99), { items: [], complete: true });
  push(hub, 6); // ids 100..105, buffer holds 102..105
  assert.equal(hub.oldest, 102);
  assert.deepEqual(hub.since(103).items.map((i) => i.id), [104, 105]);
  assert.equal(hub.since(103).complete, true);
  assert.equal(hub.since(101).complete, true, 'the item after 101 is 102, still held');
  assert.equal(hub.since(100).complete, false, '101 was dropped');
  assert.equal(hub.since(500).complete, false, 'an id from the future is another server run');
});

test('listeners get every batch; host and service filters are globs', () => {
  const hub = new StreamHub({ capacity: 10, firstId: 1 });
  const got: number[] = [];
  const off = hub.subscribe((items) => got.push(...items.map((i) => i.id)));
  push(hub, 2);
  off();
  push(hub, 1);
  assert.deepEqual(got, [1, 2]);
  const it = { id: 1, kind: 'event' as const, host: 'web-1', service: 'disk /', state: 'critical', json: '', size: 0 };
  assert.ok(matches(it, { host: 'web-1', state: 'critical' }));
  assert.ok(!matches(it, { host: 'web' }));
  assert.ok(!matches(it, { service: 'disk' }));
  assert.ok(matches(it, { host: 'web-*', service: 'disk *' }));
  assert.ok(matches(it, { host: 'web-?' }) && !matches(it, { host: 'db-*' }));
});

test('with no client for a while the hub stops collecting, and a late resume is told to reload', () => {
  let now = 0;
  const hub = new StreamHub({ capacity: 10, firstId: 1, keepWithoutClientsMs: 1000, now: () => now });
  push(hub, 2); // kept: within the first second
  assert.deepEqual(hub.since(0).items.map((i) => i.id), [1, 2]);
  now = 2000;
  push(hub, 3); // nobody has been listening for 2 s: not kept
  assert.equal(hub.since(2).complete, false, 'a client that saw id 2 must reload');
  assert.equal(hub.since(2).items.length, 0);
  const got: number[] = [];
  const off = hub.subscribe((items) => got.push(...items.map((i) => i.id)));
  push(hub, 1);
  assert.equal(got.length, 1, 'collecting again while a client listens');
  off();
  now = 2500;
  push(hub, 1);
  assert.equal(hub.since(got[0]!).items.length, 1, 'kept for a reconnect shortly after the client left');
});

test('the resume buffer is bounded in bytes too: the oldest items go first, counted, and a resume from before them is told to reload', () => {
  const trimmed: number[] = [];
  const hub = new StreamHub({ capacity: 1000, firstId: 1, maxBytes: 3500, onTrim: (n) => trimmed.push(n) });
  const big = (i: number) => ({ id: `b${i}`, host: 'h', service: 's', state: 'ok', tags: [], attributes: { blob: 'x'.repeat(900) }, description: '', time: 1, source: 'api' } as any);
  for (let i = 0; i < 10; i++) hub.onIngest({ events: [big(i)], changed: [] });
  assert.ok(hub.bytes <= 3500, `holds ${hub.bytes} bytes`);
  assert.ok(hub.bytes > 2000, 'as many items as fit are kept');
  const kept = hub.since(0);
  assert.equal(kept.complete, false, 'the first items were trimmed');
  assert.deepEqual(kept.items.map((i) => i.id), [8, 9, 10]);
  assert.equal(trimmed.reduce((a, b) => a + b, 0), 7);
  assert.equal(hub.since(7).complete, true);
  for (const it of kept.items) assert.ok(Math.abs(it.size - Buffer.byteLength(it.json)) < 100, 'size is close to the JSON');
});
