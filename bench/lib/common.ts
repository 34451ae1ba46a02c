/**
 * Shared bench plumbing: every case runs in a fresh child process and prints one JSON line;
 * the runner interleaves rounds and reports medians and same-round ratios, never absolute claims.
 *
 * Receivers are measured from outside, the way PERF-ANCHORS.md measured the peers: CPU is the
 * utime+stime of the receiver's whole process tree (every thread, plus children it reaped) read
 * from /proc/PID/stat before the senders are released and again when the trial has ended, so a
 * daemon, a wrapper such as `unshare`, and our own CLI are charged alike; /proc/PID/stat counts in
 * clock ticks (USER_HZ = 100 on Linux, so 10 ms resolution). Peak memory is the largest VmHWM
 * among the tree's processes, read at the end of the trial, before the receiver is stopped.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One receive-suite case's JSON line (receive-case.ts). */
export interface CaseResult {
  case: string;
  messages: number;
  received: number;
  lost: number;
  seconds: number;
  msgsPerSec: number;
  cpuUsPerMsg: number;
  peakRssMb: number;
  [extra: string]: unknown;
}

/** Median; NaN for an empty list. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `node <script> <args>` and returns the last JSON line it printed. On timeout the child gets
 * SIGTERM (cases clean up their receivers, cgroups and senders on it), then SIGKILL 5 s later.
 */
export function runCaseChild<T = CaseResult>(script: string, args: string[], timeoutMs = 300000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (killer !== undefined) clearTimeout(killer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line === undefined) return reject(new Error(`${path.basename(script)} ${args.join(' ')} exited ${code} without a result`));
      resolve(JSON.parse(line) as T);
    });
  });
}

/** A fresh directory under the OS temp dir, world-searchable so senders of any uid reach sockets. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** The facts a result depends on: kernel, CPUs, memory, Node, the unix datagram queue length. */
export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    unixMaxDgramQlen: readSysctl('net/unix/max_dgram_qlen'),
  };
}

function readSysctl(name: string): string {
  try {
    return fs.readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Rounds to three decimals (ratios in reports). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** USER_HZ: the unit of the times in /proc/PID/stat (100 on every Linux architecture we run on). */
const TICKS_PER_SEC = 100;

interface ProcStat {
  ppid: number;
  /** utime+stime+cutime+cstime, in ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The comm field is in parentheses and may hold spaces: split after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
}

/**
 * CPU time (user+system) of this process's children that it has already waited for, and of
 * their waited-for descendants, in µs (cutime+cstime of /proc/self/stat). Read before a child is
 * spawned and after it has been reaped, it is that child's tree's CPU: how the load generator's
 * own cost is measured.
 */
export function reapedChildrenCpuUs(): number {
  const text = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1e6) / TICKS_PER_SEC;
}

/** `root` and every process below it, found by walking /proc once. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const st = readStat(pid);
    if (st === null) continue;
    const list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    for (const c of children.get(pid) ?? []) todo.push(c);
  }
  return out;
}

/** CPU time (user+system, reaped children included) of `root`'s process tree, in µs. */
export function treeCpuUs(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1e6) / TICKS_PER_SEC;
}

/** write(2)-family calls (syscw of /proc/PID/io) made so far by `root`'s live process tree. */
export function treeWriteCalls(root: number): number {
  let n = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /^syscw: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
      if (m !== null) n += Number(m[1]);
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/** The largest VmHWM (peak resident set) among `root`'s process tree, in MB. */
export function treePeakRssMb(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m !== null) kb = Math.max(kb, Number(m[1]));
    } catch {
      // exited meanwhile
    }
  }
  return Math.round(kb / 1024);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` every `stepMs` until it holds (true) or `timeoutMs` passes (false). */
export async function pollUntil(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(stepMs);
  }
  return true;
}

/** cs-send's one-line JSON report (native/tools/cs-send.c). */
export interface SendReport {
  processes: number;
  sent: number;
  errors: number;
  firstErrno: string;
  wouldBlock: number;
  /** Release of the senders and completion of the last send, ms since the epoch (CLOCK_REALTIME). */
  t0: number;
  t1: number;
  pids: number[];
}

/** The load generator's side of a trial, reported with every case. */
export interface SenderSummary {
  /** Datagrams handed to the kernel per second, from release to the last send. */
  senderMsgsPerSec: number;
  /** Sends that found the receiver's queue full (tried with MSG_DONTWAIT first, then blocking). */
  wouldBlock: number;
  wouldBlockShare: number;
  sendErrors: number;
  /** CPU of cs-send and its sender processes per datagram, µs (NaN when not measured). */
  senderCpuUsPerMsg: number;
}

/** The senders' side of a trial; `cpuUs` is their tree's CPU (reapedChildrenCpuUs difference). */
export function senderSummary(rep: SendReport, cpuUs = NaN): SenderSummary {
  const s = (rep.t1 - rep.t0) / 1000;
  return {
    senderCpuUsPerMsg: rep.sent > 0 ? round3(cpuUs / rep.sent) : NaN,
    senderMsgsPerSec: s > 0 ? Math.round(rep.sent / s) : 0,
    wouldBlock: rep.wouldBlock,
    wouldBlockShare: rep.sent > 0 ? round3(rep.wouldBlock / rep.sent) : 0,
    sendErrors: rep.errors,
  };
}

/** Parses the last JSON line of cs-send's stdout. */
export function parseSendReport(stdout: string): SendReport {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (line === undefined) throw new Error(`cs-send printed no report: ${JSON.stringify(stdout.slice(-300))}`);
  return JSON.parse(line) as SendReport;
}
