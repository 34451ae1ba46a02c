/**
 * One race-window trial in its own process (KERNEL.md §8, with the real collector):
 *
 *   node dist/bench/race-case.js SYSTEM SENDERS [--method M] [--delay-us D] [--groups K]
 *                                [--jobs J] [--pidns [--pid-max N] [--decoys N]]
 *
 * SYSTEM is `cs` (the CLI, json lines, `attribution.method` M forced, `debug_delay_us` D: a
 * busy-wait per message between receiving and attributing, modelling a loaded collector),
 * `journald` or `rsyslog-annotate`. SENDERS short-lived senders (cs-send -e: one process per
 * datagram, at most J alive, each reaped at once, connecting like glibc) join K docker-shaped cgroups by index, name
 * themselves `s%06d` and send one datagram each; bench/lib/race-truth.ts scores what the
 * receiver recorded against that truth.
 *
 * `--pidns` forces PID reuse the way §8's "pidns400 +decoys" did: the case re-runs itself as the
 * init of a private PID namespace (`unshare --pid --fork --mount-proc --kill-child`) and, inside
 * it only, writes N to /proc/sys/kernel/pid_max (per-namespace since 6.14: after a wrap PIDs
 * cycle through 300..N-1), starts the receiver, then decoys (bench/tools/decoys.c: short-lived
 * processes in another cgroup that take over freed PIDs), then the senders — all inside. The host's
 * pid_max is read before and after and must not change; the case refuses to start when the kernel
 * lacks per-namespace pid_max (a write would then be host-wide). Killing the namespace's init ends
 * everything in it; cgroups are made and removed by the outer process.
 */
import fs from 'node:fs';
import { nativeToolPath } from '../collector';
import { type BenchCgroup, BenchCgroups, cgroupsUnavailable } from './lib/cgroups';
import { cleanupAll, onCleanup, Proc } from './lib/cleanup';
import { hasCommand, parseSendReport, sleep, tempDir } from './lib/common';
import { startDecoys } from './lib/decoys';
import { waitForEnd } from './lib/outputs';
import { PEERS_BY_NAME, type Running } from './lib/peers';
import { collectorClaims, journalClaims, type RaceScore, rsyslogClaims, score } from './lib/race-truth';
import { type Method, startCollector } from './lib/systems';

const PID_MAX = '/proc/sys/kernel/pid_max';
const ENV = 'CS_BENCH_RACE_INSIDE';

interface Options {
  system: 'cs' | 'journald' | 'rsyslog-annotate';
  senders: number;
  method: Method;
  delayUs: number;
  groups: number;
  jobs: number;
  pidns: boolean;
  pidMax: number;
  decoys: number;
}

/** What the inside of a namespace needs from the outer process. */
interface Layout {
  groups: BenchCgroup[];
  senderFormat: string;
  decoyDir: string | null;
}

