/**
 * The forward sink alone: `node dist/bench/forward-bench.js [FORMAT] [RECORDS] [FRAMING]` sends
 * 1,000,000 records from 100 containers (interleaved) in `rfc5424` with octet-counting framing
 * over TCP to a receiver in a child process that only reads and counts bytes, and prints one
 * JSON line `{"case", "msgs_per_sec", "write_us_per_msg", "cpu_us_per_msg", "bytes_per_msg",
 * "written", "dropped", "peak_rss_mb"}`.
 *
 * The records are handed over as the collector does it: 256 per turn of the event loop (one
 * receive batch), so the connection task runs between batches. Timed: from the first write()
 * until the sink reports every message written (handed to the kernel) and the receiver has
 * read every byte. `write_us_per_msg` is the time inside write() alone: what the receive loop
 * pays per message (encode, byte length, ring). `cpu_us_per_msg` is this process's CPU (the
 * receiver's is not counted), so it includes framing, socket writes and the event loop. 10,000
 * distinct 128-byte glibc datagrams are built first and cycled; 200,000 untimed messages warm
 * the code up over the same connection.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { type LogRecord } from '../collector';
import { syntheticRecords } from './lib/records';
import { FORWARD_DEFAULTS, type ForwardFraming, ForwardSink } from '../sinks/forward';
import { type WireFormat } from '../sinks/forward-format';

const format = (process.argv[2] ?? 'rfc5424') as WireFormat;
const records = Number(process.argv[3] ?? 1_000_000);
const framing = (process.argv[4] ?? (format === 'rfc3164' ? 'newline' : 'octet-counting')) as ForwardFraming;
const CONTAINERS = 100;
const PER_CONTAINER = 100;
const BATCH = 256;

/** A receiver that reads and counts; prints its port, then the byte count on each line of stdin. */
const RECEIVER = `
const net = require('node:net');
let bytes = 0;
const srv = net.createServer((s) => s.on('data', (d) => { bytes += d.length; }));
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
require('node:readline').createInterface({ input: process.stdin }).on('line', () => console.log(bytes));
`;

const distinct: LogRecord[] = syntheticRecords(CONTAINERS, PER_CONTAINER);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const next = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  const port = Number(await next());
  const receivedBytes = async (): Promise<number> => {
    const p = next();
    child.stdin.write('\n');
    return Number(await p);
  };
  const sink = new ForwardSink({ ...FORWARD_DEFAULTS, name: 'bench', host: '127.0.0.1', port, format, framing, defaultHostname: 'bench-host' });
  sink.start();
  const d = distinct.length;
  const send = async (n: number, offset: number): Promise<number> => {
    let inWrite = 0n;
    for (let i = 0; i < n; i += BATCH) {
      const end = Math.min(n, i + BATCH);
      const t = process.hrtime.bigint();
      for (let k = i; k < end; k++) sink.write(distinct[(offset + k) % d]);
      inWrite += process.hrtime.bigint() - t;
      await tick();
    }
    return Number(inWrite) / 1e3;
  };
  const settle = async (written: number): Promise<void> => {
    while (sink.stats().written < written && Object.keys(sink.stats().dropped).length === 0) await new Promise((r) => setTimeout(r, 1));
    while ((await receivedBytes()) < sink.stats().bytes) await new Promise((r) => setTimeout(r, 1));
  };
  const warm = 200_000;
  await send(warm, 0);
  await settle(warm);
  const bytes0 = sink.stats().bytes;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const writeUs = await send(records, warm);
  await settle(warm + records);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const st = sink.stats();
  await sink.close();
  child.kill();
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  process.stdout.write(`${JSON.stringify({
    case: `forward-tcp-${format}-${framing}`,
    messages: records,
    written: st.written - warm,
    dropped: st.dropped,
    msgs_per_sec: Math.round(records / seconds),
    write_us_per_msg: r3(writeUs / records),
    cpu_us_per_msg: r3((cpu.user + cpu.system) / records),
    bytes_per_msg: r3((st.bytes - bytes0) / records),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
