// @ts-check
/** Host page: a chart of one series over a picked range, checks and metric series in two sections (each with a sparkline), facts, classification and derived checks with their origin. */
// @ts-ignore: served from node_modules/uplot/dist by the server (types from the uplot package)
import uPlotModule from '../../vendor/uPlot.esm.js';

/** @type {typeof import('uplot')} */
const uPlot = uPlotModule;
/** @typedef {import('uplot')} Plot */
import { api, qs } from '../api.js';
import { h, clear, ago, clock, stateBadge, sev, num } from '../dom.js';
import { model } from '../model.js';

/** Time ranges of the picker, and the points a chart asks /api/v1/series for. */
export const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 };
const POINTS = 240;
/** how often live values of the charted series refetch it */
const REFRESH_MS = 5000;
/** live values kept per sparkline between refetches */
const HISTORY = 600;

/**
 * @typedef {{ row: HTMLElement, check: any, plot?: Plot, xs: number[], ys: (number | null)[], buckets?: any[] }} Row
 */

/** `Service[demo] (/etc/puppet/site.pp:3)`: a derived check's origin, as the CLI and the alert name it. @param {any} o */
export function originText(o) {
  return `${o.resource}${o.file === undefined ? '' : o.line === undefined ? ` (${o.file})` : ` (${o.file}:${o.line})`}`;
}

/**
 * What each classification source says of the host, and the checks derived
 * from it with their origin (resource, manifest file:line) and current state.
 * @param {any} host @param {any[]} checks the host's current checks
 */
function classificationSection(host, checks) {
  /** @type {any[]} */ const sources = host.classification ?? [];
  /** @type {any[]} */ const derived = host.derived ?? [];
  if (sources.length === 0) return [h('h2', null, 'Classification'), h('p', { class: 'notice' }, 'No classification (Puppet catalog, PuppetDB or Chef) for this host.')];
  const state = new Map(checks.map((c) => [c.service, c]));
  return [
    h('h2', null, 'Classification'),
    h('dl', { class: 'facts sources', 'data-section': 'classification' }, sources.map((c) => h('div', { 'data-source': c.source },
      h('dt', null, c.source),
      h('dd', null,
        [c.origin.catalog, c.origin.version && `version ${c.origin.version}`, c.origin.environment].filter(Boolean).join(' · '),
        ` · updated ${ago(c.updated)}`, ` · ${c.resources.length} resources`,
        c.classes.length ? h('div', { class: 'muted' }, `classes: ${c.classes.join(', ')}`) : '',
        c.roles.length ? h('div', { class: 'muted' }, `roles: ${c.roles.join(', ')}`) : '')))),
    h('h2', { title: 'checks nobody wrote: derived from the resources above; the classified rule alerts on them' }, `Derived checks (${derived.length})`),
    derived.length === 0 ? h('p', { class: 'notice' }, 'No Service, Mount, File or Package resource derives a check.') :
      h('table', { class: 'checks', 'data-section': 'derived' },
        h('thead', null, h('tr', null, h('th', null, 'State'), h('th', null, 'Service'), h('th', null, 'Kind'), h('th', null, 'Declared by'), h('th', null, 'Source'))),
        h('tbody', null, derived.map((d) => h('tr', { 'data-service': d.service },
          h('td', { class: 'st' }, state.has(d.service) ? stateBadge(state.get(d.service).state) : h('span', { class: 'state none' }, 'no event yet')),
          h('td', null, d.service),
          h('td', null, d.kind),
          h('td', { class: 'origin' }, originText(d.origin)),
          h('td', { class: 'muted' }, [d.origin.source, d.origin.catalog, d.origin.version].filter(Boolean).join(' · ')))))),
  ];
}

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params `range` (1h, 6h, 24h, 7d) and `service` (the series charted large)
 * @param {string} name
 */
