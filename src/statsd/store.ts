import type { MetricSink } from './parser.js';
import type { StatsdConfig } from './config.js';

/** One timer's computed statistics, in Etsy's key order (`mean_90`, `upper`, …, `histogram`). */
export type TimerData = Record<string, number | Record<string, number>>;

/** The names (per kind) that got at least one value since the previous flush. */
export interface Sampled {
  counters: ReadonlySet<string>;
  timers: ReadonlySet<string>;
  gauges: ReadonlySet<string>;
  sets: ReadonlySet<string>;
}

/** What one flush hands to the backends; read synchronously, it is cleared right after. */
export interface FlushData {
  /** unix seconds (Etsy: Math.round(now / 1000)) */
  timestamp: number;
  counters: ReadonlyMap<string, number>;
  counterRates: ReadonlyMap<string, number>;
  timerData: ReadonlyMap<string, TimerData>;
  gauges: ReadonlyMap<string, number>;
  /** set name → number of distinct members */
  sets: ReadonlyMap<string, number>;
  /** Etsy's statsd_metrics: processing_time (ms) */
  statsdMetrics: Record<string, number>;
  /**
   * What got a value this interval. Etsy flushes idle names too (counters at 0,
   * gauges at their last value) and Graphite gets them; the side channel does not.
   */
  sampled: Sampled;
  /** values dropped this interval because their name was new and over `max_names` or `max_new_names_per_interval` */
  dropped: number;
  /** the first name dropped this interval, for the log */
  droppedExample: string | undefined;
}

/**
 * statsd's own counters and gauge (Etsy's `statsd.*`, under `prefix_stats`):
 * Graphite gets them as Etsy sends them; they are not checks of a host, so the
 * side channel leaves them out.
 */
export function selfMetricKeys(prefixStats: string): { badLines: string; packets: string; metrics: string; lag: string; dropped: string } {
  const p = prefixStats;
  return { badLines: p + '.bad_lines_seen', packets: p + '.packets_received', metrics: p + '.metrics_received', lag: p + '.timestamp_lag', dropped: p + '.metrics_dropped' };
}

const noneSampled = (): { counters: Set<string>; timers: Set<string>; gauges: Set<string>; sets: Set<string> } => ({ counters: new Set(), timers: new Set(), gauges: new Set(), sets: new Set() });

/** The aggregation settings (a subset of StatsdConfig). */
export type StoreSettings = Pick<StatsdConfig, 'flushInterval' | 'percentThreshold' | 'deleteCounters' | 'deleteTimers' | 'deleteGauges' | 'deleteSets' | 'gaugesMaxTTL' | 'prefixStats' | 'histogram' | 'calculatedTimerMetrics' | 'maxNames' | 'maxNewNamesPerInterval'>;

/**
 * Etsy statsd's in-memory state and its flush (`process_metrics` plus the
 * clearing in stats.js), ported so that every flushed number is computed
 * with the same floating-point operations in the same order.
 */
export class MetricStore implements MetricSink {
  readonly counters = new Map<string, number>();
  readonly timers = new Map<string, number[]>();
  readonly timerCounters = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly gaugesTTL = new Map<string, number>();
  readonly sets = new Map<string, Set<string>>();
  /** cumulative, for the admin `stats` command */
  badLinesTotal = 0;
  /** cumulative values dropped for a name over the limits, for the admin `stats` command */
  droppedTotal = 0;
  private dropped = 0;
  private droppedExample: string | undefined;
  /** new names admitted this interval */
  private newNames = 0;
  private sampled = noneSampled();
  /** the previous interval's: a name sampled then is not new (with delete_idle_stats it is deleted at every flush) */
  private lastSampled: Sampled = noneSampled();
  lastMessageSeen = 0;
  private oldTimestamp = 0;
  readonly badLinesKey: string;
  readonly packetsKey: string;
  readonly metricsKey: string;
  readonly lagKey: string;
  readonly droppedKey: string;
  private readonly ownCounterKeys: readonly string[];
  /** called for each bad value; the daemon logs it rate-limited */
  onBad: ((line: string, reason: string) => void) | undefined;

