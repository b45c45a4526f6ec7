// @ts-check
/** Host page: facts, classification, every check with state, output, last change and a sparkline of its metric. */
// @ts-ignore: served from node_modules/uplot/dist by the server (types from the uplot package)
import uPlotModule from '../../vendor/uPlot.esm.js';

/** @type {typeof import('uplot')} */
const uPlot = uPlotModule;
/** @typedef {import('uplot')} Plot */
import { api, qs } from '../api.js';
import { h, clear, ago, clock, stateBadge, sev, num } from '../dom.js';
import { model } from '../model.js';

const HISTORY = 300;

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} _params
 * @param {string} name
 */
export async function mount(main, _params, name) {
  clear(main).append(h('h1', null, name), h('p', { class: 'notice' }, 'Loading…'));
  /** @type {any} */ let host;
  try {
    host = await api(`/api/v1/hosts/${encodeURIComponent(name)}`);
  } catch (err) {
    clear(main).append(h('h1', null, name), h('p', { class: 'error' }, /** @type {Error} */ (err).message), h('a', { href: '#/' }, 'Back to the overview'));
    return {};
  }
  /** @type {Map<string, { row: HTMLElement, check: any, plot?: Plot, xs: number[], ys: (number | null)[] }>} */
  const rows = new Map();
  const tbody = h('tbody');
  /** @type {any[]} */ const checks = host.checks_detail;
  checks.sort((a, b) => sev(b.state) - sev(a.state) || (a.service < b.service ? -1 : 1));

  for (const c of checks) {
    const chart = h('div', { class: 'spark', 'aria-label': `metric history of ${c.service}` });
    const row = h('tr', { tabindex: '0', 'data-service': c.service, 'data-nav-item': '' },
      h('td', { class: 'st' }, stateBadge(c.state)),
      h('td', null, c.service),
      h('td', { class: 'out' }, c.description),
      h('td', { class: 'num metric' }, num(c.metric)),
      h('td', { class: 'changed', title: clock(c.last_change) }, ago(c.last_change)),
      h('td', { class: 'seen', title: clock(c.last_seen ?? c.time) }, ago(c.last_seen ?? c.time)),
      h('td', null, chart));
    tbody.append(row);
    rows.set(c.service, { row, check: c, xs: [], ys: [] });
  }

  const facts = Object.entries(host.facts ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const badge = h('span', null, stateBadge(host.state));
  clear(main).append(
    h('h1', null, badge, ' ', name),
    h('p', { class: 'muted' }, `${host.checks} checks · last seen ${ago(host.last_seen)}`, ' · ', h('a', { href: `#/events?host=${encodeURIComponent(name)}` }, 'live events'), ' · ', h('a', { href: `#/alerts?host=${encodeURIComponent(name)}` }, 'alerts')),
    h('h2', null, 'Checks'),
    checks.length === 0 ? h('p', { class: 'notice' }, 'No checks yet.') :
      h('table', { class: 'checks' }, h('thead', null, h('tr', null, h('th', null, 'State'), h('th', null, 'Service'), h('th', null, 'Output'), h('th', { class: 'num' }, 'Metric'), h('th', null, 'Last change'), h('th', { title: 'the newest event the host itself sent' }, 'Last seen'), h('th', null, 'History'))), tbody),
    h('h2', null, 'Facts'),
    facts.length === 0 ? h('p', { class: 'notice' }, 'No facts reported.') :
      h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    h('h2', null, 'Classification'),
    host.classification ? h('pre', { class: 'json' }, JSON.stringify(host.classification, null, 2)) : h('p', { class: 'notice' }, 'No classification (Puppet catalog, PuppetDB or Chef) for this host.'),
  );

  // sparklines: metric history per check (newest first from the API)
  await Promise.all([...rows.entries()].map(async ([service, r]) => {
    if (r.check.metric === null) return;
    try {
      /** @type {any[]} */
      const events = await api('/api/v1/events' + qs({ host: name, service, limit: HISTORY }));
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i];
        if (typeof e.metric === 'number') { r.xs.push(e.time / 1000); r.ys.push(e.metric); }
      }
      draw(r);
    } catch { /* the table still shows the current value */ }
  }));

  /** @param {{ row: HTMLElement, plot?: Plot, xs: number[], ys: (number | null)[] }} r */
  function draw(r) {
    if (r.xs.length === 0) return;
    if (r.plot) { r.plot.setData([r.xs, r.ys]); return; }
    const el = /** @type {HTMLElement} */ (r.row.lastChild?.firstChild);
    const css = getComputedStyle(document.documentElement);
    r.plot = new uPlot({
      width: 220, height: 44, legend: { show: false }, cursor: { show: true, points: { show: false } },
      scales: { x: { time: true } }, axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: css.getPropertyValue('--accent').trim() || '#2456d6', width: 1.5, points: { show: false } }],
    }, [r.xs, r.ys], el);
    el.title = `${r.ys.length} values, last ${r.ys[r.ys.length - 1]}`;
  }

  return {
    /** @param {import('../api.js').StreamItem[]} items */
    update(items) {
      for (const it of items) {
        const d = it.data;
        if (d.host !== name) continue;
        const r = rows.get(d.service);
        if (!r) continue;
        const cells = /** @type {HTMLElement[]} */ ([...r.row.children]);
        if (it.kind === 'event') {
          cells[2].textContent = d.description;
          cells[3].textContent = num(d.metric);
          if (d.source !== 'server') { cells[5].textContent = ago(d.time); cells[5].title = clock(d.time); }
          if (typeof d.metric === 'number') {
            r.xs.push(d.time / 1000); r.ys.push(d.metric);
            if (r.xs.length > HISTORY) { r.xs.shift(); r.ys.shift(); }
            draw(r);
          }
        } else if (it.kind === 'check') {
          clear(cells[0]).append(stateBadge(d.state));
          cells[4].textContent = ago(d.last_change);
          cells[4].title = clock(d.last_change);
          clear(badge).append(stateBadge(model.hosts.get(name)?.state));
        }
      }
    },
  };
}
