import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { parsePacket, sanitizeKey, type MetricSink } from './parser.js';
import { MetricStore } from './store.js';

const require = createRequire(import.meta.url);
// Etsy's own validation, from the installed statsd package
const etsyHelpers = require('statsd/lib/helpers.js') as { is_valid_packet(fields: string[]): boolean };

const settings = {
  flushInterval: 1000, percentThreshold: [90], deleteCounters: false, deleteTimers: false, deleteGauges: false,
  deleteSets: false, gaugesMaxTTL: 1, prefixStats: 'statsd', histogram: [], calculatedTimerMetrics: [], maxNames: 100_000, maxNewNamesPerInterval: 20_000,
};

/** Etsy's handlePacket (stats.js 0.9.0), transliterated, state in plain objects. */
function etsyHandle(packet: string, st: { counters: Record<string, number>; timers: Record<string, number[]>; timerCounters: Record<string, number>; gauges: Record<string, number>; sets: Record<string, Set<string>>; bad: number; lines: number }): void {
  const metrics = packet.indexOf('\n') > -1 ? packet.split('\n') : [packet];
  for (const m of metrics) {
    if (m.length === 0) continue;
    st.lines++;
    let bits = m.split('|#');
    let tags: string[] = [];
    if (bits.length > 1 && bits[1]!.length > 0) tags = bits[1]!.split(',');
    bits = bits[0]!.split(':');
    let key = bits.shift()!;
    if (tags.length > 0) key += ';' + tags.map((t) => t.replace(';', '_').replace(':', '=')).join(';');
    key = key.replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9.;=]/g, '');
    if (bits.length === 0) bits.push('1');
    for (const bit of bits) {
      let sampleRate = 1;
      const fields = bit.split('|');
      if (!etsyHelpers.is_valid_packet(fields)) { st.bad++; continue; }
      if (fields[2]) {
        const match = fields[2].match(/^@([\d.]+)/);
        if (match === null) { st.bad++; continue; } // Etsy throws here; Blick counts it bad
        sampleRate = Number(match[1]);
      }
      const type = fields[1]!.trim();
      // the one intended difference: DogStatsD's h and d are timers in Blick (Etsy counts them)
      if (type === 'ms' || type === 'h' || type === 'd') {
        if (!st.timers[key]) { st.timers[key] = []; st.timerCounters[key] = 0; }
        st.timers[key]!.push(Number(fields[0] || 0));
        st.timerCounters[key]! += 1 / sampleRate;
      } else if (type === 'g') {
        if (st.gauges[key] && fields[0]!.match(/^[-+]/)) st.gauges[key]! += Number(fields[0] || 0);
        else st.gauges[key] = Number(fields[0] || 0);
      } else if (type === 's') {
        (st.sets[key] ??= new Set()).add(fields[0] || '0');
      } else {
        if (!st.counters[key]) st.counters[key] = 0;
        st.counters[key]! += Number(fields[0] || 1) * (1 / sampleRate);
      }
    }
  }
}

function blick(packet: string): MetricStore {
  const s = new MetricStore(settings);
  parsePacket(packet, s);
  return s;
}

function etsy(packet: string) {
  const st = { counters: {} as Record<string, number>, timers: {} as Record<string, number[]>, timerCounters: {} as Record<string, number>, gauges: {} as Record<string, number>, sets: {} as Record<string, Set<string>>, bad: 0, lines: 0 };
  etsyHandle(packet, st);
  return st;
}

function assertSame(packet: string): void {
  const b = blick(packet);
  const e = etsy(packet);
  const counters = Object.fromEntries([...b.counters].filter(([k]) => !k.startsWith('statsd.')));
  assert.deepEqual(counters, e.counters, `counters for ${JSON.stringify(packet)}`);
  assert.deepEqual(Object.fromEntries(b.timers), e.timers, `timers for ${JSON.stringify(packet)}`);
  assert.deepEqual(Object.fromEntries(b.timerCounters), e.timerCounters);
  assert.deepEqual(Object.fromEntries(b.gauges), e.gauges, `gauges for ${JSON.stringify(packet)}`);
  assert.deepEqual(Object.fromEntries(b.sets), e.sets);
  assert.equal(b.counters.get('statsd.bad_lines_seen'), e.bad, `bad lines for ${JSON.stringify(packet)}`);
  assert.equal(b.counters.get('statsd.metrics_received'), e.lines);
}

/** A sink that records calls, to check single lines. */
function record(packet: string) {
  const calls: unknown[][] = [];
  const sink: MetricSink = {
    line() {},
    counter: (k, v, r) => { calls.push(['c', k, v, r]); },
    timer: (k, v, r) => { calls.push(['ms', k, v, r]); },
    gauge: (k, v, d) => { calls.push(['g', k, v, d]); },
    set: (k, m) => { calls.push(['s', k, m]); },
    bad: (_l, reason) => { calls.push(['bad', reason]); },
  };
  parsePacket(packet, sink);
  return calls;
}

