/**
 * The load generator of the ingest benchmark, run as its own process so that
 * the receiver under test has a core to itself. It pre-encodes every batch
 * (unique event ids, a realistic mix of hosts, services, states, metrics and
 * attributes), then sends them over a DEALER socket keeping `window` batches
 * in flight, like the agent's producer, and reports when the last ack arrived.
 * Events are numbered for exact dedupe as the producer numbers them
 * (BENCH_INGEST_UNNUMBERED=1: batch ids only, as producers before numbering).
 *
 * usage: node ingest-sender.js ENDPOINT EVENTS BATCH WINDOW
 */
import * as zmq from 'zeromq';
import { encodeBatch, decodeMessage } from '../src/transport/wire.js';
import { UlidFactory } from '../src/core/ids.js';
import type { BlickEvent, State } from '../src/core/event.js';

const [endpoint, eventsArg, batchArg, windowArg] = process.argv.slice(2);
const total = Number(eventsArg ?? 1_000_000);
const batchSize = Number(batchArg ?? 1000);
const window = Number(windowArg ?? 16);

const ids = new UlidFactory();
const states: State[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'warning', 'critical'];
const batches: Uint8Array[] = [];
const now = Date.now();
for (let b = 0, n = 0; n < total; b++) {
  const events: BlickEvent[] = [];
  for (let i = 0; i < batchSize && n < total; i++, n++) {
    events.push({
      id: ids.next(now), host: `host-${n % 500}`, service: `check ${n % 20}`, state: states[n % 8]!, metric: (n % 1000) / 10,
      description: 'CHECK OK - all fine', tags: ['bench'], attributes: { unit: '%' }, time: now + Math.floor(n / 1000), ttl: 60, source: 'agent',
    });
  }
  const seq = n - events.length + 1;
  const origin = process.env.BENCH_INGEST_UNNUMBERED ? undefined : { producerId: 'bench-sender', seq, lowWater: Math.max(1, seq - window * batchSize) };
  batches.push(encodeBatch({ id: `b${b}-${ids.next(now)}`, producer: 'bench', events, origin }));
}

const sock = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
sock.connect(endpoint!);
let next = 0, acked = 0;
const t0 = performance.now();
const done = new Promise<void>((resolve) => {
  void (async () => {
    for await (const [msg] of sock) {
      const d = decodeMessage(msg!);
      if (d.kind === 'ack') acked++;
      if (acked === batches.length) { resolve(); return; }
      if (next < batches.length) await sock.send(batches[next++]!);
    }
  })();
});
for (; next < Math.min(window, batches.length);) await sock.send(batches[next++]!);
await done;
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ events: total, batches: batches.length, ms }) + '\n');
sock.close();
