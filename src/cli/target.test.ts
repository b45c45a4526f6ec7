import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { isBlickError } from '../core/errors.js';
import { clientTarget, dialable } from './target.js';

test('a listen address becomes an address to dial: wildcards on loopback, the port kept', () => {
  const host = fc.oneof(fc.constant(''), fc.constant('0.0.0.0'), fc.constant('[::]'), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`), fc.domain());
  fc.assert(fc.property(host, fc.integer({ min: 0, max: 65535 }), (h, port) => {
    const out = dialable(`${h}:${port}`);
    const url = new URL(`http://${out}`);
    assert.equal(url.port === '' ? 80 : Number(url.port), port);
    if (h === '' || h === '0.0.0.0') assert.equal(out, `127.0.0.1:${port}`);
    else if (h === '[::]') assert.equal(out, `[::1]:${port}`);
    else assert.equal(out, `${h}:${port}`);
  }));
});

test('whatever a --config file holds, the client answers a target or a configuration error, nothing else', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blick-target-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'any.yaml');
  const env = { XDG_CONFIG_HOME: dir };
  const keys = fc.constantFrom('url', 'token', 'token_file', 'ca', 'server', 'client', 'agent', 'data_dir', 'http', 'tokens', 'tls');
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(keys, tie('v'), { maxKeys: 4 })),
  })).v;
  const doc = fc.oneof(fc.dictionary(keys, value, { maxKeys: 5 }).map((d) => stringify(d)), fc.string());
  fc.assert(fc.property(doc, (text) => {
    writeFileSync(file, text);
    try {
      const r = clientTarget({ config: file }, env);
      assert.match(r.base, /^https?:\/\//);
    } catch (err) {
      assert.ok(isBlickError(err, 'CONFIG_INVALID') || isBlickError(err, 'CONFIG_UNREADABLE'), `not a configuration error: ${(err as Error).stack}`);
    }
  }), { numRuns: 300 });
});
