import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEvent, SOURCES, type BlickEvent } from '../core/event.js';
import { isBlickError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { Producer } from './producer.js';
import { Receiver } from './receiver.js';
import { decodeMessage, encodeBatch, type Batch } from './wire.js';

const quiet = () => createLogger('test', { level: process.env.BLICK_LOG_LEVEL ?? 'silent' });

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'producer-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function until(fn: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ev = (n: number, time?: number): BlickEvent => {
  const e = makeEvent({ host: 'h', service: `s ${n}`, state: 'ok', attributes: { n: String(n) } }, { source: 'agent' });
  return time === undefined ? e : { ...e, time };
};

/** A producer whose upstream never answers (nothing listens there): what it forwards stays spooled. */
async function deafProducer(t: { after(fn: () => unknown): void }, spoolDir: string): Promise<Producer> {
  const p = new Producer({ upstreams: ['tcp://127.0.0.1:1'], spoolDir, producer: 'relay-1', log: quiet() });
  await p.start();
  t.after(() => p.stop());
  return p;
}

/** The batches in a spool directory, decoded, in file order. */
function spooled(d: string): Batch[] {
  return readdirSync(d).filter((f) => f.endsWith('.pb')).sort().map((f) => {
    // no time bounds and a clock at 1: what is read is what was spooled
    const m = decodeMessage(readFileSync(join(d, f)), undefined, () => 1, { sources: SOURCES });
    assert.equal(m.kind, 'batch');
    return (m as { batch: Batch }).batch;
  });
}

test('forward keeps the batch id, its producer and its origin, and resolves after the spool write', async (t) => {
  const d = dir(t);
  const p = await deafProducer(t, d);
  const batch: Batch = { id: '01AGENTBATCH', producer: 'web-01', events: [ev(1), ev(2), ev(3)], origin: { producerId: 'agent-xyz', seq: 41, lowWater: 30 } };
  const r = await p.forward(batch, { seqs: [41, 42, 43], count: 3 });
  assert.deepEqual(r, { spooled: 3, duplicates: 0 });
  const [b] = spooled(d);
  assert.equal(b!.id, '01AGENTBATCH');
  assert.equal(b!.producer, 'web-01', 'the producer name is the origin\'s, not the relay\'s');
  assert.deepEqual(b!.origin, { producerId: 'agent-xyz', seq: 41, lowWater: 30 });
  assert.deepEqual(b!.events.map((e) => e.id), batch.events.map((e) => e.id), 'event ids are kept');
  assert.equal(p.unacknowledged.batches, 1);
});

test('events the receiver dropped leave gaps: the batch is cut into contiguous runs with derived ids', async (t) => {
  const d = dir(t);
  const p = await deafProducer(t, d);
  const batch: Batch = { id: 'B', producer: 'web-01', events: [ev(1), ev(2), ev(4), ev(5), ev(7)], origin: { producerId: 'agent-xyz', seq: 10, lowWater: 10 } };
  await p.forward(batch, { seqs: [10, 11, 13, 14, 16], count: 7 });
  const runs = spooled(d).map((b) => [b.id, b.origin!.seq, b.origin!.lowWater, b.events.map((e) => e.attributes.n).join()]);
  assert.deepEqual(runs, [['B-r0', 10, 10, '1,2'], ['B-r1', 13, 10, '4,5'], ['B-r2', 16, 10, '7']]);
});

test('a resend of a batch the spool still holds is acknowledged without being written twice', async (t) => {
  const d = dir(t);
  const p = await deafProducer(t, d);
  const batch: Batch = { id: 'B', producer: 'web-01', events: [ev(1), ev(2)], origin: { producerId: 'agent-xyz', seq: 1, lowWater: 1 } };
  await p.forward(batch, { seqs: [1, 2], count: 2 });
  assert.deepEqual(await p.forward(batch, { seqs: [1, 2], count: 2 }), { spooled: 0, duplicates: 2 });
  assert.equal(spooled(d).length, 1);
  // the same id with other numbers (another producer's batch) is not taken for a repeat
  const other: Batch = { ...batch, origin: { producerId: 'agent-abc', seq: 7, lowWater: 7 } };
  assert.deepEqual(await p.forward(other, { seqs: [7, 8], count: 2 }), { spooled: 2, duplicates: 0 });
  const ids = spooled(d).map((b) => b.id);
  assert.equal(ids.length, 2);
  assert.notEqual(ids[0], ids[1], 'the second is sent under an id of its own (acks name the id)');
});

