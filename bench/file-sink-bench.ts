/**
 * The file sink alone: `node dist/bench/file-sink-bench.js [FORMAT] [CONTAINERS] [RECORDS]`
 * writes 1,000,000 records spread over 100 containers (interleaved, as live traffic is) in
 * `text` format into a fresh temp dir, and prints one JSON line
 * `{"case", "lines_per_sec", "us_per_line", "cpu_us_per_line", "bytes", "peak_rss_mb"}`.
 * Timed: every write() plus the final close(), which writes out the last buffers; so the
 * number includes encoding, path lookup, buffering and the write syscalls, not the page-cache
 * writeback. 10,000 distinct records (128-byte glibc datagrams) are built first and cycled;
 * 200,000 untimed writes into another dir warm the code up. The line count is checked after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type LogRecord } from '../collector';
import { syntheticRecords } from './lib/records';
import { FileSink } from '../sinks/file-sink';
import { type LogFormat } from '../sinks/format';

const format = (process.argv[2] ?? 'text') as LogFormat;
const containers = Number(process.argv[3] ?? 100);
const records = Number(process.argv[4] ?? 1_000_000);
const PER_CONTAINER = 100;

const distinct: LogRecord[] = syntheticRecords(containers, PER_CONTAINER);

function run(dir: string, n: number): { seconds: number; cpuUs: number; sink: FileSink } {
  const sink = new FileSink({ dir, format, rotateBytes: 0 });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const d = distinct.length;
  for (let i = 0; i < n; i++) sink.write(distinct[i % d]);
  sink.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpuUs: cpu.user + cpu.system, sink };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-file-sink-bench-'));
try {
  run(path.join(root, 'warm'), 200_000);
  fs.rmSync(path.join(root, 'warm'), { recursive: true, force: true });
  const { seconds, cpuUs, sink } = run(path.join(root, 'timed'), records);
  const s = sink.stats();
  if (s.written !== records) throw new Error(`wrote ${s.written} of ${records} lines: ${JSON.stringify(s.dropped)}`);
  process.stdout.write(`${JSON.stringify({
    case: `file-sink-${format}-${containers}`,
    lines_per_sec: Math.round(records / seconds),
    us_per_line: Math.round((seconds * 1e6 / records) * 1000) / 1000,
    cpu_us_per_line: Math.round((cpuUs / records) * 1000) / 1000,
    bytes: s.bytes,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
