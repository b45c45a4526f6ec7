import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../../../core/duration.js';
import { BlickError } from '../../../../core/errors.js';
import { statusOf } from '../../../alerts/silences.js';
import type { ApiContext } from '../../context.js';

const time = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const body = z.strictObject({
  matchers: z.strictObject({
    // globs; bounded like the fields they match (matching costs pattern × value length)
    host: z.string().min(1).max(1024).optional(),
    service: z.string().min(1).max(1024).optional(),
    rule: z.string().min(1).max(1024).optional(),
    severity: z.string().min(1).max(1024).optional(),
  }),
  /** unix ms or ISO 8601; default now */
  startsAt: time.optional(),
  /** unix ms or ISO 8601 … */
  endsAt: time.optional(),
  /** … or a duration from startsAt: "2h" */
  duration: z.string().optional(),
  author: z.string().min(1).max(200).optional(),
  reason: z.string().min(1, 'a silence needs a reason').max(2000),
});

/** GET/POST /api/v1/silences, DELETE /api/v1/silences/:id (expires it; kept for audit). */
export const silencesRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const alerting = () => {
    if (!ctx.alerting) throw new BlickError('NOT_FOUND', 'alerting is not enabled on this server');
    return ctx.alerting;
  };

  app.get('/silences', async () => {
    return alerting().silences.all().sort((a, b) => b.createdAt - a.createdAt);
  });

  app.post('/silences', { config: { role: 'write' } }, async (req, reply) => {
    const r = body.safeParse(req.body ?? {});
    if (!r.success) throw new BlickError('BAD_REQUEST', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const b = r.data;
    const startsAt = b.startsAt ?? Date.now();
    let endsAt = b.endsAt;
    if (endsAt === undefined && b.duration !== undefined) {
      const ms = parseDuration(b.duration);
      if (ms === undefined || ms <= 0) throw new BlickError('BAD_REQUEST', `duration: "${b.duration}" is not a duration (e.g. 30m, 2h)`);
      endsAt = startsAt + ms;
    }
    if (endsAt === undefined) throw new BlickError('BAD_REQUEST', 'give endsAt or duration');
    const s = await alerting().silences.add({ matchers: b.matchers, startsAt, endsAt, author: b.author ?? (req.role ? `token:${req.role}` : 'anonymous'), reason: b.reason });
    reply.code(201);
    return { ...s, status: statusOf(s, Date.now()) };
  });

  app.delete<{ Params: { id: string } }>('/silences/:id', { config: { role: 'write' } }, async (req) => {
    const s = await alerting().silences.expire(req.params.id);
    return { ...s, status: 'expired' };
  });
};
