// @ts-check
/** Small DOM helpers: elements are built, never parsed from strings (no injection from event text). */

/**
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | number | null | undefined | false | (Node | string)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el && typeof v !== 'string') /** @type {any} */ (el)[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

/** @param {HTMLElement} el @param {any[]} children */
function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** @param {number | null | undefined} ms */
export function ago(ms) {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return duration(s * 1000) + ' ago';
}

/** @param {number} ms */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ${m % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

/** @param {number | null | undefined} ms */
export function clock(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const same = new Date().toDateString() === d.toDateString();
  return same ? d.toLocaleTimeString() : d.toLocaleString();
}

/** @param {string | null | undefined} state */
export function stateBadge(state) {
  return h('span', { class: `state ${state ?? 'none'}` }, state ?? 'metric');
}

export const SEVERITY = /** @type {Record<string, number>} */ ({ ok: 0, unknown: 1, warning: 2, critical: 3 });
/** @param {string | null | undefined} s */
export const sev = (s) => (s ? SEVERITY[s] ?? -1 : -1);

/** @param {HTMLElement} el */
export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

/** @param {number | null | undefined} v */
export function num(v) {
  if (v === null || v === undefined) return '';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4)));
}
