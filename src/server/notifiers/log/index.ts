import { z } from 'zod';
import { commonNotifierKeys, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

/** `{ type: log, level? }` (see README.md). */
export const logSchema = z.strictObject({
  type: z.literal('log'),
  /** pino level of the line: firing and resolved alerts alike [warn] */
  level: z.enum(['info', 'warn', 'error']).default('warn'),
  /** characters of the description kept in the line [1000] */
  max_description: z.number().int().min(16).max(65_536).default(1000),
  ...commonNotifierKeys,
});
export type LogConfig = z.output<typeof logSchema>;

/**
 * Writes each notification as one structured line to the server's log: the
 * receiver that needs no other system, so alerts are visible out of the box.
 * The event itself is left out (the history has it), which bounds the line.
 */
export class LogNotifier extends TemplatedNotifier<LogConfig> {
  readonly type = 'log';
  private readonly log: NotifierDeps['log'];
  constructor(name: string, config: LogConfig, deps: NotifierDeps) {
    super(name, config, deps);
    this.log = deps.log.child({ notifier: name });
  }

  async send(p: NotificationPayload, _signal?: AbortSignal): Promise<void> {
    const max = this.config.max_description;
    const t = this.texts(p);
    const description = p.description.length > max ? p.description.slice(0, max) + '…' : p.description;
    this.log[this.config.level]({
      status: p.status, rule: p.rule, severity: p.severity, host: p.host, service: p.service, state: p.state, metric: p.metric,
      description, startsAt: p.startsAt, endsAt: p.endsAt, ...(t.body === undefined ? {} : { body: t.body }),
    }, t.title ?? (p.status === 'firing' ? 'alert firing' : 'alert resolved'));
  }
}
