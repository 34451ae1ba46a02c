/**
 * The file sink: every container's messages in that container's own file below one base
 * directory (`/var/log/container-syslog/docker/web/syslog.log`), host senders in one file,
 * senders the kernel could not place in another. Built like Vector's file sink: the path
 * templates and the encoder are compiled once, open files live in a bounded map and are closed
 * when idle, and a record that cannot be written is counted by reason and dropped; nothing is
 * thrown at the caller and nothing is logged here (the caller reports `stats()`).
 *
 * Writing. Each open file has one Buffer of `chunkBytes`, allocated when the file is opened
 * (reused from a small free list) and filled with `buf.write(line, offset, 'utf8')`. A buffer
 * is written with one `writeSync` of the whole chunk (looping on partial writes) when the next
 * line does not fit, when a timer fires every `flushIntervalMs`, when the buffers together hold
 * more than `maxBufferedBytes` (then all are written at once, synchronously: memory is bounded by
 * writing, never by dropping), and on `flush()`, `reopen()`, `close()`, idle and LRU closes. A
 * line longer than `chunkBytes` is written on its own. No streams, no promises, no per-record
 * closures: measured against write streams this is what makes 100 files cheap.
 *
 * Opening. Files are opened only through the addon's `openLogFile`, which walks every segment
 * below the base with O_NOFOLLOW and creates directories (`dirMode`) and the file (`fileMode`)
 * with exactly those modes whatever the umask; the base itself may be a symlink. Rendered
 * segments are sanitised by the path template (no '..', no '/', no NUL, 128 bytes at most).
 * A failed open (ELOOP for a planted symlink, ENOTDIR, EACCES, ENOSPC, …) drops that record
 * with the errno name lower-cased as the reason ('eloop'), and that path is not tried again for
 * `RETRY_AFTER_MS` (1 s): records for it meanwhile are dropped with the same reason. A failed
 * write does the same for the records in the failed chunk that did not reach the file (lines
 * wholly written before the error are counted as written), closes the file, and if a partial
 * line was left behind, the next successful open first writes '\n' so the next record still
 * starts its own line. `reopen()` lets failed paths be tried again at once.
 *
 * Rotation. With `rotateBytes` > 0, before a line would make the file larger than that, the
 * buffer is written, the file closed, shifted by `rotateLogFile` (name → name.1 → … →
 * name.<rotateKeep>, the oldest removed) and opened anew. The size is learnt by fstat at open
 * and then counted; a single line larger than `rotateBytes` gets a file of its own.
 *
 * Bounds: at most `maxOpenFiles` open files (the least recently written is written out and
 * closed first) and so at most that many buffers of `chunkBytes`; files not written for
 * `idleCloseMs` are closed by a timer (within one check interval after); remembered open
 * failures are capped at `MAX_REMEMBERED_FAILURES`. Timers are unref'd.
 *
 * Accounting, the promise tests check: every record handed to `write()` or `writeLine()` is, at
 * any moment, exactly one of written (on disk), buffered, or dropped with a reason; after
 * `flush()` or `close()` none is buffered. `stats()` shows all three.
 *
 * Caching: when the chosen template depends on the sender alone (`senderOnly`), the open file
 * is remembered per `SenderCgroup` object in a WeakMap, so the common case costs one WeakMap
 * lookup, the encode, and one `buf.write`. This relies on the resolver sharing one immutable
 * sender object per cgroup id; a changed object is a new key.
 *
 * Layout: one open file, its chunk buffer and the system calls on it (open, write out with the
 * short-write loop, direct write, rotate, close) are in `log-file.ts`, with the written and
 * buffered counters they keep; this file maps records to files and keeps the file table, the
 * remembered failures, the dirty list, the timers and the drop counters.
 */
import fs from 'node:fs';
import os from 'node:os';
import { type LogRecord, type SenderCgroup } from '../collector';
import { createEncoder, type Encoder, LOG_FORMATS, type LogFormat } from './format';
import { errorReason, type FileSinkFs, type LogFile, LogFileWriter, REAL_FILE_SINK_FS } from './log-file';
import { compilePathTemplate, type PathTemplate, sanitizeSegment } from './path-template';

