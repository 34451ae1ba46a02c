/**
 * One throughput trial in its own process:
 *
 *   node dist/bench/throughput-case.js SYSTEM TOTAL PROCS [--settle-ms MS] [--profile FILE]
 *
 * Starts SYSTEM (bench/lib/systems.ts) on a fresh socket and directory, gives it `--settle-ms` to
 * finish starting, then releases PROCS cs-send processes that send TOTAL glibc-shaped 128-byte
 * datagrams between them over a connected socket as glibc's syslog() does, blocking (every
 * would-block is counted first), each sender in its own
 * docker-shaped cgroup — the same load for every system, so only the receiver differs. The trial
 * ends when everything sent has been written (bench/lib/outputs.ts), and the case prints one JSON
 * line:
 *
 * - `msgsPerSec`: messages written / (time of the last write − the senders' release);
 * - `cpuUsPerMsg`: the receiver process tree's utime+stime over the trial / messages written;
 * - `peakRssMb`: the largest VmHWM in the receiver's tree at the end;
 * - `writeCallsPerMsg`: write(2)-family calls of the receiver's tree (/proc/PID/io syscw) per
 *   message: how well it batches its output (journald writes through mmap, so it shows few);
 * - `lost`: sent − written (must be 0: a blocking sender never drops, so any loss is the
 *   receiver's);
 * - the senders' own rate, CPU per message (cs-send's tree, from this process's cutime+cstime
 *   once it is reaped) and how often they found the queue full (`wouldBlockShare`): a full queue
 *   means the senders were waiting for the receiver, not the other way round;
 * - with `--profile` (cs-full only), the collector's top functions by CPU samples.
 *
 * Before the receiver starts: `sync`, so earlier trials' dirty pages are not flushed during this
 * one. Everything made is removed at the end, or on SIGTERM (bench/lib/cleanup.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { nativeToolPath } from '../collector';
import { BenchCgroups, cgroupsUnavailable } from './lib/cgroups';
import { cleanupAll, onCleanup, Proc } from './lib/cleanup';
import { parseSendReport, reapedChildrenCpuUs, type SendReport, senderSummary, sleep, tempDir, treeCpuUs, treePeakRssMb, treeWriteCalls } from './lib/common';
import { waitForEnd } from './lib/outputs';
import { profileTop, type Running, startCollector, THROUGHPUT_SYSTEMS } from './lib/systems';

function option(name: string): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : null;
}

async function main(): Promise<void> {
  const [system, totalArg, procsArg] = process.argv.slice(2);
  const total = Number(totalArg);
  const procs = Number(procsArg);
  const settleMs = Number(option('--settle-ms') ?? 1000);
  const profileFile = option('--profile');
  const spec = THROUGHPUT_SYSTEMS.find((s) => s.name === system);
  if (spec === undefined) throw new Error(`unknown system '${system}' (${THROUGHPUT_SYSTEMS.map((s) => s.name).join(', ')})`);
  const why = spec.unavailable();
  if (why !== null) return void process.stdout.write(`${JSON.stringify({ case: system, skipped: why })}\n`);

  const dir = tempDir(`cs-bench-${system}-`);
  onCleanup(`temp dir ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  const noCgroups = cgroupsUnavailable();
  const cgroups = noCgroups === null ? new BenchCgroups(procs) : null;
  spawnSync('sync');

  const rx: Running =
    profileFile !== null && system === 'cs-full'
      ? await startCollector('cs-full', dir, { method: 'auto', format: 'text', profileFile })
      : await spec.start(dir);
  await sleep(settleMs);

  const perProc = Math.ceil(total / procs);
  const args = ['-s', rx.socket, '-C', '-k', String(procs), '-n', String(perProc), '-w'];
  if (cgroups !== null) args.push('-G', cgroups.senderFormat);
  const cpu0 = treeCpuUs(rx.proc.pid);
  const writes0 = treeWriteCalls(rx.proc.pid);
  const senderCpu0 = reapedChildrenCpuUs();
  const sender = new Proc('cs-send', nativeToolPath('cs-send'), args);
  let report: SendReport | null = null;
  let senderCpuUs = NaN;
  const reported: Promise<SendReport> = sender.wait().then(() => {
    senderCpuUs = reapedChildrenCpuUs() - senderCpu0;
    report = parseSendReport(sender.stdout);
    return report;
  });
  const end = await waitForEnd(rx.output, {
    expected: () => (report !== null ? report.sent : perProc * procs),
    sendersDone: () => report !== null,
    stableMs: 400,
    idleMs: 15000,
  });
  const cpu1 = treeCpuUs(rx.proc.pid);
  const writes1 = treeWriteCalls(rx.proc.pid);
  const peakRssMb = treePeakRssMb(rx.proc.pid);
  const rep = await reported;
  await rx.stop();
  const top = profileFile !== null ? profileTop(rx.proc.stderr) : undefined;
  await cgroups?.remove();
  await cleanupAll();

  const seconds = (end.endMs - rep.t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      case: system,
      messages: rep.sent,
      received: end.count,
      lost: rep.sent - end.count,
      seconds,
      msgsPerSec: Math.round(end.count / seconds),
      cpuUsPerMsg: (cpu1 - cpu0) / Math.max(1, end.count),
      peakRssMb,
      bytesPerMsg: Math.round(end.bytes / Math.max(1, end.count)),
      writeCallsPerMsg: Math.round(((writes1 - writes0) / Math.max(1, end.count)) * 1000) / 1000,
      ...senderSummary(rep, senderCpuUs),
      sendersInCgroups: cgroups !== null,
      ...(noCgroups !== null ? { note: `senders not in cgroups: ${noCgroups}` } : {}),
      ...(top !== undefined ? { profileTop: top, profileFile } : {}),
      ...(rx.proc.exitCode !== 0 ? { receiverExit: rx.proc.exitCode, receiverStderr: rx.proc.stderr.slice(-500) } : {}),
    })}\n`,
  );
}

main().catch(async (err: unknown) => {
  process.stderr.write(`throughput-case: ${(err as Error).stack ?? String(err)}\n`);
  await cleanupAll();
  process.stdout.write(`${JSON.stringify({ case: process.argv[2], error: (err as Error).message })}\n`);
  process.exit(1);
});
