import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { redactUrl } from './index.js';

/** how a client may spell the key: the query parser decodes it */
const TOKEN_KEYS = ['token', 'TOKEN', 'tok%65n'];
const notToken = fc.string({ maxLength: 12 }).filter((k) => k.trim().toLowerCase() !== 'token');

test('redactUrl replaces every token value and leaves the path and the other parameters as they were', () => {
  fc.assert(fc.property(
    fc.string({ maxLength: 30 }).map((p) => '/' + encodeURIComponent(p)),
    fc.array(fc.oneof(fc.tuple(notToken, fc.string({ maxLength: 20 })), fc.tuple(fc.constantFrom(...TOKEN_KEYS), fc.string({ minLength: 1, maxLength: 40 }))), { maxLength: 6 }),
    (path, params) => {
      const query = params.map(([k, v]) => `${TOKEN_KEYS.includes(k) ? k : encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      const url = query ? `${path}?${query}` : path;
      const out = redactUrl(url);
      assert.equal(out.split('?')[0], path);
      const got = out.includes('?') ? out.slice(out.indexOf('?') + 1).split('&') : [];
      assert.equal(got.length, params.length);
      params.forEach(([k, v], i) => {
        const isToken = TOKEN_KEYS.includes(k);
        assert.equal(got[i], isToken ? `${k}=[redacted]` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
      });
    },
  ));
  // never throws, whatever a client sends
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => { redactUrl(s); }));
});
