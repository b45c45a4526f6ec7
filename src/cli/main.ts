import { resolve } from 'node:path';
import type { Component } from '../core/component.js';
import { Supervisor } from '../core/component.js';
import { BlickError, isBlickError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { terminalSafe } from '../core/terminal.js';
import { Registry } from '../core/metrics.js';
import { blickVersion } from '../core/version.js';
import { command, commandHelp, commandKey, COMMANDS, flagsOf, parseArgs, usageText } from './commands.js';
import { isClientOnlyFile, loadBlickConfig, loadClientOnlyConfig, loadStatsdConfig, type BlickConfig } from './config.js';
import { defaultAlerting } from '../server/alerts/defaults.js';

/** The commands that talk to a server's API (src/cli/client.ts, loaded only for them). */
const CLIENT_COMMANDS = new Set(Object.keys(COMMANDS).filter((k) => COMMANDS[k]!.client).map((k) => k.split(' ')[0]!));

function configFlag(flags: Record<string, string | true>, required: boolean, cmd: string): string | undefined {
  const f = flags.config ?? process.env.BLICK_CONFIG;
  if (f === true) throw new BlickError('CONFIG_UNREADABLE', '--config needs a file name');
  if (!f && required) throw new BlickError('CONFIG_UNREADABLE', `blick ${cmd} needs --config FILE (see docs/configuration.md)`);
  return f;
}

/**
 * Run components until SIGTERM/SIGINT, then stop them in reverse order (exit 0).
 * A component that fails to start, or dies while running, stops them all and
 * the process exits 1 with one line saying what failed: never runs on deaf.
 */
async function runDaemons(cmd: string, components: Component[], banner?: () => string): Promise<void> {
  const log = createLogger('blick');
  const sup = new Supervisor(cmd, components, log);
  let stopping = false;
  sup.onFailure((err) => {
    if (stopping) return;
    stopping = true;
    log.fatal({ err }, 'a component failed; stopped everything');
    process.stderr.write(`blick ${cmd}: ${terminalSafe(err.message)}; stopped\n`);
    process.exit(1);
  });
  await sup.start();
  if (banner) process.stderr.write(banner());
  const stop = (signal: string) => {
    if (stopping) { log.warn({ signal }, 'second signal: exiting now'); process.exit(130); }
    stopping = true;
    log.info({ signal }, 'shutting down');
    sup.stop().then(() => process.exit(0), (err) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function upDefaults(c: BlickConfig, flags: Record<string, string | true>): void {
  // `blick up` is the laptop mode: everything on loopback unless the file says otherwise
  if (!flags.config) {
    c.server.ingest = process.env.BLICK_SERVER_INGEST ?? 'tcp://127.0.0.1:5556';
  }
  const ingestPort = /:(\d+)$/.exec(c.server.ingest)?.[1] ?? '5556';
  if (!flags.config && !process.env.BLICK_AGENT_UPSTREAMS) c.agent.upstreams = [`tcp://127.0.0.1:${ingestPort}`];
  if (!flags.config && !process.env.BLICK_STATSD_UPSTREAMS) c.statsd.upstreams = [`tcp://127.0.0.1:${ingestPort}`];
  if (!flags.config) {
    // laptop mode: statsd on loopback, and no Graphite unless one is configured
    if (!process.env.BLICK_STATSD_UDP && c.statsd.udp) c.statsd.udp = '127.0.0.1:8125';
    if (!process.env.BLICK_STATSD_TCP && c.statsd.tcp) c.statsd.tcp = '127.0.0.1:8125';
    if (!process.env.BLICK_STATSD_GRAPHITE) c.statsd.graphite.host = '';
    // alerts out of the box, unless the environment configured alerting
    const s = c.server;
    if (s.rules.length === 0 && s.routes.length === 0 && s.inhibit.length === 0 && Object.keys(s.notifiers).length === 0) Object.assign(s, defaultAlerting());
  }
}

export async function main(argv: string[]): Promise<void> {
  const loose = parseArgs(argv);
  const cmd = loose.positional[0] ?? (loose.flags.version === true ? 'version' : undefined);
  const USAGE = usageText(blickVersion());
  try {
    if (cmd === 'help' || (cmd === undefined && loose.flags.help)) {
      const about = loose.positional[1];
      process.stdout.write(about !== undefined && command(commandKey(about, undefined)) ? commandHelp(about) : USAGE + '\n');
      return;
    }
    const key = cmd === undefined ? undefined : commandKey(cmd, loose.positional[1]);
    const spec = key === undefined ? undefined : command(key);
    // --help describes a command instead of running it; otherwise it takes only its own flags
    if (spec && loose.flags.help) { process.stdout.write(commandHelp(command(`${cmd} ${loose.positional[1]}`) ? `${cmd} ${loose.positional[1]}` : cmd!)); return; }
    const { positional, flags } = spec ? parseArgs(argv, flagsOf(spec), key) : loose;
    switch (cmd) {
      case 'version':
        process.stdout.write(`blick ${blickVersion()} (node ${process.version})\n`);
        return;
      case 'up': {
        const c = loadBlickConfig(configFlag(flags, false, cmd));
        const [{ BlickServer }, { BlickAgent }, { StatsdDaemon }] = await Promise.all([import('../server/index.js'), import('../agent/index.js'), import('../statsd/daemon.js')]);
        upDefaults(c, flags);
        const dataDir = resolve(c.data_dir);
        const metrics = new Registry();
        const server = new BlickServer(c.server, { dataDir, curve: c.curve, dns: c.dns, metrics, log: createLogger('server') });
        const agent = new BlickAgent(c.agent, { dataDir, curve: c.curve, dns: c.dns, log: createLogger('agent') });
        const statsd = new StatsdDaemon(c.statsd, { dataDir, curve: c.curve, dns: c.dns, metrics, log: createLogger('statsd') });
        const g = c.statsd.graphite;
        await runDaemons(cmd, [server, agent, statsd], () => [
          '',
          `  Blick ${blickVersion()} is up`,
          `    dashboard        ${server.url}/`,
          `    HTTP API         ${server.url}   (try: curl ${server.url}/api/v1/checks)`,
          `    event ingest     ${server.receiver.endpoint}`,
          `    data             ${dataDir} (SQLite)`,
          `    local agent      host ${c.agent.host} → ${c.agent.upstreams.join(', ')}`,
          `    alerts           ${c.server.rules.length} rules → ${Object.keys(c.server.notifiers).join(', ') || 'no notifiers'} (server.rules, server.notifiers)`,
          `    statsd           udp ${c.statsd.udp ?? 'off'}, tcp ${c.statsd.tcp ?? 'off'}${c.statsd.socket ? `, socket ${c.statsd.socket}` : ''}, admin ${c.statsd.admin ?? 'off'}; graphite ${g.host ? `${g.host}:${g.port}` : 'off (set statsd.graphite)'}; metric events → server`,
          '  Ctrl-C stops it.',
          '', '',
        ].join('\n'));
        return;
      }
      case 'server': {
        const c = loadBlickConfig(configFlag(flags, true, cmd));
        const { BlickServer } = await import('../server/index.js');
        await runDaemons(cmd, [new BlickServer(c.server, { dataDir: resolve(c.data_dir), curve: c.curve, dns: c.dns })]);
        return;
      }
      case 'statsd': {
        const c = loadStatsdConfig(configFlag(flags, true, cmd)!);
        const { StatsdDaemon } = await import('../statsd/daemon.js');
        await runDaemons(cmd, [new StatsdDaemon(c.statsd, { dataDir: resolve(c.data_dir), curve: c.curve, dns: c.dns })]);
        return;
      }
      case 'agent': {
        const c = loadBlickConfig(configFlag(flags, true, cmd));
        // only what the agent needs is loaded (its footprint counts on every host)
        const { BlickAgent } = await import('../agent/index.js');
        await runDaemons(cmd, [new BlickAgent(c.agent, { dataDir: resolve(c.data_dir), curve: c.curve, dns: c.dns })]);
        return;
      }
      case 'relay': {
        const c = loadBlickConfig(configFlag(flags, true, cmd));
        const { BlickRelay } = await import('../relay/index.js');
        await runDaemons(cmd, [new BlickRelay(c.relay, { dataDir: resolve(c.data_dir), curve: c.curve, dns: c.dns })]);
        return;
      }
      case 'keygen': {
        const out = flags.out;
        if (typeof out !== 'string') throw new BlickError('BAD_REQUEST', 'blick keygen needs --out DIR');
        const { writeKeyPair } = await import('../transport/curve.js');
        const k = writeKeyPair(out, { force: flags.force === true });
        process.stdout.write(`secret key: ${k.secretFile} (keep it private)\npublic key: ${k.publicFile}\n${k.publicKey}\n`);
        return;
      }
      case 'check-config': {
        const file = positional[1] ?? (typeof flags.config === 'string' ? flags.config : undefined);
        if (!file) throw new BlickError('CONFIG_UNREADABLE', 'usage: blick check-config FILE');
        if (isClientOnlyFile(file)) { loadClientOnlyConfig(file); process.stdout.write(`${file}: ok (client configuration)\n`); return; }
        // an Etsy statsd config.js is checked as `blick statsd` reads it
        const c = loadStatsdConfig(file);
        for (const u of c.statsd.unused) process.stderr.write(`${terminalSafe(file)}: warning: statsd key ${terminalSafe(u.key)} is not used by Blick: ${terminalSafe(u.why)}\n`);
        process.stdout.write(`${file}: ok\n`);
        return;
      }
      case undefined:
        process.stdout.write(USAGE + '\n');
        process.exitCode = 1;
        return;
      default:
        if (CLIENT_COMMANDS.has(cmd)) {
          const { clientCommand } = await import('./client.js');
          await clientCommand(cmd, positional.slice(1), flags);
          return;
        }
        process.stderr.write(`blick: unknown command "${cmd}"\n\n${USAGE}\n`);
        process.exitCode = 1;
    }
  } catch (err) {
    if (isBlickError(err)) {
      process.stderr.write(`blick ${cmd ?? ''}: ${err.message.split('\n').map(terminalSafe).join('\n')}\n`);
      process.exit(err.exitCode);
    }
    throw err;
  }
}
