import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingContext, type RecordingContext } from '../../src/agent/listeners/testing.js';
import { SystemdListener, systemdSchema } from '../../src/agent/listeners/systemd/index.js';
import { missing } from './require.js';
import { bootSystemd, systemdNamespaceMissing, type SystemdNamespace } from './systemd-namespace.js';

const UNIT = `[Unit]
Description=Blick test sleeper
[Service]
ExecStart=/bin/sleep infinity
`;

/** Starts `unit`, then a listener watching `units` on that systemd; runs `fn`; stops the listener. */
async function listening(ns: SystemdNamespace, units: string[], unit: string, fn: (ctx: RecordingContext, l: SystemdListener) => Promise<void>): Promise<void> {
  const l = new SystemdListener(systemdSchema.parse({ units, bus: ns.busAddress }));
  const ctx = recordingContext({ realClock: true });
  await ns.systemctl('start', unit);
  await l.start(ctx);
  try { await fn(ctx, l); } finally { await l.stop(); }
}

test('real systemd: a killed unit is reported critical within milliseconds, a restart ok again', { timeout: 60_000 }, async (t) => {
  const why = await systemdNamespaceMissing();
  if (why) { missing(t, why, 'needed to boot systemd in a namespace'); return; }
  const ns = await bootSystemd();
  const ctx = recordingContext({ realClock: true });
  const listener = new SystemdListener(systemdSchema.parse({ units: ['blick-sleep.service', '*.socket'], bus: ns.busAddress }));
  try {
    await ns.addUnit('blick-sleep.service', UNIT);
    await ns.systemctl('start', 'blick-sleep.service');
    await listener.start(ctx);
    // on start: the current state of every watched unit
    const first = await ctx.waitFor((e) => e.service === 'systemd blick-sleep.service');
    assert.equal(first.state, 'ok');
    assert.equal(first.attributes?.active_state, 'active');
    assert.equal(first.attributes?.sub_state, 'running');
    assert.ok(Number(first.attributes?.main_pid) > 0);
    assert.equal(first.attributes?.restarts, '0');
    assert.equal(first.attributes?.result, 'success');
    assert.ok(ctx.events.some((e) => e.service === 'systemd dbus.socket'), 'globs pick up other units');
    assert.ok(!ctx.events.some((e) => e.service === 'systemd dbus.service'), 'units not matched are not reported');

    const killedAt = performance.now();
    await ns.systemctl('kill', '-s', 'KILL', 'blick-sleep.service');
    const failed = await ctx.waitFor((e) => e.service === 'systemd blick-sleep.service' && e.state === 'critical');
    const delay = performance.now() - killedAt;
    t.diagnostic(`kill → critical event: ${delay.toFixed(1)} ms (including the systemctl process)`);
    console.log(`systemd: kill → critical event in ${delay.toFixed(1)} ms`);
    assert.equal(failed.attributes?.active_state, 'failed');
    assert.equal(failed.attributes?.result, 'signal');
    assert.ok(delay < 2000);

    await ns.systemctl('restart', 'blick-sleep.service');
    const back = await ctx.waitFor((e) => e.service === 'systemd blick-sleep.service' && e.state === 'ok' && e.attributes?.sub_state === 'running' && ctx.events.indexOf(e) > ctx.events.indexOf(failed));
    assert.equal(back.attributes?.active_state, 'active');

    await listener.stop();

    // a unit that systemd restarts by itself: the restart count and the new main pid follow
    await ns.addUnit('blick-phoenix.service', `${UNIT}Restart=always\nRestartSec=200ms\n`);
    await listening(ns, ['blick-phoenix.service'], 'blick-phoenix.service', async (ctxr) => {
      const before = await ctxr.waitFor((e) => e.attributes?.sub_state === 'running');
      await ns.systemctl('kill', '-s', 'KILL', 'blick-phoenix.service');
      const again = await ctxr.waitFor((e) => e.attributes?.sub_state === 'running' && e.attributes?.restarts === '1', 10_000);
      assert.notEqual(again.attributes?.main_pid, before.attributes?.main_pid);
      assert.ok(Number(again.attributes?.main_pid) > 0);
    });

    // a clean stop is critical only for a unit expected to run
    await ns.addUnit('blick-other.service', UNIT.replace('sleeper', 'other'));
    await listening(ns, ['blick-*.service'], 'blick-other.service', async (ctx2, l2) => {
      await ns.systemctl('stop', 'blick-other.service');
      const stopped = await ctx2.waitFor((e) => e.service === 'systemd blick-other.service' && e.attributes?.active_state === 'inactive');
      assert.equal(stopped.state, 'ok', 'not expected: a stopped unit is fine');
      await l2.setExpectedUnits(['blick-other']);
      const nowExpected = await ctx2.waitFor((e) => e.service === 'systemd blick-other.service' && e.attributes?.expected === 'true');
      assert.equal(nowExpected.state, 'critical');
    });
  } finally {
    await listener.stop();
    await ns.stop();
  }
});

test('real systemd: the listener reconnects when the bus goes away and re-emits the current state', { timeout: 60_000 }, async (t) => {
  const why = await systemdNamespaceMissing();
  if (why) { missing(t, why, 'needed to boot systemd in a namespace'); return; }
  const ns = await bootSystemd();
  const ctx = recordingContext({ realClock: true });
  const listener = new SystemdListener(systemdSchema.parse({ units: ['blick-sleep.service'], bus: ns.busAddress }), { backoffMs: 100, maxBackoffMs: 500 });
  try {
    await ns.addUnit('blick-sleep.service', UNIT);
    await ns.systemctl('start', 'blick-sleep.service');
    await listener.start(ctx);
    await ctx.waitFor((e) => e.service === 'systemd blick-sleep.service');
    const n = ctx.events.length;
    await ns.systemctl('restart', 'dbus.service');
    // after reconnecting, the state is emitted again, and changes are heard again
    await ctx.waitFor((e) => ctx.events.indexOf(e) >= n && e.service === 'systemd blick-sleep.service', 15_000);
    await ns.systemctl('kill', '-s', 'KILL', 'blick-sleep.service');
    await ctx.waitFor((e) => e.service === 'systemd blick-sleep.service' && e.state === 'critical', 10_000);
  } finally {
    await listener.stop();
    await ns.stop();
  }
});
