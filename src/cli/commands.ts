import { BlickError } from '../core/errors.js';

/** One flag of a command: a switch (`--json`), or one that takes a value, named in usage by `value`. */
export interface FlagSpec {
  /** placeholder of the value (`H`, `FILE`); absent: a switch */
  value?: string;
  help: string;
}

/** One command of `blick`: what it takes, and its line in the usage text. */
export interface CommandSpec {
  /** what follows `blick` in the synopsis, flags included */
  synopsis: string;
  about: string;
  flags: Record<string, FlagSpec>;
  /** talks to a server's API: takes --url, --token, --ca and a client --config */
  client?: boolean;
}

/** Flags of every command that talks to a server (src/cli/target.ts reads them). */
export const CLIENT_FLAGS: Record<string, FlagSpec> = {
  url: { value: 'URL', help: 'the server [BLICK_URL, else http://127.0.0.1:8080]' },
  token: { value: 'T', help: 'a bearer token [BLICK_TOKEN]' },
  ca: { value: 'PEM', help: 'CA certificate(s) to trust for an https URL [BLICK_CA]' },
  config: { value: 'FILE', help: 'a client file with url:, token: or token_file:, ca:; or a daemon\'s file (its client: section, else server.http and its one token) [BLICK_CLIENT_CONFIG, else ~/.config/blick/client.yaml]' },
};

const json: FlagSpec = { help: 'JSON instead of a table' };
const daemonConfig = (required: boolean): Record<string, FlagSpec> => ({ config: { value: 'FILE', help: `the YAML configuration${required ? '' : ' [built-in laptop defaults]'} (BLICK_CONFIG)` } });

/**
 * Every command and the only flags it accepts: a flag not listed here is a
 * usage error (exit 1) naming it, and `--help` prints the command's entry.
 */
export const COMMANDS: Record<string, CommandSpec> = {
  up: { synopsis: 'up [--config FILE]', about: 'server + local agent + statsd in one process, SQLite under ./.blick, API and dashboard at http://127.0.0.1:8080', flags: daemonConfig(false) },
  server: { synopsis: 'server --config FILE', about: 'the server (ingest, store, API)', flags: daemonConfig(true) },
  agent: { synopsis: 'agent --config FILE', about: 'the agent (monitors → server)', flags: daemonConfig(true) },
  statsd: { synopsis: 'statsd --config FILE', about: 'statsd (Etsy-compatible) → Graphite, metric events → server; FILE is Blick\'s YAML or an Etsy statsd config.js (read as data, never run)', flags: daemonConfig(true) },
  keygen: { synopsis: 'keygen --out DIR [--force]', about: 'a CURVE key pair (DIR/blick.key, DIR/blick.pub); never overwrites one unless --force', flags: { out: { value: 'DIR', help: 'where to write the pair' }, force: { help: 'overwrite an existing pair' } } },
  'check-config': { synopsis: 'check-config FILE', about: 'validate a configuration file, a daemon\'s or a client\'s (exit 2 with file, line and key on error)', flags: { config: { value: 'FILE', help: 'the file, instead of the argument' } } },
  version: { synopsis: 'version | --version', about: 'the version of blick and of node', flags: { version: { help: 'the same' } } },
  events: {
    synopsis: 'events [--host H] [--service S] [--state S] [--since T] [--limit N] [--follow] [--json]', about: 'event history, newest first; --follow: live events as they arrive', client: true,
    flags: {
      host: { value: 'H', help: 'a host name or glob (web-*)' },
      service: { value: 'S', help: 'a service name or glob (disk *)' },
      state: { value: 'S', help: 'ok, warning, critical or unknown' },
      since: { value: 'T', help: 'unix ms, RFC 3339 (2026-12-01T10:00:00Z) or a duration before now (15m)' },
      limit: { value: 'N', help: 'at most N events [100]' },
      follow: { help: 'print live events until interrupted (host, service and state filters apply)' },
      json,
    },
  },
  hosts: { synopsis: 'hosts [HOST] [--json]', about: 'every host, worst state first; with HOST: its checks, classification and derived checks with their origin (resource, file:line)', client: true, flags: { json } },
  checks: {
    synopsis: 'checks [--host H] [--service S] [--state S] [--json]', about: 'the current state of every check, worst first', client: true,
    flags: { host: { value: 'H', help: 'a host name or glob (web-*)' }, service: { value: 'S', help: 'a service name or glob (disk *)' }, state: { value: 'S', help: 'ok, warning, critical or unknown' }, json },
  },
  alerts: {
    synopsis: 'alerts [--status firing|pending|resolved] [--host H] [--rule R] [--json]', about: 'alerts, newest change first', client: true,
    flags: { status: { value: 'S', help: 'firing, pending or resolved' }, host: { value: 'H', help: 'a host name or glob' }, rule: { value: 'R', help: 'a rule name or glob' }, json },
  },
  'hosts rm': { synopsis: 'hosts rm HOST [--json]', about: 'forget a host: its checks, facts and ttl timers; its alerts resolve; history stays until retention', client: true, flags: { json } },
  'checks rm': { synopsis: 'checks rm HOST SERVICE [--json]', about: 'forget one check (as hosts rm does for a host)', client: true, flags: { json } },
  'checks resolve': {
    synopsis: 'checks resolve HOST SERVICE [--reason TEXT] [--author A] [--json]', about: 'store an ok event for a check (source api), naming who and why', client: true,
    flags: { reason: { value: 'TEXT', help: 'why, kept in the event' }, author: { value: 'A', help: 'who [the token\'s role]' }, json },
  },
  'alerts ack': {
    synopsis: 'alerts ack ID --comment TEXT [--expires 4h] [--author A] [--json]', about: 'acknowledge a firing alert: no repeat notifications until it changes or resolves', client: true,
    flags: { comment: { value: 'TEXT', help: 'why, shown with the alert' }, expires: { value: 'DURATION', help: 'end the acknowledgement then even if the alert does not change' }, author: { value: 'A', help: 'who [your user name]' }, json },
  },
  'silence add': {
    synopsis: 'silence add --host H [--service S] [--rule R] [--severity S] --for 2h --reason TEXT [--author A]', about: 'mute the notifications of matching alerts for a while', client: true,
    flags: {
      host: { value: 'H', help: 'host name or glob' }, service: { value: 'S', help: 'service name or glob' }, rule: { value: 'R', help: 'rule name or glob' }, severity: { value: 'S', help: 'severity or glob' },
      for: { value: 'DURATION', help: 'how long (2h, 30m)' }, reason: { value: 'TEXT', help: 'why, for whoever reads the list' }, author: { value: 'A', help: 'who [your user name]' }, json,
    },
  },
  'silence list': { synopsis: 'silence list [--json]', about: 'active and expired silences', client: true, flags: { json } },
  'silence rm': { synopsis: 'silence rm ID [--json]', about: 'expire a silence (it stays listed)', client: true, flags: { json } },
};

