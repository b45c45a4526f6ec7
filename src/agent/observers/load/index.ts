import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineMonitor, type MonitorContext, type Observer } from '../../monitor.js';
import { defaultProcRoot, observerBase, thresholdState } from '../common.js';

/** `agent.load`: on by default. Thresholds are per CPU, on the 5-minute load. */
export const loadSchema = z.strictObject({
  ...observerBase,
  /** 5-minute load per CPU for warning (default 2) */
  warning: z.number().min(0).default(2),
  /** … critical (default 4) */
  critical: z.number().min(0).default(4),
});
export type LoadConfig = z.output<typeof loadSchema>;

/** Parses /proc/loadavg (`0.52 0.58 0.59 2/1234 5678`); undefined when malformed. */
export function parseLoadavg(text: string): { load1: number; load5: number; load15: number; running: number; total: number } | undefined {
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)\/(\d+)/.exec(text.trim());
  if (!m) return undefined;
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), running: Number(m[4]), total: Number(m[5]) };
}

/** Counts the `cpuN` lines of /proc/stat (the CPUs online). */
export function countCpus(procStat: string): number {
  let n = 0;
  for (const line of procStat.split('\n')) if (/^cpu\d+ /.test(line)) n++;
  return Math.max(1, n);
}

/** Load average: `load`, metric = 1-minute load, state from the 5-minute load per CPU. */
export class LoadObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'load';
  readonly intervalMs: number;
  private cpus: number | undefined;

  constructor(private readonly config: LoadConfig, private readonly procRoot = defaultProcRoot()) {
    this.intervalMs = config.interval;
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const l = parseLoadavg(await readFile(join(this.procRoot, 'loadavg'), 'utf8'));
    const time = ctx.now();
    if (!l) { ctx.emit({ service: 'load', state: 'unknown', description: `${this.procRoot}/loadavg is malformed`, time }); return; }
    this.cpus ??= countCpus(await readFile(join(this.procRoot, 'stat'), 'utf8').catch(() => ''));
    const perCpu = l.load5 / this.cpus;
    ctx.emit({
      service: 'load', metric: l.load1, time,
      state: thresholdState(perCpu, this.config.warning, this.config.critical),
      description: `load ${l.load1} ${l.load5} ${l.load15} on ${this.cpus} CPU${this.cpus === 1 ? '' : 's'}`,
      attributes: {
        load1: String(l.load1), load5: String(l.load5), load15: String(l.load15),
        cpus: String(this.cpus), load5_per_cpu: String(Math.round(perCpu * 100) / 100),
        running: String(l.running), threads: String(l.total),
      },
    });
  }
}

export const loadMonitor = defineMonitor({
  key: 'load',
  schema: loadSchema,
  create(config) {
    const c = config ?? loadSchema.parse({});
    return c.enabled ? [new LoadObserver(c)] : [];
  },
});
