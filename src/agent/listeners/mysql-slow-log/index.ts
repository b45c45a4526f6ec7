import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { defineMonitor, type Listener, type MonitorContext } from '../../monitor.js';
import { formatDuration } from '../../../core/duration.js';
import { Resolver } from '../resolve.js';
import { FileTail, lineEventId } from '../tail.js';
import { SlowLogParser, type SlowQuery } from './parser.js';
import { mysqlSlowLogSchema, type MysqlSlowLogConfig } from './schema.js';

export { mysqlSlowLogSchema, type MysqlSlowLogConfig } from './schema.js';
export { SlowLogParser, fingerprint, checksum, type SlowQuery } from './parser.js';

/** Query times kept per fingerprint and interval for the p95 (a reservoir beyond that). */
const SAMPLES = 1000;

interface Digest { fingerprint: string; count: number; sum: number; max: number; samples: number[]; example: string; schema: string }

/** Nearest-rank percentile of unsorted numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Options of {@link MysqlSlowLogListener} beyond the configuration. */
export interface MysqlSlowLogOptions {
  /** stat interval of the tail's safety net (default 1000 ms) */
  pollMs?: number;
  /** where read positions are kept, so a restart resumes instead of skipping (the agent passes <data_dir>/positions) */
  stateDir?: string;
}

/**
 * Follows a MySQL/MariaDB slow query log (through rotation and truncation) and
 * emits one event per slow query (`mysql slow-query`, metric = query time in
 * seconds, the header fields as attributes) and, every `digest_interval`, one
 * event per fingerprint seen (`mysql slow-query digest <checksum>`, metric =
 * count, attributes count, max, p95, sum).
 */
export class MysqlSlowLogListener implements Listener {
  readonly kind = 'listener' as const;
  readonly name = 'mysql_slow_log';
  private tail: FileTail | undefined;
  private timer: NodeJS.Timeout | undefined;
  private digests = new Map<string, Digest>();
  private ctx: MonitorContext | undefined;
  private resolver: Resolver | undefined;

  constructor(private readonly config: MysqlSlowLogConfig, private readonly options: MysqlSlowLogOptions = {}) {}

  async start(ctx: MonitorContext): Promise<void> {
    this.ctx = ctx;
    const { state, resolve_after: after } = this.config;
    if (after !== undefined && state !== undefined && state !== 'ok') {
      this.resolver = new Resolver(ctx, { afterMs: after, reason: `no slow query for ${formatDuration(after)}`, attributes: { path: this.config.path }, tags: this.config.tags });
      // a slow query may have been sent before a restart
      this.resolver.fired(this.config.service);
    }
    const parser = new SlowLogParser((q) => this.onQuery(q));
    this.tail = new FileTail({
      path: this.config.path,
      fromBeginning: this.config.from_beginning,
      ...(this.options.stateDir ? { stateFile: join(this.options.stateDir, `mysql-slow-log-${createHash('sha1').update(this.config.path).digest('hex').slice(0, 16)}.json`) } : {}),
      ...(this.options.pollMs !== undefined ? { pollMs: this.options.pollMs } : {}),
      log: ctx.log,
      onLines: (lines, origins) => {
        for (let i = 0; i < lines.length; i++) parser.line(lines[i]!, origins[i]);
        parser.endOfInput();
        // an entry still waiting for its statement is read again whole after a restart
        this.tail?.keepFrom(parser.pendingOrigin());
      },
      onReset: () => { parser.flush(); this.tail?.keepFrom(undefined); },
    });
    await this.tail.start();
    this.timer = setInterval(() => this.emitDigests(), this.config.digest_interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.tail?.stop();
    this.tail = undefined;
    this.emitDigests();
    this.resolver?.stop();
    this.resolver = undefined;
  }

  private onQuery(q: SlowQuery): void {
    const ctx = this.ctx;
    if (!ctx) return;
    let d = this.digests.get(q.checksum);
    if (!d) { d = { fingerprint: q.fingerprint, count: 0, sum: 0, max: 0, samples: [], example: q.query, schema: q.schema }; this.digests.set(q.checksum, d); }
    d.count++;
    d.sum += q.queryTime;
    if (q.queryTime > d.max) { d.max = q.queryTime; d.example = q.query; }
    if (d.samples.length < SAMPLES) d.samples.push(q.queryTime);
    else { const i = Math.floor(Math.random() * d.count); if (i < SAMPLES) d.samples[i] = q.queryTime; }
    if (!this.config.per_query) return;
    const max = this.config.max_query_length;
    const attributes: Record<string, string> = {
      query: q.query.slice(0, max),
      fingerprint: q.fingerprint.slice(0, max),
      checksum: q.checksum,
      user: q.user,
      host: q.host,
      ip: q.ip,
      schema: q.schema,
      query_time: String(q.queryTime),
      lock_time: String(q.lockTime),
      rows_sent: String(q.rowsSent),
      rows_examined: String(q.rowsExamined),
    };
    for (const [k, v] of Object.entries(q.extra)) {
      if (Object.keys(attributes).length >= 48) break;
      attributes[k.toLowerCase()] = v.slice(0, 256);
    }
    try {
      ctx.emit({
        // the same id when a restart reads this entry again: the server keeps one
        ...(q.origin ? { id: lineEventId(q.origin, `${ctx.host}\u0000mysql_slow_log\u0000${this.config.path}`) } : {}),
        service: this.config.service,
        metric: q.queryTime,
        description: `${q.queryTime}s ${q.user}@${q.host || q.ip} ${q.schema ? q.schema + ': ' : ''}${q.query.slice(0, 512)}`,
        attributes,
        tags: this.config.tags,
        ...(this.config.state ? { state: this.config.state } : {}),
        time: q.time ?? ctx.now(),
      });
      this.resolver?.fired(this.config.service);
    } catch (err) {
      ctx.log.warn({ err }, 'a slow query could not become an event');
    }
  }

  private emitDigests(): void {
    const ctx = this.ctx;
    if (!ctx || this.digests.size === 0) return;
    const digests = this.digests;
    this.digests = new Map();
    const time = ctx.now();
    const max = this.config.max_query_length;
    for (const [sum, d] of digests) {
      const p95 = percentile(d.samples, 95);
      ctx.emit({
        service: `${this.config.service} digest ${sum}`,
        metric: d.count,
        description: `${d.count} × ${d.fingerprint.slice(0, 512)} (max ${d.max}s, p95 ${p95}s)`,
        attributes: {
          checksum: sum, fingerprint: d.fingerprint.slice(0, max), example: d.example.slice(0, max), schema: d.schema,
          count: String(d.count), max: String(d.max), p95: String(p95), sum: String(Math.round(d.sum * 1e6) / 1e6),
          interval_ms: String(this.config.digest_interval),
        },
        tags: this.config.tags,
        time,
      });
    }
  }

  /** Emit the aggregates now (tests, and the agent's shutdown via stop()). */
  flushDigests(): void { this.emitDigests(); }
}

/** `agent.mysql_slow_log: { path }`. */
export const mysqlSlowLogMonitor = defineMonitor({
  key: 'mysql_slow_log',
  schema: mysqlSlowLogSchema,
  create(config, agent) {
    return config ? [new MysqlSlowLogListener(config, { stateDir: join(agent.dataDir, 'positions') })] : [];
  },
});
