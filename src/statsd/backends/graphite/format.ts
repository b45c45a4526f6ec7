import type { StatsdConfig } from '../../config.js';
import { sanitizeKey } from '../../parser.js';
import type { FlushData } from '../../store.js';

export type { Datapoint } from '../../../transport/carbon.js';

/**
 * Etsy's graphite backend naming (`stats.`, `stats_counts.`, `stats.timers.`,
 * `stats.gauges.`, `stats.sets.`, or with `legacyNamespace: false` the global
 * and per-type prefixes), the global suffix, and `;tag=value` kept at the end.
 */
export class GraphiteNaming {
  private readonly counterNs: string;
  private readonly countsNs: string;
  private readonly timerNs: string;
  private readonly gaugeNs: string;
  private readonly setNs: string;
  private readonly globalNs: string;
  private readonly suffix: string;
  private readonly legacy: boolean;
  private readonly sanitize: boolean;
  readonly flushCounts: boolean;
  readonly prefixStats: string;

  constructor(config: StatsdConfig) {
    const g = config.graphite;
    this.legacy = g.legacyNamespace;
    this.suffix = g.globalSuffix;
    this.flushCounts = g.flushCounts;
    this.prefixStats = config.prefixStats;
    // Etsy sanitizes names in the graphite backend only when it did not on receipt
    this.sanitize = !config.keyNameSanitize;
    const ns = (parts: string[]) => parts.filter((p) => p !== '').map((p) => p + '.').join('');
    if (this.legacy) {
      this.globalNs = 'stats.';
      this.counterNs = 'stats.';
      this.timerNs = 'stats.timers.';
      this.gaugeNs = 'stats.gauges.';
      this.setNs = 'stats.sets.';
    } else {
      this.globalNs = ns([g.globalPrefix]);
      this.counterNs = ns([g.globalPrefix, g.prefixCounter]);
      this.timerNs = ns([g.globalPrefix, g.prefixTimer]);
      this.gaugeNs = ns([g.globalPrefix, g.prefixGauge]);
      this.setNs = ns([g.globalPrefix, g.prefixSet]);
    }
    this.countsNs = 'stats_counts.';
  }

  /** Etsy's `format(namespace, key, ...extra)`. `ns` ends with '.' or is ''. */
  private format(ns: string, key: string, extra: string): string {
    const semi = key.indexOf(';');
    let name = semi === -1 ? key : key.substring(0, semi);
    if (this.sanitize) name = sanitizeKey(name);
    const tags = semi === -1 ? '' : key.substring(semi);
    return ns + name + extra + this.suffix + tags;
  }

  /**
   * Every datapoint of one flush, in Etsy's order, as plaintext lines
   * (`path value timestamp\n`). `calculationStart` is when the backend began (ms).
   */
  lines(data: FlushData, calculationStart: number, now: () => number, out: (path: string, value: number) => void): number {
    let numStats = 0;
    for (const [key, value] of data.counters) {
      const rate = data.counterRates.get(key)!;
      if (this.legacy) {
        out(this.format(this.counterNs, key, ''), rate);
        if (this.flushCounts) out(this.format(this.countsNs, key, ''), value);
      } else {
        out(this.format(this.counterNs, key, '.rate'), rate);
        if (this.flushCounts) out(this.format(this.counterNs, key, '.count'), value);
      }
      numStats++;
    }
    for (const [key, td] of data.timerData) {
      for (const sub in td) {
        const v = td[sub]!;
        if (typeof v === 'number') out(this.format(this.timerNs, key, '.' + sub), v);
        else for (const bin in v) out(this.format(this.timerNs, key, '.' + sub + '.' + bin), v[bin]!);
      }
      numStats++;
    }
    for (const [key, value] of data.gauges) {
      out(this.format(this.gaugeNs, key, ''), value);
      numStats++;
    }
    for (const [key, size] of data.sets) {
      out(this.format(this.setNs, key, '.count'), size);
      numStats++;
    }
    const p = this.prefixStats;
    if (this.legacy) {
      out(p + '.numStats' + this.suffix, numStats);
      out('stats.' + p + '.graphiteStats.calculationtime' + this.suffix, now() - calculationStart);
      for (const k in data.statsdMetrics) out('stats.' + p + '.' + k + this.suffix, data.statsdMetrics[k]!);
    } else {
      out(this.format(this.globalNs, p, '.numStats'), numStats);
      out(this.format(this.globalNs, p, '.graphiteStats.calculationtime'), now() - calculationStart);
      for (const k in data.statsdMetrics) out(this.format(this.globalNs, p, '.' + k), data.statsdMetrics[k]!);
    }
    return numStats;
  }

  /** Path of the backend's own figures (`stats.statsd.graphiteStats.<stat>`). */
  ownStat(stat: string): string {
    return (this.legacy ? 'stats.' : this.globalNs) + this.prefixStats + '.graphiteStats.' + stat + this.suffix;
  }
}
