import { createRequire } from 'node:module';
import type { Transporter } from 'nodemailer';
import { z } from 'zod';
import { commonNotifierKeys, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

/** `{ type: email, smtp: "smtp://user:pass@host:587", from, to: [...] }` (see README.md). */
export const emailSchema = z.strictObject({
  type: z.literal('email'),
  /** nodemailer connection URL: smtp:// (STARTTLS when offered) or smtps:// */
  smtp: z.string().regex(/^smtps?:\/\/\S+$/, 'must be an smtp:// or smtps:// URL'),
  from: z.string().default('blick@localhost'),
  to: z.array(z.string().min(3)).min(1),
  /** accept self-signed certificates (lab servers) */
  insecure_tls: z.boolean().default(false),
  ...commonNotifierKeys,
});
export type EmailConfig = z.output<typeof emailSchema>;

/** Subject and plain-text body of one notification. */
export function emailMessage(p: NotificationPayload): { subject: string; text: string } {
  const subject = `[${p.status.toUpperCase()}${p.status === 'firing' ? ':' + p.severity : ''}] ${p.rule} ${p.host} ${p.service}`;
  const lines = [
    `${p.rule} is ${p.status} on ${p.host} (${p.service}).`, '',
    p.description, '',
    `severity:  ${p.severity}`,
    `state:     ${p.state ?? '-'}`,
    `metric:    ${p.metric ?? '-'}`,
    `started:   ${p.startsAt}`,
  ];
  if (p.endsAt) lines.push(`ended:     ${p.endsAt}`);
  lines.push('', 'event:', JSON.stringify(p.event, null, 2));
  return { subject, text: lines.join('\n') };
}

/** Sends one mail per notification over SMTP with nodemailer (pooled connection). */
export class EmailNotifier extends TemplatedNotifier<EmailConfig> {
  readonly type = 'email';
  private readonly transport: Transporter;
  constructor(name: string, config: EmailConfig, deps?: NotifierDeps) {
    super(name, config, deps);
    // loaded when an email notifier is configured, not by everything that reads the config
    const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
    this.transport = nodemailer.createTransport(config.smtp, {
      connectionTimeout: config.timeout, greetingTimeout: config.timeout, socketTimeout: config.timeout,
      tls: config.insecure_tls ? { rejectUnauthorized: false } : undefined,
    } as never);
  }

  async send(p: NotificationPayload, signal: AbortSignal): Promise<void> {
    const own = emailMessage(p);
    // a header is one line: a title rendered with line breaks is folded into spaces
    const t = this.texts(p);
    const subject = t.title?.replace(/[\r\n]+/g, ' ') ?? own.subject;
    const text = t.body ?? own.text;
    signal.throwIfAborted();
    const sending = this.transport.sendMail({ from: this.config.from, to: this.config.to, subject, text, headers: { 'X-Blick-Rule': p.rule, 'X-Blick-Status': p.status } });
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      sending.then(() => { signal.removeEventListener('abort', onAbort); resolve(); },
        (err: Error) => { signal.removeEventListener('abort', onAbort); reject(new Error(`SMTP delivery failed: ${err.message}`)); });
    });
  }

  async close(): Promise<void> { this.transport.close(); }
}
