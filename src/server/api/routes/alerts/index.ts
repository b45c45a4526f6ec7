import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BlickError } from '../../../../core/errors.js';
import { parseDuration } from '../../../../core/duration.js';
import { glob } from '../../../../core/glob.js';
import { activeAck, ALERT_STATUSES, type Alert } from '../../../alerts/types.js';
import type { ApiContext } from '../../context.js';
import { parseQuery } from '../../query.js';

const query = z.strictObject({
  status: z.enum(ALERT_STATUSES).optional(),
  /** names or globs (`web-*`), as everywhere else */
  host: z.string().max(1024).optional(),
  rule: z.string().max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

const ackBody = z.strictObject({
  author: z.string().min(1).max(200).optional(),
  comment: z.string().min(1, 'an acknowledgement needs a comment').max(2000),
  /** a duration ("4h"): the acknowledgement ends then even if the alert does not change */
  expires: z.string().refine((d) => (parseDuration(d) ?? 0) > 0, 'must be a duration such as 30m or 4h').optional(),
});

/** The JSON of one alert: times as unix ms, why its notifications are muted, and its acknowledgement while it holds. */
function view(a: Alert, muted: string | undefined, now: number): Record<string, unknown> {
  const { key: _key, ...rest } = a;
  return { ...rest, muted: muted ?? null, acknowledged: activeAck(a, now) };
}

/** Says how many alert rules the server has, so an empty list with none reads "no alert rules are configured". */
export const RULES_HEADER = 'x-blick-rules';

/**
 * GET /api/v1/alerts?status=pending|firing|resolved: alerts, newest change
 * first, and the number of rules that can fire in `X-Blick-Rules` (configured rules, and the
 * built-in classification rules once a host is classified).
 */
export const alertsRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  app.get('/alerts', async (req, reply) => {
    const q = parseQuery(query, req.query);
    const alerting = ctx.alerting;
    if (!alerting) throw new BlickError('NOT_FOUND', 'alerting is not enabled on this server');
    const rules = alerting.rules.rules;
    // the classification rules cannot fire before a host is classified: a server without rules still says 0
    reply.header(RULES_HEADER, String(ctx.classification ? ctx.classification.rulesThatCanFire(rules) : rules.length));
    const list = await alerting.list({ status: q.status, limit: q.host || q.rule ? 10_000 : q.limit });
    const hostOk = q.host === undefined ? undefined : glob(q.host);
    const ruleOk = q.rule === undefined ? undefined : glob(q.rule);
    return list
      .filter((a) => (!hostOk || hostOk(a.host)) && (!ruleOk || ruleOk(a.rule)))
      .slice(0, q.limit)
      .map((a) => view(a, a.status === 'resolved' ? undefined : alerting.mutedBy(a), alerting.now()));
  });

  app.post<{ Params: { id: string } }>('/alerts/:id/ack', { config: { role: 'write' } }, async (req) => {
    const alerting = ctx.alerting;
    if (!alerting) throw new BlickError('NOT_FOUND', 'alerting is not enabled on this server');
    const b = ackBody.safeParse(req.body ?? {});
    if (!b.success) throw new BlickError('BAD_REQUEST', b.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const at = alerting.now();
    const a = alerting.book.acknowledge(req.params.id, {
      by: b.data.author ?? (req.role ? `token:${req.role}` : 'anonymous'), at, comment: b.data.comment,
      expiresAt: b.data.expires !== undefined ? at + parseDuration(b.data.expires)! : null,
    });
    return view(a, alerting.mutedBy(a), at);
  });
};
