#!/usr/bin/env node
// Runs every compiled test (dist/**/*.test.js) with node's test runner.
// The runner ends with a summary (ℹ tests/pass/fail) that CI reads; exit status is non-zero on failure.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = find('dist', []).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) { console.error('no test files found under dist/ (did the build run?)'); process.exit(1); }
const reporter = process.stdout.isTTY ? 'spec' : 'spec';
const r = spawnSync(process.execPath, ['--test', `--test-reporter=${reporter}`, '--test-concurrency=2', '--test-timeout=180000', ...files], { stdio: 'inherit', env: { ...process.env, BLICK_LOG_LEVEL: process.env.BLICK_LOG_LEVEL ?? 'error' } });
process.exit(r.status ?? 1);
