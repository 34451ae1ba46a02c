/**
 * The peers, run the way PERF-ANCHORS.md ran them, from the configs in bench/peers/ (copies of
 * reference/peer-configs with the fixed /tmp paths replaced by a fresh directory per trial):
 *
 * - rsyslog (`rsyslogd -n`), plain and with `Annotate="on"` (imuxsock then reads
 *   /proc/PID/{comm,exe,cmdline} per message and appends `@[_PID=… _COMM=…]` to the text);
 * - syslog-ng (`syslog-ng -F`), plain and with `so-passcred(yes)`;
 * - systemd-journald, standalone (no PID 1 systemd) inside `unshare -m -n`: journald-ns.sh puts a
 *   tmpfs over /run and bind-mounts two directories of the trial there, so senders outside reach
 *   its `dev-log` through the file system and `journalctl -D` reads its journal from outside; it
 *   never sees the host's /run, /dev/log or /dev/kmsg, and the mounts vanish with the namespace.
 *
 * rsyslog and syslog-ng come unpacked from Debian into .peers/ (bench/peers/install.sh, run by
 * `npm run bench -- --install-peers`); journald is the host's systemd package. A peer that is not
 * installed reports why and is skipped. Each peer runs in the foreground as a child of the case,
 * is ready when its socket exists, and is stopped with SIGTERM to its own pid.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Proc } from './cleanup';
import { hasCommand, pollUntil } from './common';
import { type Output } from './outputs';

/** The checkout's root (dist/bench/lib → ../../..). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
const PEERS = path.join(ROOT, '.peers');
const CONFIGS = path.join(ROOT, 'bench', 'peers');

/** A receiver running for one trial. */
export interface Running {
  name: string;
  /** Where senders send. */
  socket: string;
  /** The receiver's process (its tree is what CPU and memory are measured on). */
  proc: Proc;
  output: Output;
  /** Stops it (SIGTERM: each flushes what it holds) and waits for it to exit. */
  stop(): Promise<void>;
}

/** How to start one receiver for a trial, and whether it can run here. */
export interface PeerSpec {
  name: string;
  /** Why it cannot run here, or null. */
  unavailable(): string | null;
  start(dir: string): Promise<Running>;
}

const RSYSLOGD = path.join(PEERS, 'rsyslog/usr/sbin/rsyslogd');
const RSYSLOG_MODULES = path.join(PEERS, 'rsyslog/usr/lib/x86_64-linux-gnu/rsyslog');
const SYSLOG_NG = path.join(PEERS, 'syslog-ng/usr/sbin/syslog-ng');
const SYSLOG_NG_LIB = path.join(PEERS, 'syslog-ng/usr/lib');
const JOURNALD = '/lib/systemd/systemd-journald';

function writeConfig(template: string, dir: string): string {
  fs.mkdirSync(path.join(dir, 'out'), { recursive: true });
  const text = fs.readFileSync(path.join(CONFIGS, template), 'utf8').replaceAll('@RUN@', dir);
  const file = path.join(dir, template);
  fs.writeFileSync(file, text);
  return file;
}

async function ready(proc: Proc, socket: string, name: string): Promise<void> {
  const ok = await pollUntil(() => fs.existsSync(socket) || !proc.running, 20000);
  if (!ok || !proc.running) {
    await proc.stop('SIGKILL', 1000);
    throw new Error(`${name} did not come up (exit ${proc.exitCode}): ${proc.stderr.slice(-800)}`);
  }
}

function running(name: string, proc: Proc, socket: string, output: Output): Running {
  return { name, socket, proc, output, stop: async () => void (await proc.stop('SIGTERM', 20000)) };
}

function rsyslog(name: string, template: string): PeerSpec {
  return {
    name,
    unavailable: () => (fs.existsSync(RSYSLOGD) ? null : `rsyslog is not installed in .peers/ (run with --install-peers)`),
    async start(dir) {
      fs.mkdirSync(path.join(dir, 'rsyslog-work'));
      const conf = writeConfig(template, dir);
      const proc = new Proc(name, RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslog.pid'), '-M', RSYSLOG_MODULES], { keepOutput: false });
      const socket = path.join(dir, 'rsyslog.sock');
      await ready(proc, socket, name);
      return running(name, proc, socket, { kind: 'files', dir: path.join(dir, 'out') });
    },
  };
}

function syslogNg(name: string, template: string): PeerSpec {
  return {
    name,
    unavailable: () => (fs.existsSync(SYSLOG_NG) ? null : `syslog-ng is not installed in .peers/ (run with --install-peers)`),
    async start(dir) {
      const conf = writeConfig(template, dir);
      const env = { ...process.env, LD_LIBRARY_PATH: [path.join(SYSLOG_NG_LIB, 'syslog-ng'), path.join(SYSLOG_NG_LIB, 'x86_64-linux-gnu')].join(':') };
      const args = [
        '-F', '-f', conf, `--module-path=${path.join(SYSLOG_NG_LIB, 'syslog-ng/3.38')}`,
        '-R', path.join(dir, 'syslog-ng.persist'), '-c', path.join(dir, 'syslog-ng.ctl'), '-p', path.join(dir, 'syslog-ng.pid'), '--no-caps',
      ];
      const proc = new Proc(name, SYSLOG_NG, args, { env, keepOutput: false });
      const socket = path.join(dir, 'syslog-ng.sock');
      await ready(proc, socket, name);
      return running(name, proc, socket, { kind: 'files', dir: path.join(dir, 'out') });
    },
  };
}

const journald: PeerSpec = {
  name: 'journald',
  unavailable() {
    if (!fs.existsSync(JOURNALD)) return `${JOURNALD} is not installed (Debian package systemd)`;
    if (!hasCommand('unshare') || !hasCommand('journalctl')) return 'unshare or journalctl is missing';
    if (process.getuid?.() !== 0) return 'a private mount namespace needs root';
    return null;
  },
  async start(dir) {
    for (const d of ['sock', 'store']) fs.mkdirSync(path.join(dir, d));
    const conf = writeConfig('journald.conf', dir);
    const proc = new Proc('journald', 'unshare', ['-m', '-n', '--propagation', 'private', 'sh', path.join(CONFIGS, 'journald-ns.sh'), dir, conf], {
      keepOutput: false,
    });
    const socket = path.join(dir, 'sock', 'dev-log');
    await ready(proc, socket, 'journald');
    return running('journald', proc, socket, { kind: 'journal', store: path.join(dir, 'store') });
  },
};

/** Every peer by name. rsyslog and syslog-ng write one file, `out.log`, below `<dir>/out/`. */
export const PEERS_BY_NAME: Record<string, PeerSpec> = {
  rsyslog: rsyslog('rsyslog', 'rsyslog.conf'),
  'rsyslog-annotate': rsyslog('rsyslog-annotate', 'rsyslog-annotate.conf'),
  'syslog-ng': syslogNg('syslog-ng', 'syslog-ng.conf'),
  'syslog-ng-creds': syslogNg('syslog-ng-creds', 'syslog-ng-creds.conf'),
  journald,
};
