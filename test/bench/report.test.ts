/**
 * The bench report's pure parts: same-round ratios, the targets of issue 6, the profile summary
 * read back from the collector's log, and the hand-written SVG.
 */
import { evaluateTargets } from '../../bench/lib/targets';
import { barChart, esc, stackChart } from '../../bench/lib/svg';
import { profileTop } from '../../bench/lib/systems';
import { medianRatio, type ThroughputResult } from '../../bench/lib/throughput-suite';

test('ratios are taken within a round, then the median over rounds', () => {
  const perRound = { a: [200, 100, 300], b: [100, 100, NaN] };
  expect(medianRatio(perRound, 'a', 'b')).toBe(1.5); // rounds 1 and 2 only: 2 and 1
  expect(Number.isNaN(medianRatio(perRound, 'a', 'missing'))).toBe(true);
});

test('targets: met, missed, and not run when a peer is absent', () => {
  const t: ThroughputResult = {
    perRound: { 'cs-full': [300, 320], rsyslog: [200, 200], ceiling: [500, 500] },
    rows: [
      { case: 'ceiling', what: '', lost: 0, ratioToCeiling: 1 },
      { case: 'cs-full', what: '', lost: 0, ratioToCeiling: 0.62, cpuUsPerMsg: 3.5, peakRssMb: 70 },
      { case: 'rsyslog', what: '', lost: 0 },
    ],
  };
  const race = [{ case: 'cs pidfd 0us host', method: 'pidfd', cgroup: { ok: 10, missing: 0, wrong: 0 }, lost: 0 }];
  const byName = Object.fromEntries(evaluateTargets(t, race, true).map((x) => [x.target, x]));
  expect(byName['cs-full ≥ 2× rsyslog (same-round ratio)'].value).toBeCloseTo(1.55); // rounds: 1.5 and 1.6
  expect(byName['cs-full ≥ 2× rsyslog (same-round ratio)'].met).toBe(false);
  expect(byName['cs-full ≥ 4× journald (same-round ratio)'].met).toBeNull();
  expect(byName['cs-full ≥ 0.5 of the ceiling (same round)'].met).toBe(true);
  expect(byName['cs-full receiver CPU ≤ 3 µs per message'].met).toBe(false);
  expect(byName['cs-full peak RSS ≤ 150 MB'].met).toBe(true);
  expect(byName['race: pidfd 0 missing and 0 wrong cgroups in every configuration'].met).toBe(true);
});

test('the profile summary is read back from the collector\'s json diagnostics', () => {
  const line = JSON.stringify({
    level: 'info',
    message: "CPU profile written to '/tmp/p.pb.gz'. Top functions by self time: writeBuffer 20.4%, (anonymous:L#103:C#20) 1.7%, Garbage Collection 3.0%",
  });
  expect(profileTop(`other line\n${line}\n`)).toEqual([
    { name: 'writeBuffer', selfPercent: 20.4 },
    { name: '(anonymous:L#103:C#20)', selfPercent: 1.7 },
    { name: 'Garbage Collection', selfPercent: 3 },
  ]);
  expect(profileTop('nothing here')).toEqual([]);
});

test('SVG charts escape their labels and draw one bar per row', () => {
  expect(esc('<a & "b">')).toBe('&lt;a &amp; &quot;b&quot;&gt;');
  const bars = barChart('t', ['s'], [
    { label: 'x<y', value: 2, note: '2/s', color: '#000' },
    { label: 'z', value: 1, note: '1/s', color: '#111' },
  ]);
  expect(bars).toContain('x&lt;y');
  expect(bars.match(/<rect [^>]*fill="#(000|111)"/g)).toHaveLength(2);
  const stacks = stackChart('t', ['s'], ['cgroup', 'comm'], [{ heading: 'h', rows: [{ label: 'pidfd', cells: [{ ok: 3, missing: 1, wrong: 0 }, null] }] }]);
  expect(stacks).toContain('3/1/0');
  expect(stacks).toContain('n/a (not recorded)');
});
