#!/usr/bin/env node
/**
 * container-syslog's command line: `run` (the daemon), `probe` (what this host offers), `help`.
 * Config mistakes exit 2 with the key named; a socket that belongs to someone else exits 1 with
 * what to do about it; SIGTERM drains, flushes and exits 0; SIGHUP reopens files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatProbe, NativeError, probeHost } from '../collector';
import { type CliOverrides, type CollectorConfig, loadConfig } from './config';
import { ConfigError, suggest } from './config-schema';
import { createDiagnostics, type Diagnostics } from './diagnostics';
import { createRegistry, serveMetrics } from './metrics';
import { Collector } from './pipeline';
import { startProfile, stopProfile } from './profile';

const HELP = `Usage: container-syslog <command> [options]

Commands:
  run      Take the log socket and write every container's messages to its own directory.
  probe    Report which kernel features and attribution method this host offers, and what the
           collector lacks here (namespaces, capabilities, cgroup2, the socket), with what to do.
           Options: --socket PATH (default /dev/log), --json.
  help     Show this text.

Options for run:
  --config FILE          YAML config file (see deploy/container-syslog.yaml). Options below override it.
  --socket PATH          Socket to bind (default /dev/log). Ignored when the service manager
                         passes a socket (LISTEN_FDS, systemd socket activation).
  --dir DIR              Base directory for log files (default /var/log/container-syslog).
  --format FORMAT        Line format: text, json or rfc5424 (default text).
  --docker-root DIR      Docker's data root, for container names (default /var/lib/docker).
  --podman-root DIR      Podman's storage root (default /var/lib/containers/storage).
  --pods-log-root DIR    kubelet's pod log root, for pod names (default /var/log/pods).
  --profile FILE         Write a CPU profile of the JavaScript side (pprof format) to FILE at stop,
                         and log the functions that took the most time.
  -h, --help             Show this text.
  --version              Print the version.

Signals: SIGTERM or SIGINT stops receiving, writes everything already queued, and exits 0.
SIGHUP closes and reopens every log file (after logrotate moved them).
Exit status: 0 after a clean stop, 1 when the socket cannot be taken, 2 for a config error.
`;

const OPTIONS = {
  config: { type: 'string' },
  socket: { type: 'string' },
  dir: { type: 'string' },
  format: { type: 'string' },
  'docker-root': { type: 'string' },
  'podman-root': { type: 'string' },
  'pods-log-root': { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function fail(code: number, message: string): never {
  process.stderr.write(`container-syslog: ${message}\n`);
  process.exit(code);
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The socket systemd passed us (LISTEN_FDS), if it is meant for this process. */
export function inheritedSocket(config: CollectorConfig, env: NodeJS.ProcessEnv = process.env): number | null {
  if (env.LISTEN_PID !== String(process.pid)) return null;
  const count = Number(env.LISTEN_FDS ?? '0');
  if (!(count >= 1)) return null;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  let index = 0;
  if (config.socket.listen_fd_name !== null) {
    index = names.indexOf(config.socket.listen_fd_name);
    if (index < 0 || index >= count) {
      fail(2, `socket.listen_fd_name is '${config.socket.listen_fd_name}', but the service manager passed ${count} socket(s) named '${names.join(':')}'`);
    }
  }
  // Not for our children.
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return 3 + index;
}

/** Turns a socket failure into what the operator should do. */
export function explainSocketError(err: NativeError, socketPath: string): string {
  if (err.code === 'ENOTSOCK' && /symbolic link/.test(err.message)) {
    const target = /symbolic link to '([^']*)'/.exec(err.message)?.[1] ?? '?';
    const journald = target.includes('systemd/journal');
    return (
      `'${socketPath}' is a symbolic link to '${target}'${journald ? ', the socket of systemd-journald' : ''}, so another daemon owns it. ` +
      `Either run beside it on a socket of our own (--socket /run/container-syslog/dev-log) and point senders there, ` +
      `or take over ${socketPath}: ${journald ? 'mask systemd-journald-dev-log.socket, remove the link, ' : 'remove the link, '}` +
      `and start container-syslog (deploy/ has a socket unit that does this; see "Running beside journald" in the README).`
    );
  }
  if (err.code === 'EADDRINUSE') {
    return (
      `another process is already receiving on '${socketPath}' (rsyslog, syslog-ng or journald?). ` +
      `Stop that daemon first, or run container-syslog on another socket with --socket PATH.`
    );
  }
  if (err.code === 'ENOTSOCK') return `'${socketPath}' exists and is not a socket; refusing to replace it. Remove it or choose another --socket.`;
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return `no permission to bind '${socketPath}' (${err.code}). Run as root, or choose a socket path in a directory you can write.`;
  }
  return err.message;
}

