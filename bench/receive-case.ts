/**
 * One receive-only bench case in its own process: K cs-send processes × N glibc-shaped datagrams
 * (connect()+send(), as glibc's syslog() does)
 * into a receiver that only counts (and touches each message's length and pid), so the number
 * is the cost of the receive path itself. It is also the load generator's check: against a
 * receiver that only drains, the senders' own rate and how often they found the queue full
 * (`-w`: each send is tried with MSG_DONTWAIT first) are reported; a full queue means the senders
 * outran the receiver, so cs-send is not what limits any case.
 *
 *   node dist/bench/receive-case.js CASE TOTAL PROCS
 * CASE: batched-pidfd | batched-creds | per-datagram-pidfd | per-datagram-creds | unix-dgram
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { nativeToolPath, Receiver } from '../collector';
import { type CaseResult, parseSendReport, reapedChildrenCpuUs, senderSummary, tempDir } from './lib/common';

const [name, totalArg, procsArg] = process.argv.slice(2);
const total = Number(totalArg);
const procs = Number(procsArg);

interface Counter {
  n: number;
  bytes: number;
  pids: number;
  lastMs: number;
}

function startReceiver(sock: string, c: Counter): () => void {
  const onMessage = (): void => {
    if (c.n === total) c.lastMs = Date.now();
  };
  if (name === 'unix-dgram') {
    // What a Node user would write: one callback per datagram, no credentials.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const unix = require('unix-dgram');
    const s = unix.createSocket('unix_dgram', (buf: Buffer) => {
      c.n++;
      c.bytes += buf.length;
      onMessage();
    });
    s.bind(sock);
    return () => s.close();
  }
  const perDatagram = name.startsWith('per-datagram');
  const method = name.endsWith('pidfd') ? 'pidfd' : 'none';
  const r = new Receiver({ socketPath: sock, method, batchSize: perDatagram ? 1 : 256 }, (b) => {
    for (let i = 0; i < b.count; i++) {
      c.bytes += b.length(i);
      if (b.pid(i) > 0) c.pids++;
    }
    c.n += b.count;
    onMessage();
  });
  r.start();
  return () => r.stop();
}

async function main(): Promise<void> {
  const dir = tempDir('cs-bench-');
  const sock = path.join(dir, 'log.sock');
  const c: Counter = { n: 0, bytes: 0, pids: 0, lastMs: 0 };
  const stop = startReceiver(sock, c);
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const senderCpu0 = reapedChildrenCpuUs();
  let senderCpuUs = NaN;
  const perProc = Math.ceil(total / procs);
  const sender = spawn(nativeToolPath('cs-send'), ['-s', sock, '-C', '-k', String(procs), '-n', String(perProc), '-w'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let report = '';
  sender.stdout.on('data', (d: Buffer) => (report += d.toString()));
  const senderDone = new Promise<void>((resolve) =>
    sender.on('close', () => {
      senderCpuUs = reapedChildrenCpuUs() - senderCpu0;
      resolve();
    }),
  );
  const expected = perProc * procs;
  const deadline = Date.now() + 120000;
  while (c.n < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const cpu = process.cpuUsage(cpu0);
  await senderDone;
  stop();
  fs.rmSync(dir, { recursive: true, force: true });
  const rep = parseSendReport(report);
  const end = c.lastMs > 0 ? c.lastMs : Date.now();
  const seconds = (end - rep.t0) / 1000;
  const result: CaseResult = {
    case: name,
    messages: rep.sent,
    received: c.n,
    lost: rep.sent - c.n,
    seconds,
    msgsPerSec: Math.round(c.n / seconds),
    cpuUsPerMsg: (cpu.user + cpu.system) / c.n,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    withPid: c.pids,
    ...senderSummary(rep, senderCpuUs),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
