import { z } from 'zod';
import { postJson } from '../webhook/index.js';
import { commonNotifierKeys, TemplatedNotifier, type NotificationPayload, type NotifierDeps } from '../notifier.js';

/** `{ type: slack, url, channel?, username? }` (see README.md). */
export const slackSchema = z.strictObject({
  type: z.literal('slack'),
  /** a Slack (or Mattermost/Rocket.Chat) incoming-webhook URL */
  url: z.url({ protocol: /^https?$/ }),
  channel: z.string().optional(),
  username: z.string().default('Blick'),
  ...commonNotifierKeys,
});
export type SlackConfig = z.output<typeof slackSchema>;

const COLORS: Record<string, string> = { critical: '#d00000', warning: '#e8a317', info: '#439fe0' };

/** The Slack message of one notification: a text line plus one attachment with fields; `t` holds rendered templates. */
export function slackMessage(p: NotificationPayload, c: Pick<SlackConfig, 'channel' | 'username'>, t: { title?: string | undefined; body?: string | undefined } = {}): Record<string, unknown> {
  const icon = p.status === 'resolved' ? ':white_check_mark:' : p.severity === 'critical' ? ':red_circle:' : ':warning:';
  const text = t.title ?? `${icon} *${p.status.toUpperCase()}* ${p.rule} on ${p.host} — ${p.service}`;
  const fields = [
    { title: 'Severity', value: p.severity, short: true },
    { title: 'State', value: p.state ?? '—', short: true },
  ];
  if (p.metric !== null) fields.push({ title: 'Metric', value: String(p.metric), short: true });
  fields.push({ title: p.status === 'resolved' ? 'Resolved' : 'Since', value: p.endsAt ?? p.startsAt, short: true });
  const msg: Record<string, unknown> = {
    text,
    username: c.username,
    attachments: [{ color: p.status === 'resolved' ? '#2eb886' : COLORS[p.severity] ?? '#d00000', fallback: `${text}: ${p.description}`, text: t.body ?? p.description, fields, ts: Math.floor(p.event.time / 1000) }],
  };
  if (c.channel) msg.channel = c.channel;
  return msg;
}

export class SlackNotifier extends TemplatedNotifier<SlackConfig> {
  readonly type = 'slack';
  constructor(name: string, config: SlackConfig, deps?: NotifierDeps) { super(name, config, deps, 'slack'); }
  async send(payload: NotificationPayload, signal: AbortSignal): Promise<void> {
    const t = this.texts(payload);
    await postJson(this.config.url, JSON.stringify(slackMessage(payload, this.config, t)), { 'content-type': 'application/json' }, signal);
  }
}
