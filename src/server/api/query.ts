import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { BlickError } from '../../core/errors.js';

/** Validate a query string; a bad one is a 400 naming the parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const r = schema.safeParse(query ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
      return `parameter ${i.path.join('.') || '?'}: ${i.message}`;
    }).join('; ');
    throw new BlickError('BAD_REQUEST', msg);
  }
  return r.data;
}

/** RFC 8288 Link header for the next page. */
export function linkHeader(path: string, query: Record<string, string>, cursor: string): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (k !== 'cursor' && typeof v === 'string') p.set(k, v);
  p.set('cursor', cursor);
  return `<${path}?${p.toString()}>; rel="next"`;
}

/** `limit` and `cursor` of the current-state lists (checks, hosts): everything by default. */
export const pagingKeys = {
  limit: z.coerce.number().int().min(1).max(100_000).default(100_000),
  cursor: z.string().regex(/^\d+$/, 'use the cursor of the previous page\'s Link header').optional(),
};

/**
 * One page of an in-memory list, with a Link header to the next. The cursor is a
 * position: the lists are current state, re-sorted on every call, so a page
 * boundary may move by the items that changed in between.
 */
export function page<T>(list: T[], q: { limit: number; cursor?: string | undefined }, path: string, query: unknown, reply: FastifyReply): T[] {
  const from = q.cursor === undefined ? 0 : Number(q.cursor);
  const out = list.slice(from, from + q.limit);
  if (from + q.limit < list.length) reply.header('Link', linkHeader(path, query as Record<string, string>, String(from + q.limit)));
  return out;
}
