import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BlickError } from '../../../../core/errors.js';
import type { ApiContext } from '../../context.js';
import { parseDuration } from '../../../../core/duration.js';
import { parseQuery, readBounds, timeParam } from '../../query.js';

/** Points one GET /api/v1/series may answer, by default (`server.limits.series_max_points`). */
export const DEFAULT_SERIES_MAX_POINTS = 2000;
/** Points a series gets when the client sends no `step`. */
const DEFAULT_POINTS = 300;

/** `step=`: milliseconds, or a duration (`30s`, `5m`) — a bare number is ms here, as for times in the API. */
const stepParam = z.string().max(32).transform((s, c) => {
  const ms = /^\d{1,16}$/.test(s) ? Number(s) : parseDuration(s);
  if (ms === undefined || !(ms >= 1)) { c.addIssue({ code: 'custom', message: `expected milliseconds or a duration (30s, 5m, 1h), got ${JSON.stringify(s)}` }); return z.NEVER; }
  return Math.floor(ms);
});

const seriesQuery = (now: () => number) => z.strictObject({
  host: z.string().min(1).max(1024),
  service: z.string().min(1).max(1024),
  from: timeParam(now).optional(),
  to: z.literal('now').transform(() => now()).or(timeParam(now)).optional(),
  step: stepParam.optional(),
});

/**
 * GET /api/v1/series: one series' metric downsampled to min/max/avg/count/last
 * per step, so a week of a busy series charts from a few hundred points.
 */
export const seriesRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const reads = readBounds(ctx);
  const now = ctx.now ?? Date.now;
  // one reading of the clock per request, so `from=24h` and the default `to` are exactly 24 h apart
  let t = 0;
  const schema = seriesQuery(() => t);
  const tooMany = ctx.metrics.counter('blick_series_points_refused_total', 'GET /api/v1/series requests refused for asking more points than server.limits.series_max_points');
  app.get('/series', async (req) => {
    t = now();
    const q = parseQuery(schema, req.query);
    const to = q.to ?? t;
    const from = q.from ?? to - 3_600_000;
    if (from >= to) throw new BlickError('BAD_REQUEST', `parameter from: ${from} is not before to (${to})`);
    const maxPoints = reads.limits.seriesMaxPoints ?? DEFAULT_SERIES_MAX_POINTS;
    const step = q.step ?? Math.max(1, Math.ceil((to - from) / DEFAULT_POINTS));
    const points = Math.ceil((to - from) / step);
    if (points > maxPoints) {
      tooMany.inc();
      throw new BlickError('BAD_REQUEST', `parameter step: ${step} ms over ${to - from} ms is ${points} points, more than ${maxPoints} (server.limits.series_max_points); use step=${Math.ceil((to - from) / maxPoints)} or more`);
    }
    const r = await ctx.store.querySeries({ host: q.host, service: q.service, from, to, step, budget: { rows: reads.limits.queryScanRows, ms: reads.limits.queryBudgetMs } });
    reads.rows.inc(r.examined);
    reads.stopped('/api/v1/series', r.stopped, q);
    return { host: q.host, service: q.service, from, to, step, complete: r.stopped === undefined, points: r.buckets };
  });
};
