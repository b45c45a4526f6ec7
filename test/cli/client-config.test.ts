import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, runBlick, serverForTest } from '../fixtures/blick.js';

const ADMIN = 'cfg-admin-token-0123456789';
const READER = 'cfg-read-token-0123456789';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** the client's environment: nothing from the test runner's, an empty config home */
const clean = (dir: string, extra: Record<string, string> = {}) => ({ XDG_CONFIG_HOME: dir, BLICK_URL: '', BLICK_TOKEN: '', BLICK_CA: '', BLICK_CLIENT_CONFIG: '', BLICK_CONFIG: '', ...extra });

/** A real server holding one plaintext admin token and a reader known by its SHA-256, with one check. */
async function setup(t: { after(fn: () => unknown): void }, extra: Record<string, unknown> = {}) {
  const tokens = [{ token: ADMIN, role: 'admin' }, { sha256: sha256(READER), role: 'read' }];
  const { server, dir } = await serverForTest(t, { tokens, ...extra });
  const r = await api(server.url, '/api/v1/events', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ events: [{ host: 'cfg-web-1', service: 'http', state: 'ok' }] }) });
  assert.equal(r.status, 202);
  const port = new URL(server.url).port;
  /** the daemon's file as its operator wrote it, `more` lines appended under server: */
  const daemonFile = (name: string, server: string[] = [], tail: string[] = []) => {
    const file = join(dir, name);
    writeFileSync(file, [`data_dir: ${JSON.stringify(dir)}`, 'server:', `  http: 0.0.0.0:${port}`, '  ingest: tcp://127.0.0.1:0', '  tokens:', `    - { token: ${ADMIN}, role: admin }`, `    - { sha256: ${sha256(READER)}, role: read }`, ...server, ...tail, ''].join('\n'));
    return file;
  };
  return { server, dir, daemonFile };
}

test('blick checks --config blick.yaml reaches the server of server.http with the one plaintext token of server.tokens', async (t) => {
  const { dir, daemonFile } = await setup(t);
  const file = daemonFile('blick.yaml');
  // a ~/.config/blick/client.yaml that would fail: --config is read instead
  mkdirSync(join(dir, 'blick'), { recursive: true });
  writeFileSync(join(dir, 'blick', 'client.yaml'), 'url: http://127.0.0.1:1\n');
  const checks = await runBlick(['checks', '--config', file], { env: clean(dir) });
  assert.equal(checks.code, 0, checks.stderr);
  assert.match(checks.stdout, /cfg-web-1\s+http\s+ok/);
  // flag and environment still win over the file
  const envToken = await runBlick(['checks', '--config', file], { env: clean(dir, { BLICK_TOKEN: 'wrong-token-0123456789' }) });
  assert.match(envToken.stderr, /the token is not known/);
  const flagUrl = await runBlick(['checks', '--config', file, '--url', 'http://127.0.0.1:1'], { env: clean(dir) });
  assert.match(flagUrl.stderr, /cannot reach the Blick server at http:\/\/127\.0\.0\.1:1/);
  // BLICK_CLIENT_CONFIG names the same file as --config does
  const viaEnv = await runBlick(['hosts'], { env: clean(dir, { BLICK_CLIENT_CONFIG: file }) });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, /cfg-web-1/);
});

test('with several plaintext tokens the client refuses to guess; client.token_file says which to send', async (t) => {
  const { dir, daemonFile } = await setup(t);
  const two = daemonFile('two.yaml', [`    - { token: ${READER}, role: read }`]);
  const guess = await runBlick(['checks', '--config', two], { env: clean(dir) });
  assert.equal(guess.code, 2);
  assert.match(guess.stderr, /two\.yaml: server\.tokens holds 2 plaintext tokens.*client\.token_file/);
  // a token given by flag needs no choice
  assert.equal((await runBlick(['checks', '--config', two, '--token', READER], { env: clean(dir) })).code, 0);
  const tokenFile = join(dir, 'reader.token');
  writeFileSync(tokenFile, `${READER}\n`);
  const chosen = await runBlick(['checks', '--config', daemonFile('chosen.yaml', [`    - { token: ${READER}, role: read }`], ['client:', `  token_file: ${JSON.stringify(tokenFile)}`])], { env: clean(dir) });
  assert.equal(chosen.code, 0, chosen.stderr);
  assert.match(chosen.stdout, /cfg-web-1/);
  // the reader's token it was: a write is forbidden
  const silence = await runBlick(['silence', 'add', '--host', 'cfg-web-1', '--for', '1h', '--reason', 'test', '--config', join(dir, 'chosen.yaml')], { env: clean(dir) });
  assert.match(silence.stderr, /role|forbidden|admin|write/i);
  assert.equal(silence.code, 1);
});

test('server.tls makes the URL https://; client.ca trusts its certificate', async (t) => {
  const { dir } = await setup(t);
  const cert = join(dir, 'cert.pem'), key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const tokens = [{ token: ADMIN, role: 'admin' }];
  const { server } = await serverForTest(t, { tokens, tls: { cert_file: cert, key_file: key } });
  const file = join(dir, 'tls.yaml');
  writeFileSync(file, ['server:', `  http: 127.0.0.1:${new URL(server.url).port}`, `  tokens: [{ token: ${ADMIN}, role: admin }]`, `  tls: { cert_file: ${JSON.stringify(cert)}, key_file: ${JSON.stringify(key)} }`, 'client:', `  ca: ${JSON.stringify(cert)}`, ''].join('\n'));
  const r = await runBlick(['checks', '--json', '--config', file], { env: clean(dir) });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), []);
});

test('check-config accepts a client-only file and a client: section, and refuses a bad one with file:line', async (t) => {
  const { dir, daemonFile } = await setup(t);
  const clientOnly = join(dir, 'client.yaml');
  writeFileSync(clientOnly, 'url: https://blick.example.org\ntoken_file: /etc/blick/token\nca: /etc/blick/ca.pem\n');
  const ok = await runBlick(['check-config', clientOnly], { env: clean(dir) });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /client\.yaml: ok/);
  const section = await runBlick(['check-config', daemonFile('with-client.yaml', [], ['client:', '  url: https://blick.example.org'])], { env: clean(dir) });
  assert.equal(section.code, 0, section.stderr);
  writeFileSync(clientOnly, 'url: https://blick.example.org\ntoken: abc\ntoken_file: /etc/blick/token\n');
  const both = await runBlick(['check-config', clientOnly], { env: clean(dir) });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /client\.yaml:1: .*give token: or token_file:, not both/);
  const badUrl = await runBlick(['check-config', daemonFile('bad-url.yaml', [], ['client:', '  url: ftp://x'])], { env: clean(dir) });
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /bad-url\.yaml:\d+: key client\.url: must be an http:\/\/ or https:\/\/ URL/);
  // the client reads it as check-config does
  const client = await runBlick(['hosts', '--config', clientOnly], { env: clean(dir) });
  assert.equal(client.code, 2);
  assert.match(client.stderr, /give token: or token_file:, not both/);
});
