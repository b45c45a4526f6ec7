// @ts-check
/**
 * The dashboard shell: token check, hash routing, the one live stream shared
 * by every page (items are queued and applied once per animation frame, so a
 * burst of events costs one DOM update), theme and keyboard.
 */
import { api, ApiError, getToken, openStream, setToken, whenUnauthorized } from './api.js';
import { model, loadHosts, apply } from './model.js';
import * as overview from './views/overview.js';
import * as hostView from './views/host.js';
import * as alerts from './views/alerts.js';
import * as silences from './views/silences.js';
import * as events from './views/events.js';
import * as login from './views/login.js';

/** @typedef {{ update?: (items: import('./api.js').StreamItem[], delta: { changed: Set<string>, added: Set<string> }) => void, key?: (e: KeyboardEvent) => boolean, unmount?: () => void }} View */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const liveEl = /** @type {HTMLElement} */ (document.getElementById('live'));
const roleEl = /** @type {HTMLElement} */ (document.getElementById('role'));
const logoutBtn = /** @type {HTMLButtonElement} */ (document.getElementById('logout'));
const helpEl = /** @type {HTMLElement} */ (document.getElementById('help'));

/** @type {View | null} */ let view = null;
let routeSeq = 0;
/** @type {(() => void) | null} */ let closeStream = null;

// ---- theme ---------------------------------------------------------------
const THEME_KEY = 'blick.theme';
function applyTheme(/** @type {string} */ t) { document.documentElement.dataset.theme = t; }
applyTheme(localStorage.getItem(THEME_KEY) ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
function toggleTheme() {
  const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, t);
  applyTheme(t);
}
/** @type {HTMLElement} */ (document.getElementById('theme')).addEventListener('click', toggleTheme);

// ---- live stream: queue, apply once per frame -----------------------------
/** @type {import('./api.js').StreamItem[]} */ let queue = [];
let scheduled = false;
/** Figures for tests and the benchmark (read through Playwright). */
const stats = { received: 0, applied: 0, flushes: 0, lastFlushMs: 0 };
/** @type {any} */ (window).__blick = { stats, model };

function flush() {
  scheduled = false;
  const items = queue;
  queue = [];
  if (items.length === 0) return;
  const delta = apply(items);
  try { view?.update?.(items, delta); } catch (err) { console.error(err); }
  stats.applied += items.length;
  stats.flushes++;
  const end = performance.now();
  stats.lastFlushMs = end - items[0].at;
  performance.mark('blick:applied', { detail: { items: items.length, firstReceivedAt: items[0].at } });
}

function startStream() {
  closeStream?.();
  closeStream = openStream({
    onItem(it) {
      stats.received++;
      // a deleted or deregistered host or check (rare): reload the hosts rather than patch counts
      if (it.kind === 'removed') { loadHosts().catch(() => undefined).then(() => route()); return; }
      queue.push(it);
      if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
    },
    async onReset() { await loadHosts().catch(() => undefined); route(); },
    onStatus(s) {
      liveEl.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'disconnected';
      liveEl.className = `live ${s === 'live' ? 'on' : 'off'}`;
    },
  });
}

// ---- routing ---------------------------------------------------------------
/** @type {Record<string, { mount: (main: HTMLElement, params: URLSearchParams, arg: string, done: () => void) => View | Promise<View> }>} */
const VIEWS = { '': overview, host: hostView, alerts, silences, events, login };

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?');
  const [name = '', ...rest] = path.split('/');
  return { name, arg: decodeURIComponent(rest.join('/')), params: new URLSearchParams(query) };
}

async function route() {
  const seq = ++routeSeq;
  const { name, arg, params } = parseHash();
  const v = VIEWS[name] ?? overview;
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.getAttribute('data-nav') === (name || 'overview'));
  view?.unmount?.();
  view = null;
  document.title = `Blick — ${name === 'host' ? arg : name || 'overview'}`;
  const t0 = performance.now();
  const mounted = await v.mount(main, params, arg, () => { boot(); });
  if (seq !== routeSeq) { mounted.unmount?.(); return; }
  view = mounted;
  performance.mark(`blick:rendered:${name || 'overview'}`, { detail: { ms: performance.now() - t0 } });
  document.body.dataset.view = name || 'overview';
}
window.addEventListener('hashchange', () => { if (model.loaded || parseHash().name === 'login') route(); });

// ---- auth --------------------------------------------------------------------
function toLogin() {
  closeStream?.();
  closeStream = null;
  if (parseHash().name !== 'login') location.hash = '#/login';
  else route();
}
whenUnauthorized(() => { if (parseHash().name !== 'login') { setToken(null); toLogin(); } });
logoutBtn.addEventListener('click', () => { setToken(null); model.loaded = false; toLogin(); });

async function boot() {
  try {
    const who = await api('/api/v1/whoami');
    model.role = who.role;
    model.auth = who.auth;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { toLogin(); return; }
    main.textContent = `The Blick server does not answer: ${/** @type {Error} */ (err).message}`;
    return;
  }
  roleEl.textContent = model.auth ? `role: ${model.role}` : '';
  logoutBtn.hidden = !model.auth || !getToken();
  document.body.dataset.role = model.role;
  await loadHosts();
  performance.mark('blick:hosts-loaded');
  startStream();
  if (parseHash().name === 'login') location.hash = '#/';
  else await route();
}

// ---- keyboard ----------------------------------------------------------------
let pendingG = 0;
document.addEventListener('keydown', (e) => {
  const t = /** @type {HTMLElement} */ (e.target);
  if (e.key === 'Escape') { helpEl.hidden = true; if (t instanceof HTMLInputElement) t.blur(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
  const go = { o: '#/', a: '#/alerts', s: '#/silences', e: '#/events' };
  if (Date.now() - pendingG < 1500 && e.key in go) { pendingG = 0; location.hash = go[/** @type {'o'} */ (e.key)]; e.preventDefault(); return; }
  pendingG = 0;
  if (e.key === 'g') { pendingG = Date.now(); return; }
  if (e.key === '?') { helpEl.hidden = !helpEl.hidden; return; }
  if (e.key === 't') { toggleTheme(); return; }
  if (e.key === '/') {
    const s = /** @type {HTMLElement | null} */ (main.querySelector('[data-search]'));
    if (s) { e.preventDefault(); s.focus(); }
    return;
  }
  if (e.key === 'j' || e.key === 'k') {
    const items = /** @type {HTMLElement[]} */ ([...main.querySelectorAll('[data-nav-item]')].filter((x) => !(/** @type {HTMLElement} */ (x).hidden)));
    if (items.length === 0) return;
    const i = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const next = items[Math.max(0, Math.min(items.length - 1, i < 0 ? 0 : i + (e.key === 'j' ? 1 : -1)))];
    next?.focus();
    next?.scrollIntoView({ block: 'nearest' });
    e.preventDefault();
    return;
  }
  if (e.key === 'Enter' && t.matches('tr[data-nav-item]')) { /** @type {HTMLElement | null} */ (t.querySelector('a'))?.click(); return; }
  if (view?.key?.(e)) e.preventDefault();
});

boot();