test('events without a time get the time they were forwarded; unnumbered batches keep their id', async (t) => {
  const d = dir(t);
  const p = await deafProducer(t, d);
  const before = Date.now();
  await p.forward({ id: 'plain', producer: 'go-agent', events: [ev(1, 0), ev(2, 1_700_000_000_000)] });
  const [b] = spooled(d);
  assert.equal(b!.id, 'plain');
  assert.equal(b!.origin, undefined);
  assert.ok(b!.events[0]!.time >= before, 'time 0 is stamped with the relay\'s receive time');
  assert.equal(b!.events[1]!.time, 1_700_000_000_000);
});

test('forward rejects with SPOOL_FAILED when the spool cannot take the batch', async (t) => {
  const d = dir(t);
  const p = await deafProducer(t, join(d, 'spool'));
  // the spool directory is gone and a file stands in its place: every write fails
  rmSync(join(d, 'spool'), { recursive: true, force: true });
  writeFileSync(join(d, 'spool'), 'not a directory');
  await assert.rejects(p.forward({ id: 'B', producer: 'web-01', events: [ev(1)], origin: { producerId: 'a', seq: 1, lowWater: 1 } }), (err) => isBlickError(err, 'SPOOL_FAILED'));
  const stopped = new Producer({ upstreams: ['tcp://127.0.0.1:1'], spoolDir: join(d, 'other'), producer: 'r', log: quiet() });
  await assert.rejects(stopped.forward({ id: 'B', producer: 'w', events: [ev(1)] }), (err) => isBlickError(err, 'SPOOL_FAILED'), 'a producer that is not running takes nothing');
});

test('a forwarded batch the upstream refuses is split keeping its origin, not the relay\'s', async (t) => {
  const d = dir(t);
  const got: Batch[] = [];
  const receiver = new Receiver({ bind: 'tcp://127.0.0.1:0', limits: { maxBatchEvents: 2 }, log: quiet(), handler: (b) => { got.push(b); return { accepted: b.events.length, duplicates: 0 }; } });
  await receiver.start();
  t.after(() => receiver.stop());
  const p = new Producer({ upstreams: [receiver.endpoint], spoolDir: d, producer: 'relay-1', log: quiet(), ackTimeoutMs: 500 });
  await p.start();
  t.after(() => p.stop());
  const events = [ev(1), ev(2), ev(3), ev(4), ev(5)];
  await p.forward({ id: 'BIG', producer: 'web-01', events, origin: { producerId: 'agent-xyz', seq: 100, lowWater: 90 } });
  await until(() => p.unacknowledged.batches === 0, 'the refused batch to be split and delivered');
  const parts = got.map((b) => [b.producer, b.origin!.producerId, b.origin!.seq, b.origin!.lowWater, b.events.length]);
  assert.deepEqual(parts, [['web-01', 'agent-xyz', 100, 90, 2], ['web-01', 'agent-xyz', 102, 90, 1], ['web-01', 'agent-xyz', 103, 90, 2]]);
  assert.deepEqual(got.flatMap((b) => b.events.map((e) => e.id)), events.map((e) => e.id));
  assert.ok(p.stats.batchesSplit >= 1);
});

