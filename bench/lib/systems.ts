/**
 * Every receiver the throughput and race suites can start, by name, behind one shape (`Running`):
 *
 * - `cs-full`: container-syslog as an operator runs it (`node dist/sinks/cli.js run`), attribution
 *   `auto` (the best rung this kernel offers), per-container files, rate limit off;
 * - `cs-creds`: the same CLI with `attribution.method: none` (SCM_CREDENTIALS only, one file);
 * - `ceiling`: bench/ceiling-receiver.ts, the project's addon draining to one file with nothing
 *   else, the most any receiver built on it can do on this machine;
 * - `node-naive`: bench/naive-receiver.ts, npm unix-dgram into a write stream (PERF-ANCHORS'
 *   node-naive);
 * - the peers of ./peers.ts.
 *
 * The collector's config is written per trial: metadata roots off (the host's /var/lib/docker is
 * not ours to read), rotation off (so counting lines counts every message), the trial's socket
 * and directory from the command line, diagnostics as JSON on stderr so the case can read the
 * `--profile` summary back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Proc } from './cleanup';
import { pollUntil } from './common';
import { PEERS_BY_NAME, type PeerSpec, ROOT, type Running } from './peers';

export type { Running } from './peers';

/** `attribution.method` of the collector's config. */
export type Method = 'auto' | 'pidfd' | 'proc-verified' | 'proc' | 'none';

/** What a trial sets in the collector's config. */
export interface CollectorOptions {
  method: Method;
  /** attribution.debug_delay_us: a busy-wait per message between receiving and attributing. */
  delayUs?: number;
  format: 'text' | 'json';
  /** `--profile FILE`. */
  profileFile?: string;
}

/** One function of the collector's CPU profile, as its stop-time log line lists them. */
export interface ProfileEntry {
  name: string;
  selfPercent: number;
}

/** The built CLI, as an operator runs it. */
export const CLI = path.join(ROOT, 'dist', 'sinks', 'cli.js');

function collectorConfig(o: CollectorOptions): string {
  return [
    'rate_limit:',
    '  burst: 0',
    'attribution:',
    `  method: ${o.method}`,
    `  debug_delay_us: ${o.delayUs ?? 0}`,
    'files:',
    `  format: ${o.format}`,
    '  rotate_size_bytes: 0',
    'metadata:',
    '  docker_root: null',
    '  podman_root: null',
    '  pods_log_root: null',
    '  containers_log_root: null',
    'diagnostics:',
    '  format: json',
    '',
  ].join('\n');
}

/** Starts the real CLI on `<dir>/log` writing below `<dir>/logs`; resolves once it accepts messages. */
export async function startCollector(name: string, dir: string, o: CollectorOptions): Promise<Running> {
  const cfg = path.join(dir, 'container-syslog.yaml');
  fs.writeFileSync(cfg, collectorConfig(o));
  const socket = path.join(dir, 'log');
  const logs = path.join(dir, 'logs');
  const args = [CLI, 'run', '--config', cfg, '--socket', socket, '--dir', logs];
  if (o.profileFile !== undefined) args.push('--profile', o.profileFile);
  const proc = new Proc(name, process.execPath, args);
  const ok = await pollUntil(() => proc.stderr.includes('Accepting messages') || !proc.running, 30000);
  if (!ok || !proc.running) {
    await proc.stop('SIGKILL', 1000);
    throw new Error(`${name}: the collector did not start (exit ${proc.exitCode}): ${proc.stderr.slice(-1000)}`);
  }
  return { name, socket, proc, output: { kind: 'files', dir: logs }, stop: async () => void (await proc.stop('SIGTERM', 30000)) };
}

/** The top functions from the collector's stop-time log line (written with `--profile`). */
export function profileTop(stderr: string): ProfileEntry[] {
  for (const line of stderr.split('\n')) {
    if (!line.includes('CPU profile written')) continue;
    let message = line;
    try {
      message = (JSON.parse(line) as { message: string }).message;
    } catch {
      // a text line: parse it as it is
    }
    const list = message.slice(message.indexOf('self time:') + 'self time:'.length);
    const out: ProfileEntry[] = [];
    for (const m of list.matchAll(/\s*(.+?) (\d+(?:\.\d+)?)%(?:,|$)/g)) out.push({ name: m[1], selfPercent: Number(m[2]) });
    return out;
  }
  return [];
}

/** A node script of bench/ that prints `ready` once bound (ceiling-receiver, naive-receiver). */
async function startScript(name: string, script: string, dir: string): Promise<Running> {
  const socket = path.join(dir, 'log');
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(outDir);
  const proc = new Proc(name, process.execPath, [path.join(ROOT, 'dist', 'bench', script), socket, path.join(outDir, 'out.log')]);
  const ok = await pollUntil(() => proc.stdout.includes('ready') || !proc.running, 20000);
  if (!ok || !proc.running) {
    await proc.stop('SIGKILL', 1000);
    throw new Error(`${name} did not start (exit ${proc.exitCode}): ${proc.stderr.slice(-800)}`);
  }
  return { name, socket, proc, output: { kind: 'files', dir: outDir }, stop: async () => void (await proc.stop('SIGTERM', 20000)) };
}

function unixDgramMissing(): string | null {
  try {
    require.resolve('unix-dgram');
    return null;
  } catch {
    return 'npm unix-dgram is not installed (a devDependency)';
  }
}

/** Throughput systems in report order; the ceiling is the same-round reference. */
export const THROUGHPUT_SYSTEMS: PeerSpec[] = [
  { name: 'ceiling', unavailable: () => null, start: (dir) => startScript('ceiling', 'ceiling-receiver.js', dir) },
  { name: 'cs-full', unavailable: () => null, start: (dir) => startCollector('cs-full', dir, { method: 'auto', format: 'text' }) },
  { name: 'cs-creds', unavailable: () => null, start: (dir) => startCollector('cs-creds', dir, { method: 'none', format: 'text' }) },
  PEERS_BY_NAME.rsyslog,
  PEERS_BY_NAME['rsyslog-annotate'],
  PEERS_BY_NAME['syslog-ng'],
  PEERS_BY_NAME['syslog-ng-creds'],
  PEERS_BY_NAME.journald,
  { name: 'node-naive', unavailable: unixDgramMissing, start: (dir) => startScript('node-naive', 'naive-receiver.js', dir) },
];

/** What each throughput system is, for the report. */
export const SYSTEM_NOTES: Record<string, string> = {
  ceiling: 'the addon (recvmmsg batches, method none) draining payloads to one file in 64 KiB chunks',
  'cs-full': 'container-syslog CLI, attribution auto (pidfd + cgroup id + verified comm), per-container files, text',
  'cs-creds': 'container-syslog CLI, attribution none (SCM_CREDENTIALS only), one file, text',
  rsyslog: 'rsyslog imuxsock → omfile, default template',
  'rsyslog-annotate': 'rsyslog with Annotate="on": /proc/PID/{comm,exe,cmdline} per message',
  'syslog-ng': 'syslog-ng unix-dgram() → file(), flow-control',
  'syslog-ng-creds': 'syslog-ng so-passcred(yes): /proc/PID/{cmdline,exe,…} per message',
  journald: 'systemd-journald standalone in a private mount+net namespace, volatile storage',
  'node-naive': 'npm unix-dgram callback per datagram → fs write stream',
};