function parseOptions(argv: string[]): Options {
  const opt = (name: string, dflt: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const system = argv[0] as Options['system'];
  if (!['cs', 'journald', 'rsyslog-annotate'].includes(system)) throw new Error(`unknown system '${system}' (cs, journald, rsyslog-annotate)`);
  return {
    system,
    senders: Number(argv[1]),
    method: opt('--method', 'pidfd') as Method,
    delayUs: Number(opt('--delay-us', '0')),
    groups: Number(opt('--groups', '4')),
    jobs: Number(opt('--jobs', '8')),
    pidns: argv.includes('--pidns'),
    pidMax: Number(opt('--pid-max', '400')),
    decoys: Number(opt('--decoys', '60')),
  };
}

function caseName(o: Options): string {
  const who = o.system === 'cs' ? `cs ${o.method} ${o.delayUs}us` : o.system;
  return `${who} ${o.pidns ? `pidns${o.pidMax}${o.decoys > 0 ? '+decoys' : ''}` : 'host'}`;
}

/** Why this trial cannot run here, or null. */
function unavailable(o: Options): string | null {
  const cg = cgroupsUnavailable();
  if (cg !== null) return cg;
  if (o.system !== 'cs') {
    const why = PEERS_BY_NAME[o.system].unavailable();
    if (why !== null) return why;
  }
  if (o.pidns) {
    if (!hasCommand('unshare')) return 'unshare (util-linux) is missing';
    // Per-namespace pid_max (7863dcc72d0f, 6.14): without it, writing pid_max in a child namespace
    // would change the host's, which no benchmark may do.
    let syms = '';
    try {
      syms = fs.readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      // unreadable: treated as absent
    }
    if (!/ pid_table_root_lookup$/m.test(syms)) return 'this kernel has no per-namespace pid_max (6.14+), so PID reuse cannot be forced without changing the host';
  }
  return null;
}

async function startReceiver(o: Options, dir: string): Promise<Running> {
  if (o.system === 'cs') return startCollector('cs', dir, { method: o.method, delayUs: o.delayUs, format: 'json' });
  return PEERS_BY_NAME[o.system].start(dir);
}

async function claimsOf(o: Options, rx: Running, layout: Layout): Promise<RaceScore> {
  if (rx.output.kind === 'journal') return score(await journalClaims(rx.output.store), o.senders, layout.groups);
  const dir = rx.output.dir;
  return score(o.system === 'cs' ? collectorClaims(dir) : rsyslogClaims(dir), o.senders, layout.groups);
}

/** The trial itself, on the host or as the init of the private PID namespace. */
async function trial(o: Options, layout: Layout): Promise<Record<string, unknown>> {
  let nsPidMax: number | null = null;
  if (o.pidns) {
    // Only ever inside the namespace: we are its init, and /proc is its own (--mount-proc).
    if (process.pid !== 1 || fs.readlinkSync('/proc/self') !== '1') throw new Error('refusing to set pid_max outside a private PID namespace with its own /proc');
    fs.writeFileSync(PID_MAX, String(o.pidMax));
    nsPidMax = Number(fs.readFileSync(PID_MAX, 'utf8'));
    await fs.promises.readFile(PID_MAX); // start libuv's threads now, before PIDs run short
  }
  const dir = tempDir('cs-race-');
  onCleanup(`temp dir ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  const rx = await startReceiver(o, dir);
  await sleep(300);
  const decoys = layout.decoyDir !== null && o.decoys > 0 ? await startDecoys(layout.decoyDir, o.decoys) : null;
  const args = ['-s', rx.socket, '-C', '-e', '-n', String(o.senders), '-k', String(o.groups), '-j', String(o.jobs), '-G', layout.senderFormat, '-c', 's%06d'];
  const sender = new Proc('cs-send', nativeToolPath('cs-send'), args);
  await sender.wait();
  const rep = parseSendReport(sender.stdout);
  const decoyStats = decoys !== null ? await decoys.stop() : null;
  const end = await waitForEnd(rx.output, { expected: () => rep.sent, sendersDone: () => true, stableMs: 300, idleMs: 10000 });
  await rx.stop();
  const s = await claimsOf(o, rx, layout);
  // The collector's stop line: how often PIDFD_GET_INFO met a sender mid-exit, and failed, and
  // datagrams that came without a usable pidfd: what explains a `pidfd` miss, should one occur.
  const stopLine = /pidfd errors (\d+) after (\d+) exit-race retries, (\d+) datagrams without a pidfd, (\d+) with a stale one/.exec(rx.proc.stderr);
  return {
    case: caseName(o),
    system: o.system,
    method: o.system === 'cs' ? o.method : null,
    delayUs: o.system === 'cs' ? o.delayUs : null,
    mode: o.pidns ? 'pidns' : 'host',
    senders: o.senders,
    sent: rep.sent,
    notSent: o.senders - rep.sent,
    written: end.count,
    lost: rep.sent - s.received,
    ...s,
    ...(stopLine !== null
      ? { pidfd: { getInfoRetries: Number(stopLine[2]), getInfoErrors: Number(stopLine[1]), missing: Number(stopLine[3]), stale: Number(stopLine[4]) } }
      : {}),
    ...(decoyStats !== null ? { decoys: { concurrent: o.decoys, ...decoyStats } } : {}),
    ...(nsPidMax !== null ? { nsPidMax } : {}),
  };
}

async function outer(o: Options): Promise<Record<string, unknown>> {
  const cgroups = new BenchCgroups(o.groups + (o.pidns ? 1 : 0), 'cs-race');
  const groups = cgroups.groups.slice(0, o.groups);
  const layout: Layout = { groups, senderFormat: cgroups.senderFormat, decoyDir: o.pidns ? cgroups.groups[o.groups].dir : null };
  let result: Record<string, unknown>;
  if (!o.pidns) {
    result = await trial(o, layout);
  } else {
    const before = fs.readFileSync(PID_MAX, 'utf8').trim();
    const inside = new Proc(
      'pid namespace',
      'unshare',
      ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, __filename, ...process.argv.slice(2)],
      { env: { ...process.env, [ENV]: JSON.stringify(layout) } },
    );
    await inside.wait();
    const after = fs.readFileSync(PID_MAX, 'utf8').trim();
    const line = inside.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (line === undefined) throw new Error(`the namespace printed no result (exit ${inside.exitCode}): ${inside.stderr.slice(-1500)}`);
    result = JSON.parse(line) as Record<string, unknown>;
    result.hostPidMax = { before: Number(before), after: Number(after) };
    if (after !== before) throw new Error(`the host's pid_max changed from ${before} to ${after}: per-namespace pid_max did not hold`);
  }
  await cgroups.remove();
  return result;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const env = process.env[ENV];
  let result: Record<string, unknown>;
  if (env !== undefined) {
    if (process.pid !== 1) throw new Error('the inside run must be the init of its PID namespace');
    result = await trial(o, JSON.parse(env) as Layout);
  } else {
    const why = unavailable(o);
    result = why !== null ? { case: caseName(o), skipped: why } : await outer(o);
  }
  await cleanupAll();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`race-case: ${(err as Error).stack ?? String(err)}\n`);
  await cleanupAll();
  process.stdout.write(`${JSON.stringify({ case: process.argv.slice(2).join(' '), error: (err as Error).message })}\n`);
  process.exit(1);
});

