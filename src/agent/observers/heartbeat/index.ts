import type { MonitorContext, Observer } from '../../monitor.js';

/**
 * `heartbeat` every interval with ttl = 3 × interval: when the agent (or its
 * host, or the network) dies, the server's ttl expiry turns it critical.
 */
export class HeartbeatObserver implements Observer {
  readonly kind = 'observer' as const;
  readonly name = 'heartbeat';
  private readonly started = Date.now();
  constructor(readonly intervalMs: number) {}
  observe(ctx: MonitorContext): void {
    ctx.emit({
      service: 'heartbeat', state: 'ok', description: 'agent alive',
      metric: Math.round((ctx.now() - this.started) / 1000), attributes: { uptime_unit: 's' },
      ttl: Math.max(1, Math.ceil((3 * this.intervalMs) / 1000)),
    });
  }
}
