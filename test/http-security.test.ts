import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { api, metric, runBlick, serverForTest, tempDir, until } from './fixtures/blick.js';
import { launchChromium, skipWithoutChromium } from './dashboard/browser.js';

const ADMIN = 'security-admin-token-0123456789';
const READER = 'security-read-token-0123456789';
const TOKENS = [{ token: ADMIN, role: 'admin' }, { token: READER, role: 'read' }];

interface Raw { status: number; headers: Record<string, string | string[] | undefined>; body: any }

/**
 * One HTTP request with whatever Host and Origin a browser on another site
 * would send (fetch cannot set Host); `localAddress` picks the client address.
 */
function raw(base: string, path: string, opts: { method?: string; host?: string; headers?: Record<string, string>; body?: unknown; localAddress?: string; ca?: Buffer } = {}): Promise<Raw> {
  const u = new URL(base);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(opts.host !== undefined ? { host: opts.host } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers };
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', headers, agent: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}), ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      const streaming = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (streaming) { res.destroy(); resolve({ status: res.statusCode!, headers: res.headers, body: '' }); return; }
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const portOf = (url: string) => new URL(url).port;
const metricsText = async (url: string, token?: string) => (await api(url, '/metrics', token ? { headers: { authorization: `Bearer ${token}` } } : {})).body as string;

test('without tokens, a request naming another Host (a rebound DNS name) is refused with 421; loopback names with the port are served', async (t) => {
  const { server } = await serverForTest(t);
  const port = portOf(server.url);
  await api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ host: 'web-1', service: 'http', state: 'ok' }] }) });
  for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1:1', `localhost.evil.example:${port}`]) {
    const r = await raw(server.url, '/api/v1/checks', { host });
    assert.equal(r.status, 421, host);
    assert.equal(r.body.error.code, 'HOST_REFUSED', host);
    assert.match(r.body.error.message, /server\.http_hosts/);
  }
  const del = await raw(server.url, '/api/v1/hosts/web-1', { method: 'DELETE', host: `evil.example:${port}` });
  assert.equal(del.status, 421, 'a rebound page cannot forget a host');
  assert.equal((await raw(server.url, '/', { host: `evil.example:${port}` })).status, 421, 'nor load the dashboard');
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`]) {
    const r = await raw(server.url, '/api/v1/checks', { host });
    assert.equal(r.status, 200, host);
    assert.deepEqual(r.body.map((c: any) => c.host), ['web-1'], 'the host is still there');
  }
  assert.equal((await raw(server.url, '/healthz', { host: 'evil.example' })).status, 200, 'liveness probes are not refused');
  const m = await metricsText(server.url);
  assert.equal(metric(m, 'blick_http_host_refused_total{header="host"}'), 6);
});

test('server.http_hosts admits the names a proxy forwards (a bare name on any port), and tokens do not switch the Host check off then', async (t) => {
  const { server } = await serverForTest(t, { tokens: TOKENS, http_hosts: ['blick.example.org', 'ops.example.org:8443'] });
  const auth = { authorization: `Bearer ${READER}` };
  assert.equal((await raw(server.url, '/api/v1/checks', { host: 'blick.example.org', headers: auth })).status, 200);
  assert.equal((await raw(server.url, '/api/v1/checks', { host: 'blick.example.org:443', headers: auth })).status, 200);
  assert.equal((await raw(server.url, '/api/v1/checks', { host: 'ops.example.org:8443', headers: auth })).status, 200);
  assert.equal((await raw(server.url, '/api/v1/checks', { host: 'ops.example.org:9443', headers: auth })).status, 421);
  assert.equal((await raw(server.url, '/api/v1/checks', { host: 'evil.example', headers: auth })).status, 421);
});

test('a cross-origin POST, DELETE or stream is refused with 403; same-origin and Origin-less requests are served', async (t) => {
  const { server } = await serverForTest(t);
  const port = portOf(server.url);
  const event = { events: [{ host: 'web-1', service: 'http', state: 'critical' }] };
  for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null', `file://127.0.0.1:${port}`]) {
    const r = await raw(server.url, '/api/v1/events', { method: 'POST', headers: { origin }, body: event });
    assert.equal(r.status, 403, origin);
    assert.equal(r.body.error.code, 'ORIGIN_REFUSED', origin);
  }
  assert.deepEqual((await api(server.url, '/api/v1/checks')).body, [], 'nothing was stored');
  assert.equal((await raw(server.url, '/api/v1/events', { method: 'POST', headers: { origin: `http://127.0.0.1:${port}` }, body: event })).status, 202, 'same origin');
  assert.equal((await raw(server.url, '/api/v1/events', { method: 'POST', headers: { origin: `http://localhost:${port}` }, body: event })).status, 202, 'the same server by its other loopback name');
  assert.equal((await raw(server.url, '/api/v1/hosts/web-1', { method: 'DELETE', headers: { origin: 'http://evil.example' } })).status, 403);
  assert.equal((await raw(server.url, '/api/v1/stream', { headers: { origin: 'http://evil.example', accept: 'text/event-stream' } })).status, 403, 'a cross-origin EventSource');
  assert.equal((await raw(server.url, '/api/v1/stream', { headers: { origin: `http://127.0.0.1:${port}`, accept: 'text/event-stream' } })).status, 200);
  assert.equal((await raw(server.url, '/api/v1/checks', { headers: { origin: 'http://evil.example' } })).status, 200, 'reads: the browser keeps the answer from the other site');
  assert.equal(metric(await metricsText(server.url), 'blick_http_host_refused_total{header="origin"}'), 6);

  // with tokens a page elsewhere holding a token still cannot post
  const withTokens = await serverForTest(t, { tokens: TOKENS });
  const r = await raw(withTokens.server.url, '/api/v1/events', { method: 'POST', headers: { origin: 'https://evil.example', authorization: `Bearer ${ADMIN}` }, body: event });
  assert.equal(r.status, 403);
});

