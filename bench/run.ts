/**
 * `npm run bench [-- OPTIONS]`: the benchmarks of issue 6, every case in a fresh child process,
 * in interleaved rounds (the starting case rotates), reported as medians and as ratios to a
 * reference case run in the same round — never as a rate from one run set against another's.
 *
 * Suites, in the order they run:
 * - `receive`: receive path only (count, no file), batched vs per-datagram, creds vs pidfd, and
 *   npm unix-dgram; also the load generator's check (senders' rate, would-block share);
 * - `throughput`: container-syslog (full attribution, credentials only), the addon ceiling,
 *   rsyslog, syslog-ng, journald, a naive Node receiver, into files (bench/lib/throughput-suite.ts);
 * - `profile`: one cs-full trial under `--profile`, its top functions (full runs, or `--profile`);
 * - `race`: short-lived senders, attribution methods × delays, on the host and under PID reuse,
 *   with journald and rsyslog Annotate (bench/lib/race-suite.ts).
 *
 * Options: `--quick` (100,000 messages, 1 round, 200 race senders, no profile: CI's smoke test),
 * `--rounds N`, `--messages N`, `--race-senders N`, `--only SUITE[,SUITE]`, `--systems A[,B]`
 * (throughput subset), `--profile`, `--install-peers` (bench/peers/install.sh first: rsyslog and
 * syslog-ng from Debian into .peers/). Peers that are not installed are skipped and say so.
 *
 * Writes bench/results/latest.json and latest.md, throughput.svg, race.svg (`--quick`: the
 * *-quick variants, ignored by git). Exits 1 when a case failed, a receiver lost messages, or the
 * pidfd method missed or misattributed a sender on a kernel that promises it cannot (CI relies on
 * this); a missed performance target is reported, not failed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { probeKernel } from '../collector';
import { type CaseResult, machine, median, round3, runCaseChild } from './lib/common';
import { type RaceRow, runRace } from './lib/race-suite';
import { evaluateTargets } from './lib/targets';
import { runProfile, runThroughput, type ThroughputResult, type TrialResult } from './lib/throughput-suite';
import { type BenchResults, writeReport } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const SUITE_NAMES = ['receive', 'throughput', 'profile', 'race'];
const SENDERS = 4;

interface Args {
  quick: boolean;
  rounds: number;
  messages: number;
  raceSenders: number;
  only: string[] | null;
  systems: string[] | null;
  profile: boolean;
  installPeers: boolean;
}

const FLAGS_WITH_VALUE = ['--rounds', '--messages', '--race-senders', '--only', '--systems'];
const FLAGS = ['--quick', '--profile', '--install-peers', ...FLAGS_WITH_VALUE];
const USAGE = `usage: npm run bench [-- --quick] [--rounds N] [--messages N] [--race-senders N]
                 [--only ${SUITE_NAMES.join(',')}] [--systems A,B] [--profile] [--install-peers]`;

function parseArgs(argv: string[]): Args {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    if (!FLAGS.includes(argv[i])) {
      process.stderr.write(`unknown option '${argv[i]}'\n${USAGE}\n`);
      process.exit(2);
    }
    if (FLAGS_WITH_VALUE.includes(argv[i])) i++;
  }
  const value = (name: string): string | null => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : null;
  };
  const list = (name: string): string[] | null => value(name)?.split(',').filter(Boolean) ?? null;
  const quick = argv.includes('--quick');
  const only = list('--only');
  for (const s of only ?? []) if (!SUITE_NAMES.includes(s)) throw new Error(`unknown suite '${s}' (${SUITE_NAMES.join(', ')})`);
  return {
    quick,
    rounds: Number(value('--rounds') ?? (quick ? 1 : 5)),
    messages: Number(value('--messages') ?? (quick ? 100_000 : 1_000_000)),
    raceSenders: Number(value('--race-senders') ?? (quick ? 200 : 4000)),
    only,
    systems: list('--systems'),
    profile: argv.includes('--profile') || (!quick && (only === null || only.includes('profile'))),
    installPeers: argv.includes('--install-peers'),
  };
}

/** The receive suite (receive-case.ts): reference batched-creds, same-round ratios. */
async function runReceive(a: Args): Promise<Record<string, unknown>[]> {
  const script = path.join(__dirname, 'receive-case.js');
  const cases = ['batched-creds', 'batched-pidfd', 'per-datagram-creds', 'per-datagram-pidfd', 'unix-dgram'];
  const reference = 'batched-creds';
  const perCase = new Map<string, CaseResult[]>(cases.map((c) => [c, []]));
  const ratios = new Map<string, number[]>(cases.map((c) => [c, []]));
  for (let round = 0; round < a.rounds; round++) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]);
    const inRound = new Map<string, CaseResult>();
    for (const c of order) {
      const res = await runCaseChild(script, [c, String(a.messages), String(SENDERS)]);
      perCase.get(c)!.push(res);
      inRound.set(c, res);
      process.stderr.write(
        `[receive] round ${round + 1}/${a.rounds} ${c}: ${res.msgsPerSec} msgs/s, ${res.cpuUsPerMsg.toFixed(2)} µs/msg, lost ${res.lost}, would-block ${String(res.wouldBlockShare)}\n`,
      );
    }
    const ref = inRound.get(reference)!;
    for (const [c, res] of inRound) ratios.get(c)!.push(res.msgsPerSec / ref.msgsPerSec);
  }
  return cases.map((c) => {
    const rs = perCase.get(c)!;
    return {
      suite: 'receive',
      case: c,
      rounds: rs.length,
      messages: rs[0].messages,
      msgsPerSec: Math.round(median(rs.map((r) => r.msgsPerSec))),
      minMsgsPerSec: Math.min(...rs.map((r) => r.msgsPerSec)),
      maxMsgsPerSec: Math.max(...rs.map((r) => r.msgsPerSec)),
      ratioToReference: round3(median(ratios.get(c)!)),
      reference,
      cpuUsPerMsg: round3(median(rs.map((r) => r.cpuUsPerMsg))),
      peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
      lost: rs.reduce((x, r) => x + r.lost, 0),
      senderMsgsPerSec: Math.round(median(rs.map((r) => Number(r.senderMsgsPerSec)))),
      senderCpuUsPerMsg: round3(median(rs.map((r) => Number(r.senderCpuUsPerMsg)))),
      wouldBlockShare: round3(median(rs.map((r) => Number(r.wouldBlockShare)))),
    };
  });
}

