// @ts-check
/** Alerts: firing, silenced, pending and resolved, with durations; silence from here. */
import { apiResponse, qs } from '../api.js';
import { h, clear, clock, duration, stateBadge } from '../dom.js';
import { model } from '../model.js';

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export async function mount(main, params) {
  const hostFilter = params.get('host') ?? undefined;
  const body = h('div');
  clear(main).append(h('h1', null, 'Alerts', hostFilter ? ` on ${hostFilter}` : ''), body);
  let timer = 0;

  async function load() {
    /** @type {any[]} */ let alerts;
    /** @type {HTMLElement | null} */ let noRules = null;
    try {
      const { body: list, res } = await apiResponse('/api/v1/alerts' + qs({ host: hostFilter, limit: 500 }));
      alerts = list;
      // the server says how many rules it has: with none, an empty page is not good news
      if (res.headers.get('x-blick-rules') === '0') {
        noRules = h('p', { class: 'notice', 'data-no-rules': '' }, 'No alert rules are configured: nothing here can fire. Add rules under server.rules (docs/configuration.md); ',
          h('code', null, 'blick up'), ' without a configuration file ships default ones.');
      }
    } catch (err) {
      clear(body).append(h('p', { class: 'error' }, /** @type {Error} */ (err).message));
      return;
    }
    const now = Date.now();
    const firing = alerts.filter((a) => a.status === 'firing' && !a.muted);
    const silenced = alerts.filter((a) => a.status !== 'resolved' && a.muted);
    const pending = alerts.filter((a) => a.status === 'pending' && !a.muted);
    const resolved = alerts.filter((a) => a.status === 'resolved');
    const canSilence = model.role !== 'read';

    /** @param {any} a */
    const silenceLink = (a) => canSilence
      ? h('a', { class: 'silence-action', href: '#/silences' + qs({ host: a.host, service: a.service, rule: a.rule }), title: 'Silence notifications of this alert' }, 'Silence…')
      : null;
    /** @param {string} title @param {any[]} list @param {'firing' | 'silenced' | 'pending' | 'resolved'} kind */
    const section = (title, list, kind) => h('section', { 'data-section': kind },
      h('h2', null, `${title} (${list.length})`),
      list.length === 0 ? h('p', { class: 'notice' }, kind === 'firing' ? 'Nothing is firing.' : 'None.') :
        h('table', null,
          h('thead', null, h('tr', null, h('th', null, 'Severity'), h('th', null, 'Rule'), h('th', null, 'Host'), h('th', null, 'Service'), h('th', null, 'State'),
            h('th', null, kind === 'resolved' ? 'Lasted' : 'For'), h('th', null, 'Since'), h('th', null, kind === 'silenced' ? 'Muted by' : 'Description'), h('th', null, ''))),
          h('tbody', null, list.map((a) => h('tr', { tabindex: '0', 'data-alert': a.id, 'data-nav-item': '' },
            h('td', null, a.severity), h('td', null, a.rule),
            h('td', null, h('a', { href: `#/host/${encodeURIComponent(a.host)}` }, a.host)), h('td', null, a.service), h('td', null, stateBadge(a.state)),
            h('td', { class: 'num' }, duration((a.endsAt ?? now) - (a.firedAt ?? a.startsAt))),
            h('td', { title: clock(a.startsAt) }, clock(a.firedAt ?? a.startsAt)),
            h('td', { class: 'out' }, kind === 'silenced' ? a.muted : a.description),
            h('td', null, kind === 'resolved' ? null : silenceLink(a)))))));
    clear(body).append(...(noRules ? [noRules] : []), section('Firing', firing, 'firing'), section('Silenced', silenced, 'silenced'), section('Pending', pending, 'pending'), section('Resolved', resolved, 'resolved'));
  }
  await load();
  // durations tick; the list reloads on alert changes from the stream
  const tick = setInterval(load, 30_000);
  return {
    /** @param {import('../api.js').StreamItem[]} items */
    update(items) {
      if (items.some((it) => it.kind === 'alert')) { clearTimeout(timer); timer = setTimeout(load, 100); }
    },
    unmount() { clearInterval(tick); clearTimeout(timer); },
  };
}