test('the CLI (no Origin) keeps working against the no-token loopback server', async (t) => {
  const { server, dir } = await serverForTest(t);
  const env = { BLICK_URL: server.url, XDG_CONFIG_HOME: dir, BLICK_TOKEN: '', BLICK_CLIENT_CONFIG: '' };
  await api(server.url, '/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ host: 'web-1', service: 'http', state: 'ok' }] }) });
  const checks = await runBlick(['checks'], { env });
  assert.equal(checks.code, 0, checks.stderr);
  assert.match(checks.stdout, /web-1\s+http\s+ok/);
  const add = await runBlick(['silence', 'add', '--host', 'web-1', '--for', '1h', '--reason', 'maintenance'], { env });
  assert.equal(add.code, 0, add.stderr);
  assert.equal((await api(server.url, '/api/v1/silences')).body.length, 1);
});

test('the dashboard (same origin) reads, streams and posts on the no-token loopback server', { skip: skipWithoutChromium(), timeout: 60_000 }, async (t) => {
  const { server, defer } = await serverForTest(t);
  const browser = await launchChromium();
  defer(browser.close);
  const page = await browser.context.newPage();
  await page.goto(server.url + '/');
  const got = await page.evaluate(async () => {
    const es = new EventSource('/api/v1/stream?kinds=event');
    const streamed = new Promise<string>((res) => es.addEventListener('event', (e) => { es.close(); res(JSON.parse((e as MessageEvent).data).host); }));
    await new Promise((res) => { es.onopen = res; });
    const post = await fetch('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ host: 'from-page', service: 's', state: 'ok' }] }) });
    const silence = await fetch('/api/v1/silences', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matchers: { host: 'x' }, duration: '1h', reason: 'r' }) });
    return { post: post.status, silence: silence.status, streamed: await streamed };
  });
  assert.deepEqual(got, { post: 202, silence: 201, streamed: 'from-page' });
});

test('?token= is taken on the live stream only; every other endpoint answers 401 to it', async (t) => {
  const { server } = await serverForTest(t, { tokens: TOKENS });
  const q = `token=${ADMIN}`;
  for (const [method, path] of [['GET', `/api/v1/checks?${q}`], ['GET', `/api/v1/events?${q}`], ['POST', `/api/v1/events?${q}`], ['GET', `/api/v1/hosts?${q}`], ['GET', `/api/v1/whoami?${q}`], ['DELETE', `/api/v1/hosts/web-1?${q}`], ['GET', `/metrics?${q}`]] as const) {
    const r = await raw(server.url, path, { method, ...(method === 'POST' ? { body: { events: [{ host: 'h', service: 's' }] } } : {}) });
    assert.equal(r.status, 401, `${method} ${path}`);
  }
  assert.equal((await raw(server.url, `/api/v1/stream?token=${READER}`)).status, 200);
  assert.equal((await raw(server.url, `/api/v1/stream?token=${READER}&token=${READER}`)).status, 401, 'a repeated token is not a token');
});

test('a token in ?token= never reaches the log, while the rejection is logged', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  const log = pino({ level: 'warn' }, sink);
  const { server } = await serverForTest(t, { tokens: TOKENS }, { log });
  // a valid token on a stream request refused for another reason, and a token where it is not taken
  assert.equal((await raw(server.url, `/api/v1/stream?state=bogus&token=${READER}`)).status, 400);
  assert.equal((await raw(server.url, `/api/v1/checks?tok%65n=${ADMIN}&limit=1`)).status, 401);
  await until(() => lines.filter((l) => l.includes('API request rejected')).length >= 2, 'both rejections logged');
  const text = lines.join('\n');
  assert.ok(!text.includes(READER) && !text.includes(ADMIN), text);
  assert.match(text, /\/api\/v1\/stream\?state=bogus&token=\[redacted\]/);
  assert.match(text, /\/api\/v1\/checks\?tok%65n=\[redacted\]&limit=1/);
});

