import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTail } from './tail.js';

async function withTail(fn: (path: string, tail: FileTail, lines: string[], resets: string[]) => Promise<void>, fromBeginning = false): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'blick-tail-'));
  const path = join(dir, 'app.log');
  const lines: string[] = [];
  const resets: string[] = [];
  await writeFile(path, 'old line\n');
  const tail = new FileTail({ path, fromBeginning, pollMs: 50, onLines: (l) => lines.push(...l), onReset: (w) => resets.push(w) });
  await tail.start();
  try { await fn(path, tail, lines, resets); } finally { await tail.stop(); await rm(dir, { recursive: true, force: true }); }
}

test('tail starts at the end and delivers only complete new lines', async () => {
  await withTail(async (path, tail, lines) => {
    await appendFile(path, 'one\ntw');
    await tail.poke();
    assert.deepEqual(lines, ['one']);
    await appendFile(path, 'o\r\nthree\n');
    await tail.poke();
    assert.deepEqual(lines, ['one', 'two', 'three']);
  });
});

test('tail from the beginning reads what is there', async () => {
  await withTail(async (_path, tail, lines) => {
    await tail.poke();
    assert.deepEqual(lines, ['old line']);
  }, true);
});

test('tail follows a rotation: the rest of the old file, then the new file from its start', async () => {
  await withTail(async (path, tail, lines, resets) => {
    await appendFile(path, 'before rotation\n');
    await rename(path, path + '.1');
    await appendFile(path + '.1', 'written late to the old file\n');
    await writeFile(path, 'first of new file\n');
    await tail.poke();
    assert.deepEqual(lines, ['before rotation', 'written late to the old file', 'first of new file']);
    assert.deepEqual(resets, ['rotated']);
  });
});

test('tail keeps reading a renamed file until the new one appears', async () => {
  await withTail(async (path, tail, lines) => {
    await rename(path, path + '.1');
    await appendFile(path + '.1', 'still the old file\n');
    await tail.poke();
    assert.deepEqual(lines, ['still the old file']);
    await writeFile(path, 'new\n');
    await tail.poke();
    assert.deepEqual(lines, ['still the old file', 'new']);
  });
});

test('tail notices truncation and reads from the start again', async () => {
  await withTail(async (path, tail, lines, resets) => {
    await appendFile(path, 'a\n');
    await tail.poke();
    await truncate(path, 0);
    await appendFile(path, 'b\n');
    await tail.poke();
    assert.deepEqual(lines, ['a', 'b']);
    assert.deepEqual(resets, ['truncated']);
  });
});

test('tail waits for a file that does not exist yet and reads it from its start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-tail-'));
  const lines: string[] = [];
  const tail = new FileTail({ path: join(dir, 'later.log'), pollMs: 20, onLines: (l) => lines.push(...l) });
  await tail.start();
  try {
    await writeFile(join(dir, 'later.log'), 'hello\n');
    for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(lines, ['hello']);
  } finally { await tail.stop(); await rm(dir, { recursive: true, force: true }); }
});

test('tail wakes up on inotify without waiting for the poll', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-tail-'));
  const path = join(dir, 'x.log');
  await writeFile(path, '');
  let resolve!: (l: string) => void;
  const got = new Promise<string>((r) => { resolve = r; });
  const tail = new FileTail({ path, pollMs: 60_000, onLines: (l) => resolve(l[0]!) });
  await tail.start();
  try {
    const t0 = Date.now();
    await appendFile(path, 'now\n');
    assert.equal(await got, 'now');
    assert.ok(Date.now() - t0 < 1000);
  } finally { await tail.stop(); await rm(dir, { recursive: true, force: true }); }
});

test('with a state file, a restart resumes after the last delivered line: nothing written while stopped is lost or repeated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-tail-'));
  const path = join(dir, 'app.log');
  const stateFile = join(dir, 'state', 'app.json');
  const lines: string[] = [];
  const make = () => new FileTail({ path, stateFile, pollMs: 50, onLines: (l) => lines.push(...l) });
  try {
    await writeFile(path, 'before the first start\n');
    let tail = make();
    await tail.start();
    await appendFile(path, 'ünïcödé one\ntorn');
    await tail.poke();
    await tail.stop();
    await appendFile(path, ' line\nwhile down\n');
    tail = make();
    await tail.start();
    await tail.poke();
    await appendFile(path, 'after\n');
    await tail.poke();
    await tail.stop();
    assert.deepEqual(lines, ['ünïcödé one', 'torn line', 'while down', 'after']);

    // rotated while stopped: the rest of the old file (found by its inode), then the new one
    await appendFile(path, 'last of the old file\n');
    lines.length = 0;
    tail = make();
    await tail.start(); // resumes at 'last of the old file'
    await tail.stop();
    await appendFile(path, 'written just before rotation\n');
    await rename(path, path + '.1');
    await writeFile(path, 'first of the new file\n');
    tail = make();
    await tail.start();
    await tail.poke();
    await tail.stop();
    assert.deepEqual(lines, ['last of the old file', 'written just before rotation', 'first of the new file']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