/** The entry of a command, if there is one (own keys only: `blick constructor` is no command). */
export function command(key: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, key) ? COMMANDS[key] : undefined;
}

/** Commands under one word (`silence add|list|rm`, `hosts rm`): the entry a command line selects; `list` when none is named. */
export function commandKey(cmd: string, sub: string | undefined): string {
  // a subcommand with its own entry (`hosts rm`) before the command (`hosts`)
  if (sub !== undefined && command(`${cmd} ${sub}`)) return `${cmd} ${sub}`;
  if (command(cmd)) return cmd;
  const key = `${cmd} ${sub ?? 'list'}`;
  return command(key) ? key : cmd;
}

/** The flags a command accepts: its own, the client's, and --help. */
export function flagsOf(spec: CommandSpec): Record<string, FlagSpec> {
  return { ...spec.flags, ...(spec.client ? CLIENT_FLAGS : {}), help: { help: 'this text' } };
}

export type Flags = Record<string, string | true>;

/**
 * Split a command line into positionals and flags (`--name value`, `--name=value`,
 * `--switch`). Without `known`, any `--name` followed by a non-flag takes it as
 * its value (how the command itself is found, as bin/blick finds it); with
 * `known`, switches never take a value and an unknown flag is a USAGE error.
 */
export function parseArgs(argv: string[], known?: Record<string, FlagSpec>, cmd = ''): { positional: string[]; flags: Flags } {
  const positional: string[] = [];
  const flags: Flags = {};
  const usage = (msg: string) => new BlickError('USAGE', `${msg} (see blick ${cmd || 'help'} --help)`);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') { flags.help = true; continue; }
    if (!a.startsWith('--') || a === '--') { positional.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const next = argv[i + 1];
    // own keys only: --constructor is no flag
    const spec = known && Object.hasOwn(known, name) ? known[name] : undefined;
    if (known && !spec) throw usage(`unknown flag --${name}; blick ${cmd} takes ${Object.keys(known).filter((k) => k !== 'help').map((k) => `--${k}`).join(', ') || 'no flags'}`);
    if (eq > 0) {
      if (spec && spec.value === undefined) throw usage(`--${name} takes no value`);
      flags[name] = a.slice(eq + 1);
    } else if (spec && spec.value === undefined) flags[name] = true;
    else if (next !== undefined && !next.startsWith('--')) { flags[name] = next; i++; }
    else if (spec) throw usage(`--${name} needs a value (${spec.value})`);
    else flags[name] = true;
  }
  return { positional, flags };
}

const pad = (s: string, w: number) => (s.length >= w ? s + '  ' : s.padEnd(w));

/** `blick --help`: every command's synopsis. */
export function usageText(version: string): string {
  const lines = Object.values(COMMANDS).map((c) => (c.synopsis.length < 34 ? `  blick ${pad(c.synopsis, 34)}${c.about}` : `  blick ${c.synopsis}\n${' '.repeat(42)}${c.about}`));
  return `blick ${version} — event-driven monitoring

usage:
${lines.join('\n')}

Client commands (events, hosts, checks, alerts, silence) also take --url URL, --token T, --ca PEM
and --config FILE (or BLICK_URL, BLICK_TOKEN, BLICK_CA, BLICK_CLIENT_CONFIG, ~/.config/blick/client.yaml).
\`blick COMMAND --help\` describes one command. Every daemon reads its section of the YAML file;
BLICK_<SECTION>_<KEY> overrides a key.`;
}

/** `blick COMMAND --help`: its synopsis and every flag it takes. */
export function commandHelp(key: string): string {
  const one = command(key);
  const entries = one ? [one] : Object.entries(COMMANDS).filter(([k]) => k.startsWith(key + ' ')).map(([, c]) => c);
  const out: string[] = [];
  for (const c of entries) {
    out.push(`usage: blick ${c.synopsis}`, `  ${c.about}`);
    const flags = Object.entries(flagsOf(c));
    if (flags.length) out.push('', 'flags:', ...flags.map(([name, f]) => `  ${pad(`--${name}${f.value ? ' ' + f.value : ''}`, 18)}${f.help}`));
    out.push('');
  }
  return out.join('\n');
}
