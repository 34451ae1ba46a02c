/**
 * The bench report: from one run's results (bench/results/latest.json), a markdown page and two
 * SVG charts in bench/results/ — latest.md, throughput.svg, race.svg (a `--quick` run writes
 * latest-quick.* and *-quick.svg, which git ignores). The markdown is meant to be pasted into (or
 * included by) the README as it is: it names the machine, kernel and command it came from, and
 * its image links are relative to the repository root.
 *
 *   node dist/bench/report.js [RESULTS.json]   (re-renders the page and charts from a JSON file)
 */
import fs from 'node:fs';
import path from 'node:path';
import { type RaceRow, RACE_DELAYS_US, RACE_METHODS, RACE_PEERS } from './lib/race-suite';
import { barChart, type StackGroup, stackChart } from './lib/svg';
import { type Target } from './lib/targets';
import { type ThroughputResult, type TrialResult } from './lib/throughput-suite';

/** Everything one `npm run bench` produced. */
export interface BenchResults {
  date: string;
  command: string;
  machine: Record<string, string | number>;
  kernel: { rung: string; method: string; summary: string } | null;
  quick: boolean;
  rounds: number;
  messages: number;
  senders: number;
  raceSenders: number;
  results: {
    receive?: Record<string, unknown>[];
    throughput?: ThroughputResult;
    race?: RaceRow[];
    profile?: TrialResult;
  };
  targets: Target[];
}

const OURS = new Set(['cs-full', 'cs-creds']);

