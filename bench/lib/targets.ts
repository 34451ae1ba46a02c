/**
 * The targets of issue 6, checked against one run's results. Every throughput comparison is a
 * median over rounds of the two systems' rates in the same round (never a rate from one run
 * against a rate from another). A target whose inputs did not run here (a peer not installed, a
 * suite left out) is `null`: not met, not missed, and said so.
 */
import { type RaceRow } from './race-suite';
import { medianRatio, type ThroughputResult } from './throughput-suite';

/** One target of issue 6 and what this run measured for it. */
export interface Target {
  target: string;
  value: number | null;
  /** How the value is shown, e.g. "2.41×". */
  shown: string;
  met: boolean | null;
  note?: string;
}

function ratioTarget(t: ThroughputResult, peer: string, min: number): Target {
  const target = `cs-full ≥ ${min}× ${peer} (same-round ratio)`;
  const v = medianRatio(t.perRound, 'cs-full', peer);
  if (Number.isNaN(v)) return { target, value: null, shown: 'not run', met: null, note: `${peer} or cs-full did not run` };
  return { target, value: v, shown: `${v.toFixed(2)}×`, met: v >= min };
}

/** Evaluates every target it has inputs for. */
export function evaluateTargets(t: ThroughputResult | null, race: RaceRow[] | null, raceFree: boolean): Target[] {
  const out: Target[] = [];
  if (t !== null) {
    const full = t.rows.find((r) => r.case === 'cs-full');
    out.push(ratioTarget(t, 'rsyslog', 2), ratioTarget(t, 'rsyslog-annotate', 4), ratioTarget(t, 'journald', 4));
    const c = full?.ratioToCeiling;
    out.push({ target: 'cs-full ≥ 0.5 of the ceiling (same round)', value: c ?? null, shown: c !== undefined ? c.toFixed(3) : 'not run', met: c !== undefined ? c >= 0.5 : null });
    const cpu = full?.cpuUsPerMsg;
    out.push({ target: 'cs-full receiver CPU ≤ 3 µs per message', value: cpu ?? null, shown: cpu !== undefined ? `${cpu.toFixed(2)} µs` : 'not run', met: cpu !== undefined ? cpu <= 3 : null });
    const rss = full?.peakRssMb;
    out.push({ target: 'cs-full peak RSS ≤ 150 MB', value: rss ?? null, shown: rss !== undefined ? `${rss} MB` : 'not run', met: rss !== undefined ? rss <= 150 : null });
    const lostBy = t.rows.filter((r) => (r.lost ?? 0) > 0).map((r) => `${r.case} ${r.lost}`);
    const ran = t.rows.filter((r) => r.lost !== undefined).length;
    out.push({
      target: 'zero lost, every system',
      value: lostBy.length,
      shown: ran === 0 ? 'not run' : lostBy.length === 0 ? `0 lost (${ran} systems)` : lostBy.join(', '),
      met: ran === 0 ? null : lostBy.length === 0,
    });
  }
  if (race !== null) {
    const pidfd = race.filter((r) => r.method === 'pidfd' && r.cgroup !== undefined && r.cgroup !== null);
    const bad = pidfd.filter((r) => r.cgroup!.missing > 0 || r.cgroup!.wrong > 0 || (r.lost ?? 0) > 0);
    const target = 'race: pidfd 0 missing and 0 wrong cgroups in every configuration';
    if (pidfd.length === 0) out.push({ target, value: null, shown: 'not run', met: null });
    else {
      out.push({
        target,
        value: bad.length,
        shown: bad.length === 0 ? `${pidfd.length}/${pidfd.length} configurations clean` : bad.map((r) => r.case).join(', '),
        met: bad.length === 0,
        ...(raceFree ? {} : { note: 'this kernel does not hand out pidfds for reaped senders (< 6.17): misses are expected' }),
      });
    }
  }
  return out;
}