export { type FileSinkFs, REAL_FILE_SINK_FS } from './log-file';

export interface FileSinkOptions {
  /** Base directory; created with `dirMode` if missing. It may be a symlink; nothing below it is followed. */
  dir: string;
  /** Template for container senders (see path-template.ts). */
  containerPath: string;
  /** Template for host senders (cgroup outside any container, or the root cgroup). */
  hostPath: string;
  /** Template for senders the kernel could not place (no credentials, cgroup unknown). */
  unknownPath: string;
  /** Line format (format.ts). */
  format: LogFormat;
  /** This host's name, for `rfc5424` HOSTNAME. */
  hostname: string;
  /** Mode of created files, applied exactly (not masked by the umask). */
  fileMode: number;
  /** Mode of created directories, applied exactly. */
  dirMode: number;
  /** Rotate before a write would make a file larger than this many bytes; 0 = never. */
  rotateBytes: number;
  /** Rotated files kept: name.1 … name.N. */
  rotateKeep: number;
  /** Close files not written for this long; 0 = never. Checked on a timer. */
  idleCloseMs: number;
  /** Most files open at once; the least recently written is written out and closed first. */
  maxOpenFiles: number;
  /** Buffer per open file; a full buffer is written at once. */
  chunkBytes: number;
  /** Every non-empty buffer is written this often; 0 = only when full or on flush(). */
  flushIntervalMs: number;
  /** Bytes buffered across all files beyond which everything is written at once. */
  maxBufferedBytes: number;
}

/** Defaults; `dir` and `hostname` are meant to be overridden per deployment when needed. */
export const FILE_SINK_DEFAULTS: Readonly<FileSinkOptions> = Object.freeze({
  dir: '/var/log/container-syslog',
  containerPath: '{runtime}/{name}/syslog.log',
  hostPath: 'host/syslog.log',
  unknownPath: 'unknown/syslog.log',
  format: 'text',
  hostname: os.hostname(),
  fileMode: 0o640,
  dirMode: 0o750,
  rotateBytes: 10 * 1024 * 1024,
  rotateKeep: 5,
  idleCloseMs: 30_000,
  maxOpenFiles: 512,
  chunkBytes: 65_536,
  flushIntervalMs: 100,
  maxBufferedBytes: 8 * 1024 * 1024,
} as FileSinkOptions);

export interface FileSinkDeps {
  /** Clock in ms; default Date.now. */
  now?: () => number;
  /** File operations; missing ones are the real ones. */
  fs?: Partial<FileSinkFs>;
}

export interface FileSinkStats {
  /** Records handed to write() and writeLine(). */
  received: number;
  /** Records (lines) on disk. */
  written: number;
  /** Bytes on disk, including a '\n' written to end a line left partial by a failed write. */
  bytes: number;
  /** Records in buffers, not yet written. */
  buffered: number;
  openFiles: number;
  rotations: number;
  /** Dropped records by reason: errno names lower-cased ('eloop', 'enospc'), 'closed', 'invalid'. */
  dropped: Record<string, number>;
}

/** A path whose open or write failed is not tried again for this long. */
export const RETRY_AFTER_MS = 1000;
/** At most this many failed paths are remembered; the oldest is forgotten first. */
export const MAX_REMEMBERED_FAILURES = 4096;

/** A path that failed: records for it are dropped with `reason` until `untilMs`. */
interface Failure {
  untilMs: number;
  reason: string;
  /** A failed write left a partial line at the end of the file. */
  partialLine: boolean;
}

/** Per-container log files below one base directory. See the top of this file. */
export class FileSink {
  private readonly rotateBytes: number;
  private readonly idleCloseMs: number;
  private readonly maxOpenFiles: number;
  private readonly chunkBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly containerPath: PathTemplate;
  private readonly hostPath: PathTemplate;
  private readonly unknownPath: PathTemplate;
  private readonly encode: Encoder;
  /** The open/write/rotate/close primitives, and the written and buffered counters. */
  private readonly writer: LogFileWriter;
  private readonly now: () => number;
  /** Open files by key (segments joined with '/'). */
  private readonly files: Map<string, LogFile>;
  private readonly failures: Map<string, Failure>;
  /** Files with buffered bytes, each once. */
  private dirty: LogFile[];
  private readonly bySender: WeakMap<SenderCgroup, LogFile>;
  private readonly dropped: Map<string, number>;
  private received: number;
  private rotations: number;
  private seq: number;
  /** Refreshed by the timers and on every open; good enough for idle close. */
  private coarseNowMs: number;
  private closed: boolean;
  private flushTimer: NodeJS.Timeout | null;
  private idleTimer: NodeJS.Timeout | null;

