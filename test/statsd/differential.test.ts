// The same packets to Etsy's statsd and to Blick's, both flushing to loopback
// "carbon" listeners with the same Etsy configuration: every deterministic
// line of every flush must be equal (name and value; timestamps aside).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createStatsd } from '../../src/statsd/index.js';
import { lineListener, sendUdp, sleep, startEtsy, waitFor, type Line } from './fixtures.js';

const FLUSH = 2000;

/** Lines whose values depend on timing, in either daemon: left out of the comparison. */
function nondeterministic(path: string): boolean {
  return /graphiteStats\.|\.processing_time|timestamp_lag/.test(path);
}

/** Flushes seen by a listener: lines grouped by timestamp, keyed by the time its numStats arrived. */
function flushes(lines: Line[]): { at: number; values: Map<string, string> }[] {
  const byTs = new Map<number, { at: number; values: Map<string, string> }>();
  for (const l of lines) {
    if (nondeterministic(l.path)) continue;
    let f = byTs.get(l.ts);
    if (!f) { f = { at: 0, values: new Map() }; byTs.set(l.ts, f); }
    f.values.set(l.path, l.value);
    if (l.path.endsWith('numStats') || l.path.includes('numStats')) f.at = l.at;
  }
  return [...byTs.values()].filter((f) => f.at > 0).sort((a, b) => a.at - b.at);
}

const phase1 = [
  'c1:1|c', 'c1:2|c\nc1:3|c', 'c2:1|c|@0.1', 'c3:5|c|@0.5\nc3:1|c|@0.3',
  't1:10|ms\nt1:20|ms\nt1:30|ms\nt1:40|ms\nt1:50|ms\nt1:60|ms\nt1:70|ms\nt1:80|ms\nt1:90|ms\nt1:100|ms',
  't1:5|ms|@0.5', 't2:0|ms', 't3:1.5|ms\nt3:2.25|ms\nt3:3|ms',
  'hd:5|h\nhd:7|d\nhd:1|h',
  'g1:10|g', 'g1:+5|g\ng1:-2|g', 'g2:-4|g', 'g3:3.5|g', 'gz:0|g\ngz:+2|g',
  's1:a|s\ns1:b|s\ns1:a|s', 's2:1|s', 's3:x|s\ns3:y|s\ns3:z|s',
  'my app/req.x:1|c', 'wéird*name:1|c', 'tagged:1|c|#env:prod,region:eu', 'a.b-c_d:1|ms', 'tabs\tand  spaces:2|c',
  'multi:1|c:2|c', 'hist.lat:0.5|ms\nhist.lat:5|ms\nhist.lat:50|ms\nhist.lat:500|ms',
  'nocolon', 'bad:x|c\ngood:1|c', 'bad2:1', 'neg:-1|ms', 'rate:1|c|@-1', 'rate2:1|c|@', 'type:1|', '',
];
const phase2 = [
  'c1:7|c', 'g1:+1|g', 'g2:8|g', 'g4:-1|g\ng4:-1|g', 's1:c|s', 't1:1|ms\nt1:2|ms', 'new.one:3|c|#host:web-9',
  'tagged:2|c|#env:prod,region:eu', 'bad:y|ms',
];

/** Blick's `h`/`d` are timers; to compare them Etsy is sent the same samples as `ms`. */
const forEtsy = (p: string) => p.replace(/\|[hd](?=\n|$)/g, '|ms');

async function differential(etsyConfig: Record<string, unknown>, label: string, workers: 0 | 1): Promise<void> {
  const carbonE = await lineListener();
  const carbonB = await lineListener();
  const etsy = await startEtsy({ ...etsyConfig, graphiteHost: '127.0.0.1', graphitePort: carbonE.port, flushInterval: FLUSH });
  const blick = createStatsd({ ...etsyConfig, address: '127.0.0.1', port: 0, mgmt_address: '127.0.0.1', mgmt_port: 0, graphiteHost: '127.0.0.1', graphitePort: carbonB.port, flushInterval: FLUSH, workers }, { log: pino({ level: 'silent' }) });
  await blick.start();
  assert.equal(blick.workers, workers);
  try {
    await waitFor(() => flushes(carbonE.lines).length > 0 && flushes(carbonB.lines).length > 0, 3 * FLUSH, `${label}: a first flush from both daemons`);
    const compared: Map<string, string>[] = [];
    for (const [i, packets] of [phase1, phase2, []].entries()) {
      // send in the middle of the largest gap between the two flush schedules
      const lastE = flushes(carbonE.lines).at(-1)!.at;
      const lastB = flushes(carbonB.lines).at(-1)!.at;
      let sendAt = Date.now();
      for (let s = Date.now(); s < Date.now() + FLUSH; s += 25) {
        const okE = ((s - lastE) % FLUSH + FLUSH) % FLUSH;
        const okB = ((s - lastB) % FLUSH + FLUSH) % FLUSH;
        if (okE > 300 && okE < FLUSH - 500 && okB > 300 && okB < FLUSH - 500) { sendAt = s; break; }
      }
      await sleep(sendAt - Date.now());
      await Promise.all([sendUdp(etsy.udpPort, packets.map(forEtsy)), sendUdp(blick.addresses.udp!, packets)]);
      const sent = Date.now();
      await waitFor(() => flushes(carbonE.lines).some((f) => f.at > sent) && flushes(carbonB.lines).some((f) => f.at > sent), 3 * FLUSH, `${label}: flush after phase ${i + 1}`);
      await sleep(100); // the rest of the lines of that flush
      const fe = flushes(carbonE.lines).find((f) => f.at > sent)!.values;
      const fb = flushes(carbonB.lines).find((f) => f.at > sent)!.values;
      const onlyE = [...fe].filter(([k]) => !fb.has(k)).map(([k, v]) => `${k} ${v}`);
      const onlyB = [...fb].filter(([k]) => !fe.has(k)).map(([k, v]) => `${k} ${v}`);
      const diff = [...fe].filter(([k, v]) => fb.has(k) && fb.get(k) !== v).map(([k, v]) => `${k}: etsy ${v}, blick ${fb.get(k)}`);
      assert.deepEqual({ onlyEtsy: onlyE, onlyBlick: onlyB, differentValues: diff }, { onlyEtsy: [], onlyBlick: [], differentValues: [] }, `${label}, phase ${i + 1}`);
      compared.push(fb);
    }
    return void (await checks(compared, label));
  } finally {
    await blick.stop();
    await etsy.stop();
    await carbonE.close();
    await carbonB.close();
  }
}