export async function mount(main, params, name) {
  clear(main).append(h('h1', null, name), h('p', { class: 'notice' }, 'Loading…'));
  /** @type {any} */ let host;
  try {
    host = await api(`/api/v1/hosts/${encodeURIComponent(name)}`);
  } catch (err) {
    clear(main).append(h('h1', null, name), h('p', { class: 'error' }, /** @type {Error} */ (err).message), h('a', { href: '#/' }, 'Back to the overview'));
    return {};
  }
  /** @type {Map<string, Row>} */
  const rows = new Map();
  /** @type {any[]} */ const all = host.checks_detail;
  all.sort((a, b) => sev(b.state) - sev(a.state) || (a.service < b.service ? -1 : 1));
  // a series with a state of its own is a check; one without (perfdata, observer rates) a metric (docs/api.md)
  const checks = all.filter((c) => c.state !== null);
  const metrics = all.filter((c) => c.state === null);

  /** @param {any} c */
  const rowOf = (c) => {
    const chart = h('div', { class: 'spark', 'aria-label': `metric history of ${c.service}` });
    const row = h('tr', { tabindex: '0', 'data-service': c.service, 'data-nav-item': '', title: 'chart this series above' },
      h('td', { class: 'st' }, stateBadge(c.state)),
      h('td', null, c.service),
      h('td', { class: 'out' }, c.description),
      h('td', { class: 'num metric' }, num(c.metric)),
      h('td', { class: 'changed', title: clock(c.last_change) }, ago(c.last_change)),
      h('td', { class: 'seen', title: clock(c.last_seen ?? c.time) }, ago(c.last_seen ?? c.time)),
      h('td', null, chart));
    row.addEventListener('click', () => select(c.service));
    row.addEventListener('keydown', (e) => { if (/** @type {KeyboardEvent} */ (e).key === 'Enter') select(c.service); });
    rows.set(c.service, { row, check: c, xs: [], ys: [] });
    return row;
  };
  const head = () => h('thead', null, h('tr', null, h('th', null, 'State'), h('th', null, 'Service'), h('th', null, 'Output'), h('th', { class: 'num' }, 'Metric'), h('th', null, 'Last change'), h('th', { title: 'the newest event the host itself sent' }, 'Last seen'), h('th', null, 'History')));
  const table = (/** @type {string} */ section, /** @type {any[]} */ list, /** @type {string} */ empty) => list.length === 0
    ? h('p', { class: 'notice', 'data-section': section }, empty)
    : h('table', { class: 'checks', 'data-section': section }, head(), h('tbody', null, list.map(rowOf)));

  /** @type {keyof typeof RANGES} */
  let range = /** @type {any} */ (params.get('range') ?? '') in RANGES ? /** @type {any} */ (params.get('range')) : '1h';
  const charted = all.filter((c) => c.metric !== null);
  let selected = params.get('service') ?? charted[0]?.service ?? null;
  const picker = h('div', { class: 'range', role: 'group', 'aria-label': 'time range' },
    Object.keys(RANGES).map((r) => h('button', { type: 'button', 'data-range': r, 'aria-pressed': String(r === range) }, r)));
  picker.addEventListener('click', (e) => {
    const r = /** @type {HTMLElement} */ (e.target).closest?.('button')?.getAttribute('data-range');
    if (!r || r === range) return;
    range = /** @type {any} */ (r);
    for (const b of picker.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.getAttribute('data-range') === range));
    void load();
  });
  const graphTitle = h('h2', null, selected ?? 'History');
  const graphEl = h('div', { class: 'graph', 'aria-label': 'metric history' });
  const graphNote = h('p', { class: 'notice' });
  /** @type {Plot | undefined} */ let graph;

  const facts = Object.entries(host.facts ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const badge = h('span', null, stateBadge(host.state));
  clear(main).append(
    h('h1', null, badge, ' ', name),
    h('p', { class: 'muted' }, `${host.checks} checks · ${host.metrics ?? 0} metrics · last seen ${ago(host.last_seen)}`, ' · ', h('a', { href: `#/events?host=${encodeURIComponent(name)}` }, 'live events'), ' · ', h('a', { href: `#/alerts?host=${encodeURIComponent(name)}` }, 'alerts')),
    h('div', { class: 'graph-head' }, graphTitle, picker),
    charted.length === 0 ? h('p', { class: 'notice' }, 'No series with a metric yet.') : graphEl,
    graphNote,
    h('h2', null, `Checks (${checks.length})`),
    table('checks', checks, 'No checks yet.'),
    h('h2', { title: 'series without a state of their own: check perfdata, observer values' }, `Metrics (${metrics.length})`),
    table('metrics', metrics, 'No metric series.'),
    h('h2', null, 'Facts'),
    facts.length === 0 ? h('p', { class: 'notice' }, 'No facts reported.') :
      h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    ...classificationSection(host, all),
  );

  /** The range asked for, aligned to the step so that refetches keep bucket boundaries. */
  function rangeWindow() {
    const span = RANGES[range];
    const step = span / POINTS;
    const to = Math.ceil(Date.now() / step) * step;
    return { from: to - span, to, step };
  }

  /** @param {Row} r @param {{ from: number, to: number, step: number }} w */
  async function fetchSeries(r, w) {
    try {
      const s = await api('/api/v1/series' + qs({ host: name, service: r.check.service, from: String(w.from), to: String(w.to), step: String(w.step) }));
      r.buckets = s.points;
      r.xs = s.points.map((/** @type {any} */ b) => b.time / 1000);
      r.ys = s.points.map((/** @type {any} */ b) => b.avg);
      if (s.complete) delete r.row.dataset.partial; else r.row.dataset.partial = 'true';
      draw(r);
    } catch { /* the table still shows the current value */ }
  }

  /** Fetch every charted series for the current range, from /api/v1/series (one step for all). */
  async function load() {
    const w = rangeWindow();
    graphEl.dataset.range = range;
    await Promise.all([...rows.values()].filter((r) => r.check.metric !== null).map((r) => fetchSeries(r, w)));
    Object.assign(graphEl.dataset, { from: String(w.from), to: String(w.to), step: String(w.step) });
    drawGraph();
  }

  /** New values of the charted series: refetch it, at most every few seconds. */
  /** @type {ReturnType<typeof setTimeout> | undefined} */ let refresh;
  function refreshSoon() {
    if (refresh !== undefined) return;
    refresh = setTimeout(async () => {
      const r = selected === null ? undefined : rows.get(selected);
      if (!r) { refresh = undefined; return; }
      const w = rangeWindow();
      await fetchSeries(r, w);
      refresh = undefined;
      Object.assign(graphEl.dataset, { from: String(w.from), to: String(w.to), step: String(w.step) });
      drawGraph();
    }, REFRESH_MS);
  }

  /** @param {string} service */
  function select(service) {
    if (!rows.get(service)?.buckets) return;
    selected = service;
    graphTitle.textContent = service;
    drawGraph();
  }

  /** The large chart: avg, min and max per step of the selected series, with axes and hover values. */
  function drawGraph() {
    const r = selected === null ? undefined : rows.get(selected);
    if (!r || !r.buckets) return;
    for (const x of rows.values()) x.row.classList.toggle('selected', x === r);
    const b = r.buckets;
    const data = /** @type {import('uplot').AlignedData} */ ([b.map((p) => p.time / 1000), b.map((p) => p.avg), b.map((p) => p.min), b.map((p) => p.max)]);
    graphEl.dataset.service = r.check.service;
    graphEl.dataset.points = String(b.length);
    graphNote.textContent = b.length === 0 ? `No values for ${r.check.service} in the last ${range}.` : r.row.dataset.partial ? 'Partial: the server\'s read budget ended before the oldest values.' : '';
    graph?.destroy();
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--muted').trim() || '#666';
    const grid = css.getPropertyValue('--line').trim() || '#ddd';
    const accent = css.getPropertyValue('--accent').trim() || '#2456d6';
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    graph = new uPlot({
      width: Math.max(320, Math.min(graphEl.clientWidth || main.clientWidth, 1400)), height: 260,
      cursor: { points: { size: 6 } },
      scales: { x: { time: true, range: () => [Number(graphEl.dataset.from) / 1000, Number(graphEl.dataset.to) / 1000] } },
      axes: [{ ...axis }, { ...axis, size: 60 }],
      series: [
        { label: 'time' },
        { label: 'avg', stroke: accent, width: 2 },
        { label: 'min', stroke: accent, width: 1, dash: [4, 4] },
        { label: 'max', stroke: accent, width: 1, dash: [4, 4] },
      ],
    }, data, graphEl);
  }

  /** @param {Row} r */
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
    el.title = `${r.ys.length} steps, last ${r.ys[r.ys.length - 1]}`;
  }

  await load();

  return {
    unmount() { clearTimeout(refresh); graph?.destroy(); },
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
            if (d.service === selected) refreshSoon();
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
