/**
 * A forwarder's disk buffer: messages that could not be sent (the connection is down, or the
 * memory queue is full) kept in append-only segment files in one directory, and read back in
 * the order they were written once the connection is up again.
 *
 * Layout: `<dir>/<16-digit number>.seg`, oldest number first; each holds whole messages, one a
 * line, as the wire encoder made them (without framing: the forwarder frames them when it
 * sends, so the framing may change between runs). Messages never contain '\n' (encoders escape
 * it). New messages go to the newest segment, which is closed once it passes `segmentBytes`;
 * segments left by an earlier run are never appended to (their last line may be cut by a
 * crash), only read. A lock file (`lock`, holding the pid) keeps two collectors out of one dir.
 *
 * Reading has two cursors: `read()` hands out whole lines from the read cursor and moves it on;
 * `commit(pos)` says everything before `pos` reached the peer's kernel (a segment wholly behind
 * it is deleted); `rewind()` moves the read cursor back to the last commit after a failed
 * connection, so nothing handed out but not committed is lost. Only what was committed is gone.
 *
 * Bounds: `bytes()` counts what is not yet committed, plus the newline of each message; an
 * `append()` that would take it past `maxBytes` is refused ('full'), and the caller counts that
 * drop. The files themselves can hold up to one segment more (the committed head of the oldest
 * segment is only freed when the whole segment is). Appends are gathered in memory and written
 * with one `writeSync` per `chunkBytes`, before any read, on `flush()` and every
 * `flushIntervalMs`; a crash loses at most that.
 *
 * Failure modes: a failed write (ENOSPC, EIO, …) drops the messages of that chunk (counted in
 * `errorDrops`, the error kept in `lastError`; the file is cut back to its last whole line), and
 * appends are refused ('error') for `RETRY_AFTER_MS`. A line without its newline at the end of
 * an old segment (a crash mid-write) is skipped and counted in `corruptLines`. On `close()`, a
 * partly committed oldest segment is rewritten without its committed part, so the next run
 * sends each message once; after a crash, the uncommitted part of it is sent again (at least
 * once, never lost). Nothing here logs; the forwarder reports.
 */
import fs from 'node:fs';
import path from 'node:path';

/** A place in the buffer: segment number and byte offset in it. */
export interface DiskPosition {
  seq: number;
  offset: number;
}

/** What `read()` hands out: whole lines ('\n'-terminated) and the position after them. */
export interface DiskChunk {
  buf: Buffer;
  end: DiskPosition;
}

export const APPEND_OK = 0;
export const APPEND_FULL = 1;
export const APPEND_ERROR = 2;
export type AppendResult = typeof APPEND_OK | typeof APPEND_FULL | typeof APPEND_ERROR;

/** After a failed write, appends are refused this long. */
export const RETRY_AFTER_MS = 1000;

/** The first segment number in an empty dir; numbers below it are for `prepend()`. */
const FIRST_SEQ = 1_000_000_000_000;
const SEG_RE = /^(\d{16})\.seg$/;

export interface DiskBufferOptions {
  dir: string;
  maxBytes: number;
  /** A segment is closed for appends once it holds this many bytes. */
  segmentBytes?: number;
  /** Appends are written in chunks of this size. */
  chunkBytes?: number;
  flushIntervalMs?: number;
  now?: () => number;
}

interface Segment {
  seq: number;
  file: string;
  size: number;
}