  /**
   * Checks the options (throwing an Error that names the option and what it accepts), compiles
   * the templates and the encoder, creates the base directory if missing, and starts the timers.
   */
  constructor(options: Partial<FileSinkOptions> & { dir: string }, deps: FileSinkDeps = {}) {
    const o = resolveOptions(options);
    this.rotateBytes = o.rotateBytes;
    this.idleCloseMs = o.idleCloseMs;
    this.maxOpenFiles = o.maxOpenFiles;
    this.chunkBytes = o.chunkBytes;
    this.maxBufferedBytes = o.maxBufferedBytes;
    this.containerPath = compileOption('container_path', o.containerPath);
    this.hostPath = compileOption('host_path', o.hostPath);
    this.unknownPath = compileOption('unknown_path', o.unknownPath);
    this.encode = createEncoder(o.format, { hostname: o.hostname });
    const fileOps: FileSinkFs = {
      openLogFile: deps.fs?.openLogFile ?? REAL_FILE_SINK_FS.openLogFile,
      rotateLogFile: deps.fs?.rotateLogFile ?? REAL_FILE_SINK_FS.rotateLogFile,
      writeSync: deps.fs?.writeSync ?? REAL_FILE_SINK_FS.writeSync,
      fstatSize: deps.fs?.fstatSize ?? REAL_FILE_SINK_FS.fstatSize,
      closeSync: deps.fs?.closeSync ?? REAL_FILE_SINK_FS.closeSync,
    };
    this.writer = new LogFileWriter(
      { dir: o.dir, fileMode: o.fileMode, dirMode: o.dirMode, rotateKeep: o.rotateKeep, chunkBytes: o.chunkBytes },
      fileOps,
    );
    this.now = deps.now ?? Date.now;
    this.files = new Map();
    this.failures = new Map();
    this.dirty = [];
    this.bySender = new WeakMap();
    this.dropped = new Map();
    this.received = 0;
    this.rotations = 0;
    this.seq = 0;
    this.coarseNowMs = this.now();
    this.closed = false;
    this.flushTimer = null;
    this.idleTimer = null;
    ensureBaseDir(o.dir, o.dirMode);
    if (o.flushIntervalMs > 0) {
      this.flushTimer = setInterval(() => this.onFlushTimer(), o.flushIntervalMs);
      this.flushTimer.unref();
    }
    if (o.idleCloseMs > 0) {
      this.idleTimer = setInterval(() => this.closeIdle(), Math.min(Math.max(Math.floor(o.idleCloseMs / 4), 100), 10_000));
      this.idleTimer.unref();
    }
  }

  /**
   * Appends `rec` to its file: the container template for container senders, the host template
   * for host and root-cgroup senders, the unknown template otherwise. Never throws.
   */
  write(rec: LogRecord): void {
    this.received++;
    if (this.closed) {
      this.drop('closed', 1);
      return;
    }
    let file: LogFile | null;
    let line: string;
    try {
      file = this.fileFor(rec);
      if (file === null) return;
      line = this.encode(rec);
    } catch {
      // Only a record that breaks the LogRecord contract gets here; file errors are caught below.
      this.drop('invalid', 1);
      return;
    }
    this.append(file, line);
  }