async function run(argv: string[]): Promise<void> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; args: string[]; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    const m = /'(--?[\w-]+)'/.exec((err as Error).message);
    const hint = m !== null ? suggest(m[1].replace(/^-+/, ''), Object.keys(OPTIONS)).replace('valid keys', 'options') : '';
    fail(2, `${(err as Error).message}${hint.startsWith('; did') ? hint.replace("'", "'--") : ''}\nRun 'container-syslog --help' for the options.`);
  }
  if (values.help === true) return void process.stdout.write(HELP);
  if (values.version === true) return void process.stdout.write(`${version()}\n`);
  const overrides: CliOverrides = {
    socket: values.socket,
    dir: values.dir,
    format: values.format,
    dockerRoot: values['docker-root'],
    podmanRoot: values['podman-root'],
    podsLogRoot: values['pods-log-root'],
  };
  let config: CollectorConfig;
  try {
    config = loadConfig(values.config ?? null, overrides);
  } catch (err) {
    if (err instanceof ConfigError) fail(2, err.message);
    throw err;
  }
  const diagnostics: Diagnostics = createDiagnostics({ level: config.diagnostics.level, file: config.diagnostics.file, format: config.diagnostics.format });
  const adoptFd = inheritedSocket(config);
  const profileFile = values.profile ?? null;
  if (profileFile !== null) startProfile();
  let collector: Collector;
  try {
    collector = new Collector(config, { diagnostics, adoptFd });
  } catch (err) {
    // A route naming an unknown sink, a sink that cannot be built: config mistakes, exit 2.
    if (err instanceof ConfigError) fail(2, err.message);
    throw err;
  }
  // The handlers go in before the receiver starts: from the first datagram taken, a SIGTERM must
  // drain and flush, never end the process by its default action.
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    metricsServer?.close();
    const drained = await collector.stop();
    if (profileFile !== null) {
      const top = stopProfile(profileFile);
      diagnostics.info(
        `CPU profile written to '${profileFile}'. Top functions by self time: ` +
          top.map((f) => `${f.name} ${(f.selfShare * 100).toFixed(1)}%`).join(', '),
        { profile: profileFile },
      );
    }
    const s = collector.stats();
    const rx = s.receiver;
    const pidfd = { pidfdErrors: rx.pidfdErrors ?? 0, getInfoRetries: rx.getInfoRetries ?? 0, noPidfd: rx.noPidfd ?? 0, pidfdStale: rx.pidfdStale ?? 0 };
    diagnostics.info(
      `Stopped on ${signal}: received ${s.received}, routed ${s.routed}, drained ${drained} at stop; dropped ${JSON.stringify(s.dropped)}; ` +
        `pidfd errors ${pidfd.pidfdErrors} after ${pidfd.getInfoRetries} exit-race retries, ${pidfd.noPidfd} datagrams without a pidfd, ${pidfd.pidfdStale} with a stale one.`,
      { received: s.received, routed: s.routed, ...pidfd },
    );
    await diagnostics.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => collector.reopen());
  try {
    collector.start();
  } catch (err: unknown) {
    if (err instanceof NativeError) {
      diagnostics.error(explainSocketError(err, config.socket.path), { code: err.code, socket: config.socket.path });
      await diagnostics.close();
      process.exit(1);
    }
    throw err;
  }
  if (config.metrics.listen !== null) {
    const server = await serveMetrics(createRegistry(() => collector.stats()), config.metrics.listen).catch((err: Error) => {
      diagnostics.error(`Cannot serve metrics on ${config.metrics.listen}: ${err.message}; running without them.`);
      return null;
    });
    if (server !== null && stopping) server.close();
    else if (server !== null) {
      metricsServer = server;
      diagnostics.info(`Serving metrics on http://${config.metrics.listen}/metrics.`);
    }
  }
}

function probe(argv: string[]): void {
  let values: { json?: boolean; socket?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    fail(2, `${(err as Error).message}\nUsage: container-syslog probe [--socket PATH] [--json]`);
  }
  if (values.help === true) {
    process.stdout.write('Usage: container-syslog probe [--socket PATH] [--json]\nReports the kernel features, the attribution method in effect, and what this process lacks, with what to do.\n');
    return;
  }
  const p = probeHost(values.socket ?? '/dev/log');
  process.stdout.write(values.json === true ? `${JSON.stringify(p, null, 2)}\n` : formatProbe(p));
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'probe':
      return probe(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return;
    case '--version':
      process.stdout.write(`${version()}\n`);
      return;
    default:
      fail(2, `unknown command '${command}'${suggest(command, ['run', 'probe', 'help']).replace('valid keys', 'commands')}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`container-syslog: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
