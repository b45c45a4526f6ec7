import type { FastifyPluginAsync } from 'fastify';
import { BlickError } from '../../../../core/errors.js';
import { compareSeverity } from '../../../state.js';
import { z } from 'zod';
import type { ApiContext } from '../../context.js';
import { page, pagingKeys, parseQuery, readBounds } from '../../query.js';

/**
 * GET /api/v1/hosts and /api/v1/hosts/:host: worst state, last seen, facts, classification
 * (per source; the list gives resource counts) and derived checks (the list: their count).
 * DELETE /api/v1/hosts/:host forgets the host (write role): checks, facts, ttl timers; alerts resolve.
 */
export const hostsRoutes = (ctx: ApiContext): FastifyPluginAsync => async (app) => {
  const reads = readBounds(ctx);
  const book = ctx.classification?.book;
  /** What each source says of the host (`resources` only for one host: a list of hosts stays small). */
  const classification = (host: string, resources: boolean) => {
    const sources = book?.sourcesOf(host) ?? [];
    if (sources.length === 0) return null;
    return sources.map(({ state: s, known_since, updated }) => ({
      source: s.source, origin: s.origin, classes: s.classes, roles: s.roles, known_since, updated,
      ...(resources ? { resources: s.resources } : { resources: s.resources.length }),
    }));
  };
  const summary = (host: string, rec?: { facts: Record<string, string>; facts_time: number | null; classification: unknown }, detail = false) => {
    const s = ctx.ingest.state;
    const checks = s.hostChecks(host);
    const counts: Record<string, number> = { ok: 0, warning: 0, critical: 0, unknown: 0 };
    let metrics = 0;
    // a series without a state of its own (perfdata, observer rates) is a metric, not a check (docs/api.md)
    for (const c of checks) if (c.state) counts[c.state]!++; else metrics++;
    return {
      host, state: s.worst(host), last_seen: s.lastSeen(host), checks: checks.length - metrics, metrics, counts,
      facts: rec?.facts ?? {}, facts_time: rec?.facts_time ?? null, classification: classification(host, detail),
      ...(detail ? { derived: book?.derived(host) ?? [] } : { derived: book?.derived(host).length ?? 0 }),
    };
  };

  app.get('/hosts', async (req, reply) => {
    const q = parseQuery(z.strictObject(pagingKeys), req.query);
    const records = new Map((await ctx.store.listHosts()).map((r) => [r.host, r]));
    const names = new Set<string>([...ctx.ingest.state.hosts(), ...records.keys(), ...(book?.hostNames() ?? [])]);
    const out = [...names].map((h) => summary(h, records.get(h)));
    out.sort((a, b) => compareSeverity(b.state, a.state) || a.host.localeCompare(b.host));
    return page(out, q, '/api/v1/hosts', req, reply, reads);
  });

  app.get<{ Params: { host: string } }>('/hosts/:host', async (req) => {
    const host = req.params.host;
    const rec = await ctx.store.getHost(host);
    const checks = ctx.ingest.state.hostChecks(host);
    if (!rec && checks.length === 0 && !book?.get(host)) throw new BlickError('NOT_FOUND', `no host named ${JSON.stringify(host)} has reported or is classified`);
    checks.sort((a, b) => compareSeverity(b.state, a.state) || a.service.localeCompare(b.service));
    return { ...summary(host, rec, true), checks_detail: checks };
  });

  app.delete<{ Params: { host: string } }>('/hosts/:host', { config: { role: 'write' } }, async (req) => {
    const host = req.params.host;
    const r = await ctx.ingest.remove(host, undefined, 'api');
    if (!r) throw new BlickError('NOT_FOUND', `no host named ${JSON.stringify(host)} has reported`);
    return { host, deleted: r.checks.map((c) => c.service) };
  });
};
