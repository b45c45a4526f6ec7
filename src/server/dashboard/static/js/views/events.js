// @ts-check
/** Live events: the stream as it happens, pausable (p), filterable by host, service and state. */
import { api, qs } from '../api.js';
import { h, clear, clock, stateBadge, num } from '../dom.js';

const MAX_ROWS = 500;

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export async function mount(main, params) {
  const f = { host: params.get('host') ?? '', service: params.get('service') ?? '', state: params.get('state') ?? '' };
  let paused = false;
  /** @type {any[]} */ let held = [];
  const tbody = h('tbody');
  const status = h('span', { class: 'muted', role: 'status' });
  const pauseBtn = h('button', { type: 'button', 'data-pause': '', title: 'Pause / resume (p)', onclick: () => toggle() }, 'Pause');
  /** @param {'host' | 'service'} k @param {string} label */
  const text = (k, label) => {
    const i = /** @type {HTMLInputElement} */ (h('input', { type: 'search', value: f[k], placeholder: label, 'aria-label': `Filter by ${label}`, 'data-search': k === 'host' ? '' : undefined }));
    i.addEventListener('input', () => { f[k] = i.value.trim(); refilter(); });
    return i;
  };
  const sel = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'Filter by state' }, ['', 'critical', 'warning', 'unknown', 'ok'].map((s) => h('option', { value: s, selected: s === f.state }, s || 'any state'))));
  sel.addEventListener('change', () => { f.state = sel.value; refilter(); });
  clear(main).append(h('h1', null, 'Live events'),
    h('div', { class: 'toolbar' }, text('host', 'host'), text('service', 'service'), sel, pauseBtn, status),
    h('table', { class: 'events' }, h('thead', null, h('tr', null, ['Time', 'Host', 'Service', 'State', 'Metric', 'Description', 'Source'].map((t) => h('th', null, t)))), tbody));

  /** @param {any} e */
  const pass = (e) => (!f.host || e.host.includes(f.host)) && (!f.service || e.service.includes(f.service)) && (!f.state || e.state === f.state);
  /** @param {any} e @param {boolean} fresh */
  const row = (e, fresh) => h('tr', { class: fresh ? 'fresh' : undefined, 'data-event': e.id, 'data-nav-item': '', tabindex: '-1' },
    h('td', { title: new Date(e.time).toISOString() }, clock(e.time)),
    h('td', null, h('a', { href: `#/host/${encodeURIComponent(e.host)}` }, e.host)), h('td', null, e.service),
    h('td', null, e.state ? stateBadge(e.state) : ''), h('td', { class: 'num' }, num(e.metric)), h('td', { class: 'out' }, e.description), h('td', { class: 'muted' }, e.source));

  /** @type {any[]} */ let all = [];
  function refilter() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
    history.replaceState(null, '', '#/events' + (p.size ? '?' + p.toString() : ''));
    clear(tbody).append(...all.filter(pass).slice(0, MAX_ROWS).map((e) => row(e, false)));
    showStatus();
  }
  function showStatus() { status.textContent = paused ? `paused — ${held.length} new events held` : 'live'; }
  function toggle() {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    if (!paused) { const h2 = held; held = []; add(h2); }
    showStatus();
  }
  /** @param {any[]} events newest last */
  function add(events) {
    if (events.length === 0) return;
    all = events.slice().reverse().concat(all).slice(0, 5000);
    const frag = document.createDocumentFragment();
    for (let i = events.length - 1; i >= 0; i--) if (pass(events[i])) frag.append(row(events[i], true));
    tbody.prepend(frag);
    while (tbody.childElementCount > MAX_ROWS) tbody.lastElementChild?.remove();
  }

  try {
    /** @type {any[]} */
    const recent = await api('/api/v1/events' + qs({ host: f.host || undefined, limit: 100 }));
    all = recent;
    refilter();
  } catch (err) { status.textContent = /** @type {Error} */ (err).message; }

  return {
    /** @param {import('../api.js').StreamItem[]} items */
    update(items) {
      const events = items.filter((it) => it.kind === 'event').map((it) => it.data);
      if (paused) { held.push(...events); showStatus(); } else add(events);
    },
    /** @param {KeyboardEvent} e */
    key(e) { if (e.key === 'p') { toggle(); return true; } return false; },
  };
}
