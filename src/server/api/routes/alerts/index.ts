import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BlickError } from '../../../../core/errors.js';
import { glob } from '../../../../core/glob.js';
import { ALERT_STATUSES, type Alert } from '../../../alerts/types.js';
import type { ApiContext } from '../../context.js';
import { parseQuery } from '../../query.js';

const query = z.strictObject({
  status: z.enum(ALERT_STATUSES).optional(),
  /** names or globs (`web-*`), as everywhere else */
  host: z.string().max(1024).optional(),
  rule: z.string().max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** The JSON of one alert: times as unix ms, plus why its notifications are muted. */
function view(a: Alert, muted: string | undefined): Record<string, unknown> {
  const { key: _key, ...rest } = a;
  return { ...rest, muted: muted ?? null };
}

/** Says how many alert rules the server has, so an empty list with none reads "no alert rules are configured". */
export const RULES_HEADER = 'x-blick-rules';

/**
 * GET /api/v1/alerts?status=pending|firing|resolved: alerts, newest change
 * first, and the number of configured rules in `X-Blick-Rules`.
 */
export const alertsRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  app.get('/alerts', async (req, reply) => {
    const q = parseQuery(query, req.query);
    const alerting = ctx.alerting;
    if (!alerting) throw new BlickError('NOT_FOUND', 'alerting is not enabled on this server');
    reply.header(RULES_HEADER, String(alerting.rules.rules.length));
    const list = await alerting.list({ status: q.status, limit: q.host || q.rule ? 10_000 : q.limit });
    const hostOk = q.host === undefined ? undefined : glob(q.host);
    const ruleOk = q.rule === undefined ? undefined : glob(q.rule);
    return list
      .filter((a) => (!hostOk || hostOk(a.host)) && (!ruleOk || ruleOk(a.rule)))
      .slice(0, q.limit)
      .map((a) => view(a, a.status === 'resolved' ? undefined : alerting.mutedBy(a)));
  });
};
