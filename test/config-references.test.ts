import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { loadBlickConfig } from '../src/cli/config.js';
import { RULE_NAMES } from '../src/server/rules/expr.js';
import { deferrals, runBlick, tempDir } from './fixtures/blick.js';

/**
 * issue #12 defect 3: check-config passed files the server then refused (a
 * route naming a missing notifier) or ran with a rule that could never fire
 * (`stat == "critical"`). Every reference and every name is checked at load.
 */
const BROKEN = `server:
  rules:
    - name: unit-down
      match: { service: "systemd *" }
      when: stat == "critical"
    - name: host-gone
      match: { service: heartbeat }
      expired: true
    - name: flip
      when: previous_state == "ok"
  routes:
    - match: { rule: host-gon }
      notify: [ops, pager]
    - match: { severity: crit }
      notify: [ops]
  inhibit:
    - source_match: { rule: [host-gone, hots-gone] }
      target_match: { state: critcal }
  notifiers:
    ops: { type: webhook, url: "http://127.0.0.1:9000/hook" }
`;

/** Each problem of BROKEN: its line and what the message says. */
const EXPECTED: [number, string][] = [
  [5, 'key server\\.rules\\.0\\.when: unknown name "stat" \\(did you mean "state"\\?'],
  [10, 'key server\\.rules\\.2\\.when: rule "flip" reads previous_state, which only state_change rules have'],
  [12, 'key server\\.routes\\.0\\.match\\.rule: "host-gon" matches no rule in server\\.rules \\(unit-down, host-gone, flip, classified, never-seen\\)'],
  [13, 'key server\\.routes\\.0\\.notify\\.1: names notifier "pager", which is not in server\\.notifiers \\(ops\\)'],
  [14, 'key server\\.routes\\.1\\.match\\.severity: "crit" matches no severity \\(critical, warning, info\\)'],
  [17, 'key server\\.inhibit\\.0\\.source_match\\.rule\\.1: "hots-gone" matches no rule'],
  [18, 'key server\\.inhibit\\.0\\.target_match\\.state: "critcal" matches no state \\(ok, warning, critical, unknown\\)'],
];

/** Write `text` as blick.yaml in a directory removed after the test; returns the file and the directory. */
function configFile(t: { after(fn: () => unknown): void }, text: (dir: string) => string): { file: string; dir: string } {
  const { dir, cleanup } = tempDir();
  deferrals(t)(cleanup);
  const file = join(dir, 'blick.yaml');
  writeFileSync(file, text(dir));
  return { file, dir };
}

function assertAllReported(stderr: string, file: string): void {
  for (const [line, msg] of EXPECTED) assert.match(stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: ${msg}`), stderr);
}

test('check-config refuses a route to a missing notifier, an unknown name in a rule, and globs that match no rule, severity or state, each with FILE:LINE', async (t) => {
  const { file } = configFile(t, () => BROKEN);
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assertAllReported(r.stderr, file);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('`blick server --config` refuses the same file with exit 2 and the same FILE:LINE messages', async (t) => {
  const { file } = configFile(t, (dir) => BROKEN.replace('server:\n', `data_dir: ${join(dir, 'data')}\nserver:\n  ingest: tcp://127.0.0.1:0\n  http: 127.0.0.1:0\n`));
  const r = await runBlick(['server', '--config', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const shifted = r.stderr.replace(/:(\d+): key/g, (_m, n: string) => `:${Number(n) - 3}: key`); // the three lines added above
  assertAllReported(shifted, file);
});

test('check-config accepts every name a rule can read, fields of attributes, and references that resolve', async (t) => {
  const { file } = configFile(t, () => `server:
  rules:
    - name: changed
      state_change: true
      window: 1m
      when: host != "" and service != "" and state != null and metric >= 0 and description != "x" and "db" in tags and attributes.mount == "/" and attributes["a b"] == null and source == "agent" and previous_state != "ok" or rate > 1 or derivative < 0
  routes:
    - match: { rule: "chan*", severity: [critical, "warn*"], state: "*" }
      notify: [ops]
  inhibit:
    - { source_match: { rule: changed }, target_match: { severity: warning } }
  notifiers:
    ops: { type: webhook, url: "http://127.0.0.1:9000/hook" }
`);
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 0, r.stderr);
});

test('check-config refuses an aggregate with an unknown function or a name outside a function at FILE:LINE, and accepts the documented ones', async (t) => {
  const { file } = configFile(t, () => `server:
  rules:
    - name: web-down
      match: { host: "web-*", service: http }
      aggregate: 'cnt(state == "critical") >= 3'
    - name: web-hot
      match: { host: "web-*", service: cpu }
      aggregate: avg(metric) > 80 and host == "web-1"
`);
  const r = await runBlick(['check-config', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const at = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(r.stderr, new RegExp(`${at}:5: key server\\.rules\\.0\\.aggregate: unknown function "cnt" \\(did you mean "count"\\?`), r.stderr);
  assert.match(r.stderr, new RegExp(`${at}:8: key server\\.rules\\.1\\.aggregate: "host" outside an aggregate function`), r.stderr);

  const good = configFile(t, () => `server:
  rules:
    - { name: web-down, match: { host: "web-*", service: http }, aggregate: 'count(state == "critical") >= 3', for: 1m }
    - { name: web-hot, match: { host: "web-*", service: cpu }, aggregate: avg(metric) > 80, window: 5m }
    - { name: web-errors, match: { host: "web-*" }, aggregate: 'percent(state != "ok") > 50 or sum(metric) > 1 or min(metric) < 0 or max(metric) > 9', severity: warning }
`);
  const ok = await runBlick(['check-config', good.file]);
  assert.equal(ok.code, 0, ok.stderr);
});

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false', 'null']);
const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/).filter((s) => !KEYWORDS.has(s));
const known = fc.oneof(fc.constantFrom(...RULE_NAMES), identifier.map((k) => `attributes.${k}`), identifier.map((k) => `attributes["${k}"]`));

test('property: at load, an expression with any unknown identifier is refused at its line, and one of known names only is accepted', () => {
  const operand = fc.oneof(known.map((n) => ({ n, ok: true })), identifier.map((n) => ({ n, ok: (RULE_NAMES as readonly string[]).includes(n) })));
  fc.assert(fc.property(fc.array(operand, { minLength: 1, maxLength: 5 }), fc.nat(5), (ops, pad) => {
    const when = ops.map((o, i) => `${o.n} ${i % 2 ? '!=' : '=='} ${i}`).join(' or ');
    const text = `${'# comment\n'.repeat(pad)}server:\n  rules:\n    - name: r\n      state_change: true\n      window: 1m\n      when: '${when}'\n`;
    const ok = ops.every((o) => o.ok);
    try {
      loadBlickConfig('fuzz.yaml', { text, env: {} });
    } catch (err) {
      assert.ok(!ok, `refused only known names: ${when}: ${(err as Error).message}`);
      const first = ops.find((o) => !o.ok)!;
      assert.match((err as Error).message, new RegExp(`^fuzz\\.yaml:${pad + 6}: key server\\.rules\\.0\\.when: unknown name "${first.n}"`));
      return;
    }
    assert.ok(ok, `accepted an unknown name: ${when}`);
  }), { numRuns: 300 });
});