let lastCompared: Map<string, string>[] = [];
async function checks(compared: Map<string, string>[], _label: string): Promise<void> {
  lastCompared = compared;
}

// both modes: parsing and aggregation in the worker thread (the default on more than one core) and on the main thread
for (const workers of [1, 0] as const) {
const mode = workers === 1 ? '[worker thread]' : '[single thread]';

test(`${mode} same flushes as Etsy statsd: defaults (legacy namespace), percentiles, histogram bins, every type`, { timeout: 60_000 }, async () => {
  await differential({ percentThreshold: [90, 50, -10, 99.5], histogram: [{ metric: 'hist', bins: [1, 10, 100, 'inf'] }] }, `legacy ${mode}`, workers);
  const [p1, p2, idle] = lastCompared as [Map<string, string>, Map<string, string>, Map<string, string>];
  // the comparison was not vacuous: what a user would look for in Graphite
  assert.equal(p1.get('stats_counts.c1'), '6');
  assert.equal(p1.get('stats.c1'), '3');
  assert.equal(p1.get('stats_counts.c2'), '10');
  assert.equal(p1.get('stats.timers.t1.upper_90'), '90');
  assert.equal(p1.get('stats.timers.t1.count'), '12');
  assert.equal(p1.get('stats.timers.hd.count'), '3');
  assert.equal(p1.get('stats.timers.hist.lat.histogram.bin_10'), '1');
  assert.equal(p1.get('stats.gauges.g1'), '13');
  assert.equal(p1.get('stats.sets.s1.count'), '2');
  assert.equal(p1.get('stats_counts.my_app-req.x'), '1');
  assert.equal(p1.get('stats_counts.tagged;env=prod;region=eu'), '1');
  assert.equal(p1.get('stats_counts.statsd.bad_lines_seen'), '6');
  assert.equal(p2.get('stats.gauges.g1'), '14');
  assert.equal(p2.get('stats.gauges.g4'), '-2');
  assert.equal(idle.get('stats_counts.c1'), '0');
  assert.equal(idle.get('stats.timers.t1.count'), '0');
  assert.equal(idle.get('stats.gauges.g1'), '14');
  assert.equal(idle.get('stats.sets.s1.count'), '0');
});

test(`${mode} same flushes as Etsy statsd: deleteIdleStats, non-legacy prefixes and suffix, custom prefixStats`, { timeout: 60_000 }, async () => {
  await differential({
    deleteIdleStats: true, percentThreshold: [95, -20], prefixStats: 'mystatsd',
    graphite: { legacyNamespace: false, globalPrefix: 'pfx', prefixCounter: 'cnt', prefixGauge: '', globalSuffix: 'sfx' },
  }, `non-legacy ${mode}`, workers);
  const [p1, , idle] = lastCompared as [Map<string, string>, Map<string, string>, Map<string, string>];
  assert.equal(p1.get('pfx.cnt.c1.count.sfx'), '6');
  assert.equal(p1.get('pfx.cnt.c1.rate.sfx'), '3');
  assert.equal(p1.get('pfx.g1.sfx'), '13');
  assert.equal(p1.get('pfx.timers.t1.upper_95.sfx'), '90'); // 11 samples: round(0.95 × 11) = 10th
  assert.equal(p1.get('pfx.cnt.mystatsd.bad_lines_seen.count.sfx'), '6');
  assert.equal(idle.has('pfx.cnt.c1.count.sfx'), false, 'idle counters deleted');
  assert.equal(idle.has('pfx.g1.sfx'), false, 'idle gauges deleted');
  assert.equal(idle.get('pfx.cnt.mystatsd.packets_received.count.sfx'), '0');
});
}
