/**
 * A small Prometheus registry for Blick's own figures (text exposition 0.0.4).
 * Counters and gauges with optional labels, and histograms with fixed buckets.
 */
type Labels = Record<string, string>;

function labelKey(labels?: Labels): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return '{' + keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',') + '}';
}

interface Metric { name: string; help: string; type: 'counter' | 'gauge' | 'histogram'; render(): string[] }

export class Counter implements Metric {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(by = 1, labels?: Labels): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number { return this.values.get(labelKey(labels)) ?? 0; }
  render(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k} ${v}`);
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge' as const;
  private readonly values = new Map<string, number>();
  private collect?: () => number;
  constructor(readonly name: string, readonly help: string) {}
  set(v: number, labels?: Labels): void { this.values.set(labelKey(labels), v); }
  inc(by = 1, labels?: Labels): void { const k = labelKey(labels); this.values.set(k, (this.values.get(k) ?? 0) + by); }
  /** Read the value at scrape time instead of keeping it up to date. */
  collectWith(fn: () => number): this { this.collect = fn; return this; }
  get(labels?: Labels): number { return this.collect && !labels ? this.collect() : this.values.get(labelKey(labels)) ?? 0; }
  render(): string[] {
    if (this.collect) return [`${this.name} ${this.collect()}`];
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k} ${v}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram' as const;
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v; this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) { this.counts[i]!++; break; }
  }
  render(): string[] {
    const out: string[] = [];
    let cum = 0;
    for (let i = 0; i < this.buckets.length; i++) { cum += this.counts[i]!; out.push(`${this.name}_bucket{le="${this.buckets[i]}"} ${cum}`); }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  counter(name: string, help: string): Counter { return this.add(new Counter(name, help)); }
  gauge(name: string, help: string): Gauge { return this.add(new Gauge(name, help)); }
  histogram(name: string, help: string, buckets?: number[]): Histogram { return this.add(new Histogram(name, help, buckets)); }
  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M;
    this.metrics.set(m.name, m);
    return m;
  }
  /** The Prometheus text exposition of every metric. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.render());
    }
    return lines.join('\n') + '\n';
  }
}
