// The README's Example, run as written: what it says carbon and the server receive is what they receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { EventInput } from '../../src/core/event.js';
import { createStatsd } from '../../src/statsd/index.js';
import { ROOT } from '../fixtures/blick.js';
import { lineListener, sendUdp, waitFor, waitForAsync } from './fixtures.js';

test('src/statsd/README.md Example: the flushed Graphite names (DogStatsD tags in the order sent) and the event are the ones shown', async () => {
  const readme = readFileSync(join(ROOT, 'src', 'statsd', 'README.md'), 'utf8');
  const example = readme.slice(readme.indexOf('## Example'));
  const packets = [...example.matchAll(/^echo "([^"]+)" \| nc -u/gm)].map((m) => m[1]!);
  const claims = /carbon receives ([^]*?)and the server\s+receives/.exec(example)?.[1] ?? '';
  const lines = [...claims.matchAll(/`(\S+) (\S+) <ts>`/g)].map((m) => ({ path: m[1]!, value: m[2]! }));
  const event = /the server\s+receives the event `(\{[^`]+\})`/.exec(example)?.[1];
  assert.equal(packets.length, 3, example);
  assert.equal(lines.length, 3, claims);
  assert.ok(event, 'the event the server receives');

  const carbon = await lineListener();
  const batches: EventInput[][] = [];
  let t = 1_700_000_000_000;
  const d = createStatsd({ udp: '127.0.0.1:0', tcp: false, admin: false, flush_interval: '10s', graphite: { host: '127.0.0.1', port: carbon.port }, workers: 0 },
    { log: pino({ level: 'silent' }), emit: (e) => batches.push(e), now: () => t });
  await d.start();
  try {
    await sendUdp(d.addresses.udp!, packets);
    await waitForAsync(async () => (await d.metrics('gauges')).size > 0 && (await d.metrics('timers')).size > 0 && (await d.metrics('counters')).size > 0, 3000, 'the packets');
    t += 10_000;
    await d.flush();
    await waitFor(() => lines.every((l) => carbon.lines.some((c) => c.path === l.path)), 3000, 'the flush at carbon');
    for (const l of lines) assert.equal(carbon.lines.find((c) => c.path === l.path)!.value, l.value, l.path);
    // the README writes the event JavaScript-style: quote its keys to read it
    const shown = JSON.parse(event!.replace(/([{,]\s*)(\w+):/g, '$1"$2":')) as Record<string, unknown>;
    const got = batches.flat().find((e) => e.service === shown.service);
    assert.ok(got, `an event for ${shown.service}`);
    for (const [k, v] of Object.entries(shown)) assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, k);
  } finally {
    await d.stop();
    await carbon.close();
  }
});
