import { pino, type Logger, type LoggerOptions } from 'pino';
import { terminalSafe } from './terminal.js';

export type { Logger };

/**
 * Structured JSON logs (pino) with the component as a field; on a terminal the
 * same records are printed as readable lines (BLICK_LOG_FORMAT=json keeps JSON).
 * Level from BLICK_LOG_LEVEL (default info; tests default to warn).
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = process.env.BLICK_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'warn' : 'info');
  const pretty = process.stdout.isTTY === true && process.env.BLICK_LOG_FORMAT !== 'json';
  return pretty
    ? pino({ level, base: { component }, ...options }, { write: (line: string) => { process.stdout.write(prettyLine(line)); } })
    : pino({ level, base: { component }, ...options });
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };

/** One JSON log line as `12:00:01 INFO  server  message key=value …` for a terminal (logged text is {@link terminalSafe}). */
export function prettyLine(line: string): string {
  let o: Record<string, unknown>;
  try { o = JSON.parse(line); } catch { return terminalSafe(line.replace(/\n$/, '')) + '\n'; }
  const { level, time, component, msg, pid: _p, hostname: _h, ...rest } = o as Record<string, any>;
  const t = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 23);
  const extras = Object.entries(rest).map(([k, v]) => {
    if (v && typeof v === 'object' && 'message' in v && 'stack' in v) return `${k}=${JSON.stringify((v as { message: string }).message)}`;
    return `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`;
  }).map(terminalSafe).join(' ');
  return `\x1b[90m${t}\x1b[0m \x1b[${COLOURS[level] ?? '0'}m${LEVELS[level] ?? level}\x1b[0m \x1b[36m${terminalSafe(String(component ?? '')).padEnd(7)}\x1b[0m ${terminalSafe(String(msg ?? ''))}${extras ? ' \x1b[90m' + extras + '\x1b[0m' : ''}\n`;
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