  /**
   * Appends one line to the file at `segments` (each sanitised again here), e.g. a rate
   * limiter's "N messages suppressed" notice into a container's file. '\r' and '\n' inside
   * `line` become spaces, and one '\n' is added. Counted like a record. Never throws.
   */
  writeLine(segments: string[], line: string): void {
    this.received++;
    if (this.closed) {
      this.drop('closed', 1);
      return;
    }
    if (!Array.isArray(segments) || segments.length === 0 || typeof line !== 'string') {
      this.drop('invalid', 1);
      return;
    }
    const segs = new Array<string>(segments.length);
    for (let i = 0; i < segments.length; i++) segs[i] = sanitizeSegment(String(segments[i]));
    const file = this.openFor(segs.join('/'), segs);
    if (file === null) return;
    let text = line.endsWith('\n') ? line.substring(0, line.length - 1) : line;
    if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1) text = text.replace(/[\r\n]/g, ' ');
    this.append(file, text + '\n');
  }

  /** The sanitised path segments of `rec`'s file, below the base directory. Never throws. */
  pathFor(rec: LogRecord): string[] {
    return this.templateFor(rec.sender).render(rec);
  }

  /** Writes every buffer now, synchronously. Never throws. */
  flush(): void {
    const list = this.dirty;
    if (list.length === 0) return;
    this.dirty = [];
    for (let i = 0; i < list.length; i++) {
      const file = list[i];
      file.dirty = false;
      if (file.fd >= 0 && file.used > 0) this.flushFile(file);
    }
  }

  /**
   * For SIGHUP after logrotate moved the files: writes every buffer, closes every file, and
   * lets failed paths be tried again at once; the next record for a path opens it anew.
   * Never throws.
   */
  reopen(): void {
    this.flush();
    for (const file of this.files.values()) this.closeFile(file);
    for (const f of this.failures.values()) f.untilMs = 0;
  }

  /** Writes every buffer, closes every file and stops the timers; later records are dropped as 'closed'. */
  close(): void {
    if (this.closed) return;
    this.flush();
    for (const file of this.files.values()) this.closeFile(file);
    this.failures.clear();
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    this.flushTimer = null;
    this.idleTimer = null;
    this.closed = true;
  }

  /**
   * Closes (after writing out) every file not written for `idleCloseMs`, and forgets expired
   * failures; returns how many files it closed. Called by the idle timer.
   */
  closeIdle(): number {
    const now = this.now();
    this.coarseNowMs = now;
    for (const [key, f] of this.failures) {
      if (f.untilMs <= now && !f.partialLine) this.failures.delete(key);
    }
    if (this.idleCloseMs <= 0) return 0;
    const limit = now - this.idleCloseMs;
    let n = 0;
    for (const file of this.files.values()) {
      if (file.lastWriteMs <= limit) {
        this.flushFile(file);
        this.closeFile(file);
        n++;
      }
    }
    return n;
  }

  /** Counters; `received === written + buffered + Σ dropped` always holds. */
  stats(): FileSinkStats {
    const dropped: Record<string, number> = {};
    for (const [reason, n] of this.dropped) dropped[reason] = n;
    return {
      received: this.received,
      written: this.writer.written,
      bytes: this.writer.bytes,
      buffered: this.writer.bufferedLines,
      openFiles: this.files.size,
      rotations: this.rotations,
      dropped,
    };
  }

  // -------------------------------------------------------------------------------------------

  private templateFor(sender: SenderCgroup): PathTemplate {
    if (sender.container !== null) return this.containerPath;
    return sender.kind === 'host' || sender.kind === 'root' ? this.hostPath : this.unknownPath;
  }

  /** The open file for `rec`, opening it if needed; null when dropped (counted). */
  private fileFor(rec: LogRecord): LogFile | null {
    const sender = rec.sender;
    const tpl = this.templateFor(sender);
    if (!tpl.senderOnly) {
      const segs = tpl.render(rec);
      return this.openFor(segs.join('/'), segs);
    }
    const known = this.bySender.get(sender);
    if (known !== undefined) {
      if (known.fd >= 0) return known;
      const again = this.openFor(known.key, known.segments);
      if (again !== null) this.bySender.set(sender, again);
      return again;
    }
    const segs = tpl.render(rec);
    const file = this.openFor(segs.join('/'), segs);
    if (file !== null) this.bySender.set(sender, file);
    return file;
  }

  /** The open file at `key`, opening it if needed; null (and one drop counted) when it cannot be. */
  private openFor(key: string, segments: string[]): LogFile | null {
    const open = this.files.get(key);
    if (open !== undefined) return open;
    const now = this.now();
    this.coarseNowMs = now;
    const failure = this.failures.get(key);
    if (failure !== undefined && now < failure.untilMs) {
      this.drop(failure.reason, 1);
      return null;
    }
    if (this.files.size >= this.maxOpenFiles) this.closeLeastRecent();
    let file: LogFile;
    try {
      file = this.writer.open(key, segments, failure !== undefined && failure.partialLine, now);
    } catch (err) {
      this.fail(key, errorReason(err), failure !== undefined && failure.partialLine, now);
      this.drop(errorReason(err), 1);
      return null;
    }
    if (failure !== undefined) this.failures.delete(key);
    this.files.set(key, file);
    return file;
  }

  /** Appends one encoded line to `file`'s buffer, rotating and writing out as needed. */
  private append(target: LogFile, line: string): void {
    let file = target;
    if (this.rotateBytes > 0) {
      const pending = file.size + file.used;
      // length * 3 bounds the UTF-8 size, so the exact size is computed only near the limit.
      if (pending > 0 && pending + line.length * 3 > this.rotateBytes && pending + Buffer.byteLength(line) > this.rotateBytes) {
        const next = this.rotate(file);
        if (next === null) return;
        file = next;
      }
    }
    file.seq = ++this.seq;
    file.lastWriteMs = this.coarseNowMs;
    let free = file.buf.length - file.used;
    if (line.length * 3 > free) {
      const len = Buffer.byteLength(line);
      if (len > free) {
        if (file.used > 0 && !this.flushFile(file)) {
          this.drop(this.failedReason(file.key), 1);
          return;
        }
        if (len > this.chunkBytes) {
          this.writeDirect(file, line, len);
          return;
        }
        free = file.buf.length;
      }
    }
    const n = this.writer.put(file, line);
    if (free - n === 0) {
      this.flushFile(file);
    } else if (!file.dirty) {
      file.dirty = true;
      this.dirty.push(file);
    }
    if (this.writer.bufferedBytes > this.maxBufferedBytes) this.flush();
  }

  /** A line larger than a chunk, written on its own (the buffer is already empty). */
  private writeDirect(file: LogFile, line: string, len: number): void {
    const w = this.writer;
    if (w.writeDirect(file, line, len)) return;
    const reason = w.errorReason;
    this.drop(reason, 1);
    this.closeFile(file);
    this.fail(file.key, reason, w.partialLine, this.now());
  }

  /** Writes `file`'s buffer out; false when the write failed (the file is then closed). */
  private flushFile(file: LogFile): boolean {
    const w = this.writer;
    if (w.writeOut(file)) return true;
    // Lines wholly written before the error are on disk; the rest of the chunk is dropped.
    const reason = w.errorReason;
    this.drop(reason, w.lost);
    this.closeFile(file);
    this.fail(file.key, reason, w.partialLine, this.now());
    return false;
  }

  /** Writes out, closes, shifts the files and opens anew; null (the line dropped) on failure. */
  private rotate(file: LogFile): LogFile | null {
    if (!this.flushFile(file)) {
      this.drop(this.failedReason(file.key), 1);
      return null;
    }
    this.closeFile(file);
    try {
      this.writer.rotate(file.segments);
    } catch (err) {
      const reason = errorReason(err);
      this.fail(file.key, reason, false, this.now());
      this.drop(reason, 1);
      return null;
    }
    this.rotations++;
    return this.openFor(file.key, file.segments);
  }

  private closeLeastRecent(): void {
    let oldest: LogFile | null = null;
    for (const file of this.files.values()) {
      if (oldest === null || file.seq < oldest.seq) oldest = file;
    }
    if (oldest !== null) {
      this.flushFile(oldest);
      this.closeFile(oldest);
    }
  }

  /** Closes `file` (its buffer must already be written out or dropped) and frees its buffer. */
  private closeFile(file: LogFile): void {
    if (file.fd < 0) return;
    // Lines still buffered are not left by the public paths (they write out first); counted for the invariant.
    const lost = this.writer.close(file);
    if (this.files.get(file.key) === file) this.files.delete(file.key);
    this.drop('closed', lost);
  }

  private fail(key: string, reason: string, partialLine: boolean, now: number): void {
    const old = this.failures.get(key);
    if (old !== undefined) this.failures.delete(key);
    else if (this.failures.size >= MAX_REMEMBERED_FAILURES) {
      const first = this.failures.keys().next();
      if (first.done !== true) this.failures.delete(first.value);
    }
    this.failures.set(key, { untilMs: now + RETRY_AFTER_MS, reason, partialLine: partialLine || (old !== undefined && old.partialLine) });
  }

  private failedReason(key: string): string {
    const f = this.failures.get(key);
    return f === undefined ? 'eio' : f.reason;
  }

  private drop(reason: string, n: number): void {
    if (n <= 0) return;
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  private onFlushTimer(): void {
    this.coarseNowMs = this.now();
    this.flush();
  }
}

