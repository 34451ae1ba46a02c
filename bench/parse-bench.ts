/**
 * The parser alone, on the hot path's typical input: `node dist/bench/parse-bench.js [CASE]`
 * parses 1,000,000 datagrams of 128 bytes (1,024 distinct ones, cycled, stamped within the last
 * ten minutes as live traffic is) and prints one JSON line `{"case", "ns_per_msg"}`.
 * CASE: glibc-128 (default) | logger-rfc3164 | rfc5424-sd | raw. One case per fresh process;
 * 200,000 parses first, untimed, so the number is the optimised code's.
 */
import { parseSyslog } from '../collector/syslog-parse';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const N = 1_000_000;
const DISTINCT = 1024;

/** Pads a line with words until it is `bytes` long, as a 128-byte glibc datagram would be. */
function padTo(line: string, bytes: number): string {
  let out = line;
  let w = 0;
  while (out.length < bytes) out += ` word${w++}`;
  return out.slice(0, bytes);
}

const nowMs = Date.now();

/** Datagram `i` of a case, stamped up to ten minutes before `nowMs` as live traffic would be. */
function makeLine(kind: string, i: number): Buffer {
  const at = new Date(nowMs - (i % 600) * 1000);
  const hh = String(at.getHours()).padStart(2, '0');
  const mm = String(at.getMinutes()).padStart(2, '0');
  const ss = String(at.getSeconds()).padStart(2, '0');
  const dd = String(at.getDate()).padStart(2, ' ');
  const mon = MONTHS[at.getMonth()];
  const iso = at.toISOString().replace('Z', `${String(i % 1000).padStart(3, '0')}+00:00`);
  switch (kind) {
    case 'glibc-128':
      return Buffer.from(padTo(`<30>${mon} ${dd} ${hh}:${mm}:${ss} myservice[${1000 + i}]: request handled id=${i}`, 128));
    case 'logger-rfc3164':
      return Buffer.from(padTo(`<13>${mon} ${dd} ${hh}:${mm}:${ss} host-${i % 7} root: hello ${i}`, 128));
    case 'rfc5424-sd':
      return Buffer.from(padTo(
        `<13>1 ${iso} vm myapp ${1000 + i} ID47 ` +
        `[timeQuality tzKnown="1" isSynced="0"] message ${i}`, 128));
    case 'raw':
      return Buffer.from(padTo(`plain text with no header, line ${i}`, 128));
    default:
      throw new Error(`unknown case '${kind}'; expected glibc-128, logger-rfc3164, rfc5424-sd or raw`);
  }
}

const kind = process.argv[2] ?? 'glibc-128';
const lines: Buffer[] = [];
for (let i = 0; i < DISTINCT; i++) lines.push(makeLine(kind, i));

let sink = 0;
for (let i = 0; i < 200_000; i++) sink += parseSyslog(lines[i & (DISTINCT - 1)], nowMs).message.length;
const start = process.hrtime.bigint();
for (let i = 0; i < N; i++) sink += parseSyslog(lines[i & (DISTINCT - 1)], nowMs).message.length;
const elapsedNs = Number(process.hrtime.bigint() - start);
// `sink` keeps the work observable so it cannot be optimised away.
if (sink === -1) process.stderr.write('impossible\n');
process.stdout.write(`${JSON.stringify({ case: kind, ns_per_msg: Math.round((elapsedNs / N) * 10) / 10 })}\n`);
