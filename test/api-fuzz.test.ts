import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { createLogger } from '../src/core/log.js';
import { MAX_ERROR_MESSAGE_BYTES } from '../src/server/api/index.js';
import { BlickServer, serverConfigSchema } from '../src/server/index.js';
import { api, deferrals, metricSum, tempDir, until } from './fixtures/blick.js';

const ADMIN = 'fuzz-admin-token-0123456789';
const READER = 'fuzz-read-token-0123456789';

interface Route { method: string; url: string; public: boolean }

/**
 * A real server with tokens, whose routes are recorded as the API registers
 * them: a route added later is fuzzed without editing this file. The failed-
 * authentication throttle is raised so that random tokens do not lock the
 * admin token out; checks and the resume buffer are small so that what the
 * fuzzer stores cannot pass for a leak.
 */
async function fuzzServer(t: { after(fn: () => unknown): void }, limits: Record<string, unknown> = {}) {
  const defer = deferrals(t);
  const { dir, cleanup } = tempDir();
  defer(cleanup);
  const config = serverConfigSchema.parse({
    ingest: 'tcp://127.0.0.1:0', http: '127.0.0.1:0',
    tokens: [{ token: ADMIN, role: 'admin' }, { token: READER, role: 'read' }],
    auth_failures: { max: 1_000_000 },
    limits: { max_checks: 500, stream_history_bytes: 64 * 1024, stream_clients_per_address: 1000, ...limits },
  });
  const server = new BlickServer(config, { dataDir: dir, log: createLogger('test', { level: process.env.BLICK_LOG_LEVEL ?? 'silent' }) });
  const routes: Route[] = [];
  server.api.addHook('onRoute', (r) => { for (const m of [r.method].flat()) routes.push({ method: m, url: r.url, public: r.config?.public === true || r.url === '/healthz' || r.url === '/readyz' }); });
  await server.start();
  defer(() => server.stop());
  return { server, routes, port: Number(new URL(server.url).port) };
}

// ---- what a careless or hostile client sends ----

