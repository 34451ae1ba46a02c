/**
 * `npm run bench [-- --quick] [--rounds N]`: every case in a fresh child process, in interleaved
 * rounds (the starting case rotates), reported as medians and as ratios to a reference case run
 * in the same round. One JSON line per case on stdout; the full result in bench/results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type CaseResult, machine, median, round3, runCaseChild } from './lib/common';

interface Suite {
  name: string;
  script: string;
  cases: string[];
  reference: string;
  args: (quick: boolean) => string[];
}

const SUITES: Suite[] = [
  {
    name: 'receive',
    script: path.join(__dirname, 'receive-case.js'),
    cases: ['batched-creds', 'batched-pidfd', 'per-datagram-creds', 'per-datagram-pidfd', 'unix-dgram'],
    reference: 'batched-creds',
    // 4 senders as in PERF-ANCHORS.md; 1,000,000 messages per trial, 100,000 with --quick.
    args: (quick) => [String(quick ? 100_000 : 1_000_000), '4'],
  },
];

function parseArgs(argv: string[]): { quick: boolean; rounds: number; only: string | null } {
  const quick = argv.includes('--quick');
  const r = argv.indexOf('--rounds');
  const o = argv.indexOf('--only');
  return {
    quick,
    rounds: r >= 0 ? Number(argv[r + 1]) : quick ? 1 : 5,
    only: o >= 0 ? argv[o + 1] : null,
  };
}

async function runSuite(suite: Suite, quick: boolean, rounds: number): Promise<object[]> {
  const perCase = new Map<string, CaseResult[]>(suite.cases.map((c) => [c, []]));
  const ratios = new Map<string, number[]>(suite.cases.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    const order = suite.cases.map((_, i) => suite.cases[(i + round) % suite.cases.length]);
    const inRound = new Map<string, CaseResult>();
    for (const c of order) {
      const res = await runCaseChild(suite.script, [c, ...suite.args(quick)]);
      perCase.get(c)!.push(res);
      inRound.set(c, res);
      process.stderr.write(`[${suite.name}] round ${round + 1}/${rounds} ${c}: ${res.msgsPerSec} msgs/s, ${res.cpuUsPerMsg.toFixed(2)} µs/msg, lost ${res.lost}\n`);
    }
    const ref = inRound.get(suite.reference)!;
    for (const [c, res] of inRound) ratios.get(c)!.push(res.msgsPerSec / ref.msgsPerSec);
  }
  const lines: object[] = [];
  for (const c of suite.cases) {
    const rs = perCase.get(c)!;
    const line = {
      suite: suite.name,
      case: c,
      rounds: rs.length,
      messages: rs[0].messages,
      msgsPerSec: Math.round(median(rs.map((r) => r.msgsPerSec))),
      minMsgsPerSec: Math.min(...rs.map((r) => r.msgsPerSec)),
      maxMsgsPerSec: Math.max(...rs.map((r) => r.msgsPerSec)),
      ratioToReference: round3(median(ratios.get(c)!)),
      reference: suite.reference,
      cpuUsPerMsg: round3(median(rs.map((r) => r.cpuUsPerMsg))),
      peakRssMb: Math.max(...rs.map((r) => r.peakRssMb)),
      lost: rs.reduce((a, r) => a + r.lost, 0),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    lines.push(line);
  }
  return lines;
}

async function main(): Promise<void> {
  const { quick, rounds, only } = parseArgs(process.argv.slice(2));
  const results: Record<string, object[]> = {};
  for (const suite of SUITES) {
    if (only !== null && suite.name !== only) continue;
    results[suite.name] = await runSuite(suite, quick, rounds);
  }
  const outDir = path.join(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, quick ? 'latest-quick.json' : 'latest.json');
  fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), quick, rounds, results }, null, 2)}\n`);
  process.stderr.write(`results written to ${path.relative(process.cwd(), file)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
