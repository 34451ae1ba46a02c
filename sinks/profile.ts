/**
 * `run --profile FILE`: a CPU profile of the collector's JavaScript (@datadog/pprof's wall-time
 * sampler, pprof format, gzipped) for the whole run, written at stop, plus the functions that
 * took the most samples. The native side is profiled with `perf`, not here.
 */
import fs from 'node:fs';
import { encodeSync, time } from '@datadog/pprof';

export interface TopFunction {
  name: string;
  file: string;
  line: number;
  /** Share of all samples spent in this function itself. */
  selfShare: number;
}

export function startProfile(intervalMicros = 1000): void {
  time.start({ intervalMicros });
}

/** Stops the sampler, writes the profile, and returns the top functions by self samples. */
export function stopProfile(file: string, top = 15): TopFunction[] {
  const profile = time.stop();
  fs.writeFileSync(file, encodeSync(profile));
  const strings = profile.stringTable.strings;
  const fnById = new Map<string, { name: string; file: string; line: number }>();
  for (const f of profile.function) fnById.set(String(f.id), { name: strings[Number(f.name)] ?? '?', file: strings[Number(f.filename)] ?? '', line: Number(f.startLine ?? 0) });
  const locFn = new Map<string, string>();
  for (const l of profile.location) locFn.set(String(l.id), String(l.line[0]?.functionId ?? ''));
  const self = new Map<string, number>();
  let total = 0;
  for (const s of profile.sample) {
    const n = Number(s.value[0] ?? 0);
    total += n;
    const leaf = locFn.get(String(s.locationId[0])) ?? '';
    self.set(leaf, (self.get(leaf) ?? 0) + n);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([id, n]) => {
      const f = fnById.get(id) ?? { name: '(unknown)', file: '', line: 0 };
      return { name: f.name || '(anonymous)', file: f.file, line: f.line, selfShare: total > 0 ? n / total : 0 };
    });
}