/** Why this run should fail (CI): broken cases and lost messages, not missed speed targets. */
function failures(r: BenchResults, raceFree: boolean): string[] {
  const out: string[] = [];
  for (const x of r.results.receive ?? []) if (Number(x.lost) > 0) out.push(`receive ${String(x.case)} lost ${String(x.lost)}`);
  for (const row of r.results.throughput?.rows ?? []) {
    if (row.errors !== undefined) out.push(`throughput ${row.case}: ${row.errors.join('; ')}`);
    if ((row.lost ?? 0) > 0) out.push(`throughput ${row.case} lost ${row.lost}`);
  }
  if (r.results.profile?.error !== undefined) out.push(`profile: ${r.results.profile.error}`);
  for (const x of r.results.race ?? []) {
    if (x.error !== undefined) out.push(`race ${x.case}: ${x.error}`);
    if ((x.lost ?? 0) > 0) out.push(`race ${x.case} lost ${x.lost}`);
    if (x.hostPidMax !== undefined && x.hostPidMax.before !== x.hostPidMax.after) out.push(`race ${x.case} changed the host's pid_max`);
    if (raceFree && x.method === 'pidfd' && x.cgroup !== null && x.cgroup !== undefined && (x.cgroup.missing > 0 || x.cgroup.wrong > 0)) {
      const why = x.pidfd === undefined ? '' : ` (collector: GET_INFO errors ${x.pidfd.getInfoErrors} after ${x.pidfd.getInfoRetries} retries, ${x.pidfd.missing} datagrams without a pidfd, ${x.pidfd.stale} stale)`;
      out.push(`race ${x.case}: pidfd missed ${x.cgroup.missing} and misattributed ${x.cgroup.wrong} cgroups${why}`);
    }
  }
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const a = parseArgs(argv);
  const want = (suite: string): boolean => a.only === null || a.only.includes(suite);
  if (a.installPeers) {
    const res = spawnSync('bash', [path.join(ROOT, 'bench', 'peers', 'install.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (res.status !== 0) throw new Error(`bench/peers/install.sh failed (exit ${res.status})`);
  }
  let kernel: BenchResults['kernel'] = null;
  try {
    const k = probeKernel();
    kernel = { rung: k.rung, method: k.method, summary: k.summary };
  } catch (err) {
    process.stderr.write(`kernel probe failed: ${(err as Error).message}\n`);
  }
  const raceFree = kernel?.rung === 'pidfd-reaped';
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const suffix = a.quick ? '-quick' : '';
  const settleMs = a.quick ? 300 : 1000;
  const tOpts = { messages: a.messages, senders: SENDERS, rounds: a.rounds, settleMs, only: a.systems };

  let receive: Record<string, unknown>[] | undefined;
  let throughput: ThroughputResult | undefined;
  let profile: TrialResult | undefined;
  let race: RaceRow[] | undefined;
  if (want('receive')) {
    receive = await runReceive(a);
    for (const line of receive) process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  if (want('throughput')) {
    throughput = await runThroughput(tOpts);
    for (const row of throughput.rows) process.stdout.write(`${JSON.stringify({ suite: 'throughput', ...row })}\n`);
  }
  if (a.profile) {
    profile = await runProfile(tOpts, path.join(outDir, `cs-full${suffix}.pprof.pb.gz`));
    process.stdout.write(`${JSON.stringify({ suite: 'profile', ...profile })}\n`);
  }
  if (want('race')) {
    race = await runRace({ senders: a.raceSenders, pidMax: 400, decoys: 60, modes: ['host', 'pidns'] });
    for (const row of race) process.stdout.write(`${JSON.stringify({ suite: 'race', ...row })}\n`);
  }

  const results: BenchResults = {
    date: new Date().toISOString(),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    machine: machine(),
    kernel,
    quick: a.quick,
    rounds: a.rounds,
    messages: a.messages,
    senders: SENDERS,
    raceSenders: a.raceSenders,
    results: { receive, throughput, race, profile },
    targets: evaluateTargets(throughput ?? null, race ?? null, raceFree),
  };
  const json = path.join(outDir, `latest${suffix}.json`);
  fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  const md = writeReport(results, outDir);
  process.stderr.write(`results written to ${path.relative(process.cwd(), json)} and ${path.relative(process.cwd(), md)}\n`);
  for (const t of results.targets) process.stderr.write(`target: ${t.target}: ${t.shown} → ${t.met === null ? 'not run' : t.met ? 'met' : 'MISSED'}\n`);
  const fail = failures(results, raceFree);
  for (const f of fail) process.stderr.write(`FAILED: ${f}\n`);
  if (fail.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
