import type { z } from 'zod';
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