test('own and forwarded batches share one spool: the low water follows our own events only, and a restart resends both in order', async (t) => {
  const d = dir(t);
  const p = new Producer({ upstreams: ['tcp://127.0.0.1:1'], spoolDir: d, producer: 'relay-1', log: quiet(), batchDelayMs: 1 });
  await p.start();
  await p.forward({ id: 'F1', producer: 'web-01', events: [ev(1)], origin: { producerId: 'agent-xyz', seq: 5_000_000, lowWater: 5_000_000 } });
  p.send(ev(2));
  p.flush();
  await p.forward({ id: 'F2', producer: 'web-02', events: [ev(3)], origin: { producerId: 'agent-abc', seq: 1, lowWater: 1 } });
  await p.stop();
  const b = spooled(d);
  assert.deepEqual(b.map((x) => x.events[0]!.attributes.n), ['1', '2', '3'], 'files are ordered by the spool, not by event numbers');
  const own = b[1]!;
  assert.equal(own.producer, 'relay-1');
  assert.ok(own.origin!.lowWater <= own.origin!.seq && own.origin!.seq < 5_000_000, 'our numbers are ours, not those of the forwarded batches');
  const again = new Producer({ upstreams: ['tcp://127.0.0.1:1'], spoolDir: d, producer: 'relay-1', log: quiet() });
  await again.start();
  t.after(() => again.stop());
  assert.equal(again.unacknowledged.batches, 3);
  assert.deepEqual(await again.forward({ id: 'F2', producer: 'web-02', events: [ev(3)], origin: { producerId: 'agent-abc', seq: 1, lowWater: 1 } }), { spooled: 0, duplicates: 1 }, 'a forwarded batch is known again after a restart');
});

test('a forwarded batch never promises a low water above an older batch of its producer that the spool still holds (also after a restart)', async (t) => {
  const d = dir(t);
  const p = new Producer({ upstreams: ['tcp://127.0.0.1:1'], spoolDir: d, producer: 'relay-1', log: quiet() });
  await p.start();
  // the agent's X was acknowledged by us, so its next batch Y promises nothing below 21 any more
  await p.forward({ id: 'X', producer: 'web-01', events: [ev(1), ev(2)], origin: { producerId: 'agent-xyz', seq: 11, lowWater: 11 } });
  await p.forward({ id: 'Y', producer: 'web-01', events: [ev(3)], origin: { producerId: 'agent-xyz', seq: 21, lowWater: 21 } });
  await p.forward({ id: 'O', producer: 'web-02', events: [ev(4)], origin: { producerId: 'agent-abc', seq: 50, lowWater: 50 } });
  await p.stop();
  const again = new Producer({ upstreams: ['tcp://127.0.0.1:1'], spoolDir: d, producer: 'relay-1', log: quiet() });
  await again.start();
  t.after(() => again.stop());
  await again.forward({ id: 'Z', producer: 'web-01', events: [ev(5)], origin: { producerId: 'agent-xyz', seq: 22, lowWater: 22 } });
  const low = Object.fromEntries(spooled(d).map((b) => [b.id, b.origin!.lowWater]));
  assert.deepEqual(low, { X: 11, Y: 11, O: 50, Z: 11 }, 'Y and Z keep X\'s numbers open at the receiver; another producer is not affected');
});

test('a batch the receiver decoded exactly is spooled as the bytes that came; one that needed changes is encoded again', async (t) => {
  const d = dir(t);
  const p = await deafProducer(t, d);
  const batch: Batch = { id: 'RAW', producer: 'web-01', events: [ev(1), ev(2)], origin: { producerId: 'agent-xyz', seq: 1, lowWater: 1 } };
  // an Envelope field this build does not know (field 15): skipped by the decoder, so only the bytes as they came carry it
  const raw = Buffer.concat([encodeBatch(batch), Buffer.from([0x78, 0x01])]);
  const decoded = decodeMessage(raw);
  assert.ok(decoded.kind === 'batch' && !decoded.altered);
  await p.forward(decoded.batch, { seqs: [1, 2], count: 2 }, raw);
  const file = readdirSync(d).find((f) => f.includes('.RAW.'))!;
  assert.ok(readFileSync(join(d, file)).equals(raw), 'the bytes as they came, unknown field included');
  // time 0 is filled in by the receiver: the wire no longer says what was decoded
  const stamped = decodeMessage(encodeBatch({ ...batch, id: 'T0', events: [ev(3, 0)] }));
  assert.ok(stamped.kind === 'batch' && stamped.altered);
});
