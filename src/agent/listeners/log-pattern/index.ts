import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RateLimitedLog } from '../../../core/log.js';
import { defineMonitor, type Listener, type MonitorContext } from '../../monitor.js';
import { formatDuration } from '../../../core/duration.js';
import { Resolver } from '../resolve.js';
import { FileTail, lineEventId } from '../tail.js';
import { logPatternSchema, type LogPatternEntry } from './schema.js';

export { logPatternSchema, type LogPatternEntry } from './schema.js';

/** Longest line text put into an event (the rest is cut, the event says so). */
const MAX_LINE = 4096;

/** Options of {@link LogPatternListener} beyond the configuration entry. */
export interface LogPatternOptions {
  /** stat interval of the tail's safety net (default 1000 ms) */
  pollMs?: number;
  /** where read positions are kept, so a restart resumes instead of skipping (the agent passes <data_dir>/positions) */
  stateDir?: string;
}

/**
 * Follows one log file and emits an event for every line that matches a
 * regular expression (service `log <path>` unless configured; state warning
 * unless configured; named groups as attributes).
 *
 * @example new LogPatternListener({ path: '/var/log/syslog', pattern: 'Out of memory', flags: 'i', state: 'critical', from_beginning: false, tags: [] })
 */
export class LogPatternListener implements Listener {
  readonly kind = 'listener' as const;
  readonly name: string;
  private tail: FileTail | undefined;
  private resolver: Resolver | undefined;
  private readonly re: RegExp;
  private readonly okRe: RegExp | undefined;

  constructor(private readonly entry: LogPatternEntry, private readonly options: LogPatternOptions = {}) {
    this.name = `log_pattern ${entry.path}`;
    this.re = new RegExp(entry.pattern, entry.flags.replace(/[gy]/g, ''));
    if (entry.ok_pattern !== undefined) this.okRe = new RegExp(entry.ok_pattern, entry.flags.replace(/[gy]/g, ''));
  }

  async start(ctx: MonitorContext): Promise<void> {
    const service = this.entry.service ?? `log ${this.entry.path}`;
    const salt = `${ctx.host}\u0000log_pattern\u0000${this.entry.path}\u0000${this.entry.pattern}`;
    const warn = new RateLimitedLog(ctx.log);
    const e = this.entry;
    const wayBack = e.state !== 'ok' && (e.resolve_after !== undefined || this.okRe !== undefined);
    const resolver = wayBack ? new Resolver(ctx, {
      afterMs: e.resolve_after,
      reason: `no new match of ${e.pattern} for ${formatDuration(e.resolve_after ?? 0)}`,
      attributes: { path: e.path, pattern: e.pattern },
      tags: e.tags,
    }) : undefined;
    this.resolver = resolver;
    // a match may have been sent before a restart: count down from the start as well
    resolver?.fired(service);
    this.tail = new FileTail({
      path: this.entry.path,
      fromBeginning: this.entry.from_beginning,
      ...(this.options.stateDir ? { stateFile: join(this.options.stateDir, `log-pattern-${createHash('sha1').update(this.entry.path + '\u0000' + this.entry.pattern).digest('hex').slice(0, 16)}.json`) } : {}),
      ...(this.options.pollMs !== undefined ? { pollMs: this.options.pollMs } : {}),
      log: ctx.log,
      onLines: (lines, origins) => {
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!;
          const m = this.re.exec(line);
          if (!m) {
            if (resolver?.firing(service) && this.okRe?.test(line)) resolver.resolve(service, line.slice(0, MAX_LINE), { ok_pattern: e.ok_pattern! });
            continue;
          }
          const attributes: Record<string, string> = { path: this.entry.path, pattern: this.entry.pattern };
          let metric: number | undefined;
          if (m.groups) {
            for (const [k, v] of Object.entries(m.groups)) {
              if (v === undefined) continue;
              if (k === 'metric') { const n = Number(v); if (Number.isFinite(n)) metric = n; }
              attributes[k] = v.slice(0, MAX_LINE);
            }
          }
          if (line.length > MAX_LINE) attributes.truncated = 'true';
          try {
            ctx.emit({
              // the same id when a restart reads this line again: the server keeps one
              id: lineEventId(origins[i]!, salt),
              service,
              state: this.entry.state,
              description: line.slice(0, MAX_LINE),
              attributes,
              tags: this.entry.tags,
              ...(metric !== undefined ? { metric } : {}),
              time: ctx.now(),
            });
            resolver?.fired(service);
          } catch (err) {
            warn.warn('emit', { err, path: this.entry.path }, 'a matching line could not become an event');
          }
        }
      },
    });
    await this.tail.start();
  }

  async stop(): Promise<void> {
    await this.tail?.stop();
    this.tail = undefined;
    this.resolver?.stop();
    this.resolver = undefined;
  }
}

/** `agent.log_patterns: [{ path, pattern, service, state }]`: one listener per entry. */
export const logPatternMonitor = defineMonitor({
  key: 'log_patterns',
  schema: logPatternSchema,
  create(config, agent) {
    return (config ?? []).map((e) => new LogPatternListener(e, { stateDir: join(agent.dataDir, 'positions') }));
  },
});

