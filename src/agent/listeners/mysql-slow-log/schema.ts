import { z } from 'zod';
import { zDuration } from '../../../core/config.js';

const STATES = ['ok', 'warning', 'critical', 'unknown'] as const;

/** `agent.mysql_slow_log`: the slow query log of MySQL 5.7/8 or MariaDB. */
export const mysqlSlowLogSchema = z.strictObject({
  /** the file `slow_query_log_file` names */
  path: z.string().min(1),
  /** the service of per-query events (default `mysql slow-query`) */
  service: z.string().min(1).default('mysql slow-query'),
  /** the state of per-query events (default: none, a metric event) */
  state: z.enum(STATES).optional(),
  /** with a non-ok `state`: after this long with no new slow query, send an ok event (default: never) */
  resolve_after: zDuration.optional(),
  /** also emit one event per slow query (default true); the digests are always emitted */
  per_query: z.boolean().default(true),
  /** how often to emit per-fingerprint aggregates (count, max, p95) (default 60s) */
  digest_interval: zDuration.default(60_000),
  /** longest query text put into an event (default 4096 characters) */
  max_query_length: z.number().int().positive().max(8192).default(4096),
  /** read the existing file from its beginning on start (default false: only new entries) */
  from_beginning: z.boolean().default(false),
  tags: z.array(z.string()).default([]),
});
export type MysqlSlowLogConfig = z.output<typeof mysqlSlowLogSchema>;
