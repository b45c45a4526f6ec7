// @ts-check
/**
 * What the dashboard knows between page loads: every host's worst state and
 * counts by state (from GET /api/v1/hosts, then kept current from `check`
 * items of the live stream: before → after moves one count), the token's role.
 */
import { apiAll } from './api.js';

/** @typedef {{ host: string, state: string | null, counts: Record<string, number>, checks: number, metrics: number, last_seen: number | null, facts?: Record<string, string> }} HostSummary */

export const STATES = ['critical', 'warning', 'unknown', 'ok'];

export const model = {
  /** @type {Map<string, HostSummary>} */
  hosts: new Map(),
  loaded: false,
  /** @type {'read' | 'write' | 'admin'} */
  role: 'read',
  auth: false,
};

/** @param {Record<string, number>} counts */
export function worstOf(counts) {
  for (const s of STATES) if ((counts[s] ?? 0) > 0) return s;
  return null;
}

export async function loadHosts() {
  /** @type {HostSummary[]} */
  const list = await apiAll('/api/v1/hosts');
  model.hosts = new Map(list.map((h) => [h.host, { host: h.host, state: h.state, counts: { ...h.counts }, checks: h.checks, metrics: h.metrics ?? 0, last_seen: h.last_seen }]));
  model.loaded = true;
}

/** @param {string} name */
function host(name) {
  let h = model.hosts.get(name);
  if (!h) { h = { host: name, state: null, counts: { ok: 0, warning: 0, critical: 0, unknown: 0 }, checks: 0, metrics: 0, last_seen: null }; model.hosts.set(name, h); }
  return h;
}

/**
 * Apply stream items; returns the hosts whose worst state or counts changed
 * and the hosts that are new.
 * @param {import('./api.js').StreamItem[]} items
 */
export function apply(items) {
  /** @type {Set<string>} */ const changed = new Set();
  /** @type {Set<string>} */ const added = new Set();
  for (const it of items) {
    const d = it.data;
    if (it.kind === 'event') {
      if (d.service === 'facts') continue;
      if (!model.hosts.has(d.host)) added.add(d.host);
      const h = host(d.host);
      // the server's own events (ttl expiry) are not a sign of life
      if (d.source !== 'server' && (h.last_seen === null || d.time > h.last_seen)) h.last_seen = d.time;
    } else if (it.kind === 'check') {
      if (!model.hosts.has(d.host)) added.add(d.host);
      const h = host(d.host);
      if (d.before) h.counts[d.before] = Math.max(0, (h.counts[d.before] ?? 0) - 1);
      else if (d.state) h.checks++;
      else h.metrics++;
      if (d.state) h.counts[d.state] = (h.counts[d.state] ?? 0) + 1;
      h.state = worstOf(h.counts);
      changed.add(d.host);
    }
  }
  return { changed, added };
}
