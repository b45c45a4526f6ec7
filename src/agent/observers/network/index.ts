import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { defineMonitor, type MonitorContext, type Observer } from '../../monitor.js';
import { GlobSet } from '../../listeners/glob.js';
import { defaultProcRoot, observerBase, round2 } from '../common.js';

/**
 * Loopback and the virtual interfaces containers, bridges and VMs add by the
 * dozen: each would be eight series of zeros on the host page.
 */
export const VIRTUAL_INTERFACES = ['lo', 'veth*', 'docker*', 'br-*', 'virbr*', 'vnet*', 'cali*', 'flannel*', 'cni*', 'kube-*', 'tap*'];

/** `agent.network`: every physical interface, on by default. */
export const networkSchema = z.strictObject({
  ...observerBase,
  /** only these interfaces (globs); default: all but VIRTUAL_INTERFACES */
  interfaces: z.array(z.string()).default([]),
  /** interfaces to skip (globs); default VIRTUAL_INTERFACES, or nothing when `interfaces` names some */
  ignore: z.array(z.string()).optional(),
});
export type NetworkConfig = z.output<typeof networkSchema>;

/** The counters reported per interface, in /proc/net/dev's terms. */
export const NET_COUNTERS = ['rx_bytes', 'rx_packets', 'rx_errors', 'rx_drops', 'tx_bytes', 'tx_packets', 'tx_errors', 'tx_drops'] as const;
export type NetCounters = Record<(typeof NET_COUNTERS)[number], number>;

/** Parses /proc/net/dev into counters per interface; malformed lines are skipped. */
export function parseNetDev(text: string): Map<string, NetCounters> {
  const out = new Map<string, NetCounters>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!name || name.includes('|')) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(name, {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_drops: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_drops: f[11]!,
    });
  }
  return out;
}

/**
 * Network interfaces from /proc/net/dev: per interface and counter a metric
 * event `network <interface> <counter>` with the rate per second since the last
 * observation (rx/tx bytes, packets, errors, drops). The first observation
 * only records the counters; a counter that went backwards (interface reset) is
 * skipped once.
 */
export class NetworkObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'network';
  readonly intervalMs: number;
  private prev = new Map<string, NetCounters>();
  private prevAt = 0;
  private readonly only: GlobSet;
  private readonly skip: GlobSet;

  constructor(config: NetworkConfig, private readonly procRoot = defaultProcRoot()) {
    this.intervalMs = config.interval;
    this.only = new GlobSet(config.interfaces);
    // naming interfaces is asking for them, virtual or not
    this.skip = new GlobSet(config.ignore ?? (config.interfaces.length > 0 ? [] : VIRTUAL_INTERFACES));
  }

  async observe(ctx: MonitorContext): Promise<void> {
    const now = ctx.now();
    const cur = parseNetDev(await readFile(join(this.procRoot, 'net', 'dev'), 'utf8'));
    const seconds = (now - this.prevAt) / 1000;
    const prev = this.prev;
    this.prev = cur;
    this.prevAt = now;
    if (seconds <= 0) return;
    for (const [name, c] of cur) {
      if (this.skip.has(name) || (!this.only.empty && !this.only.has(name))) continue;
      const p = prev.get(name);
      if (!p) continue;
      for (const k of NET_COUNTERS) {
        const d = c[k] - p[k];
        if (d < 0) continue;
        ctx.emit({ service: `network ${name} ${k}`, metric: round2(d / seconds), time: now, attributes: { interface: name } });
      }
    }
  }
}

export const networkMonitor = defineMonitor({
  key: 'network',
  schema: networkSchema,
  create(config) {
    const c = config ?? networkSchema.parse({});
    return c.enabled ? [new NetworkObserver(c)] : [];
  },
});
