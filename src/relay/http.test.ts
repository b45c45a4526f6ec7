import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import fc from 'fast-check';
import { createLogger } from '../core/log.js';
import { Registry } from '../core/metrics.js';
import { RelayHttp } from './http.js';

function raw(url: string, method: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

test('the relay HTTP listener serves only its three routes, asks /metrics for the token, and answers anything else with 404/405, never 500', async (t) => {
  let ready = false;
  const metrics = new Registry();
  const http = new RelayHttp({ listen: '127.0.0.1:0', metrics, ready: () => ready, token: 'sixteen-chars-token!', log: createLogger('test', { level: 'silent' }) });
  await http.start();
  t.after(() => http.stop());
  assert.equal(await raw(http.url, 'GET', '/readyz'), 503, 'not ready until the relay says so');
  ready = true;
  assert.equal(await raw(http.url, 'GET', '/readyz'), 200);
  assert.equal(await raw(http.url, 'GET', '/healthz'), 200);
  assert.equal(await raw(http.url, 'GET', '/metrics'), 401);
  assert.equal(await raw(http.url, 'GET', '/metrics', { authorization: 'Bearer sixteen-chars-token!' }), 200);
  assert.equal(await raw(http.url, 'DELETE', '/metrics'), 405);
  await fc.assert(fc.asyncProperty(
    fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'PATCH'),
    fc.stringMatching(/^\/[A-Za-z0-9._~%/?=&-]{0,60}$/),
    async (method, path) => {
      const code = await raw(http.url, method, path);
      assert.ok([200, 401, 404, 405].includes(code), `${method} ${path} → ${code}`);
    },
  ), { numRuns: 100 });
  assert.equal(metrics.render().includes('blick_relay_http_requests_total{code="500"}'), false);
});
