import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineMonitor, type MonitorContext, type Observer } from '../../monitor.js';
import { defaultProcRoot, observerBase, round2, thresholdState } from '../common.js';

/** `agent.cpu`: on by default. */
export const cpuSchema = z.strictObject({
  ...observerBase,
  /** used percent (everything but idle and iowait) at which the state is warning (default 90) */
  warning: z.number().min(0).max(100).default(90),
  /** … critical (default 98) */
  critical: z.number().min(0).max(100).default(98),
});
export type CpuConfig = z.output<typeof cpuSchema>;

/** The columns of the `cpu` line of /proc/stat, in order. */
export const CPU_STATES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;

/** Parses the aggregate `cpu` line of /proc/stat into jiffies per state; undefined when absent. */
export function parseProcStat(text: string): number[] | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu ')) continue;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    if (f.length < 4 || f.some((n) => !Number.isFinite(n) || n < 0)) return undefined;
    while (f.length < CPU_STATES.length) f.push(0);
    return f.slice(0, CPU_STATES.length);
  }
  return undefined;
}

/**
 * CPU use from /proc/stat deltas between two observations: `cpu` (percent used,
 * with state) and `cpu <state>` (percent per state: user, system, iowait, steal…).
 * The first observation only records the counters.
 */
export class CpuObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'cpu';
  readonly intervalMs: number;
  private prev: number[] | undefined;

  constructor(private readonly config: CpuConfig, private readonly procRoot = defaultProcRoot()) {
    this.intervalMs = config.interval;
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const cur = parseProcStat(await readFile(join(this.procRoot, 'stat'), 'utf8'));
    if (!cur) { ctx.emit({ service: 'cpu', state: 'unknown', description: `${this.procRoot}/stat has no cpu line` }); return; }
    const prev = this.prev;
    this.prev = cur;
    if (!prev) return;
    // guest time is already counted in user/nice: leave it out of the total
    const d = cur.map((v, i) => Math.max(0, v - prev[i]!));
    const total = d.slice(0, 8).reduce((a, b) => a + b, 0);
    if (total === 0) return;
    const pct = (i: number) => round2((d[i]! / total) * 100);
    const idle = d[3]! + d[4]!;
    const used = round2(((total - idle) / total) * 100);
    const attributes: Record<string, string> = {};
    CPU_STATES.forEach((s, i) => { attributes[s] = String(pct(i)); });
    const time = ctx.now();
    ctx.emit({
      service: 'cpu', metric: used, time, attributes,
      state: thresholdState(used, this.config.warning, this.config.critical),
      description: `CPU ${used}% used (user ${attributes.user}%, system ${attributes.system}%, iowait ${attributes.iowait}%, steal ${attributes.steal}%)`,
    });
    for (let i = 0; i < 8; i++) ctx.emit({ service: `cpu ${CPU_STATES[i]}`, metric: pct(i), time });
  }
}

export const cpuMonitor = defineMonitor({
  key: 'cpu',
  schema: cpuSchema,
  create(config) {
    const c = config ?? cpuSchema.parse({});
    return c.enabled ? [new CpuObserver(c)] : [];
  },
});
