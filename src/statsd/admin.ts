import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import type { Logger } from '../core/log.js';

/** What the admin interface needs from the daemon. */
export interface AdminTarget {
  counters: Map<string, number>;
  timers: Map<string, number[]>;
  gauges: Map<string, number>;
  health: 'up' | 'down';
  uptimeSeconds(): number;
  /** `group.metric: value` lines for `stats` (messages.*, graphite.*, …) */
  stats(write: (group: string, metric: string, value: number) => void): void;
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
    s.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 65536) { s.destroy(); return; }
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') this.command(line, s);
      }
    });
    s.on('error', (err) => this.log.debug({ part: 'admin', err: err.message }, 'admin connection error'));
    s.on('close', () => this.sockets.delete(s));
  }

  /** Run one command line, writing Etsy's answer to `out`. */
  command(line: string, out: { write(s: string): unknown; end(): unknown }): void {
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
        const now = Math.round(this.now() / 1000);
        out.write('uptime: ' + t.uptimeSeconds() + '\n');
        t.stats((group, metric, val) => {
          out.write(group + '.' + metric + ': ' + (metric.startsWith('last_') ? now - val : val) + '\n');
        });
        out.write('END\n\n');
        break;
      }
      case 'counters':
        out.write(inspect(Object.fromEntries(t.counters)) + '\nEND\n\n');
        break;
      case 'timers':
        out.write(inspect(Object.fromEntries(t.timers)) + '\nEND\n\n');
        break;
      case 'gauges':
        out.write(inspect(Object.fromEntries(t.gauges)) + '\nEND\n\n');
        break;
      case 'delcounters':
        deleteStats(t.counters, args, out);
        break;
      case 'deltimers':
        deleteStats(t.timers, args, out);
        break;
      case 'delgauges':
        deleteStats(t.gauges, args, out);
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

/** Etsy's `delete_stats`: exact names, or `folder.*` for everything under a folder. */
function deleteStats(map: Map<string, unknown>, names: string[], out: { write(s: string): unknown }): void {
  for (const bucket of names) {
    const matches: string[] = [];
    if (map.has(bucket)) matches.push(bucket);
    if (bucket.slice(-2) === '.*') {
      const folder = bucket.slice(0, -1);
      for (const name of map.keys()) if (name.substring(0, folder.length) === folder) matches.push(name);
    }
    if (matches.length === 0) out.write('metric ' + bucket + ' not found\n');
    for (const m of matches) {
      map.delete(m);
      out.write('deleted: ' + m + '\n');
    }
  }
  out.write('END\n\n');
}
