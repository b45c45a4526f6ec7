import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import type { Logger } from '../core/log.js';

/** The kinds of metrics the admin interface lists and deletes. */
export type AdminKind = 'counters' | 'timers' | 'gauges';

/**
 * What the admin interface needs from the daemon. The metric methods may
 * answer later (the worker thread holds the metrics in worker mode).
 */
export interface AdminTarget {
  /** the current values of one kind (a snapshot or the live map) */
  metrics(kind: AdminKind): Map<string, unknown> | Promise<Map<string, unknown>>;
  /** Etsy's delete_stats on one kind; returns the answer (`deleted: x\n…END\n\n`) */
  delete(kind: AdminKind, names: string[]): string | Promise<string>;
  health: 'up' | 'down';
  uptimeSeconds(): number;
  /** `group.metric: value` lines for `stats` (messages.*, graphite.*, …) */
  stats(write: (group: string, metric: string, value: number) => void): void | Promise<void>;
  /** the flat config, as Etsy's `config` command prints it */
  config(): Record<string, unknown>;
}

/**
 * Etsy statsd's management interface (TCP, default 127.0.0.1:8126): one
 * command per line — help, stats, counters, timers, gauges, delcounters,
 * deltimers, delgauges (names or `folder.*`), health [up|down], config, quit.
 * Output is Etsy's, byte for byte where Etsy's is deterministic.
 */
export class AdminServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(private readonly target: AdminTarget, private readonly log: Logger, private readonly now: () => number) {}

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((s) => this.connection(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    return (server.address() as { port: number }).port;
  }

  private connection(s: Socket): void {
    this.sockets.add(s);
    s.setEncoding('utf8');
    let buf = '';
    // commands of one connection are answered in order, also when one waits for the worker
    let queue = Promise.resolve();
    s.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65536) { s.destroy(); return; }
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') {
          queue = queue.then(() => this.command(line, s)).catch((err: unknown) => {
            this.log.warn({ part: 'admin', err, command: line.slice(0, 100) }, 'admin command failed');
            if (!s.destroyed) s.write('ERROR\n');
          });
        }
      }
    });
    s.on('error', (err) => this.log.debug({ part: 'admin', err: err.message }, 'admin connection error'));
    s.on('close', () => this.sockets.delete(s));
  }

  /** Run one command line, writing Etsy's answer to `out`. */
  async command(line: string, out: { write(s: string): unknown; end(): unknown }): Promise<void> {
    const args = line.trim().split(' ');
    const cmd = args.shift()!;
    const t = this.target;
    switch (cmd) {
      case 'help':
        out.write('Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n');
        break;
      case 'config': {
        out.write('\n');
        const c = t.config();
        for (const prop of Object.keys(c)) {
          const v = c[prop];
          if (v === null || typeof v !== 'object') { out.write(prop + ': ' + String(v) + '\n'); continue; }
          for (const sub of Object.keys(v)) out.write(prop + ' > ' + sub + ': ' + String((v as Record<string, unknown>)[sub]) + '\n');
        }
        break;
      }
      case 'health':
        if (args.length > 0) {
          const a = args[0]!.toLowerCase();
          if (a === 'up' || a === 'down') t.health = a;
        }
        out.write('health: ' + t.health + '\n');
        break;
      case 'stats': {
        const rows: [string, string, number][] = [];
        await t.stats((group, metric, val) => { rows.push([group, metric, val]); });
        const now = Math.round(this.now() / 1000);
        let text = 'uptime: ' + t.uptimeSeconds() + '\n';
        for (const [group, metric, val] of rows) text += group + '.' + metric + ': ' + (metric.startsWith('last_') ? now - val : val) + '\n';
        out.write(text + 'END\n\n');
        break;
      }
      case 'counters':
      case 'timers':
      case 'gauges':
        out.write(inspect(Object.fromEntries(await t.metrics(cmd))) + '\nEND\n\n');
        break;
      case 'delcounters':
        out.write(await t.delete('counters', args));
        break;
      case 'deltimers':
        out.write(await t.delete('timers', args));
        break;
      case 'delgauges':
        out.write(await t.delete('gauges', args));
        break;
      case 'quit':
        out.end();
        break;
      default:
        out.write('ERROR\n');
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
