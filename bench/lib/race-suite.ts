/**
 * The race-window suite: every attribution method the collector can be forced to (`pidfd`,
 * `proc-verified`, `proc`) at every injected per-message delay (0, 10, 100, 1000 µs), first on
 * the host, then in the PID-reuse mode (private PID namespace, small pid_max, decoys); and, in both
 * modes, journald and rsyslog Annotate receiving the same kind of senders at their own pace. Each
 * trial in a fresh `race-case` process; the outcome is counts, not timings, so one round is
 * enough, and a trial that cannot run here (no root, no per-namespace pid_max, a peer missing)
 * says why.
 */
import path from 'node:path';
import { runCaseChild } from './common';
import { type Outcome } from './race-truth';

/** The attribution methods the collector is forced to, in report order. */
export const RACE_METHODS = ['pidfd', 'proc-verified', 'proc'] as const;
/** `attribution.debug_delay_us` values: 0, 10 µs, 100 µs, 1 ms per message (KERNEL.md §8). */
export const RACE_DELAYS_US = [0, 10, 100, 1000] as const;
/** Peers that receive the same short-lived senders at their own pace. */
export const RACE_PEERS = ['journald', 'rsyslog-annotate'] as const;

/** One trial's line (see race-case.ts). */
export interface RaceRow {
  case: string;
  skipped?: string;
  error?: string;
  system?: string;
  method?: string | null;
  delayUs?: number | null;
  mode?: 'host' | 'pidns';
  senders?: number;
  sent?: number;
  lost?: number;
  cgroup?: Outcome | null;
  comm?: Outcome;
  provenance?: { cgroup: Record<string, number>; comm: Record<string, number> };
  decoys?: { concurrent: number; forks: number; forkFailures: number };
  hostPidMax?: { before: number; after: number };
  /** pid_max inside the namespace (pidns mode). */
  nsPidMax?: number;
  /** The collector's own count of what can make `pidfd` miss (its stop line). */
  pidfd?: { getInfoRetries: number; getInfoErrors: number; missing: number; stale: number };
}

/** The suite's parameters: senders per trial, and the PID-reuse mode's pid_max and decoys. */
export interface RaceOptions {
  senders: number;
  pidMax: number;
  decoys: number;
  modes: ('host' | 'pidns')[];
}

const CASE = path.join(__dirname, '..', 'race-case.js');

function fmt(o: Outcome | null | undefined): string {
  return o === null || o === undefined ? 'n/a' : `${o.ok}/${o.missing}/${o.wrong}`;
}

/** Runs every configuration; progress (ok/missing/wrong) goes to stderr. */
export async function runRace(o: RaceOptions): Promise<RaceRow[]> {
  const configs: string[][] = [];
  for (const mode of o.modes) {
    const ns = mode === 'pidns' ? ['--pidns', '--pid-max', String(o.pidMax), '--decoys', String(o.decoys)] : [];
    for (const method of RACE_METHODS) {
      for (const delay of RACE_DELAYS_US) configs.push(['cs', String(o.senders), '--method', method, '--delay-us', String(delay), ...ns]);
    }
    for (const peer of RACE_PEERS) configs.push([peer, String(o.senders), ...ns]);
  }
  const rows: RaceRow[] = [];
  for (const args of configs) {
    let r: RaceRow;
    try {
      r = await runCaseChild<RaceRow>(CASE, args, 300000);
    } catch (err) {
      r = { case: args.join(' '), error: (err as Error).message };
    }
    rows.push(r);
    const what = r.error !== undefined ? `error: ${r.error}` : r.skipped !== undefined ? `skipped (${r.skipped})` : `cgroup ${fmt(r.cgroup)}, comm ${fmt(r.comm)} (ok/missing/wrong), lost ${r.lost}`;
    process.stderr.write(`[race] ${r.case}: ${what}\n`);
  }
  return rows;
}