function n(x: number | undefined, digits = 0): string {
  return x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function triple(o: { ok: number; missing: number; wrong: number } | null | undefined): string {
  if (o === null || o === undefined) return 'not recorded';
  return `${o.ok} / ${o.missing} / ${o.wrong === 0 ? '0' : `**${o.wrong}**`}`;
}

function machineLine(r: BenchResults): string {
  const m = r.machine;
  const rung = r.kernel !== null ? `; attribution rung \`${r.kernel.rung}\` (auto = \`${r.kernel.method}\`)` : '';
  return `${m.cpus} vCPU ${m.cpuModel}, ${m.memGb} GiB, Linux ${m.kernel}, Node ${m.node}, net.unix.max_dgram_qlen ${m.unixMaxDgramQlen}${rung}`;
}

function shortMachine(r: BenchResults): string {
  const m = r.machine;
  return `${m.cpus} vCPU ${m.cpuModel}, Linux ${m.kernel}, Node ${m.node}${r.kernel !== null ? `, rung ${r.kernel.rung}` : ''} · ${r.date.slice(0, 10)}${r.quick ? ' · quick run' : ''}`;
}

function throughputSection(r: BenchResults, t: ThroughputResult, chart: string): string[] {
  const lines = [
    `## Throughput`,
    '',
    `${r.senders} cs-send processes (each in its own docker-shaped cgroup) send ${n(r.messages)} glibc-shaped 128-byte datagrams per trial, blocking; ` +
      `${r.rounds} interleaved round${r.rounds === 1 ? '' : 's'}, each system in a fresh process; medians, and ratios to the ceiling taken within each round. ` +
      'CPU is the receiver process tree\'s utime+stime (/proc/PID/stat) per message written, and "receiver cores" that times the rate (≈ 1 for a receiver that is its own bottleneck on one thread); RSS is its peak (VmHWM); write(2)/msg counts its write-family calls (/proc/PID/io syscw; journald writes through mmap); lost is sent − lines (journald: entries) written.',
    '',
    '| system | msgs/s (median) | min–max | × ceiling | CPU µs/msg | receiver cores | peak RSS MB | lost | bytes/msg | write(2)/msg | senders\' CPU µs/msg | would-block |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of t.rows) {
    if (row.msgsPerSec === undefined) continue;
    const name = OURS.has(row.case) ? `**${row.case}**` : row.case;
    lines.push(
      `| ${name} | ${n(row.msgsPerSec)} | ${n(row.minMsgsPerSec)}–${n(row.maxMsgsPerSec)} | ${n(row.ratioToCeiling, 3)} | ${n(row.cpuUsPerMsg, 2)} | ${n(((row.cpuUsPerMsg ?? 0) * (row.msgsPerSec ?? 0)) / 1e6, 2)} | ${row.peakRssMb} | ${row.lost} | ${row.bytesPerMsg} | ${n(row.writeCallsPerMsg, 3)} | ${n(row.senderCpuUsPerMsg, 2)} | ${n((row.wouldBlockShare ?? 0) * 100)} % |`,
    );
  }
  lines.push('', ...t.rows.map((row) => `- \`${row.case}\`: ${row.what}${row.skipped !== undefined ? ` — **skipped**: ${row.skipped}` : ''}${row.errors !== undefined ? ` — **errors**: ${row.errors.join('; ')}` : ''}`));
  lines.push('', `![Throughput per system](${chart})`, '');
  return lines;
}

function raceSection(r: BenchResults, race: RaceRow[], chart: string): string[] {
  const lines = [
    '## Race windows',
    '',
    `${n(r.raceSenders)} short-lived senders per trial (cs-send -e: one process per datagram, at most 8 alive, each reaped at once), spread over 4 docker-shaped cgroups, each named \`s%06d\` by index. ` +
      'ok / missing / wrong against the cgroup each sender joined and the name it gave itself. `delay` is `attribution.debug_delay_us`, a busy-wait per message between receiving and attributing (a loaded collector). ' +
      '"reaped" counts messages whose sender had been reaped before attribution (`attribution.cgroup: pidfd-exited`). journald and rsyslog run at their own pace; journald reads `/proc` per (cached) pid, rsyslog Annotate records no cgroup.',
    '',
  ];
  for (const mode of ['host', 'pidns'] as const) {
    const rows = race.filter((x) => x.mode === mode || (x.mode === undefined && x.case.includes(mode)));
    if (rows.length === 0) continue;
    const d = rows.find((x) => x.decoys !== undefined)?.decoys;
    lines.push(
      mode === 'host'
        ? '### On the host'
        : `### PID reuse: private PID namespace, pid_max ${rows.find((x) => x.nsPidMax !== undefined)?.nsPidMax ?? '?'}, ${d?.concurrent ?? '?'} decoys in another cgroup (host pid_max unchanged: ${rows.every((x) => x.hostPidMax === undefined || x.hostPidMax.before === x.hostPidMax.after) ? 'yes' : '**NO**'})`,
      '',
      '| receiver | delay | cgroup ok / missing / wrong | comm ok / missing / wrong | reaped | lost |',
      '|---|---:|---|---|---:|---:|',
    );
    for (const x of rows) {
      if (x.skipped !== undefined || x.error !== undefined) {
        lines.push(`| ${x.case} | | ${x.skipped !== undefined ? `skipped: ${x.skipped}` : `**error**: ${x.error}`} | | | |`);
        continue;
      }
      const who = x.system === 'cs' ? `container-syslog \`${x.method}\`` : x.system;
      const delay = x.delayUs === null || x.delayUs === undefined ? 'own pace' : `${x.delayUs} µs`;
      const reaped = x.system === 'cs' && x.method === 'pidfd' ? String(x.provenance?.cgroup['pidfd-exited'] ?? 0) : '';
      lines.push(`| ${who} | ${delay} | ${triple(x.cgroup)} | ${triple(x.comm)} | ${reaped} | ${x.lost} |`);
    }
    lines.push('');
  }
  lines.push(`![Race outcomes per method and delay](${chart})`, '');
  return lines;
}

function markdown(r: BenchResults, charts: { throughput: string; race: string }): string {
  const lines = [
    `# container-syslog benchmarks${r.quick ? ' (quick smoke run)' : ''}`,
    '',
    `Machine: ${machineLine(r)}.  `,
    `Run: \`${r.command}\`, ${r.date}.${r.quick ? ' A quick run: few messages and one round; its numbers show the bench works, not how fast anything is.' : ''}`,
    '',
  ];
  if (r.targets.length > 0) {
    lines.push('## Targets (issue 6)', '', '| target | measured | met |', '|---|---|---|');
    for (const t of r.targets) lines.push(`| ${t.target} | ${t.shown}${t.note !== undefined ? ` (${t.note})` : ''} | ${t.met === null ? 'not run' : t.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  if (r.results.throughput !== undefined) lines.push(...throughputSection(r, r.results.throughput, charts.throughput));
  const p = r.results.profile;
  if (p !== undefined) {
    lines.push('## Profile of cs-full', '');
    if (p.error !== undefined) lines.push(`The profiled run failed: ${p.error}`, '');
    else {
      lines.push(
        `One extra cs-full trial under \`--profile\` (@datadog/pprof wall-time sampler of the collector's JavaScript thread, ${n(p.msgsPerSec)} msgs/s while sampled; profile in \`${p.profileFile !== undefined ? path.relative(path.resolve(__dirname, '..', '..'), p.profileFile) : '?'}\`). Top functions by self samples:`,
        '',
        '| function | self % |',
        '|---|---:|',
        ...(p.profileTop ?? []).map((f) => `| \`${f.name}\` | ${f.selfPercent.toFixed(1)} |`),
        '',
      );
    }
  }
  if (r.results.race !== undefined) lines.push(...raceSection(r, r.results.race, charts.race));
  const rec = r.results.receive;
  if (rec !== undefined) {
    lines.push(
      '## Receive path and the load generator',
      '',
      'Receivers that only count (no file): the cost of the receive path alone. They are also the check on the load generator: ' +
        '"would-block" is the share of sends that found the receiver\'s queue full (the senders were waiting for the receiver), and the senders\' CPU per message ' +
        'is cs-send\'s whole tree (cutime+cstime once reaped). Senders and receiver share the machine\'s CPUs, so the fastest receivers (the ceiling, cs-creds) ' +
        'are bounded by the machine as a whole, not by the receiver alone; a receiver that needs ≥ 1 CPU-second per second is bounded by itself.',
      '',
      '| case | msgs/s | × batched-creds | CPU µs/msg | senders msgs/s | senders\' CPU µs/msg | would-block | lost |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rec.map(
        (x) =>
          `| ${String(x.case)} | ${n(x.msgsPerSec as number)} | ${n(x.ratioToReference as number, 3)} | ${n(x.cpuUsPerMsg as number, 2)} | ${n(x.senderMsgsPerSec as number)} | ${n(x.senderCpuUsPerMsg as number, 2)} | ${n(((x.wouldBlockShare as number) ?? 0) * 100)} % | ${String(x.lost)} |`,
      ),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

function throughputChart(r: BenchResults, t: ThroughputResult): string {
  const bars = t.rows
    .filter((x) => x.msgsPerSec !== undefined)
    .map((x) => ({
      label: x.case,
      value: x.msgsPerSec as number,
      note: `${n(x.msgsPerSec)}/s · ${n(x.ratioToCeiling, 2)}× ceiling · ${n(x.cpuUsPerMsg, 1)} µs/msg`,
      color: OURS.has(x.case) ? '#1565c0' : x.case === 'ceiling' ? '#9e9e9e' : '#ef8f00',
    }));
  return barChart('Syslog datagrams into files, messages per second (median)', [shortMachine(r), `${r.senders} senders × ${n(r.messages)} msgs per trial, ${r.rounds} round(s); bars: rate, × ceiling in the same round, receiver CPU µs/msg`], bars);
}

function raceChart(r: BenchResults, race: RaceRow[]): string {
  const groups: StackGroup[] = [];
  for (const mode of ['host', 'pidns'] as const) {
    const rows = race.filter((x) => x.mode === mode && x.skipped === undefined && x.error === undefined);
    if (rows.length === 0) continue;
    const g: StackGroup = { heading: mode === 'host' ? 'on the host' : 'PID reuse (private pidns, small pid_max, decoys)', rows: [] };
    for (const m of RACE_METHODS) {
      for (const d of RACE_DELAYS_US) {
        const x = rows.find((y) => y.system === 'cs' && y.method === m && y.delayUs === d);
        if (x !== undefined) g.rows.push({ label: `${m}, delay ${d} µs`, cells: [x.cgroup ?? null, x.comm ?? null] });
      }
    }
    for (const p of RACE_PEERS) {
      const x = rows.find((y) => y.system === p);
      if (x !== undefined) g.rows.push({ label: p, cells: [x.cgroup ?? null, x.comm ?? null] });
    }
    groups.push(g);
  }
  return stackChart(
    'Who sent it? Short-lived senders, outcome per receiver',
    [shortMachine(r), `${n(r.raceSenders)} one-datagram senders per trial in 4 cgroups; container-syslog with its method forced and a delay per message`],
    ['cgroup', 'comm'],
    groups,
  );
}

/** Writes latest[-quick].md and the charts next to it; returns the markdown's path. */
export function writeReport(r: BenchResults, outDir: string): string {
  const suffix = r.quick ? '-quick' : '';
  const rel = path.relative(path.resolve(__dirname, '..', '..'), outDir) || '.';
  const charts = { throughput: `${rel}/throughput${suffix}.svg`, race: `${rel}/race${suffix}.svg` };
  if (r.results.throughput !== undefined) fs.writeFileSync(path.join(outDir, `throughput${suffix}.svg`), throughputChart(r, r.results.throughput));
  if (r.results.race !== undefined) fs.writeFileSync(path.join(outDir, `race${suffix}.svg`), raceChart(r, r.results.race));
  const md = path.join(outDir, `latest${suffix}.md`);
  fs.writeFileSync(md, markdown(r, charts));
  return md;
}

if (require.main === module) {
  const file = process.argv[2] ?? path.resolve(__dirname, '..', '..', 'bench', 'results', 'latest.json');
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults;
  process.stdout.write(`${writeReport(r, path.dirname(path.resolve(file)))}\n`);
}
