import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { BlickError } from '../../../../core/errors.js';
import type { ApiContext } from '../../context.js';
import { parseQuery, readBounds } from '../../query.js';
import { parseInstant, parseStep } from './time.js';

/** Points one GET /api/v1/series may answer, by default (`server.limits.series_max_points`). */
export const DEFAULT_SERIES_MAX_POINTS = 2000;
/** Points a series gets when the client sends no `step`. */
const DEFAULT_POINTS = 300;

const seriesQuery = z.strictObject({
  host: z.string().min(1).max(1024),
  service: z.string().min(1).max(1024),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  step: z.string().max(32).optional(),
});

/**
 * GET /api/v1/series: one series' metric downsampled to min/max/avg/count/last
 * per step, so a week of a busy series charts from a few hundred points.
 */
export const seriesRoutes = (ctx: ApiContext, opts: { now?: () => number } = {}): FastifyPluginAsync => async (app) => {
  const reads = readBounds(ctx);
  const now = opts.now ?? Date.now;
  const tooMany = ctx.metrics.counter('blick_series_points_refused_total', 'GET /api/v1/series requests refused for asking more points than server.limits.series_max_points');
  app.get('/series', async (req) => {
    const q = parseQuery(seriesQuery, req.query);
    const t = now();
    const to = q.to === undefined ? t : parseInstant('to', q.to, t);
    const from = q.from === undefined ? to - 3_600_000 : parseInstant('from', q.from, t);
    if (from >= to) throw new BlickError('BAD_REQUEST', `parameter from: ${from} is not before to (${to})`);
    const maxPoints = reads.limits.seriesMaxPoints ?? DEFAULT_SERIES_MAX_POINTS;
    const step = q.step === undefined ? Math.max(1, Math.ceil((to - from) / DEFAULT_POINTS)) : parseStep(q.step);
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