test('every metric type is recognised', () => {
  assert.deepEqual(record('a:1|c\nb:2.5|ms\nc:-3|g\nd:+4|g\ne:x|s\nf:7|h\ng:8|d'), [
    ['c', 'a', 1, 1], ['ms', 'b', 2.5, 1], ['g', 'c', -3, true], ['g', 'd', 4, true], ['s', 'e', 'x'], ['ms', 'f', 7, 1], ['ms', 'g', 8, 1],
  ]);
});

test('sample rates scale counters and timer counts', () => {
  assert.deepEqual(record('a:1|c|@0.1\nb:5|ms|@0.5'), [['c', 'a', 1, 0.1], ['ms', 'b', 5, 0.5]]);
  const s = blick('a:1|c|@0.1\na:1|c|@0.1');
  assert.equal(s.counters.get('a'), 1 * (1 / 0.1) + 1 * (1 / 0.1));
});

test('DogStatsD tags become part of the name as Etsy encodes them', () => {
  assert.deepEqual(record('req:1|c|#env:prod,host:web-01'), [['c', 'req;env=prod;host=web-01', 1, 1]]);
  assert.deepEqual(record('req:1|c|@0.5|#a:b'), [['c', 'req;a=b', 1, 0.5]]);
});

test('names are sanitised as Etsy does', () => {
  assert.equal(sanitizeKey('a b\t\tc/d*e€f'), 'a_b_c-def');
  assert.equal(sanitizeKey('ok.name-1_x;t=v'), 'ok.name-1_x;t=v');
  assert.deepEqual(record('my app/req:1|c'), [['c', 'my_app-req', 1, 1]]);
});

test('bad lines are counted, the rest of the packet still counts', () => {
  const s = blick('nocolon\na:x|c\nb:1\nc:-1|ms\nd:1|c|@-1\ne:1|c|@\nok:3|c');
  assert.equal(s.counters.get('statsd.bad_lines_seen'), 6);
  assert.equal(s.counters.get('ok'), 3);
  assert.equal(s.counters.get('statsd.metrics_received'), 7);
});

test('a sample rate Etsy would crash on is a bad line', () => {
  const s = blick('a:1|c|@Infinity\nb:1|c|@ 1\nok:1|c');
  assert.equal(s.counters.get('statsd.bad_lines_seen'), 2);
  assert.equal(s.counters.get('ok'), 1);
});

test('several values per line, as Etsy allows', () => {
  assert.deepEqual(record('a:1|c:2|ms:3|g'), [['c', 'a', 1, 1], ['ms', 'a', 2, 1], ['g', 'a', 3, false]]);
});

test('gauge deltas add to the kept value; a signed first value sets it', () => {
  const s = blick('g:10|g\ng:+5|g\ng:-3|g\nh:-3|g\nh:+1|g');
  assert.equal(s.gauges.get('g'), 12);
  assert.equal(s.gauges.get('h'), -2);
});

test('odd lines are treated exactly as Etsy treats them', () => {
  for (const p of [
    'a:1|', 'a:1|c ', 'a: 5 |c', 'a:0x10|c', 'a:1e3|ms', 'a:-1|ms ', 'a:1|c|@1e-1', 'a:1|c|@.5', 'a:1|c|@0x2',
    'a:|s', 'a:|c', 'a:1|c|#', 'a:1|c|#,,', 'a:1|c|#k;x:v:w', ':1|c', 'a::1|c', 'a:1|c\r\nb:2|c\r', 'a:1|g\na:+1|g\na:0|g\na:-2|g',
    'x|#t:1', 'a:1|c|@0.5|extra', 'a:1|c|#t|#u', '\n\n', 'a:+|g', 'a: |c', 'a:\t|g',
  ]) assertSame(p);
});

const alphabet = fc.constantFrom(...'ab.:|@#,;=+- 0123456789.e\n\tcmsgdhx/€'.split(''));
const structured = fc.tuple(
  fc.constantFrom('a', 'b.c', 'x y', 'p/q', '', 'é'),
  fc.array(fc.tuple(fc.constantFrom('1', '-2', '+3', '0', '2.5', 'x', '', ' ', '1e2', '0x1f'), fc.constantFrom('c', 'ms', 'g', 's', 'h', 'd', '', 'ms ', 'q'), fc.constantFrom('', '|@0.5', '|@0.1', '|@', '|@-1', '|@1.5e1', '|@abc')), { minLength: 0, maxLength: 3 }),
  fc.constantFrom('', '|#k:v', '|#a,b:c', '|#'),
).map(([n, vals, tags]) => n + vals.map(([v, t, r]) => ':' + v + '|' + t + r).join('') + tags);

test('property: the parser agrees with Etsy on random and structured input', () => {
  fc.assert(fc.property(fc.array(fc.oneof(structured, fc.string({ unit: alphabet, maxLength: 40 })), { maxLength: 6 }).map((ls) => ls.join('\n')), (p) => {
    assertSame(p);
  }), { numRuns: 3000 });
});

test('property: random, binary and truncated input never throws', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(200), (s, cut) => {
    const store = new MetricStore(settings);
    parsePacket(s, store);
    parsePacket(s.slice(0, cut), store);
    store.flush(Date.now(), () => {});
  }), { numRuns: 3000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    parsePacket(Buffer.from(bytes).toString('utf8'), new MetricStore(settings));
  }), { numRuns: 2000 });
});