function segName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.seg`;
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

export class DiskBuffer {
  readonly dir: string;
  readonly maxBytes: number;
  /** Messages dropped because a write failed. */
  errorDrops = 0;
  /** Lines skipped because a crash cut them. */
  corruptLines = 0;
  lastError: string | null = null;
  private readonly segmentBytes: number;
  private readonly chunkBytes: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;
  private readonly segments: Segment[] = [];
  /** Bytes of all segment files. */
  private fileBytes = 0;
  /** Committed bytes at the start of segments[0]. */
  private headOffset = 0;
  /** Append fd: open on the last segment, or -1. */
  private appendFd = -1;
  private pending: string[] = [];
  private pendingBytes = 0;
  private readPos: DiskPosition = { seq: 0, offset: 0 };
  private readFd = -1;
  private readFdSeq = -1;
  private failedUntil = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly flushBound: () => void;
  private closed = false;
  private readonly lockFile: string;

  /** Creates the dir (0700) if missing, takes the lock, and finds the segments of earlier runs. Throws when it cannot. */
  constructor(options: DiskBufferOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.segmentBytes = options.segmentBytes ?? Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(options.maxBytes / 8)));
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.now = options.now ?? Date.now;
    this.flushBound = () => {
      this.flushTimer = null;
      this.flush();
    };
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.lockFile = path.join(this.dir, 'lock');
    this.lock();
    for (const name of fs.readdirSync(this.dir)) {
      const m = SEG_RE.exec(name);
      if (m === null) {
        if (name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
        continue;
      }
      const file = path.join(this.dir, name);
      const size = fs.statSync(file).size;
      if (size === 0) {
        fs.rmSync(file, { force: true });
        continue;
      }
      this.segments.push({ seq: Number(m[1]), file, size });
      this.fileBytes += size;
    }
    this.segments.sort((a, b) => a.seq - b.seq);
    if (this.segments.length > 0) this.readPos = { seq: this.segments[0].seq, offset: 0 };
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(fs.readFileSync(this.lockFile, 'utf8').trim());
        let alive = false;
        if (pid > 0 && pid !== process.pid) {
          try {
            process.kill(pid, 0);
            alive = true;
          } catch (e) {
            alive = (e as NodeJS.ErrnoException).code === 'EPERM';
          }
        }
        if (alive) throw new Error(`the disk buffer '${this.dir}' is in use by process ${pid}`);
        fs.rmSync(this.lockFile, { force: true });
      }
    }
    throw new Error(`cannot lock the disk buffer '${this.dir}'`);
  }

  /** Bytes not yet committed (message bytes plus one newline each), written or still gathered. */
  bytes(): number {
    return this.fileBytes - this.headOffset + this.pendingBytes;
  }

  isEmpty(): boolean {
    return this.bytes() === 0;
  }

  /** Appends one message of `bytes` UTF-8 bytes; refuses it when the cap or a recent failure says so. */
  append(msg: string, bytes: number): AppendResult {
    if (this.bytes() + bytes + 1 > this.maxBytes) return APPEND_FULL;
    if (this.failedUntil > 0) {
      if (this.now() < this.failedUntil) {
        this.errorDrops++;
        return APPEND_ERROR;
      }
      this.failedUntil = 0;
    }
    this.pending.push(msg);
    this.pendingBytes += bytes + 1;
    if (this.pendingBytes >= this.chunkBytes) this.flush();
    else if (this.flushTimer === null && this.flushIntervalMs > 0) {
      this.flushTimer = setTimeout(this.flushBound, this.flushIntervalMs);
      this.flushTimer.unref();
    }
    return APPEND_OK;
  }

  /** Writes gathered appends to the newest segment. False when the write failed (those messages are dropped and counted). */
  flush(): boolean {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const count = this.pending.length;
    if (count === 0) return true;
    const data = Buffer.from(this.pending.join('\n') + '\n');
    this.pending = [];
    this.pendingBytes = 0;
    let seg: Segment | null = null;
    try {
      seg = this.appendSegment();
      let off = 0;
      while (off < data.length) off += fs.writeSync(this.appendFd, data, off, data.length - off);
      seg.size += data.length;
      this.fileBytes += data.length;
      if (seg.size >= this.segmentBytes) this.closeAppend();
      return true;
    } catch (err) {
      this.lastError = errText(err);
      this.errorDrops += count;
      this.failedUntil = this.now() + RETRY_AFTER_MS;
      if (seg !== null) {
        try {
          fs.ftruncateSync(this.appendFd, seg.size);
        } catch {
          // The segment may now end in a cut line; reading skips it (corruptLines).
        }
      }
      this.closeAppend();
      return false;
    }
  }

  private appendSegment(): Segment {
    const last = this.segments.length > 0 ? this.segments[this.segments.length - 1] : null;
    if (this.appendFd >= 0 && last !== null) return last;
    const seq = last === null ? FIRST_SEQ : last.seq + 1;
    const file = path.join(this.dir, segName(seq));
    this.appendFd = fs.openSync(file, 'wx', 0o600);
    const seg: Segment = { seq, file, size: 0 };
    this.segments.push(seg);
    if (this.segments.length === 1) {
      this.headOffset = 0;
      this.readPos = { seq, offset: 0 };
    }
    return seg;
  }

  private closeAppend(): void {
    if (this.appendFd >= 0) {
      try {
        fs.closeSync(this.appendFd);
      } catch {
        // nothing to do
      }
      this.appendFd = -1;
    }
  }

  private closeRead(): void {
    if (this.readFd >= 0) {
      try {
        fs.closeSync(this.readFd);
      } catch {
        // nothing to do
      }
      this.readFd = -1;
      this.readFdSeq = -1;
    }
  }

  /**
   * Whole lines from the read cursor, at most about `maxBytes` (more when one line is longer),
   * or null when everything is handed out. Throws only on a failed read (the caller reports it).
   */
  read(maxBytes: number): DiskChunk | null {
    if (this.pending.length > 0) this.flush();
    for (;;) {
      let i = 0;
      while (i < this.segments.length && this.segments[i].seq < this.readPos.seq) i++;
      if (i >= this.segments.length) return null;
      const seg = this.segments[i];
      if (seg.seq !== this.readPos.seq) this.readPos = { seq: seg.seq, offset: 0 };
      const left = seg.size - this.readPos.offset;
      if (left <= 0) {
        if (i === this.segments.length - 1) return null;
        this.readPos = { seq: this.segments[i + 1].seq, offset: 0 };
        continue;
      }
      if (this.readFdSeq !== seg.seq) {
        this.closeRead();
        this.readFd = fs.openSync(seg.file, 'r');
        this.readFdSeq = seg.seq;
      }
      let want = Math.min(maxBytes, left);
      for (;;) {
        const buf = Buffer.allocUnsafe(want);
        const n = fs.readSync(this.readFd, buf, 0, want, this.readPos.offset);
        const last = n > 0 ? buf.lastIndexOf(10, n - 1) : -1;
        if (last >= 0) {
          this.readPos = { seq: seg.seq, offset: this.readPos.offset + last + 1 };
          return { buf: buf.subarray(0, last + 1), end: { seq: seg.seq, offset: this.readPos.offset } };
        }
        if (want < left && n === want) {
          want = Math.min(left, want * 2);
          continue;
        }
        // The rest of this segment has no newline: a line cut by a crash (or a short read of a
        // file someone else changed). Skip it.
        this.corruptLines++;
        this.readPos = { seq: seg.seq, offset: seg.size };
        break;
      }
    }
  }

  /** Everything before `pos` reached the peer: forget it, deleting segments wholly behind it. */
  commit(pos: DiskPosition): void {
    while (this.segments.length > 0) {
      const head = this.segments[0];
      if (head.seq < pos.seq || (head.seq === pos.seq && pos.offset >= head.size)) {
        this.removeHead();
        continue;
      }
      if (head.seq === pos.seq) this.headOffset = pos.offset;
      return;
    }
  }

  private isAppendTarget(seg: Segment): boolean {
    return this.appendFd >= 0 && this.segments[this.segments.length - 1] === seg;
  }

  private removeHead(): void {
    const head = this.segments.shift() as Segment;
    if (this.readFdSeq === head.seq) this.closeRead();
    if (this.segments.length === 0) this.closeAppend();
    this.fileBytes -= head.size;
    this.headOffset = 0;
    fs.rmSync(head.file, { force: true });
    if (this.readPos.seq === head.seq) this.readPos = { seq: this.segments.length > 0 ? this.segments[0].seq : head.seq + 1, offset: 0 };
  }

  /** After a failed connection: hand out again everything not committed. */
  rewind(): void {
    this.readPos = this.segments.length > 0 ? { seq: this.segments[0].seq, offset: this.headOffset } : { seq: 0, offset: 0 };
  }

  /**
   * Stores `msgs` (with their byte lengths) in front of everything else, oldest first, as far as
   * the cap allows; returns how many were stored (the rest are the caller's drops). For the
   * memory queue at shutdown, whose messages are older than any on disk.
   */
  prepend(msgs: readonly string[], bytes: readonly number[]): number {
    let fit = 0;
    let total = 0;
    const room = this.maxBytes - this.bytes();
    while (fit < msgs.length && total + bytes[fit] + 1 <= room) total += bytes[fit++] + 1;
    if (fit === 0) return 0;
    this.flush();
    this.compactHead();
    const seq = this.segments.length > 0 ? this.segments[0].seq - 1 : FIRST_SEQ;
    const file = path.join(this.dir, segName(seq));
    const data = Buffer.from(msgs.slice(0, fit).join('\n') + '\n');
    try {
      fs.writeFileSync(`${file}.tmp`, data, { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.lastError = errText(err);
      this.errorDrops += fit;
      fs.rmSync(`${file}.tmp`, { force: true });
      return fit; // counted as disk errors, not as the caller's drops
    }
    this.segments.unshift({ seq, file, size: data.length });
    this.fileBytes += data.length;
    this.rewind();
    return fit;
  }

  /** Rewrites the oldest segment without its committed part. */
  private compactHead(): void {
    if (this.headOffset === 0 || this.segments.length === 0) return;
    const head = this.segments[0];
    if (this.isAppendTarget(head)) this.closeAppend();
    if (this.readFdSeq === head.seq) this.closeRead();
    const rest = head.size - this.headOffset;
    if (rest <= 0) {
      this.removeHead();
      return;
    }
    const buf = Buffer.allocUnsafe(rest);
    const fd = fs.openSync(head.file, 'r');
    try {
      let off = 0;
      while (off < rest) {
        const n = fs.readSync(fd, buf, off, rest - off, this.headOffset + off);
        if (n === 0) break;
        off += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(`${head.file}.tmp`, buf, { mode: 0o600 });
    fs.renameSync(`${head.file}.tmp`, head.file);
    this.fileBytes -= this.headOffset;
    head.size = rest;
    this.headOffset = 0;
    this.rewind();
  }

  /** Writes what is gathered, rewrites a partly committed head, closes files and releases the lock. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    try {
      this.compactHead();
    } catch (err) {
      this.lastError = errText(err);
    }
    this.closeAppend();
    this.closeRead();
    fs.rmSync(this.lockFile, { force: true });
  }
}
