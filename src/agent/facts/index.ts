import { readFileSync } from 'node:fs';
import os from 'node:os';
import { FACTS_SERVICE } from '../../core/event.js';
import type { MonitorContext, Observer } from '../monitor.js';

function osRelease(root: string): string {
  try {
    const text = readFileSync(`${root}/etc/os-release`, 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    return m?.[1] ?? '';
  } catch { return ''; }
}

/** The facts an agent reports about its host (strings, as event attributes). */
export function gatherFacts(version: string, root = ''): Record<string, string> {
  const addrs: string[] = [];
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) addrs.push(`${name}=${a.address}`);
  }
  return {
    hostname: os.hostname(),
    os: os.platform(),
    distribution: osRelease(root),
    kernel: os.release(),
    arch: os.arch(),
    cpus: String(os.cpus().length),
    memory_bytes: String(os.totalmem()),
    ip_addresses: addrs.sort().join(','),
    boot_time: String(Math.round(Date.now() - os.uptime() * 1000)),
    agent_version: version,
    node_version: process.version,
  };
}

/**
 * Sends the host's facts at start and whenever they change (checked every
 * `intervalMs`). Facts travel as an event with service `facts` whose
 * attributes are the facts; the server files them under the host.
 */
export class FactsObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'facts';
  private last = '';
  constructor(readonly intervalMs: number, private readonly version: string, private readonly extra: () => Record<string, string> = () => ({})) {}

  observe(ctx: MonitorContext): void {
    const facts = { ...gatherFacts(this.version), ...this.extra() };
    // boot_time jitters by rounding; compare without it
    const { boot_time: _b, ...stable } = facts;
    const sig = JSON.stringify(stable);
    if (sig === this.last) return;
    this.last = sig;
    ctx.emit({ service: FACTS_SERVICE, description: `facts of ${ctx.host}`, attributes: facts });
  }
}
