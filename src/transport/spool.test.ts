import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from './spool.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'spool-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('batches survive a restart in order and disappear when acknowledged', (t) => {
  const d = dir(t);
  const a = new Spool({ dir: d });
  a.open();
  a.append('b1', 3, new Uint8Array([1, 2, 3]));
  a.append('b2', 1, new Uint8Array([4]));
  a.append('b3', 2, new Uint8Array([5, 6]));
  assert.ok(a.ack('b2'));
  writeFileSync(join(d, 'half-written.pb.tmp'), 'x'); // a crash mid-write leaves a .tmp
  const b = new Spool({ dir: d });
  b.open();
  assert.deepEqual([...b.values()].map((e) => [e.id, e.events, [...b.read(e)]]), [['b1', 3, [1, 2, 3]], ['b3', 2, [5, 6]]]);
  assert.equal(b.events, 5);
  assert.ok(!readdirSync(d).some((f) => f.endsWith('.tmp')), 'temporary files are cleaned up');
  b.append('b4', 1, new Uint8Array([7]));
  assert.deepEqual([...b.values()].map((e) => e.id), ['b1', 'b3', 'b4'], 'new batches go after the old ones');
});

test('a full spool drops the oldest batches, counts them and says so', (t) => {
  const d = dir(t);
  const drops: number[][] = [];
  const s = new Spool({ dir: d, maxBytes: 100, onDrop: (b, e) => drops.push([b, e]) });
  s.open();
  for (let i = 0; i < 5; i++) s.append(`b${i}`, 10, new Uint8Array(30));
  assert.deepEqual([...s.values()].map((e) => e.id), ['b2', 'b3', 'b4']);
  assert.equal(s.droppedBatches, 2);
  assert.equal(s.droppedEvents, 20);
  assert.deepEqual(drops, [[1, 10], [1, 10]]);
  assert.ok(s.bytes <= 100);
});

test('batch ids must be safe as file names', (t) => {
  const s = new Spool({ dir: dir(t) });
  s.open();
  assert.throws(() => s.append('../etc/passwd', 1, new Uint8Array(1)), /not file-safe/);
});