/** UTF-8 percent-encoding of any string (lone surrogates become U+FFFD, as a browser sends them). */
const percent = (s: string) => [...Buffer.from(s)].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
const text = fc.oneof(
  fc.string(), fc.string({ unit: 'binary' }),
  fc.constantFrom('\uD800', '\uDFFF', 'a\uD800b', '', '0', '-1', '1e400', 'NaN', '9'.repeat(30), 'web-*', '**', '[', 'ok', 'event,check', 'true'),
  fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.nat(70_000)).map(([c, n]) => c.repeat(n)),
);
/** a URL component: encoded, raw (unicode and all), or broken percent-encoding */
const component = fc.oneof(
  { weight: 3, arbitrary: text.map(percent) },
  { weight: 2, arbitrary: text.map((s) => s.replace(/[&#?/\s]/g, '')) },
  fc.constantFrom('%', '%zz', '%C3', '%ED%A0%80', '%FF', '%00', '+', '%2F', '..', '%2e%2e'),
);
const QUERY_KEYS = ['host', 'service', 'state', 'limit', 'cursor', 'since', 'status', 'rule', 'kinds', 'heartbeat', 'lastEventId', 'token', '__proto__', 'constructor'];
/** random keys, repeated keys, keys without values */
const queryString = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), component), fc.option(component)), { maxLength: 6 })
  .map((ps) => ps.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&'));
const BODY_KEYS = ['events', 'host', 'service', 'state', 'metric', 'time', 'ttl', 'attributes', 'tags', 'description', 'id', 'matchers', 'startsAt', 'endsAt', 'duration', 'reason', 'author', 'rule', 'severity', '__proto__', 'constructor'];
/** JSON of random shape, biased toward the keys the routes read */
const jsonShape = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.jsonValue(), fc.dictionary(fc.oneof(fc.constantFrom(...BODY_KEYS), fc.string()), tie('v')), fc.array(tie('v'))),
})).v;
const body = fc.oneof(
  { weight: 4, arbitrary: jsonShape.map((v) => JSON.stringify(v)) },
  fc.nat(100_000).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.nat(50_000).map((n) => `{"events":[{"host":"h","service":"s","attributes":{"a":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}}]}`),
  fc.nat(1000).map((n) => `{"constructor":{"prototype":${'['.repeat(n)}${']'.repeat(n)}}}`),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  fc.nat(300_000).map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`),
  fc.constantFrom(8 * 1024 * 1024 - 64, 8 * 1024 * 1024 + 1).map((n) => JSON.stringify({ events: [{ host: 'h', service: 's', description: 'x'.repeat(n) }] })),
  fc.string(), fc.constant(''),
);
const contentType = fc.option(fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '', ';', 'APPLICATION/JSON'), fc.string()));
const authorization = fc.oneof(
  { weight: 12, arbitrary: fc.constant(`Bearer ${ADMIN}`) },
  fc.constant(undefined), fc.constant(`Bearer ${READER}`), fc.string().map((t) => `Bearer ${t}`), fc.string(),
);
/** a header the server reads (Last-Event-ID, Origin, If-None-Match), absent three times in four */
const header = fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, fc.string(), fc.bigInt().map(String), fc.constant('9'.repeat(400)), fc.constant('http://evil.example'));
const METHODS = ['PUT', 'PATCH', 'OPTIONS', 'DELETE', 'POST', 'GET'];

interface Answer { status: number; body: string; contentType: string | undefined }

/** A 4xx answers `{"error":{"code","message"}}` with a message of bounded size; nothing answers 5xx. */
function checkAnswer(what: string, method: string, a: Answer): void {
  assert.ok(a.status < 500, `${what}: ${a.status} ${a.body.slice(0, 300)}`);
  if (a.status < 400 || method === 'HEAD') return;
  let b: any;
  try { b = JSON.parse(a.body); } catch { assert.fail(`${what}: ${a.status} with a body that is not JSON: ${a.body.slice(0, 300)}`); }
  assert.equal(typeof b?.error?.code, 'string', `${what}: ${a.body.slice(0, 300)}`);
  assert.equal(typeof b.error.message, 'string', `${what}: ${a.body.slice(0, 300)}`);
  assert.ok(Buffer.byteLength(b.error.message) <= MAX_ERROR_MESSAGE_BYTES + 16, `${what}: an error message of ${Buffer.byteLength(b.error.message)} bytes`);
}

/** Refusals before a route's own code runs: the router's, and those of the Host, Origin and token checks. */
const BEFORE_ROUTE = new Set(['AUTH_REQUIRED', 'AUTH_FORBIDDEN', 'AUTH_THROTTLED', 'HOST_REFUSED', 'ORIGIN_REFUSED', 'URI_TOO_LONG']);
function passedAuth(status: number, body: string): boolean {
  if (status < 400) return true;
  const e = JSON.parse(body).error as { code: string; message: string };
  return !BEFORE_ROUTE.has(e.code) && !e.message.startsWith('the URL path is not valid');
}

/** heapUsed after a full collection; `gc()` without a runner flag: node turns it on at run time. */
function forcedGc(): () => Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return async () => {
    gc();
    await new Promise((r) => setImmediate(r)); // finalizers, then what they released
    gc();
    return process.memoryUsage().heapUsed;
  };
}

test('every route answers arbitrary query strings, path parameters, headers and bodies with a success or a 4xx JSON error, never a 5xx; /healthz answers after each request; the heap stays bounded', async (t) => {
  const { server, routes } = await fuzzServer(t);
  assert.ok(routes.some((r) => r.method === 'POST' && r.url === '/api/v1/events') && routes.some((r) => r.url.includes(':')), `the routes were recorded: ${routes.map((r) => r.url)}`);
  // the stream's GET never ends: it is fuzzed through sockets below
  const streamed = (method: string, url: string) => method === 'GET' && url === '/api/v1/stream';
  const injected = routes.filter((r) => !streamed(r.method, r.url));
  const reached = new Set<string>();
  const request = (pool: typeof injected) => fc.record({
    // uniform: constantFrom is biased toward the first routes
    route: fc.noBias(fc.nat(pool.length - 1)).map((i) => pool[i]!),
    method: fc.option(fc.constantFrom(...METHODS), { freq: 8 }),
    params: fc.array(fc.oneof({ weight: 6, arbitrary: component }, fc.constant('x'.repeat(2500))), { minLength: 2, maxLength: 2 }),
    query: queryString, authorization, contentType, lastEventId: header, origin: header, ifNoneMatch: header, body,
  });
  const run = (numRuns: number, pool = injected) => fc.assert(fc.asyncProperty(request(pool), async (r) => {
    let i = 0;
    const path = r.route.url.replace(/:[A-Za-z]+|\*/g, () => r.params[i++]!);
    const method = r.method === null || streamed(r.method, r.route.url) ? r.route.method : r.method;
    const headers: Record<string, string> = {};
    if (r.authorization !== undefined) headers.authorization = r.authorization;
    if (r.contentType !== null) headers['content-type'] = r.contentType;
    if (r.lastEventId !== null) headers['last-event-id'] = r.lastEventId;
    if (r.origin !== null) headers.origin = r.origin;
    if (r.ifNoneMatch !== null) headers['if-none-match'] = r.ifNoneMatch;
    const url = path + (r.query ? `?${r.query}` : '');
    const res = await server.api.inject({ method: method as 'GET', url, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { payload: r.body }) });
    const what = `${method} ${url.slice(0, 200)}`;
    checkAnswer(what, method, { status: res.statusCode, body: res.body, contentType: res.headers['content-type'] as string | undefined });
    if (r.authorization === undefined && !r.route.public) assert.ok(res.statusCode >= 400, `${what} without a token answered ${res.statusCode}`);
    if (method === r.route.method && method !== 'HEAD' && passedAuth(res.statusCode, res.body)) reached.add(`${r.route.method} ${r.route.url}`);
    const health = await server.api.inject('/healthz');
    assert.equal(health.statusCode, 200, `/healthz after ${what}`);
  }), { numRuns });

  const heap = forcedGc();
  await run(100); // warm-up: code compiled, pools and caches filled
  const before = await heap();
  await run(700);
  const after = await heap();
  // the heap after a forced gc moves by ±30 % between batches of this mix (multi-MB bodies); a leak of a
  // request's body or answer (≥ 100 KB each, 700 times) goes well past twice the start
  assert.ok(after < before * 2 + 32 * 1024 * 1024, `heap grew from ${before} to ${after} bytes over 700 requests`);
  // the admin token got past auth to the route code of every route at least once (the more
  // routes, the more requests that takes: a bounded number of further batches, each drawn
  // from the routes not reached yet, so that a route's chance does not shrink as routes are added)
  const missing = () => injected.filter((r) => !reached.has(`${r.method} ${r.url}`) && r.method !== 'HEAD');
  for (let extra = 0; extra < 10 && missing().length > 0; extra++) await run(100, missing());
  const missed = missing();
  assert.deepEqual(missed, [], 'route code reached');
  assert.equal((await api(server.url, '/healthz')).status, 200, 'the real listener still answers');
});

/** Write `data` on a fresh connection; resolves with what came back once `done(text)` holds or the server closed. */
async function exchange(port: number, data: string | Buffer, done: (text: string) => boolean = () => false): Promise<{ text: string; closed: boolean }> {
  const sock = connect(port, '127.0.0.1');
  let text = '', closed = false;
  sock.on('data', (b) => { text += b.toString('latin1'); });
  sock.on('error', () => { /* a reset is a close */ });
  sock.on('close', () => { closed = true; });
  sock.write(data);
  await until(() => closed || done(text), `an answer to ${JSON.stringify(data.toString().slice(0, 80))}`, 15_000, 10);
  sock.destroy();
  return { text, closed };
}

/** Status, headers and body of one raw HTTP/1.1 answer. */
function parseAnswer(text: string): Answer & { headers: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1];
  return { status, headers: head, body: end < 0 ? '' : Buffer.from(text.slice(end + 4), 'latin1').toString(), contentType };
}

const headersDone = (t: string) => t.includes('\r\n\r\n');
const answered = (t: string) => {
  const a = parseAnswer(t);
  const len = /\r\ncontent-length: (\d+)/i.exec(a.headers)?.[1];
  return headersDone(t) && (a.contentType?.startsWith('text/event-stream') === true || (len !== undefined && Buffer.byteLength(a.body) >= Number(len)));
};

test('GET /api/v1/stream through a real socket with random query strings and headers answers 200 with the event-stream header, or a 4xx JSON error', async (t) => {
  const { server, port } = await fuzzServer(t);
  let opened = 0;
  await fc.assert(fc.asyncProperty(queryString, authorization, header, async (query, auth, lastEventId) => {
    const lines = [`GET /api/v1/stream${query ? `?${query.slice(0, 12_000)}` : ''} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
    if (auth !== undefined) lines.push(`Authorization: ${auth.replace(/[\r\n]/g, '')}`);
    if (lastEventId !== null) lines.push(`Last-Event-ID: ${lastEventId.replace(/[\r\n]/g, '')}`);
    const { text } = await exchange(port, Buffer.from(lines.join('\r\n') + '\r\n\r\n'), answered);
    const a = parseAnswer(text);
    if (a.status === 200) {
      assert.match(a.contentType ?? '', /^text\/event-stream/, a.headers);
      opened++;
    } else {
      assert.ok(a.status >= 400 && a.status < 500, `stream ?${query.slice(0, 200)}: ${text.slice(0, 300)}`);
      checkAnswer(`stream ?${query.slice(0, 200)}`, 'GET', a);
    }
  }), { numRuns: 80 });
  assert.ok(opened > 0, 'some streams opened (the admin token with acceptable parameters)');
  // closed streams are released: the server holds none of them
  await until(async () => metricSum((await api<string>(server.url, '/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).body, 'blick_stream_clients') === 0, 'every stream released');
});

test('HEAD /api/v1/stream answers the event-stream headers instead of holding the connection without an answer', async (t) => {
  const { port } = await fuzzServer(t);
  const { text } = await exchange(port, `HEAD /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`, headersDone);
  const a = parseAnswer(text);
  assert.equal(a.status, 200, text);
  assert.match(a.contentType ?? '', /^text\/event-stream/);
});

const MALFORMED: [string, string | Buffer][] = [
  ['a bad request line', 'GARBAGE\r\n\r\n'],
  ['an unknown HTTP version', 'GET / HTTP/9.9\r\n\r\n'],
  ['a NUL in the URL', 'GET /\0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
  ['raw UTF-8 with a lone surrogate in the URL', Buffer.from('GET /api/v1/checks?host=\uD800 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')],
  ['a 70 KB header', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`],
  ['a 20 KB URL', `GET /api/v1/events?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`],
  ['a bad chunk size', `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
  ['Content-Length and chunked together', 'POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
];

test('malformed HTTP through a real socket is answered with a 4xx JSON error and closed, and counted; the server keeps serving others', async (t) => {
  const { server, port } = await fuzzServer(t);
  const check = async (what: string, data: string | Buffer) => {
    const { text, closed } = await exchange(port, data);
    assert.ok(closed, `${what}: closed`);
    const a = parseAnswer(text);
    assert.ok(a.status >= 400 && a.status < 500, `${what}: ${text.slice(0, 300)}`);
    checkAnswer(what, 'GET', a);
    assert.equal((await api(server.url, '/healthz')).status, 200, `/healthz after ${what}`);
  };
  for (const [what, data] of MALFORMED) await check(what, data);
  // random bytes after a plausible start of a request line
  await fc.assert(fc.asyncProperty(fc.constantFrom('GET /', 'POST /api/v1/events', 'GET /api/v1/hosts/', ''), fc.uint8Array({ minLength: 1, maxLength: 300 }), async (start, bytes) => {
    const data = Buffer.concat([Buffer.from(start), Buffer.from(bytes), Buffer.from('\r\n\r\n\r\n')]);
    const { text } = await exchange(port, data, answered);
    if (text === '') return; // a prefix the parser still waits on, closed by us
    checkAnswer(`bytes ${JSON.stringify(data.toString('latin1').slice(0, 80))}`, 'GET', parseAnswer(text));
  }), { numRuns: 60 });
  const scraped = (await api<string>(server.url, '/metrics', { headers: { authorization: `Bearer ${ADMIN}` } })).body;
  assert.ok(metricSum(scraped, 'blick_http_requests_rejected_total') >= MALFORMED.length, 'malformed requests are counted');
});

test('a request whose body never ends is answered 408 and closed at server.limits.http_request_timeout; /healthz answers meanwhile', async (t) => {
  const { server, port } = await fuzzServer(t, { http_request_timeout: '1s' });
  const sock = connect(port, '127.0.0.1');
  let text = '', closed = false;
  sock.on('data', (b) => { text += b; });
  sock.on('error', () => { /* closed */ });
  sock.on('close', () => { closed = true; });
  sock.write(`POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{"a"\r\n`);
  t.after(() => sock.destroy());
  assert.equal((await api(server.url, '/healthz')).status, 200, 'others are served while the body hangs');
  await until(() => closed, 'the server to close the hanging request', 15_000);
  const a = parseAnswer(text);
  assert.equal(a.status, 408, text);
  assert.equal(JSON.parse(a.body).error.code, 'REQUEST_TIMEOUT');
});

test('a host whose name is at the length limit (255 characters) is read through GET /api/v1/hosts/:host', async (t) => {
  const { server } = await fuzzServer(t);
  const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  for (const host of ['h'.repeat(255), 'é'.repeat(255)]) {
    const posted = await api(server.url, '/api/v1/events', { method: 'POST', headers: auth, body: JSON.stringify([{ host, service: 'svc', state: 'ok' }]) });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const r = await api(server.url, `/api/v1/hosts/${encodeURIComponent(host)}`, { headers: auth });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.host, host);
  }
});

test('a path with broken percent-encoding answers the JSON error shape and does not quote the URL (nor a ?token= in it)', async (t) => {
  const { server } = await fuzzServer(t);
  const r = await server.api.inject({ url: `/api/v1/hosts/%zz?token=${READER}`, headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(r.statusCode, 400);
  const b = JSON.parse(r.body);
  assert.equal(b.error.code, 'BAD_REQUEST');
  assert.ok(!r.body.includes(READER), r.body);
});

test('an error that quotes the request is cut to MAX_ERROR_MESSAGE_BYTES: 300,000 unknown keys in a silence', async (t) => {
  const { server } = await fuzzServer(t);
  const payload = `{${Array.from({ length: 300_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
  const r = await server.api.inject({ method: 'POST', url: '/api/v1/silences', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, payload });
  assert.equal(r.statusCode, 400);
  assert.ok(r.body.length < 2 * MAX_ERROR_MESSAGE_BYTES, `an answer of ${r.body.length} bytes`);
  assert.match(JSON.parse(r.body).error.message, /… \(cut\)$/);
});