  constructor(readonly settings: StoreSettings) {
    const own = selfMetricKeys(settings.prefixStats);
    this.badLinesKey = own.badLines;
    this.packetsKey = own.packets;
    this.metricsKey = own.metrics;
    this.lagKey = own.lag;
    this.droppedKey = own.dropped;
    this.ownCounterKeys = [own.badLines, own.packets, own.metrics, own.dropped];
    this.counters.set(this.badLinesKey, 0);
    this.counters.set(this.packetsKey, 0);
    this.counters.set(this.metricsKey, 0);
  }

  /** A packet arrived (Etsy's `packets_received`). */
  packet(): void {
    this.counters.set(this.packetsKey, (this.counters.get(this.packetsKey) ?? 0) + 1);
  }

  line(): void {
    this.counters.set(this.metricsKey, (this.counters.get(this.metricsKey) ?? 0) + 1);
  }

  /**
   * Whether a name not held yet may be added: within `max_names`, and either
   * sampled in the previous interval or within this interval's new names
   * (statsd's own names are not counted).
   * A refused value is counted (and `statsd.metrics_dropped` in Graphite).
   */
  private admit(key: string, last: ReadonlySet<string>): boolean {
    const s = this.settings;
    if (this.size() - this.ownHeld() < s.maxNames) {
      if (last.has(key)) return true;
      if (this.newNames < s.maxNewNamesPerInterval) { this.newNames++; return true; }
    }
    this.dropped++;
    this.droppedTotal++;
    this.droppedExample ??= key;
    this.counters.set(this.droppedKey, (this.counters.get(this.droppedKey) ?? 0) + 1);
    return false;
  }

  counter(key: string, value: number, sampleRate: number): void {
    const c = this.counters.get(key);
    // a counter is 0 (or absent) at its first value of an interval, so this marks every sampled counter
    if (!c) {
      if (c === undefined && !this.admit(key, this.lastSampled.counters)) return;
      this.sampled.counters.add(key);
    }
    this.counters.set(key, (c || 0) + value * (1 / sampleRate));
  }

  timer(key: string, value: number, sampleRate: number): void {
    let t = this.timers.get(key);
    if (t === undefined) {
      if (!this.admit(key, this.lastSampled.timers)) return;
      t = [];
      this.timers.set(key, t);
      this.timerCounters.set(key, 0);
    }
    if (t.length === 0) this.sampled.timers.add(key);
    t.push(value);
    this.timerCounters.set(key, (this.timerCounters.get(key) ?? 0) + 1 / sampleRate);
  }

  gauge(key: string, value: number, delta: boolean): void {
    const g = this.gauges.get(key);
    if (g === undefined && !this.admit(key, this.lastSampled.gauges)) return;
    if (this.settings.deleteGauges) this.gaugesTTL.set(key, this.settings.gaugesMaxTTL);
    this.sampled.gauges.add(key);
    this.gauges.set(key, g && delta ? g + value : value);
  }

  set(key: string, member: string): void {
    let s = this.sets.get(key);
    if (s === undefined) {
      if (!this.admit(key, this.lastSampled.sets)) return;
      s = new Set();
      this.sets.set(key, s);
    }
    if (s.size === 0) this.sampled.sets.add(key);
    s.add(member);
  }

  bad(line: string, reason: string): void {
    this.counters.set(this.badLinesKey, (this.counters.get(this.badLinesKey) ?? 0) + 1);
    this.badLinesTotal++;
    this.onBad?.(line, reason);
  }