function resolveOptions(options: Partial<FileSinkOptions> & { dir: string }): FileSinkOptions {
  if (options === null || typeof options !== 'object') throw new Error('File sink options must be an object with at least dir');
  const o: FileSinkOptions = {
    dir: options.dir,
    containerPath: options.containerPath ?? FILE_SINK_DEFAULTS.containerPath,
    hostPath: options.hostPath ?? FILE_SINK_DEFAULTS.hostPath,
    unknownPath: options.unknownPath ?? FILE_SINK_DEFAULTS.unknownPath,
    format: options.format ?? FILE_SINK_DEFAULTS.format,
    hostname: options.hostname ?? FILE_SINK_DEFAULTS.hostname,
    fileMode: options.fileMode ?? FILE_SINK_DEFAULTS.fileMode,
    dirMode: options.dirMode ?? FILE_SINK_DEFAULTS.dirMode,
    rotateBytes: options.rotateBytes ?? FILE_SINK_DEFAULTS.rotateBytes,
    rotateKeep: options.rotateKeep ?? FILE_SINK_DEFAULTS.rotateKeep,
    idleCloseMs: options.idleCloseMs ?? FILE_SINK_DEFAULTS.idleCloseMs,
    maxOpenFiles: options.maxOpenFiles ?? FILE_SINK_DEFAULTS.maxOpenFiles,
    chunkBytes: options.chunkBytes ?? FILE_SINK_DEFAULTS.chunkBytes,
    flushIntervalMs: options.flushIntervalMs ?? FILE_SINK_DEFAULTS.flushIntervalMs,
    maxBufferedBytes: options.maxBufferedBytes ?? FILE_SINK_DEFAULTS.maxBufferedBytes,
  };
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new Error(`File sink option dir must be a directory path, got '${String(o.dir)}'`);
  if (!(LOG_FORMATS as readonly string[]).includes(o.format)) {
    throw new Error(`File sink option format is '${String(o.format)}'; expected one of: ${LOG_FORMATS.join(', ')}`);
  }
  if (typeof o.hostname !== 'string') throw new Error('File sink option hostname must be a string');
  checkInteger('file_mode', o.fileMode, 0, 0o7777);
  checkInteger('dir_mode', o.dirMode, 0, 0o7777);
  checkInteger('rotate_bytes', o.rotateBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('rotate_keep', o.rotateKeep, 0, 1000);
  checkInteger('idle_close_ms', o.idleCloseMs, 0, 2_147_483_647);
  checkInteger('max_open_files', o.maxOpenFiles, 1, 1_000_000);
  checkInteger('chunk_bytes', o.chunkBytes, 1024, 64 * 1024 * 1024);
  checkInteger('flush_interval_ms', o.flushIntervalMs, 0, 2_147_483_647);
  checkInteger('max_buffered_bytes', o.maxBufferedBytes, 0, Number.MAX_SAFE_INTEGER);
  return o;
}

function checkInteger(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Error(`File sink option ${name} is ${String(v)}; expected an integer from ${min} to ${max}`);
  }
}

function compileOption(name: string, template: string): PathTemplate {
  try {
    return compilePathTemplate(template);
  } catch (err) {
    throw new Error(`File sink option ${name}: ${(err as Error).message}`);
  }
}

/** Creates the base directory with `mode` (exactly, whatever the umask) when it is missing. */
function ensureBaseDir(dir: string, mode: number): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new Error(`File sink directory '${dir}' exists and is not a directory`);
    return;
  }
  fs.mkdirSync(dir, { recursive: true, mode });
  fs.chmodSync(dir, mode);
}
