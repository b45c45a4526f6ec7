// @ts-check
/** Login: a token (stored in this browser's localStorage), checked with GET /api/v1/whoami. */
import { api, setToken } from '../api.js';
import { h, clear } from '../dom.js';

/**
 * @param {HTMLElement} main
 * @param {URLSearchParams} _params
 * @param {string} _arg
 * @param {() => void} done called after a good token is stored
 */
export function mount(main, _params, _arg, done) {
  const msg = h('p', { class: 'error', role: 'alert' });
  const input = /** @type {HTMLInputElement} */ (h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, 'aria-label': 'API token', placeholder: 'token from server.tokens' }));
  const form = h('form', { 'aria-label': 'Log in' }, h('label', null, 'API token'), input, h('button', { type: 'submit', class: 'primary' }, 'Log in'), msg);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    try {
      await api('/api/v1/whoami');
      done();
    } catch (err) {
      setToken(null);
      msg.textContent = /** @type {any} */ (err).status === 401 ? 'This token is not known to the server.' : /** @type {Error} */ (err).message;
    }
  });
  clear(main).append(h('div', { class: 'login card' }, h('h1', null, 'Blick'), h('p', { class: 'muted' }, 'This server needs a token (server.tokens in its configuration). It is kept in this browser only.'), form));
  input.focus();
  return {};
}