  /**
   * Compute a flush at `nowMs`, hand it to `consume` synchronously, then clear
   * the state as Etsy does (counters zeroed or deleted, timers emptied or
   * deleted, sets emptied or deleted, gauges kept or expired after their TTL).
   */
  flush(nowMs: number, consume: (data: FlushData) => void): void {
    const timestamp = Math.round(nowMs / 1000);
    const s = this.settings;
    if (this.oldTimestamp > 0) this.gauges.set(this.lagKey, timestamp - this.oldTimestamp - Number(s.flushInterval) / 1000);
    this.oldTimestamp = timestamp;
    const start = Date.now();

    const perSecond = s.flushInterval / 1000;
    const counterRates = new Map<string, number>();
    for (const [k, v] of this.counters) counterRates.set(k, v / perSecond);

    const timerData = new Map<string, TimerData>();
    for (const [k, values] of this.timers) timerData.set(k, this.timerStats(k, values, perSecond));

    const sets = new Map<string, number>();
    for (const [k, v] of this.sets) sets.set(k, v.size);

    consume({
      timestamp,
      counters: this.counters,
      counterRates,
      timerData,
      gauges: this.gauges,
      sets,
      statsdMetrics: { processing_time: Date.now() - start },
      sampled: this.sampled,
      dropped: this.dropped,
      droppedExample: this.droppedExample,
    });
    this.clear();
  }

  private timerStats(key: string, unsorted: number[], perSecond: number): TimerData {
    const d: TimerData = {};
    const count = unsorted.length;
    if (count === 0) {
      d.count = 0;
      d.count_ps = 0;
      return this.filterTimer(d);
    }
    const values = unsorted.sort((a, b) => a - b);
    const min = values[0]!;
    const max = values[count - 1]!;
    const cumulative = new Array<number>(count);
    const cumulSq = new Array<number>(count);
    cumulative[0] = min;
    cumulSq[0] = min * min;
    for (let i = 1; i < count; i++) {
      cumulative[i] = values[i]! + cumulative[i - 1]!;
      cumulSq[i] = values[i]! * values[i]! + cumulSq[i - 1]!;
    }
    let sum = min;
    let sumSquares = min * min;
    let mean = min;
    let thresholdBoundary = max;
    for (const pct of this.settings.percentThreshold) {
      let numInThreshold = count;
      if (count > 1) {
        numInThreshold = Math.round((Math.abs(pct) / 100) * count);
        if (numInThreshold === 0) continue;
        if (pct > 0) {
          thresholdBoundary = values[numInThreshold - 1]!;
          sum = cumulative[numInThreshold - 1]!;
          sumSquares = cumulSq[numInThreshold - 1]!;
        } else {
          // Etsy reads index -1 (undefined → NaN) when the whole set is in the threshold
          thresholdBoundary = values[count - numInThreshold]!;
          sum = cumulative[count - 1]! - (cumulative[count - numInThreshold - 1] as number);
          sumSquares = cumulSq[count - 1]! - (cumulSq[count - numInThreshold - 1] as number);
        }
        mean = sum / numInThreshold;
      }
      const clean = String(pct).replace('.', '_').replace('-', 'top');
      d['count_' + clean] = numInThreshold;
      d['mean_' + clean] = mean;
      d[(pct > 0 ? 'upper_' : 'lower_') + clean] = thresholdBoundary;
      d['sum_' + clean] = sum;
      d['sum_squares_' + clean] = sumSquares;
    }
    sum = cumulative[count - 1]!;
    sumSquares = cumulSq[count - 1]!;
    mean = sum / count;
    let sumOfDiffs = 0;
    for (let i = 0; i < count; i++) sumOfDiffs += (values[i]! - mean) * (values[i]! - mean);
    const mid = Math.floor(count / 2);
    const median = count % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
    const tc = this.timerCounters.get(key) ?? 0;
    d.std = Math.sqrt(sumOfDiffs / count);
    d.upper = max;
    d.lower = min;
    d.count = tc;
    d.count_ps = tc / perSecond;
    d.sum = sum;
    d.sum_squares = sumSquares;
    d.mean = mean;
    d.median = median;

    let bins: (number | 'inf')[] = [];
    for (const h of this.settings.histogram) {
      if (key.indexOf(h.metric) > -1) { bins = h.bins; break; }
    }
    if (bins.length > 0) {
      const hist: Record<string, number> = {};
      let i = 0;
      for (const bin of bins) {
        let freq = 0;
        for (; i < count && (bin === 'inf' || values[i]! < bin); i++) freq += 1;
        hist['bin_' + bin.toString().replace('.', '_')] = freq;
      }
      d.histogram = hist;
    }
    return this.filterTimer(d);
  }