test('server.tokens may give the SHA-256 of a token instead of the token; check-config validates the form', async (t) => {
  const secret = 'hashed-write-token-0123456789';
  const sha256 = createHash('sha256').update(secret).digest('hex');
  const { server, dir } = await serverForTest(t, { tokens: [{ sha256, role: 'write' }] });
  const post = (token: string) => api(server.url, '/api/v1/events', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ host: 'h', service: 's', state: 'ok' }] }) });
  assert.equal((await post(secret)).status, 202);
  assert.equal((await post(sha256)).status, 401, 'the hash itself is not the token');

  const check = async (entry: string) => {
    const file = join(dir, 'tokens.yaml');
    writeFileSync(file, `server:\n  tokens:\n    - ${entry}\n`);
    return runBlick(['check-config', file]);
  };
  const ok = await check(`{ sha256: ${sha256.toUpperCase()}, role: admin }`);
  assert.equal(ok.code, 0, ok.stderr);
  const short = await check(`{ sha256: ${sha256.slice(1)}, role: admin }`);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /tokens\.yaml:3: key server\.tokens\.0\.sha256: must be the 64 hex digits/);
  const both = await check(`{ sha256: ${sha256}, token: ${secret}, role: admin }`);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /server\.tokens\.0: give either token: or sha256:/);
});

test('after max unknown tokens from one address it gets 429 with Retry-After until the window passes; other addresses are served', async (t) => {
  let now = 1_800_000_000_000;
  const { server } = await serverForTest(t, { tokens: TOKENS, auth_failures: { max: 3, window: '1m', max_addresses: 2 } }, { now: () => now });
  const get = (token: string | undefined, localAddress = '127.0.0.1') => raw(server.url, '/api/v1/checks', { localAddress, headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal((await get(undefined)).status, 401, 'no token at all');
  for (let i = 0; i < 3; i++) assert.equal((await get(`guess-${i}-0123456789abcdef`)).status, 401);
  const refused = await get(READER);
  assert.equal(refused.status, 429, 'even the right token waits');
  assert.equal(refused.body.error.code, 'AUTH_THROTTLED');
  assert.equal(refused.headers['retry-after'], '60');
  assert.equal((await get(READER, '127.0.0.2')).status, 200, 'another address is not throttled');
  now += 45_000;
  assert.equal((await get(READER)).headers['retry-after'], '15');
  now += 15_000;
  assert.equal((await get(READER)).status, 200, 'the window has passed');
  const m = await metricsText(server.url, READER);
  assert.equal(metric(m, 'blick_http_auth_failures_total'), 3);
  assert.equal(metric(m, 'blick_http_auth_throttled_total'), 2);

  // the table of addresses is bounded: the oldest address is forgotten first
  for (let i = 0; i < 3; i++) await get(`guess-${i}-0123456789abcdef`, '127.0.0.3');
  assert.equal((await get(READER, '127.0.0.3')).status, 429);
  await get('guess-a-0123456789abcdef', '127.0.0.4');
  await get('guess-b-0123456789abcdef', '127.0.0.5');
  assert.equal((await get(READER, '127.0.0.3')).status, 200, 'forgotten to keep within max_addresses');
  assert.equal(metric(await metricsText(server.url, READER), 'blick_http_auth_failures_evicted_total'), 1);
});

test('server.tls serves HTTPS: the URL is https://, a client trusting the CA is served, the CLI takes --ca and BLICK_CA', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const { server } = await serverForTest(t, { tokens: TOKENS, tls: { cert_file: cert, key_file: key } });
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = readFileSync(cert);
  const r = await raw(server.url, '/api/v1/checks', { ca, headers: { authorization: `Bearer ${READER}` } });
  assert.equal(r.status, 200);
  await assert.rejects(raw(server.url, '/api/v1/checks'), /self-signed|self signed/, 'an untrusted certificate is refused');
  await assert.rejects(fetch(server.url.replace('https:', 'http:') + '/healthz'), 'no plain HTTP on the TLS port');
  const env = { BLICK_URL: server.url, BLICK_TOKEN: READER, XDG_CONFIG_HOME: dir, BLICK_CLIENT_CONFIG: '' };
  const viaEnv = await runBlick(['checks', '--json'], { env: { ...env, BLICK_CA: cert } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.deepEqual(JSON.parse(viaEnv.stdout), []);
  const viaFlag = await runBlick(['hosts', '--ca', cert], { env });
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const untrusted = await runBlick(['checks'], { env });
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /cannot reach the Blick server at https:\/\/127\.0\.0\.1:\d+ \(.*self[- ]signed/);
});

test('a TLS key that does not parse stops start-up with a configuration error naming the files', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'bad.pem'), 'not a certificate\n');
  writeFileSync(join(dir, 'blick.yaml'), `data_dir: ${JSON.stringify(dir)}\nserver:\n  http: 127.0.0.1:0\n  ingest: tcp://127.0.0.1:0\n  tls: { cert_file: ${JSON.stringify(join(dir, 'bad.pem'))}, key_file: ${JSON.stringify(join(dir, 'bad.pem'))} }\n`);
  const r = await runBlick(['server', '--config', join(dir, 'blick.yaml')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /server\.tls: .*bad\.pem and .*bad\.pem are not a PEM certificate and its key/);
});
