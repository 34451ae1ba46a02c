/**
 * The throughput suite: every installed system (bench/lib/systems.ts) once per round, each trial
 * in a fresh `throughput-case` process, the starting system rotating each round so no system
 * always runs first (or right after the same neighbour). Rates on this shared 2-vCPU machine drift
 * between rounds, so comparisons are taken inside a round — each system's rate over the
 * ceiling's, over rsyslog's, … in that same round — and the medians of those ratios reported,
 * next to the median rate, its min–max, the median CPU µs per message, the largest peak RSS and
 * the total lost.
 */
import path from 'node:path';
import { median, round3, runCaseChild } from './common';
import { SYSTEM_NOTES, THROUGHPUT_SYSTEMS } from './systems';

/** One throughput trial's line (see throughput-case.ts). */
export interface TrialResult {
  case: string;
  skipped?: string;
  error?: string;
  messages: number;
  received: number;
  lost: number;
  msgsPerSec: number;
  cpuUsPerMsg: number;
  peakRssMb: number;
  bytesPerMsg: number;
  writeCallsPerMsg: number;
  senderMsgsPerSec: number;
  senderCpuUsPerMsg: number;
  wouldBlock: number;
  wouldBlockShare: number;
  sendErrors: number;
  profileTop?: { name: string; selfPercent: number }[];
  profileFile?: string;
}

/** One system's summary over the rounds. */
export interface ThroughputRow {
  case: string;
  what: string;
  /** Why it did not run (not installed, …); the other fields are then absent. */
  skipped?: string;
  errors?: string[];
  rounds?: number;
  messages?: number;
  msgsPerSec?: number;
  minMsgsPerSec?: number;
  maxMsgsPerSec?: number;
  ratioToCeiling?: number;
  cpuUsPerMsg?: number;
  peakRssMb?: number;
  lost?: number;
  bytesPerMsg?: number;
  writeCallsPerMsg?: number;
  senderMsgsPerSec?: number;
  senderCpuUsPerMsg?: number;
  wouldBlockShare?: number;
}

/** The suite's summary rows, and the per-round rates behind its ratios. */
export interface ThroughputResult {
  rows: ThroughputRow[];
  /** Rate of each system per round (NaN where a trial failed), for same-round ratios. */
  perRound: Record<string, number[]>;
}

/** The suite's parameters. */
export interface ThroughputOptions {
  messages: number;
  senders: number;
  rounds: number;
  settleMs: number;
  /** Systems to run (default: all). */
  only: string[] | null;
}

const CASE = path.join(__dirname, '..', 'throughput-case.js');

/** Runs the suite; progress goes to stderr. */
export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const systems = THROUGHPUT_SYSTEMS.filter((s) => o.only === null || o.only.includes(s.name));
  const rows = new Map<string, ThroughputRow>();
  const runnable: string[] = [];
  for (const s of systems) {
    const why = s.unavailable();
    rows.set(s.name, { case: s.name, what: SYSTEM_NOTES[s.name] ?? '', ...(why !== null ? { skipped: why } : {}) });
    if (why === null) runnable.push(s.name);
    else process.stderr.write(`[throughput] ${s.name}: skipped (${why})\n`);
  }
  const trials = new Map<string, TrialResult[]>(runnable.map((n) => [n, []]));
  const perRound: Record<string, number[]> = Object.fromEntries(runnable.map((n) => [n, []]));
  for (let round = 0; round < o.rounds; round++) {
    const order = runnable.map((_, i) => runnable[(i + round) % runnable.length]);
    for (const name of order) {
      let r: TrialResult;
      try {
        r = await runCaseChild<TrialResult>(CASE, [name, String(o.messages), String(o.senders), '--settle-ms', String(o.settleMs)], 600000);
      } catch (err) {
        r = { case: name, error: (err as Error).message } as TrialResult;
      }
      perRound[name].push(r.error === undefined && r.skipped === undefined ? r.msgsPerSec : NaN);
      trials.get(name)!.push(r);
      const msg =
        r.error !== undefined
          ? `error: ${r.error}`
          : `${r.msgsPerSec} msgs/s, ${r.cpuUsPerMsg.toFixed(2)} µs/msg, ${r.peakRssMb} MB, lost ${r.lost}, senders ${r.senderMsgsPerSec}/s would-block ${(r.wouldBlockShare * 100).toFixed(0)}%`;
      process.stderr.write(`[throughput] round ${round + 1}/${o.rounds} ${name}: ${msg}\n`);
    }
  }
  for (const name of runnable) {
    const all = trials.get(name)!;
    const ok = all.filter((r) => r.error === undefined && r.skipped === undefined);
    const row = rows.get(name)!;
    const errors = all.filter((r) => r.error !== undefined).map((r) => r.error as string);
    if (errors.length > 0) row.errors = errors;
    if (ok.length === 0) continue;
    Object.assign(row, {
      rounds: ok.length,
      messages: ok[0].messages,
      msgsPerSec: Math.round(median(ok.map((r) => r.msgsPerSec))),
      minMsgsPerSec: Math.min(...ok.map((r) => r.msgsPerSec)),
      maxMsgsPerSec: Math.max(...ok.map((r) => r.msgsPerSec)),
      ratioToCeiling: perRound.ceiling !== undefined ? round3(medianRatio(perRound, name, 'ceiling')) : undefined,
      cpuUsPerMsg: round3(median(ok.map((r) => r.cpuUsPerMsg))),
      peakRssMb: Math.max(...ok.map((r) => r.peakRssMb)),
      lost: ok.reduce((a, r) => a + r.lost, 0),
      bytesPerMsg: Math.round(median(ok.map((r) => r.bytesPerMsg))),
      writeCallsPerMsg: round3(median(ok.map((r) => r.writeCallsPerMsg))),
      senderMsgsPerSec: Math.round(median(ok.map((r) => r.senderMsgsPerSec))),
      senderCpuUsPerMsg: round3(median(ok.map((r) => r.senderCpuUsPerMsg))),
      wouldBlockShare: round3(median(ok.map((r) => r.wouldBlockShare))),
    });
  }
  return { rows: [...rows.values()], perRound };
}

/** Median over rounds of rate(a)/rate(b) in the same round; NaN when they never ran together. */
export function medianRatio(perRound: Record<string, number[]>, a: string, b: string): number {
  const xs = perRound[a];
  const ys = perRound[b];
  if (xs === undefined || ys === undefined) return NaN;
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) if (xs[i] > 0 && ys[i] > 0) ratios.push(xs[i] / ys[i]);
  return median(ratios);
}

/** One profiled cs-full trial (not part of the rounds): its top functions and the profile file. */
export async function runProfile(o: ThroughputOptions, file: string): Promise<TrialResult> {
  const args = ['cs-full', String(o.messages), String(o.senders), '--settle-ms', String(o.settleMs), '--profile', file];
  const r = await runCaseChild<TrialResult>(CASE, args, 600000);
  process.stderr.write(`[profile] cs-full: ${r.error ?? `${r.msgsPerSec} msgs/s under the profiler; top: ${(r.profileTop ?? []).slice(0, 5).map((f) => `${f.name} ${f.selfPercent}%`).join(', ')}`}\n`);
  return r;
}
