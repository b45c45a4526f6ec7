import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { FileTail, lineEventId } from './tail.js';

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

test('after a crash, lines read again have the same origins and event ids; truncation gives new ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blick-tail-'));
  const path = join(dir, 'app.log');
  const stateFile = join(dir, 'state', 'app.json');
  type Seen = { line: string; id: string };
  const make = (into: Seen[]) => new FileTail({
    path, stateFile, pollMs: 50, fromBeginning: true,
    onLines: (l, o) => l.forEach((line, i) => into.push({ line, id: lineEventId(o[i]!, 'host\u0000test') })),
  });
  try {
    await writeFile(path, 'one\ntwo\n');
    const first: Seen[] = [];
    const a = make(first);
    await a.start();
    await tail(a);
    await new Promise((r) => setTimeout(r, 1100)); // one position save
    await appendFile(path, 'three\nfour\n');
    await tail(a);
    await new Promise((r) => setTimeout(r, 1100)); // the next save covers only what the one before had delivered
    const onDiskAtCrash = readFileSync(stateFile, 'utf8');
    await a.stop();
    writeFileSync(stateFile, onDiskAtCrash); // as if the process had been killed instead of stopped

    const again: Seen[] = [];
    const b = make(again);
    await b.start();
    await tail(b);
    await b.stop();
    assert.ok(again.length > 0, 'the lines after the saved position are read again');
    const byLine = new Map(first.map((s) => [s.line, s.id]));
    for (const s of again) assert.equal(s.id, byLine.get(s.line), `the id of "${s.line}" repeats`);
    assert.equal(new Set(first.map((s) => s.id)).size, first.length, 'ids are distinct');
    assert.match(first[0]!.id, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'ULID-shaped');

    // copytruncate: the same offsets now hold other lines, and their ids differ
    const third: Seen[] = [];
    const c = make(third);
    await c.start();
    await truncate(path, 0);
    await appendFile(path, 'one\n');
    await tail(c);
    await c.stop();
    assert.deepEqual(third.map((s) => s.line), ['one']);
    assert.notEqual(third[0]!.id, byLine.get('one'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Reads what is there (twice: a truncation is noticed on one poke and read on the next). */
async function tail(t: FileTail): Promise<void> { await t.poke(); await t.poke(); }
