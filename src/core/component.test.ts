import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Logger } from './log.js';
import { FailureSignal, Supervisor, type Component, type FailureListener } from './component.js';
import { BlickError, isBlickError } from './errors.js';

/** A component that records its starts and stops in `journal` and can be made to fail. */
class Recorder implements Component {
  readonly failures = new FailureSignal();
  constructor(readonly name: string, private readonly journal: string[], private readonly opts: { failStart?: Error; duringStart?: () => void } = {}) {}
  onFailure(l: FailureListener): void { this.failures.listen(l); }
  async start(): Promise<void> {
    this.failures.reset();
    this.opts.duringStart?.();
    if (this.opts.failStart) throw this.opts.failStart;
    this.journal.push(`start ${this.name}`);
  }
  async stop(): Promise<void> { this.journal.push(`stop ${this.name}`); }
  die(msg: string): void { this.failures.fail(new Error(msg)); }
}

function logged(): { log: Logger; lines: any[] } {
  const lines: any[] = [];
  return { log: pino({ level: 'debug' }, { write: (l: string) => { lines.push(JSON.parse(l)); } }) as unknown as Logger, lines };
}

const failureOf = (s: Supervisor) => new Promise<Error>((resolve) => s.onFailure(resolve));

test('supervisor: starts in order, stops in reverse, and a second stop does nothing', async () => {
  const journal: string[] = [];
  const sup = new Supervisor('d', ['a', 'b', 'c'].map((n) => new Recorder(n, journal)));
  await sup.start();
  await Promise.all([sup.stop(), sup.stop()]);
  await sup.stop();
  assert.deepEqual(journal, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

test('supervisor: a component failing while running is logged, every component is stopped once in reverse, then the failure is reported once', async () => {
  const journal: string[] = [];
  const { log, lines } = logged();
  const parts = ['a', 'b', 'c'].map((n) => new Recorder(n, journal));
  const sup = new Supervisor('d', parts, log);
  let reports = 0;
  sup.onFailure(() => { reports++; });
  const failed = failureOf(sup);
  await sup.start();
  parts[1]!.die('socket closed');
  parts[2]!.die('also broken'); // a second failure while stopping changes nothing
  const err = await failed;
  assert.ok(isBlickError(err, 'COMPONENT_FAILED'));
  assert.equal(err.message, 'b: socket closed');
  assert.deepEqual(journal, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  await sup.stop();
  await new Promise((r) => setImmediate(r));
  assert.equal(reports, 1);
  assert.equal(journal.length, 6, 'stopped once');
  assert.ok(lines.some((l) => l.level === 50 && l.part === 'b' && /component failed/.test(l.msg)), 'the failure is logged with the part');
});

test('supervisor: a component failing to start stops the started ones in reverse; the later ones never start', async () => {
  const journal: string[] = [];
  const sup = new Supervisor('d', [new Recorder('a', journal), new Recorder('b', journal), new Recorder('c', journal, { failStart: new Error('listen EADDRINUSE') }), new Recorder('d', journal)]);
  await assert.rejects(sup.start(), (err: unknown) => isBlickError(err, 'COMPONENT_FAILED') && err.message === 'c failed to start: listen EADDRINUSE');
  assert.deepEqual(journal, ['start a', 'start b', 'stop b', 'stop a']);
  // catalogued errors keep their code (and so their exit status)
  const keyed = new Supervisor('k', [new Recorder('a', journal, { failStart: new BlickError('KEY_INVALID', 'bad key') })]);
  await assert.rejects(keyed.start(), (err: unknown) => isBlickError(err, 'KEY_INVALID'));
});

test('supervisor: a started component failing while a later one starts fails the start and stops everything', async () => {
  const journal: string[] = [];
  const a = new Recorder('a', journal);
  // b finishes starting only after the supervisor (whose listener came first) has heard a's failure
  const heard = new Promise<void>((resolve) => { queueMicrotask(() => a.onFailure(() => resolve())); });
  const slow: Component = { name: 'b', start: async () => { a.die('died early'); await heard; journal.push('start b'); }, stop: async () => { journal.push('stop b'); } };
  const sup = new Supervisor('d', [a, slow, new Recorder('c', journal)]);
  await assert.rejects(sup.start(), /a: died early/);
  assert.deepEqual(journal, ['start a', 'start b', 'stop b', 'stop a']);
});

test('supervisor: nested supervisors pass a failure up, and the outer one stops the rest', async () => {
  const journal: string[] = [];
  const inner = [new Recorder('store', journal), new Recorder('receiver', journal)];
  const server = new Supervisor('server', inner);
  const outer = new Supervisor('up', [server, new Recorder('agent', journal)]);
  const failed = failureOf(outer);
  await outer.start();
  inner[1]!.die('ingest socket closed');
  const err = await failed;
  assert.equal(err.message, 'server: receiver: ingest socket closed');
  assert.deepEqual(journal, ['start store', 'start receiver', 'start agent', 'stop receiver', 'stop store', 'stop agent']);
  // and it can be started again
  await outer.start();
  await outer.stop();
  assert.deepEqual(journal.slice(6), ['start store', 'start receiver', 'start agent', 'stop agent', 'stop receiver', 'stop store']);
});
