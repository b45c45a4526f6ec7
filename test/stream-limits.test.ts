import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, deferrals, exited, metric, metricSum, serverForTest, spawnBlick, tempDir, until } from './fixtures/blick.js';
import { connectSse } from './dashboard/sse.js';

const KIB = 1024;

/**
 * A stream client that sends its request and then never reads: the socket is
 * paused, so once the kernel buffers are full the server's unsent bytes grow.
 */
function stalledStream(base: string, headers: Record<string, string> = {}): Promise<Socket> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port) }, () => {
      s.pause();
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      s.write(`GET /api/v1/stream?kinds=event HTTP/1.1\r\nHost: ${hostname}:${port}\r\naccept: text/event-stream\r\n${extra}\r\n`);
      resolve(s);
    });
    s.on('error', reject);
  });
}

/** Read what a stalled client was sent, until the server closes the connection. */
function drain(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('close', () => resolve(text));
    s.on('error', () => undefined);
    s.resume();
  });
}

async function metrics(base: string, headers: Record<string, string> = {}): Promise<string> { return (await fetch(base + '/metrics', { headers })).text(); }

/** A stream request expected to be refused; one that is served is closed at once, not read forever. */
async function streamRequest(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  if (res.status === 200) { ac.abort(); return { status: 200, body: null }; }
  return { status: res.status, body: await res.json() };
}

let batches = 0;

/**
 * Posts batches of large events (~30 KiB each) until `done` holds, checking
 * after each that /healthz answers and the stream's unsent total is within
 * `bound`; returns the ids posted.
 */
