/**
 * Background load of the alerting benchmark, in its own process: events over
 * ZeroMQ (DEALER, acked batches like the agent's producer) at a steady rate.
 * usage: node alerting-sender.js ENDPOINT RATE SECONDS
 * Prints {"events":N,"ms":T} when done; paces by wall clock, 50 batches/s.
 */
import * as zmq from 'zeromq';
import { encodeBatch, decodeMessage } from '../src/transport/wire.js';
import { UlidFactory } from '../src/core/ids.js';
import type { BlickEvent, State } from '../src/core/event.js';

const [endpoint, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 20_000);
const seconds = Number(secondsArg ?? 10);
const perBatch = Math.max(1, Math.round(rate / 50));
const ids = new UlidFactory();
const states: State[] = ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'warning', 'critical'];
const sock = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
sock.connect(endpoint!);
let acked = 0, sent = 0, n = 0, events = 0;
void (async () => { for await (const [msg] of sock) { if (decodeMessage(msg!).kind === 'ack') acked++; } })().catch(() => undefined);
const t0 = performance.now();
for (let b = 0; performance.now() - t0 < seconds * 1000; b++) {
  const now = Date.now();
  const list: BlickEvent[] = [];
  for (let i = 0; i < perBatch; i++, n++) {
    list.push({ id: ids.next(now), host: `bg-${n % 500}`, service: `check ${n % 20}`, state: states[n % 8]!, metric: (n % 1000) / 10, description: 'background', tags: ['bench'], attributes: {}, time: now, source: 'agent' });
  }
  if (sent - acked < 64) { await sock.send(encodeBatch({ id: `bg-${b}-${ids.next(now)}`, producer: 'bench-bg', events: list })); sent++; events += list.length; }
  const next = t0 + ((b + 1) * 1000) / 50;
  const wait = next - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
const until = performance.now() + 5000;
while (acked < sent && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(JSON.stringify({ events, ms: performance.now() - t0, acked, sent }) + '\n');
sock.close();
