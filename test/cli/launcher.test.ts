import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentProcess, api, BLICK_BIN, deferrals, exited, runBlick, startServer, tempDir, until } from '../fixtures/blick.js';

/**
 * bin/blick is what npm installs as `blick`: a shell launcher that execs node
 * with each command's flags (the agent under V8's lite mode, for its footprint).
 */

/** The node arguments the launcher would use, recorded by a stand-in for node (BLICK_NODE). */
async function nodeArgs(args: string[], env: Record<string, string> = {}, bin = BLICK_BIN): Promise<string[]> {
  const tmp = tempDir();
  try {
    const record = join(tmp.dir, 'args');
    const fake = join(tmp.dir, 'node');
    writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${record}"\n`);
    chmodSync(fake, 0o755);
    const base = { ...process.env };
    delete base.BLICK_AGENT_NODE_FLAGS;
    await new Promise<void>((resolve, reject) => {
      execFile(bin, args, { env: { ...base, BLICK_NODE: fake, ...env } }, (err) => (err ? reject(err) : resolve()));
    });
    return readFileSync(record, 'utf8').split('\n').slice(0, -1);
  } finally { tmp.cleanup(); }
}

const entry = realpathSync(join(BLICK_BIN, '..', 'blick.js'));
const LITE = ['--lite-mode', '--no-expose-wasm', '--single-threaded-gc'];

test('the launcher gives the agent lite mode and every other command plain node, wherever the command is', async () => {
  assert.deepEqual(await nodeArgs(['agent', '--config', 'x.yaml']), [...LITE, entry, 'agent', '--config', 'x.yaml']);
  assert.deepEqual(await nodeArgs(['--config', 'x.yaml', 'agent']), [...LITE, entry, '--config', 'x.yaml', 'agent'], 'flags before the command');
  assert.deepEqual(await nodeArgs(['--config=x.yaml', 'agent']), [...LITE, entry, '--config=x.yaml', 'agent']);
  assert.deepEqual(await nodeArgs(['server', '--config', 'agent']), [entry, 'server', '--config', 'agent'], 'a flag value named agent is not the command');
  assert.deepEqual(await nodeArgs(['up']), [entry, 'up']);
  assert.deepEqual(await nodeArgs(['statsd', '--config', 'x.yaml']), [entry, 'statsd', '--config', 'x.yaml']);
  assert.deepEqual(await nodeArgs(['check-config', 'agent; rm -rf /']), [entry, 'check-config', 'agent; rm -rf /'], 'arguments pass through untouched');
  assert.deepEqual(await nodeArgs([]), [entry]);
});

test('`blick --version` and `blick version` print the version and exit 0', async () => {
  const pkg = JSON.parse(readFileSync(join(BLICK_BIN, '..', '..', 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['version']]) {
    const r = await runBlick(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `blick ${pkg.version} (node ${process.version})\n`);
  }
});

test('BLICK_AGENT_NODE_FLAGS replaces the agent\'s node flags; empty means node\'s defaults', async () => {
  assert.deepEqual(await nodeArgs(['agent'], { BLICK_AGENT_NODE_FLAGS: '--max-old-space-size=64 --stack-size=900' }), ['--max-old-space-size=64', '--stack-size=900', entry, 'agent']);
  assert.deepEqual(await nodeArgs(['agent'], { BLICK_AGENT_NODE_FLAGS: '' }), [entry, 'agent']);
});

test('through a symlink, as npm links bin/, the launcher still finds its entry', async () => {
  const tmp = tempDir();
  try {
    const link = join(tmp.dir, 'blick');
    symlinkSync(BLICK_BIN, link);
    assert.deepEqual(await nodeArgs(['agent'], {}, link), [...LITE, entry, 'agent']);
  } finally { tmp.cleanup(); }
});

test('`blick agent` is one node process in lite mode: it delivers events and stops on SIGTERM', async (t) => {
  const defer = deferrals(t);
  const tmp = tempDir();
  defer(tmp.cleanup);
  const server = await startServer({ dataDir: join(tmp.dir, 'server') });
  defer(() => server.stop());
  const agent = agentProcess(defer, tmp.dir, { host: 'lite-01', upstream: server.receiver.endpoint, lines: ['  cpu: { interval: 1s }'] }).start();

  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=lite-01&service=heartbeat')).body[0], `the agent's heartbeat (output: ${agent.output()})`, 15_000);
  // the launcher exec'd node: the pid a supervisor holds is node itself, not a shell
  assert.equal(readlinkSync(`/proc/${agent.pid}/exe`), realpathSync(process.execPath));
  const cmdline = readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8').split('\0');
  assert.deepEqual(cmdline.slice(1, 1 + LITE.length), LITE, cmdline.join(' '));
  assert.ok(!/expose_wasm|conflicting flags/.test(agent.output()), `no V8 flag warning: ${agent.output()}`);
  // the facts and the observers ran too (they are the code that runs interpreted)
  await until(async () => (await api<any[]>(server.url, '/api/v1/checks?host=lite-01')).body.some((c) => c.service.startsWith('cpu')), 'a cpu check from the agent', 15_000);

  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, agent.output());
});
