// @ts-check
/** Silences: list, create with matchers and a duration, expire. */
import { api } from '../api.js';
import { h, clear, clock, duration } from '../dom.js';
import { model } from '../model.js';

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 */
export async function mount(main, params) {
  const canWrite = model.role !== 'read';
  const msg = h('p', { class: 'notice', role: 'status' });
  const list = h('div');
  /** @param {string} name @param {string} label @param {Record<string, any>} [attrs] */
  const field = (name, label, attrs = {}) => h('label', { class: attrs.wide ? 'wide' : undefined }, label,
    h('input', { name, value: params.get(name) ?? attrs.value ?? '', placeholder: attrs.placeholder, required: attrs.required, 'aria-label': label }));
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'silence card', 'aria-label': 'New silence' },
    field('host', 'Host (glob)', { placeholder: 'web-*' }),
    field('service', 'Service (glob)', { placeholder: 'disk *' }),
    field('rule', 'Rule'),
    field('severity', 'Severity'),
    field('duration', 'Duration', { value: '2h', required: true }),
    field('reason', 'Reason', { required: true, wide: true, placeholder: 'maintenance window' }),
    h('button', { type: 'submit', class: 'primary' }, 'Create silence')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    /** @type {Record<string, string>} */ const matchers = {};
    for (const k of ['host', 'service', 'rule', 'severity']) { const v = String(f.get(k) ?? '').trim(); if (v) matchers[k] = v; }
    try {
      const s = await api('/api/v1/silences', { method: 'POST', body: { matchers, duration: String(f.get('duration')).trim(), reason: String(f.get('reason')).trim(), author: 'dashboard' } });
      msg.className = 'notice'; msg.textContent = `Created silence ${s.id}, until ${clock(s.endsAt)}.`;
      // the form was pre-filled from the alert: empty it for the next silence
      for (const k of ['host', 'service', 'rule', 'severity', 'reason']) {
        const i = /** @type {HTMLInputElement} */ (form.elements.namedItem(k));
        i.value = ''; i.defaultValue = '';
      }
      history.replaceState(null, '', '#/silences');
      await load();
    } catch (err) {
      msg.className = 'error'; msg.textContent = /** @type {Error} */ (err).message;
    }
  });

  clear(main).append(h('h1', null, 'Silences'),
    canWrite ? form : h('p', { class: 'notice' }, 'Your token has the read role: it can see silences but not create or expire them.'),
    msg, list);
  if (canWrite && params.get('host')) /** @type {HTMLInputElement} */ (form.elements.namedItem('reason')).focus();

  async function load() {
    /** @type {any[]} */ let silences;
    try { silences = await api('/api/v1/silences'); } catch (err) { clear(list).append(h('p', { class: 'error' }, /** @type {Error} */ (err).message)); return; }
    const now = Date.now();
    /** @param {any} s */
    const row = (s) => h('tr', { tabindex: '0', 'data-silence': s.id, 'data-status': s.status, 'data-nav-item': '' },
      h('td', null, s.status),
      h('td', null, Object.entries(s.matchers).map(([k, v]) => `${k}=${v}`).join(' ')),
      h('td', { title: clock(s.startsAt) }, clock(s.startsAt)),
      h('td', { title: clock(s.endsAt) }, s.status === 'expired' ? clock(s.endsAt) : `${clock(s.endsAt)} (in ${duration(s.endsAt - now)})`),
      h('td', null, s.author), h('td', { class: 'out' }, s.reason),
      h('td', null, canWrite && s.status !== 'expired' ? h('button', { type: 'button', class: 'expire', onclick: async () => {
        try { await api(`/api/v1/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' }); await load(); }
        catch (err) { msg.className = 'error'; msg.textContent = /** @type {Error} */ (err).message; }
      } }, 'Expire') : null));
    const active = silences.filter((s) => s.status !== 'expired');
    const expired = silences.filter((s) => s.status === 'expired').slice(0, 50);
    const table = (/** @type {any[]} */ l) => h('table', null, h('thead', null, h('tr', null, ['Status', 'Matchers', 'Starts', 'Ends', 'Author', 'Reason', ''].map((t) => h('th', null, t)))), h('tbody', null, l.map(row)));
    clear(list).append(h('h2', null, `Active and pending (${active.length})`), active.length ? table(active) : h('p', { class: 'notice' }, 'No active silence.'),
      h('h2', null, `Expired (${expired.length})`), expired.length ? table(expired) : h('p', { class: 'notice' }, 'None.'));
  }
  await load();
  return {};
}
