import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { encodeBatch, decodeMessage, WIRE_VERSION } from '../src/transport/wire.js';
import protobuf from 'protobufjs';
import { api, deferrals, metric, serverForTest, startServer, tempDir, until, listAll } from './fixtures/blick.js';

async function dealer(endpoint: string): Promise<zmq.Dealer> {
  const d = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
  d.connect(endpoint);
  return d;
}

const good = (id: string, host = 'ok-host') => encodeBatch({ id, producer: 'test', events: [{ id: `e-${id}`, host, service: 'svc', state: 'ok', description: '', tags: [], attributes: {}, time: Date.now(), source: 'agent' }] });

test('garbage, truncated, oversized and wrong-version messages are rejected and counted; the next good message is stored', async (t) => {
  const { server, defer } = await serverForTest(t, { limits: { max_message_bytes: 64 * 1024, max_batch_events: 100 } });
  const sock = await dealer(server.receiver.endpoint);
  defer(() => sock.close());

  await sock.send(Buffer.from('this is not protobuf \x00\xff\xfe garbage'));
  const valid = good('b-valid');
  await sock.send(valid.subarray(0, valid.length - 7)); // truncated
  await sock.send(Buffer.alloc(100 * 1024, 0x41)); // larger than the 64 KiB limit
  // a well-formed envelope of a future version
  const root = protobuf.Root.fromJSON({ nested: { E: { fields: { version: { type: 'uint32', id: 1 } } } } });
  await sock.send(root.lookupType('E').encode({ version: WIRE_VERSION + 1 }).finish());
  // a batch over the event limit
  const many = Array.from({ length: 101 }, (_, i) => ({ id: `m${i}`, host: 'h', service: 's', description: '', tags: [], attributes: {}, time: Date.now(), source: 'agent' as const }));
  await sock.send(encodeBatch({ id: 'b-many', producer: 'test', events: many }));
  // multipart noise
  await sock.send([Buffer.from('a'), Buffer.from('b')]);
  // a batch with one invalid event (no host) next to a valid one: the valid one is kept
  const mixed = encodeBatch({ id: 'b-mixed', producer: 'test', events: [
    { id: 'bad-1', host: '', service: 's', description: '', tags: [], attributes: {}, time: Date.now(), source: 'agent' },
    { id: 'good-1', host: 'mixed-host', service: 's', description: '', tags: [], attributes: {}, time: Date.now(), source: 'agent' },
  ] });
  await sock.send(mixed);
  // the batch over the event limit is answered with a refusal the producer acts on (split), not silence
  const refusal = decodeMessage((await sock.receive())[0]!);
  assert.ok(refusal.kind === 'ack');
  if (refusal.kind === 'ack') assert.deepEqual([refusal.ack.batchId, refusal.ack.refusal, refusal.ack.maxBatchEvents], ['b-many', 'too_many_events', 100]);
  const [ack1] = await sock.receive();
  const a1 = decodeMessage(ack1!);
  assert.equal(a1.kind, 'ack');
  if (a1.kind === 'ack') assert.deepEqual([a1.ack.batchId, a1.ack.accepted, a1.ack.rejected], ['b-mixed', 1, 1]);

  // the socket keeps serving: a good message is stored and acknowledged
  await sock.send(good('b-after'));
  const [ack2] = await sock.receive();
  const a2 = decodeMessage(ack2!);
  assert.ok(a2.kind === 'ack' && a2.ack.batchId === 'b-after' && a2.ack.accepted === 1);
  const checks = (await api<any[]>(server.url, '/api/v1/checks?host=ok-host')).body;
  assert.equal(checks.length, 1);

  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metric(m, 'blick_ingest_messages_rejected_total{reason="garbage"}'), 2, 'garbage and truncated');
  assert.equal(metric(m, 'blick_ingest_messages_rejected_total{reason="too_large"}'), 1);
  assert.equal(metric(m, 'blick_ingest_messages_rejected_total{reason="version"}'), 1);
  assert.equal(metric(m, 'blick_ingest_messages_rejected_total{reason="batch_too_large"}'), 1);
  assert.equal(metric(m, 'blick_ingest_messages_rejected_total{reason="frames"}'), 1);
  assert.equal(metric(m, 'blick_ingest_events_rejected_total'), 1);
  assert.equal(metric(m, 'blick_events_stored_total'), 2);
});

test('a batch sent twice (a lost ack) is stored once; a repeated event id in a new batch is dropped', async (t) => {
  const { server, defer } = await serverForTest(t);
  const sock = await dealer(server.receiver.endpoint);
  defer(() => sock.close());
  const msg = good('b-twice', 'dup-host');
  for (const expected of [{ accepted: 1, duplicates: 0 }, { accepted: 0, duplicates: 1 }]) {
    await sock.send(msg);
    const d = decodeMessage((await sock.receive())[0]!);
    assert.ok(d.kind === 'ack');
    if (d.kind === 'ack') assert.deepEqual({ accepted: d.ack.accepted, duplicates: d.ack.duplicates }, expected);
  }
  // same event id, different batch id (e.g. re-batched by a relay)
  const rebatched = encodeBatch({ id: 'b-other', producer: 'relay', events: [{ id: 'e-b-twice', host: 'dup-host', service: 'svc', description: '', tags: [], attributes: {}, time: Date.now(), source: 'relay' }] });
  await sock.send(rebatched);
  const d = decodeMessage((await sock.receive())[0]!);
  assert.ok(d.kind === 'ack' && d.ack.duplicates === 1 && d.ack.accepted === 0);
  const events = (await listAll<any>(server.url, '/api/v1/events?host=dup-host'));
  assert.equal(events.length, 1);
  const m = await (await fetch(server.url + '/metrics')).text();
  assert.equal(metric(m, 'blick_events_duplicate_total'), 2);
});

test('after a server restart, a batch committed before it is still recognised as a duplicate', async (t) => {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  let server = await startServer({ dataDir: dir });
  const ingest = server.receiver.endpoint;
  let sock = await dealer(ingest);
  await sock.send(good('b-restart', 'r-host'));
  await sock.receive();
  sock.close();
  await server.stop();
  server = await startServer({ dataDir: dir, config: { ingest } });
  defer(() => server.stop());
  sock = await dealer(ingest);
  defer(() => sock.close());
  await sock.send(good('b-restart', 'r-host'));
  const d = decodeMessage((await sock.receive())[0]!);
  assert.ok(d.kind === 'ack' && d.ack.duplicates === 1);
  await until(async () => (await listAll<any>(server.url, '/api/v1/events?host=r-host')).length === 1, 'one stored event');
});
