/**
 * When is a trial over, and was anything lost? Answered the way PERF-ANCHORS.md did, from what
 * the receiver wrote, not from what it says about itself:
 *
 * - Files (ours, rsyslog, syslog-ng, the naive receiver, the ceiling): the total size of every
 *   file below the output directory is polled; once the senders are done and the size has not
 *   changed for `stableMs`, the lines are counted (one datagram is one line for every receiver
 *   here). When the count reaches the number sent, the trial ended at the newest file's mtime,
 *   the time of the last write. If it never does, the trial ends after `idleMs` without growth
 *   and the shortfall is reported as lost.
 * - journald: the journal files' headers (`journalctl -D … --header`) count entry objects; once
 *   they count every message and stop growing, our entries are counted by
 *   `journalctl -D … SYSLOG_IDENTIFIER=cs-send`, and the trial ended at the tail entry's realtime
 *   stamp, which journald takes when it writes the entry.
 *
 * Counting reads whole files, so it is done only when the size is stable, never while the
 * receiver is racing the clock; polling costs one stat per file every 50 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './common';

/** Where a receiver's messages end up. */
export type Output = { kind: 'files'; dir: string } | { kind: 'journal'; store: string };

/** What a receiver had written when its trial ended. */
export interface TrialEnd {
  /** Lines (or journal entries of ours) counted at the end. */
  count: number;
  bytes: number;
  /** When the last message was written, ms since the epoch; NaN if nothing was. */
  endMs: number;
}

/** How `waitForEnd` decides that a trial is over. */
export interface WaitOptions {
  /** Messages sent, once known (the senders' report), else the planned number. */
  expected: () => number;
  sendersDone: () => boolean;
  stableMs: number;
  /** Give up this long after the output stopped growing. */
  idleMs: number;
}

/** Every regular file below `dir` (symlinks neither followed nor listed). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Newline count of one file, read in 1 MiB chunks. */
export function countLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got <= 0) break;
      let i = buf.indexOf(10);
      while (i >= 0 && i < got) {
        n++;
        i = buf.indexOf(10, i + 1);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return n;
}

function sizeAndMtime(dir: string): { bytes: number; mtimeMs: number; files: string[] } {
  let bytes = 0;
  let mtimeMs = NaN;
  const files = filesUnder(dir);
  for (const f of files) {
    try {
      const st = fs.statSync(f);
      bytes += st.size;
      if (st.size > 0 && !(st.mtimeMs <= mtimeMs)) mtimeMs = st.mtimeMs;
    } catch {
      // rotated away meanwhile
    }
  }
  return { bytes, mtimeMs, files };
}

/** What the journal files' headers say, summed over every file. */
export interface JournalHeader {
  entries: number;
  /** Newest entry's realtime stamp, µs since the epoch; 0 when empty. */
  tailUs: number;
}

/** Sums the entry counts of every journal file in `store` and takes the newest tail stamp. */
export function journalHeader(store: string): JournalHeader {
  const res = spawnSync('journalctl', ['-D', store, '--header', '--no-pager'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  let entries = 0;
  let tailUs = 0;
  for (const line of (res.stdout ?? '').split('\n')) {
    const e = /^Entry objects:\s+(\d+)/.exec(line);
    if (e !== null) entries += Number(e[1]);
    const t = /^Tail realtime timestamp:.*\(([0-9a-f]+)\)/.exec(line);
    if (t !== null) tailUs = Math.max(tailUs, parseInt(t[1], 16));
  }
  return { entries, tailUs };
}

/** Streams `journalctl -D store <match> -o OUTPUT` line by line into `onLine`. */
export function readJournal(store: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('journalctl', ['-D', store, '--no-pager', '-q', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const parts = (rest + d).split('\n');
      rest = parts.pop() as string;
      for (const p of parts) onLine(p);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (rest !== '') onLine(rest);
      if (code !== 0 && code !== 1) reject(new Error(`journalctl exited ${code}: ${err}`));
      else resolve();
    });
  });
}

/** Our entries in a journal: those with SYSLOG_IDENTIFIER=cs-send. */
export async function countJournalEntries(store: string): Promise<number> {
  let n = 0;
  await readJournal(store, ['SYSLOG_IDENTIFIER=cs-send', '-o', 'cat'], () => n++);
  return n;
}

/** Waits for the end of a trial (see the module comment) and counts what arrived. */
export async function waitForEnd(output: Output, opts: WaitOptions): Promise<TrialEnd> {
  return output.kind === 'files' ? waitForFiles(output.dir, opts) : waitForJournal(output.store, opts);
}

async function waitForFiles(dir: string, opts: WaitOptions): Promise<TrialEnd> {
  let lastBytes = -1;
  let lastChange = Date.now();
  let countedAt = -1;
  let count = 0;
  for (;;) {
    await sleep(50);
    const now = Date.now();
    const s = sizeAndMtime(dir);
    if (s.bytes !== lastBytes) {
      lastBytes = s.bytes;
      lastChange = now;
      continue;
    }
    if (!opts.sendersDone() || now - lastChange < opts.stableMs) continue;
    if (countedAt !== s.bytes) {
      count = s.files.reduce((a, f) => a + countLines(f), 0);
      countedAt = s.bytes;
    }
    if (count >= opts.expected() || now - lastChange >= opts.idleMs) return { count, bytes: s.bytes, endMs: s.mtimeMs };
  }
}

async function waitForJournal(store: string, opts: WaitOptions): Promise<TrialEnd> {
  let last = -1;
  let lastChange = Date.now();
  let countedAt = -1;
  let count = 0;
  for (;;) {
    await sleep(200);
    // No journalctl while the senders run: it would compete with them and count as their CPU.
    if (!opts.sendersDone()) continue;
    const now = Date.now();
    const h = journalHeader(store);
    if (h.entries !== last) {
      last = h.entries;
      lastChange = now;
      continue;
    }
    if (now - lastChange < opts.stableMs) continue;
    // Headers also count journald's own start-up entries: count ours only once they could all be there.
    const idle = now - lastChange >= opts.idleMs;
    if (h.entries < opts.expected() && !idle) continue;
    if (countedAt !== h.entries) {
      count = await countJournalEntries(store);
      countedAt = h.entries;
    }
    if (count >= opts.expected() || idle) return { count, bytes: journalBytes(store), endMs: h.tailUs > 0 ? h.tailUs / 1000 : NaN };
  }
}

function journalBytes(store: string): number {
  return filesUnder(store).reduce((a, f) => a + fs.statSync(f).size, 0);
}
