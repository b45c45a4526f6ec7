import { BlickError } from '../core/errors.js';
import { cliRequest, type CliResponse } from './http.js';

/** The target of a `rel="next"` Link header, if the response has one. */
export function nextLink(res: CliResponse): string | undefined {
  const m = /<([^>]+)>\s*;\s*rel="next"/.exec(res.header('link') ?? '');
  return m ? m[1] : undefined;
}

/**
 * GET a list from the API and follow its Link headers until `want` items are
 * in or there is no next page. A page may be shorter than its limit, even
 * empty, and still have a next link (the server bounds each read in bytes and
 * work), so only the link says whether the list goes on.
 */
export async function getPages(base: string, path: string, headers: Record<string, string>, want = Infinity, ca?: Buffer): Promise<unknown[]> {
  const items: unknown[] = [];
  let next: string | undefined = path;
  while (next !== undefined && items.length < want) {
    // the server's links are paths from its root, like `path`: keep any prefix of --url
    const url: string = next.startsWith('/') ? base.replace(/\/$/, '') + next : new URL(next, base).href;
    let res: CliResponse;
    try {
      res = await cliRequest(url, { headers, ca });
    } catch (err) {
      throw new BlickError('BAD_REQUEST', `cannot reach the Blick server at ${base} (${(err as { cause?: Error }).cause?.message ?? (err as Error).message}); set --url or BLICK_URL`);
    }
    const body = await res.json().catch(() => null) as any;
    if (!res.ok) {
      const msg = body?.error?.message ?? `HTTP ${res.status}`;
      throw new BlickError(res.status === 401 ? 'AUTH_REQUIRED' : res.status === 403 ? 'AUTH_FORBIDDEN' : 'BAD_REQUEST', `${url}: ${msg}`);
    }
    if (!Array.isArray(body)) throw new BlickError('BAD_REQUEST', `${url}: the server did not answer a list`);
    items.push(...body);
    next = nextLink(res);
  }
  return items.length > want ? items.slice(0, want) : items;
}