  private filterTimer(d: TimerData): TimerData {
    const keep = this.settings.calculatedTimerMetrics;
    if (keep.length === 0) return d;
    const out: TimerData = {};
    for (const k of Object.keys(d)) {
      if (keep.includes(k.replace(/_(top)?\d+$/, '_percent'))) out[k] = d[k]!;
    }
    return out;
  }

  private clear(): void {
    const s = this.settings;
    this.lastSampled = this.sampled;
    this.sampled = noneSampled();
    this.newNames = 0;
    this.dropped = 0;
    this.droppedExample = undefined;
    for (const k of this.counters.keys()) {
      if (s.deleteCounters && !(k.includes('packets_received') || k.includes('metrics_received') || k.includes('bad_lines_seen'))) {
        this.counters.delete(k);
      } else {
        this.counters.set(k, 0);
      }
    }
    for (const k of this.timers.keys()) {
      if (s.deleteTimers) { this.timers.delete(k); this.timerCounters.delete(k); }
      else { this.timers.set(k, []); this.timerCounters.set(k, 0); }
    }
    for (const k of this.sets.keys()) {
      if (s.deleteSets) this.sets.delete(k);
      else this.sets.set(k, new Set());
    }
    if (s.deleteGauges) {
      for (const [k, ttl] of this.gaugesTTL) {
        const left = ttl - 1;
        if (left < 1) { this.gauges.delete(k); this.gaugesTTL.delete(k); }
        else this.gaugesTTL.set(k, left);
      }
    }
  }

  /**
   * Rebuild the state a flush left behind from that flush's data (what a fresh
   * store needs to carry on after a crashed worker): counter, timer and set names,
   * gauges with their TTLs, the lag base. Then clears exactly as the flush did.
   */
  restore(data: FlushData, gaugesTTL: ReadonlyMap<string, number> | undefined, badLinesTotal: number, droppedTotal: number): void {
    for (const [k, v] of data.counters) this.counters.set(k, v);
    for (const k of data.timerData.keys()) { this.timers.set(k, []); this.timerCounters.set(k, 0); }
    for (const k of data.sets.keys()) this.sets.set(k, new Set());
    for (const [k, v] of data.gauges) this.gauges.set(k, v);
    if (gaugesTTL) for (const [k, v] of gaugesTTL) this.gaugesTTL.set(k, v);
    this.oldTimestamp = data.timestamp;
    this.badLinesTotal = badLinesTotal;
    this.droppedTotal = droppedTotal;
    this.clear();
    this.lastSampled = data.sampled;
  }

  /** How many of statsd's own names are held (not counted against `max_names`). */
  private ownHeld(): number {
    let n = this.gauges.has(this.lagKey) ? 1 : 0;
    for (const k of this.ownCounterKeys) if (this.counters.has(k)) n++;
    return n;
  }

  /** Number of distinct metric names held (all types). */
  size(): number {
    return this.counters.size + this.timers.size + this.gauges.size + this.sets.size;
  }
}

/**
 * Etsy's `delete_stats` (admin delcounters/deltimers/delgauges): exact names,
 * or `folder.*` for everything under a folder. Returns the admin's answer.
 */
export function deleteStats(map: Map<string, unknown>, names: string[]): string {
  let out = '';
  for (const bucket of names) {
    const matches: string[] = [];
    if (map.has(bucket)) matches.push(bucket);
    if (bucket.slice(-2) === '.*') {
      const folder = bucket.slice(0, -1);
      for (const name of map.keys()) if (name.substring(0, folder.length) === folder) matches.push(name);
    }
    if (matches.length === 0) out += 'metric ' + bucket + ' not found\n';
    for (const m of matches) {
      map.delete(m);
      out += 'deleted: ' + m + '\n';
    }
  }
  return out + 'END\n\n';
}
