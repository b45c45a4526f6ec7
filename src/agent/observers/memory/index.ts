import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineMonitor, type MonitorContext, type Observer } from '../../monitor.js';
import { defaultProcRoot, observerBase, round2, thresholdState } from '../common.js';

/** `agent.memory`: memory and swap, on by default. */
export const memorySchema = z.strictObject({
  ...observerBase,
  /** used percent of memory (total − available) for warning (default 90) */
  warning: z.number().min(0).max(100).default(90),
  critical: z.number().min(0).max(100).default(95),
  /** used percent of swap for warning (default 80) */
  swap_warning: z.number().min(0).max(100).default(80),
  swap_critical: z.number().min(0).max(100).default(95),
});
export type MemoryConfig = z.output<typeof memorySchema>;

/** Parses /proc/meminfo into bytes per field (`MemTotal: 16 kB` → 16384). Malformed lines are skipped. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (!m) continue;
    const n = Number(m[2]);
    out.set(m[1]!, line.trimEnd().endsWith('kB') ? n * 1024 : n);
  }
  return out;
}

/**
 * Memory and swap from /proc/meminfo: `memory` and `swap`, metric = used percent,
 * attributes in bytes. Used memory is MemTotal − MemAvailable (what `free` calls
 * available; caches that can be dropped are not "used").
 */
export class MemoryObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'memory';
  readonly intervalMs: number;

  constructor(private readonly config: MemoryConfig, private readonly procRoot = defaultProcRoot()) {
    this.intervalMs = config.interval;
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const m = parseMeminfo(await readFile(join(this.procRoot, 'meminfo'), 'utf8'));
    const time = ctx.now();
    const total = m.get('MemTotal');
    if (!total) { ctx.emit({ service: 'memory', state: 'unknown', description: `${this.procRoot}/meminfo has no MemTotal`, time }); return; }
    // kernels before 3.14 have no MemAvailable: estimate it as free + buffers + cached
    const available = m.get('MemAvailable') ?? (m.get('MemFree') ?? 0) + (m.get('Buffers') ?? 0) + (m.get('Cached') ?? 0);
    const used = Math.max(0, total - available);
    const pct = round2((used / total) * 100);
    ctx.emit({
      service: 'memory', metric: pct, time,
      state: thresholdState(pct, this.config.warning, this.config.critical),
      description: `memory ${pct}% used (${mib(used)} of ${mib(total)})`,
      attributes: {
        total_bytes: String(total), available_bytes: String(available), used_bytes: String(used),
        free_bytes: String(m.get('MemFree') ?? 0), buffers_bytes: String(m.get('Buffers') ?? 0), cached_bytes: String(m.get('Cached') ?? 0),
      },
    });
    const swapTotal = m.get('SwapTotal') ?? 0;
    const swapFree = m.get('SwapFree') ?? 0;
    const swapUsed = Math.max(0, swapTotal - swapFree);
    const swapPct = swapTotal > 0 ? round2((swapUsed / swapTotal) * 100) : 0;
    ctx.emit({
      service: 'swap', metric: swapPct, time,
      state: thresholdState(swapPct, this.config.swap_warning, this.config.swap_critical),
      description: swapTotal > 0 ? `swap ${swapPct}% used (${mib(swapUsed)} of ${mib(swapTotal)})` : 'no swap configured',
      attributes: { total_bytes: String(swapTotal), free_bytes: String(swapFree), used_bytes: String(swapUsed) },
    });
  }
}

function mib(n: number): string {
  return `${Math.round(n / 1048576)} MiB`;
}

export const memoryMonitor = defineMonitor({
  key: 'memory',
  schema: memorySchema,
  create(config) {
    const c = config ?? memorySchema.parse({});
    return c.enabled ? [new MemoryObserver(c)] : [];
  },
});
