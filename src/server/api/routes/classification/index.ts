import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../../../core/duration.js';
import { BlickError } from '../../../../core/errors.js';
import { parseIfNoneMatch, parseSubscriptions } from '../../../classification/checkset.js';
import { describeIssues, zClassifiedHost } from '../../../classification/schema.js';
import type { DesiredState } from '../../../classification/types.js';
import type { ApiContext } from '../../context.js';
import { parseQuery } from '../../query.js';

/** The longest `?wait=` of a check-set long-poll. */
export const MAX_CHECKSET_WAIT_MS = 60_000;

const hostParam = (host: string): string => {
  const r = zClassifiedHost.safeParse(host);
  if (!r.success) throw new BlickError('BAD_REQUEST', `host ${JSON.stringify(host.slice(0, 64))}: ${describeIssues(r.error)}`);
  return r.data;
};

const checksetQuery = z.strictObject({
  subscriptions: z.string().max(64 * 1024).optional(),
  wait: z.string().transform((s, c) => {
    const ms = parseDuration(s);
    if (ms === undefined || ms > MAX_CHECKSET_WAIT_MS) { c.addIssue({ code: 'custom', message: `expected a duration up to 60s (e.g. 30s), got ${JSON.stringify(s.slice(0, 32))}` }); return z.NEVER; }
    return ms;
  }).optional(),
});

/**
 * PUT /api/v1/hosts/:host/classification (write): what a source (the agent's
 * catalog upload) says the host must be. GET /api/v1/hosts/:host/checkset
 * (read): what the host's agent runs besides its own checks, with an ETag and
 * a long-poll (`If-None-Match` + `?wait=`). docs/classification.md.
 */
export const classificationRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const cls = ctx.classification;
  if (!cls) return;
  // held long-polls answer (304) before the listener closes, or a stop would wait for them
  app.addHook('preClose', async () => { cls.waits.close(); });

  app.put<{ Params: { host: string } }>('/hosts/:host/classification', { config: { role: 'write' } }, async (req) => {
    const host = hostParam(req.params.host);
    // the book validates (the one place that counts and logs a refused state); the path names the host
    await cls.book.put(host, req.body);
    return { host, derived: cls.book.derived(host) };
  });

  app.get<{ Params: { host: string } }>('/hosts/:host/checkset', async (req, reply) => {
    const host = hostParam(req.params.host);
    const q = parseQuery(checksetQuery, req.query);
    const subs = parseSubscriptions(q.subscriptions);
    const known = parseIfNoneMatch(req.headers['if-none-match']);
    let set = cls.checkSet(host, subs);
    if (q.wait !== undefined && q.wait > 0 && known.includes(set.version)) {
      const was = set.version;
      // the response's close: the request's fires once its body is read, the response's when the client goes
      await cls.waits.wait(host, () => cls.checkSet(host, subs).version !== was, q.wait, reply.raw);
      set = cls.checkSet(host, subs);
    }
    reply.header('etag', `"${set.version}"`);
    if (known.includes(set.version) || known.includes('*')) return reply.code(304).send();
    return set;
  });
};