async function ingestUntil(base: string, headers: Record<string, string>, bound: number, done: (m: string) => boolean): Promise<string[]> {
  const ids: string[] = [];
  const description = 'x'.repeat(30 * KIB);
  for (let round = 0; ; round++) {
    assert.ok(round < 400, 'the slow clients were never dropped');
    const events = Array.from({ length: 4 }, (_, i) => ({ id: `b${batches}-${i}`, host: `web-${i}`, service: 'big', state: 'ok', description }));
    batches++;
    const r = await api(base, '/api/v1/events', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
    assert.equal(r.status, 202);
    ids.push(...(r.body.ids as string[]));
    assert.equal((await api(base, '/healthz')).status, 200);
    const m = await metrics(base);
    const buffered = metric(m, 'blick_stream_buffered_bytes');
    assert.ok(buffered <= bound, `the stream buffers ${buffered} bytes, more than ${bound}`);
    if (done(m)) return ids;
  }
}

async function slowReadersAreDropped(t: { after(fn: () => unknown): void }, limits: Record<string, number>, reason: string, bound: number) {
  const stalled = 6;
  const { server, defer } = await serverForTest(t, { limits: { stream_clients: 10, stream_clients_per_address: 10, ...limits } });
  const reader = await connectSse(server.url + '/api/v1/stream?kinds=event');
  defer(() => reader.close());
  const slow = await Promise.all(Array.from({ length: stalled }, () => stalledStream(server.url)));
  defer(() => { for (const s of slow) s.destroy(); });
  await until(async () => metric(await metrics(server.url), 'blick_stream_clients') === stalled + 1, 'every stream connected');

  const dropped = (m: string) => metricSum(m, 'blick_stream_clients_dropped_total');
  const ids = await ingestUntil(server.url, {}, bound, (m) => dropped(m) >= stalled);
  let m = await metrics(server.url);
  assert.equal(metric(m, `blick_stream_clients_dropped_total{reason="${reason}"}`), stalled, `each slow client dropped once, for ${reason}`);
  assert.equal(dropped(m), stalled, 'no other drops: the reading client stayed');
  assert.equal(metric(m, 'blick_stream_clients'), 1);

  // more ingest: the dropped clients are gone and not counted again; the reader still gets everything
  ids.push(...await ingestUntil(server.url, {}, bound, () => true));
  m = await metrics(server.url);
  assert.equal(dropped(m), stalled);
  await until(() => reader.frames.filter((f) => f.event === 'event').length >= ids.length, 'the reading client got every event', 30_000);
  assert.deepEqual(reader.items(['event']).map((i) => i.data.id), ids);

  // a dropped client finds its stream ended, short of the latest events
  const last = JSON.stringify(ids.at(-1));
  for (const s of slow) {
    const text = await drain(s);
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(!text.includes(last), 'the dropped stream ends before the last event');
  }
  return { server, helloId: reader.frames.find((f) => f.event === 'hello')!.id! };
}

test('a slow client is dropped when its unsent bytes pass its budget; a reading client gets every event and /healthz answers', async (t) => {
  const clientBytes = 256 * KIB;
  const { server, helloId } = await slowReadersAreDropped(t, { stream_client_buffer_bytes: clientBytes }, 'client_budget', 7 * clientBytes);
  // resuming from the start: more missed than one client may buffer, so it is told to reload
  const resumed = await connectSse(server.url + '/api/v1/stream?kinds=event', { 'last-event-id': helloId });
  t.after(() => resumed.close());
  const reset = await until(() => resumed.frames.find((f) => f.event === 'reset'), 'a reset for a backlog over the client budget');
  assert.match(reset.data, /stream_client_buffer_bytes/);
  assert.equal(resumed.items(['event']).length, 0);
});

test('over the total budget the slowest clients are dropped and the unsent total stays within it', async (t) => {
  // it must hold one batch (~120 KiB) for each of the 7 clients, or on-time clients are dropped too
  const totalBytes = 1536 * KIB;
  await slowReadersAreDropped(t, { stream_buffer_bytes: totalBytes, stream_client_buffer_bytes: 64 * 1024 * KIB }, 'total_budget', totalBytes);
});

test('streams over the count limits are refused with 429 and counted; a token (verified) or else the address is the key', async (t) => {
  const A = 'stream-limits-token-a-0123456789', B = 'stream-limits-token-b-0123456789';
  const { server, defer } = await serverForTest(t, {
    tokens: [{ token: A, role: 'read' }, { token: B, role: 'read' }],
    limits: { stream_clients: 3, stream_clients_per_address: 2 },
  });
  const open: { close(): void }[] = [];
  defer(() => { for (const c of open) c.close(); });
  const stream = async (token: string) => {
    const c = await connectSse(`${server.url}/api/v1/stream?token=${token}`);
    if (c.status === 200) open.push(c);
    return c;
  };
  assert.equal((await stream(A)).status, 200);
  assert.equal((await stream(A)).status, 200);
  const overToken = await streamRequest(`${server.url}/api/v1/stream?token=${A}`);
  assert.equal(overToken.status, 429);
  assert.equal(overToken.body.error.code, 'TOO_MANY_STREAMS');
  assert.match(overToken.body.error.message, /stream_clients_per_address/);
  assert.equal((await stream(B)).status, 200, 'another token from the same address has its own count');
  const overTotal = await streamRequest(`${server.url}/api/v1/stream?token=${B}`);
  assert.equal(overTotal.status, 429);
  assert.match(overTotal.body.error.message, /server\.limits\.stream_clients\b/);
  const asA = { authorization: `Bearer ${A}` };
  let m = await metrics(server.url, asA);
  assert.equal(metric(m, 'blick_stream_clients_refused_total{reason="per_address"}'), 1);
  assert.equal(metric(m, 'blick_stream_clients_refused_total{reason="clients"}'), 1);
  assert.equal(metric(m, 'blick_stream_clients'), 3);

  // a closed stream frees its place
  open.shift()!.close();
  await until(async () => metric(await metrics(server.url, asA), 'blick_stream_clients') === 2, 'the closed stream released');
  assert.equal((await stream(A)).status, 200);
  m = await metrics(server.url, asA);
  assert.equal(metricSum(m, 'blick_stream_clients_refused_total'), 2);
});

test('without configured tokens the address is the key: made-up tokens do not buy more streams', async (t) => {
  const { server, defer } = await serverForTest(t, { limits: { stream_clients_per_address: 2 } });
  const open = await Promise.all([1, 2].map((i) => stalledStream(server.url, { authorization: `Bearer made-up-token-${i}` })));
  defer(() => { for (const s of open) s.destroy(); });
  await until(async () => metric(await metrics(server.url), 'blick_stream_clients') === 2, 'two streams open');
  const third = await streamRequest(`${server.url}/api/v1/stream`, { authorization: 'Bearer made-up-token-3' });
  assert.equal(third.status, 429);
  assert.equal(metric(await metrics(server.url), 'blick_stream_clients_refused_total{reason="per_address"}'), 1);
});

test('the resume buffer is bounded in bytes: big events push the oldest out, counted, and a resume from before them is told to reload', async (t) => {
  const historyBytes = 256 * KIB;
  const { server } = await serverForTest(t, { limits: { stream_history_bytes: historyBytes } });
  const reader = await connectSse(server.url + '/api/v1/stream?kinds=event');
  t.after(() => reader.close());
  const first = batches;
  const ids = await ingestUntil(server.url, {}, Infinity, () => batches - first >= 10);
  await until(() => reader.frames.filter((f) => f.event === 'event').length === ids.length, 'the reader got every event');
  const m = await metrics(server.url);
  assert.ok(metric(m, 'blick_stream_history_bytes') <= historyBytes, `the resume buffer holds ${metric(m, 'blick_stream_history_bytes')} bytes`);
  assert.ok(metric(m, 'blick_stream_history_trimmed_total') > 0);

  const fromStart = await connectSse(server.url + '/api/v1/stream?kinds=event', { 'last-event-id': reader.frames.find((f) => f.event === 'hello')!.id! });
  t.after(() => fromStart.close());
  const reset = await until(() => fromStart.frames.find((f) => f.event === 'reset'), 'a reset: the first events left the buffer');
  assert.match(reset.data, /no longer buffered/);
  const events = reader.frames.filter((f) => f.event === 'event');
  const recent = await connectSse(server.url + '/api/v1/stream?kinds=event', { 'last-event-id': events.at(-3)!.id! });
  t.after(() => recent.close());
  await until(() => recent.items(['event']).length === 2, 'the two events after a recent id');
  assert.deepEqual(recent.items(['event']).map((i) => i.data.id), ids.slice(-2));
});

test('blick server logs a refused stream without the ?token= it came with', async (t) => {
  const TOKEN = 'stream-limits-secret-token-0123456789';
  const defer = deferrals(t);
  const tmp = tempDir();
  defer(tmp.cleanup);
  const file = join(tmp.dir, 'blick.yaml');
  writeFileSync(file, [
    `data_dir: ${JSON.stringify(tmp.dir)}`,
    'server:',
    '  http: 127.0.0.1:0',
    '  ingest: tcp://127.0.0.1:0',
    `  tokens: [{ token: ${TOKEN}, role: read }]`,
    '  limits: { stream_clients_per_address: 1 }',
  ].join('\n') + '\n');
  const server = spawnBlick(['server', '--config', file], { env: { BLICK_LOG_LEVEL: 'info', BLICK_LOG_FORMAT: 'json' } });
  defer(async () => { if (server.exitCode === null && server.signalCode === null) { server.kill('SIGKILL'); await exited(server); } });
  const started = await until(() => /"http":"(http:\/\/[^"]+)"/.exec(server.output()), 'the server started');
  const base = started[1]!;
  const first = await connectSse(`${base}/api/v1/stream?token=${TOKEN}`);
  defer(() => first.close());
  assert.equal(first.status, 200);
  const second = await streamRequest(`${base}/api/v1/stream?token=${TOKEN}`);
  assert.equal(second.status, 429);
  assert.equal(second.body.error.code, 'TOO_MANY_STREAMS');
  await until(() => server.output().includes('stream_clients_per_address'), 'the refusal logged');
  assert.ok(!server.output().includes(TOKEN), 'the token is not in the log');
  assert.match(server.output(), /live stream refused/);
  assert.equal((await api(base, '/healthz')).status, 200);
});
