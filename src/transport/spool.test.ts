import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from './spool.js';
import { encodeBatch } from './wire.js';

/** append a batch with the next event numbers */
const put = (s: Spool, id: string, events: number, data: Uint8Array) => s.append({ id, seq: s.reserve(events), events, data });

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'spool-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('batches survive a restart in order and disappear when acknowledged', (t) => {
  const d = dir(t);
  const a = new Spool({ dir: d });
  a.open();
  put(a, 'b1', 3, new Uint8Array([1, 2, 3]));
  put(a, 'b2', 1, new Uint8Array([4]));
  put(a, 'b3', 2, new Uint8Array([5, 6]));
  assert.ok(a.ack('b2'));
  writeFileSync(join(d, 'half-written.pb.tmp'), 'x'); // a crash mid-write leaves a .tmp
  const b = new Spool({ dir: d });
  b.open();
  assert.deepEqual([...b.values()].map((e) => [e.id, e.events, [...b.read(e)]]), [['b1', 3, [1, 2, 3]], ['b3', 2, [5, 6]]]);
  assert.equal(b.events, 5);
  assert.ok(!readdirSync(d).some((f) => f.endsWith('.tmp')), 'temporary files are cleaned up');
  put(b, 'b4', 1, new Uint8Array([7]));
  assert.deepEqual([...b.values()].map((e) => e.id), ['b1', 'b3', 'b4'], 'new batches go after the old ones');
});

test('a full spool drops the oldest batches, counts them and says so', (t) => {
  const d = dir(t);
  const drops: number[][] = [];
  const s = new Spool({ dir: d, maxBytes: 100, onDrop: (b, e) => drops.push([b, e]) });
  s.open();
  for (let i = 0; i < 5; i++) put(s, `b${i}`, 10, new Uint8Array(30));
  assert.deepEqual([...s.values()].map((e) => e.id), ['b2', 'b3', 'b4']);
  assert.equal(s.droppedBatches, 2);
  assert.equal(s.droppedEvents, 20);
  assert.deepEqual(drops, [[1, 10], [1, 10]]);
  assert.ok(s.bytes <= 100);
});

test('a batch id that is not safe as a file name never becomes a path, and comes back from the file after a restart', (t) => {
  const d = dir(t);
  const s = new Spool({ dir: d });
  s.open();
  const id = '../etc/passwd';
  put(s, id, 1, encodeBatch({ id, producer: 'p', events: [] }));
  assert.deepEqual(readdirSync(d).filter((f) => f.endsWith('.pb')).map((f) => f.split('.')[3]!.slice(0, 1)), ['~'], 'the file is named by a hash of the id');
  const again = new Spool({ dir: d });
  again.open();
  assert.deepEqual([...again.values()].map((e) => e.id), [id]);
});

test('a spool written before batches had an order number of their own is read and resent first', (t) => {
  const d = dir(t);
  // the old form: <seq>.<events>.<id>.pb, our own events numbered from seq
  writeFileSync(join(d, '0000000000000100.3.oldbatch.pb'), new Uint8Array([1, 2, 3]));
  writeFileSync(join(d, 'producer.json'), JSON.stringify({ id: 'old-producer', reserved: 1_048_676 }) + '\n');
  const s = new Spool({ dir: d });
  s.open();
  assert.equal(s.producerId, 'old-producer');
  assert.deepEqual([...s.values()].map((e) => [e.id, e.seq, e.events, e.forwarded]), [['oldbatch', 100, 3, false]]);
  assert.equal(s.lowWater, 100, 'its numbers still hold back the low water');
  put(s, 'new', 1, new Uint8Array([4]));
  s.append({ id: 'fwd', seq: 7, events: 1, data: new Uint8Array([5]), forwarded: true });
  const again = new Spool({ dir: d });
  again.open();
  assert.deepEqual([...again.values()].map((e) => [e.id, e.forwarded]), [['oldbatch', false], ['new', false], ['fwd', true]]);
  assert.ok(again.reserve(1) >= 1_048_676, 'numbers continue above the old reservation');
  again.ack('oldbatch'); again.ack('new');
  assert.ok(again.lowWater > 100, 'a forwarded batch (numbered by its own producer) does not hold back our low water');
});

test('the producer id and the event numbers survive a restart; numbers are never handed out twice', (t) => {
  const d = dir(t);
  const a = new Spool({ dir: d });
  a.open();
  const first = put(a, 'b1', 3, new Uint8Array([1]));
  const second = put(a, 'b2', 2, new Uint8Array([2]));
  assert.equal(second.seq, first.seq + 3, 'events are numbered consecutively across batches');
  assert.equal(a.lowWater, first.seq);
  a.ack('b1'); a.ack('b2');
  assert.equal(a.lowWater, second.seq + 2, 'with nothing unacknowledged the low water is the next number');
  const b = new Spool({ dir: d });
  b.open();
  assert.equal(b.producerId, a.producerId);
  assert.match(b.producerId, /^[A-Za-z0-9_-]{16,64}$/);
  assert.ok(b.reserve(1) >= second.seq + 2, 'a restarted spool continues above every number used before');
  const other = new Spool({ dir: dir(t) });
  other.open();
  assert.notEqual(other.producerId, a.producerId);
});

test('a batch replaced by its parts keeps its place in the spool, and the parts survive a restart', (t) => {
  const d = dir(t);
  const a = new Spool({ dir: d });
  a.open();
  const b1 = put(a, 'b1', 4, new Uint8Array([1, 1, 1, 1]));
  put(a, 'b2', 1, new Uint8Array([2]));
  a.replace('b1', [{ id: 'b1-0', seq: b1.seq, events: 2, data: new Uint8Array([1, 1]) }, { id: 'b1-1', seq: b1.seq + 2, events: 2, data: new Uint8Array([1, 1]) }]);
  assert.deepEqual([...a.values()].map((e) => e.id), ['b1-0', 'b1-1', 'b2']);
  assert.equal(a.bytes, 5);
  const b = new Spool({ dir: d });
  b.open();
  assert.deepEqual([...b.values()].map((e) => [e.id, e.seq - b1.seq, e.events]), [['b1-0', 0, 2], ['b1-1', 2, 2], ['b2', 4, 1]]);
});
