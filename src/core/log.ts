import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino) with the component as a field.
 * Level from BLICK_LOG_LEVEL (default info; tests default to warn).
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = process.env.BLICK_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info');
  return pino({ level, base: { component }, ...options });
}

/**
 * Logs at most one line per `intervalMs` per key; the lines it swallowed are
 * counted and reported with the next one, so a flood of bad packets cannot
 * flood the log but nothing goes unmentioned.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, obj: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.intervalMs) { entry.suppressed++; return; }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    if (this.last.size > 1000) this.last.delete(this.last.keys().next().value as string);
    this.log.warn(suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
