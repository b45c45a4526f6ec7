// @ts-check
/** The dashboard's access to the API: the token (localStorage), JSON calls, the live stream. */

const TOKEN_KEY = 'blick.token';

/** @returns {string | null} */
export function getToken() { return localStorage.getItem(TOKEN_KEY); }
/** @param {string | null} t */
export function setToken(t) { if (t) localStorage.setItem(TOKEN_KEY, t); else localStorage.removeItem(TOKEN_KEY); }

/** An API answer that is not 2xx. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** @type {(() => void) | null} */
let onUnauthorized = null;
/** @param {() => void} fn */
export function whenUnauthorized(fn) { onUnauthorized = fn; }

/**
 * Call the API with the stored token.
 * @param {string} path e.g. "/api/v1/checks"
 * @param {{ method?: string, body?: unknown }} [opts]
 * @returns {Promise<any>}
 */
export async function api(path, opts = {}) {
  return (await request(path, opts)).body;
}

/**
 * Call the API and keep the response, for its headers.
 * @param {string} path
 * @returns {Promise<{ body: any, res: Response }>}
 */
export function apiResponse(path) {
  return request(path, {});
}

/**
 * GET a whole list, following its Link headers: a page may be shorter than its
 * limit, even empty, and still have a next link (docs/api.md).
 * @param {string} path e.g. "/api/v1/hosts"
 * @returns {Promise<any[]>}
 */
export async function apiAll(path) {
  /** @type {any[]} */
  const all = [];
  for (let next = /** @type {string | undefined} */ (path); next;) {
    const { body, res } = await request(next, {});
    all.push(...body);
    next = /<([^>]+)>\s*;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
  }
  return all;
}

/**
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} opts
 * @returns {Promise<{ body: any, res: Response }>}
 */
async function request(path, opts) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(res.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `HTTP ${res.status}`);
    if (res.status === 401 && onUnauthorized) onUnauthorized();
    throw err;
  }
  return { body, res };
}

/** @param {Record<string, string | number | undefined | null>} q */
export function qs(q) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? '?' + s : '';
}

/**
 * @typedef {{ kind: 'event' | 'check' | 'alert', id: number, data: any, at: number }} StreamItem
 * @typedef {{ onItem: (it: StreamItem) => void, onReset: () => void, onStatus: (s: 'live' | 'reconnecting' | 'refused') => void }} StreamHandlers
 */

/**
 * The live stream (Server-Sent Events). EventSource reconnects by itself and
 * sends Last-Event-ID, so nothing is missed across a short outage; a `reset`
 * means more was missed than the server buffers, and the caller reloads.
 * @param {StreamHandlers} h
 * @returns {() => void} close
 */
export function openStream(h) {
  const token = getToken();
  const es = new EventSource('/api/v1/stream' + qs({ token }));
  es.onopen = () => h.onStatus('live');
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      h.onStatus('refused');
      // a refused token closes the stream for good: check why
      api('/api/v1/whoami').catch(() => undefined);
    } else h.onStatus('reconnecting');
  };
  for (const kind of /** @type {const} */ (['event', 'check', 'alert'])) {
    es.addEventListener(kind, (m) => {
      h.onItem({ kind, id: Number(m.lastEventId), data: JSON.parse(m.data), at: performance.now() });
    });
  }
  es.addEventListener('reset', () => h.onReset());
  return () => es.close();
}
