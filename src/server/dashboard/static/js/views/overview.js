// @ts-check
/** Overview: every host as a tile coloured by its worst state, counts by state, filter and search, worst first. */
import { h, clear, ago, sev } from '../dom.js';
import { model, STATES } from '../model.js';

/** @typedef {import('../model.js').HostSummary} HostSummary */

/** @param {HostSummary} a @param {HostSummary} b */
const order = (a, b) => sev(b.state) - sev(a.state) || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);

/** @param {HostSummary} s */
function summary(s) {
  const parts = [];
  for (const st of STATES) if ((s.counts[st] ?? 0) > 0) parts.push(`${s.counts[st]} ${st === 'critical' ? 'crit' : st === 'warning' ? 'warn' : st === 'unknown' ? 'unkn' : 'ok'}`);
  return parts.join(' · ') || 'no checks with a state';
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export function mount(main, params) {
  /** @type {string | null} */ let stateFilter = params.get('state');
  let search = params.get('q') ?? '';
  /** @type {Map<string, HTMLElement>} */ const tiles = new Map();
  /** @type {Map<string, string | null>} */ const shown = new Map();

  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'search', placeholder: 'Search hosts (/)', value: search, 'aria-label': 'Search hosts', 'data-search': '' }));
  const countsEl = h('div', { class: 'counts', role: 'group', 'aria-label': 'Filter by state' });
  const grid = h('div', { class: 'tiles', role: 'list', 'aria-label': 'Hosts' });
  const note = h('p', { class: 'notice' });
  clear(main).append(h('h1', null, 'Overview'), h('div', { class: 'toolbar' }, input, countsEl), note, grid);

  /** @param {HostSummary} s */
  function tile(s) {
    const a = h('a', { class: `tile ${s.state ?? 'none'}`, href: `#/host/${encodeURIComponent(s.host)}`, role: 'listitem', 'data-host': s.host, 'data-state': s.state ?? 'none', 'data-nav-item': '' },
      h('span', { class: 'name' }, s.host), h('span', { class: 'sum' }, summary(s)));
    a.title = `${s.host}: ${s.state ?? 'no state'}${s.last_seen ? `, last seen ${ago(s.last_seen)}` : ''}`;
    return a;
  }
  /** @param {HTMLElement} el @param {HostSummary} s */
  function refresh(el, s) {
    const st = s.state ?? 'none';
    if (el.dataset.state !== st) { el.className = `tile ${st}`; el.dataset.state = st; }
    /** @type {HTMLElement} */ (el.lastChild).textContent = summary(s);
  }
  /** @param {HostSummary} s */
  const visible = (s) => (stateFilter === null || (s.state ?? 'none') === stateFilter) && (search === '' || s.host.toLowerCase().includes(search.toLowerCase()));

  function renderCounts() {
    /** @type {Record<string, number>} */ const c = { critical: 0, warning: 0, unknown: 0, ok: 0, none: 0 };
    for (const s of model.hosts.values()) c[s.state ?? 'none']++;
    const btn = (/** @type {string | null} */ st, /** @type {string} */ label, /** @type {number} */ n, /** @type {string} */ key) =>
      h('button', { type: 'button', class: 'count', 'aria-pressed': String(stateFilter === st), 'data-filter': st ?? 'all', title: `${label} (${key})`, onclick: () => { stateFilter = st; filter(); } },
        st ? h('span', { class: `dot ${st}` }) : null, `${label} `, h('b', null, String(n)));
    clear(countsEl).append(
      btn(null, 'All', model.hosts.size, '1'),
      btn('critical', 'Critical', c.critical, '2'), btn('warning', 'Warning', c.warning, '3'),
      btn('unknown', 'Unknown', c.unknown, '4'), btn('ok', 'OK', c.ok, '5'),
    );
    if (c.none) countsEl.append(btn('none', 'No state', c.none, ''));
  }

  function filter() {
    let n = 0;
    for (const [name, el] of tiles) {
      const v = visible(/** @type {HostSummary} */ (model.hosts.get(name)));
      if (v) n++;
      if (el.hidden === v) el.hidden = !v;
    }
    note.textContent = model.hosts.size === 0 ? 'No host has reported yet. Start an agent (blick agent) or POST events to /api/v1/events.'
      : n === model.hosts.size ? '' : `${n} of ${model.hosts.size} hosts shown`;
    renderCounts();
    const u = new URL(location.href);
    const p = new URLSearchParams();
    if (stateFilter) p.set('state', stateFilter);
    if (search) p.set('q', search);
    const hash = '#/' + (p.size ? '?' + p.toString() : '');
    if (u.hash !== hash) history.replaceState(null, '', hash);
  }

  function reorder() {
    const list = [...model.hosts.values()].sort(order);
    const frag = document.createDocumentFragment();
    for (const s of list) {
      let el = tiles.get(s.host);
      if (!el) { el = tile(s); tiles.set(s.host, el); el.hidden = !visible(s); }
      frag.append(el);
    }
    grid.append(frag);
  }

  reorder();
  filter();
  for (const s of model.hosts.values()) shown.set(s.host, s.state);

  input.addEventListener('input', () => { search = input.value.trim(); filter(); });

  return {
    /** @param {unknown} _items @param {{ changed: Set<string>, added: Set<string> }} delta */
    update(_items, delta) {
      let resort = delta.added.size > 0;
      for (const name of delta.changed) {
        const s = model.hosts.get(name);
        const el = tiles.get(name);
        if (!s || !el) continue;
        if (shown.get(name) !== s.state) { resort = true; shown.set(name, s.state); }
        refresh(el, s);
      }
      for (const name of delta.added) shown.set(name, model.hosts.get(name)?.state ?? null);
      if (resort) reorder();
      if (resort || delta.changed.size > 0) filter();
    },
    /** @param {KeyboardEvent} e */
    key(e) {
      const i = '12345'.indexOf(e.key);
      if (i >= 0) { stateFilter = [null, 'critical', 'warning', 'unknown', 'ok'][i] ?? null; filter(); return true; }
      return false;
    },
  };
}
