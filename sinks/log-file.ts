/**
 * One open log file of the file sink and its chunk buffer, and the primitives that act on it:
 * open (confined), fill the buffer, write it out, write a long line directly, rotate, close.
 * Which record goes to which file, when to write out, and what to remember about a failure are
 * the sink's business (`file-sink.ts`); this module does the system calls and keeps the counts
 * that follow from them exactly: lines and bytes buffered, lines and bytes that reached a file.
 *
 * Why this shape: the per-record path is `put()`, one `buf.write` into a Buffer allocated when
 * the file was opened; everything else happens once per chunk or per file. A write loops on
 * short writes; when it fails, `writeOut` says how many whole lines landed before the error and
 * whether a partial line was left at the end of the file (`lost`, `partialLine`, `errorReason`
 * of the writer, read by the sink right after), so the sink can count the rest as dropped and
 * end that line on the next open. Errors are never thrown from the write primitives, only from
 * `open()` and `rotate()`, with the errno in `.code`.
 *
 * Bounds: one buffer of `chunkBytes` per open file; a line longer than that is written from its
 * own Buffer and not kept. Buffers of closed files are kept for reuse, `MAX_FREE_BUFFERS` at
 * most. Nothing here logs.
 */
import fs from 'node:fs';
import { openLogFile, rotateLogFile } from '../collector';

/** The file operations the sink uses; tests pass fakes for ENOSPC, short writes and counts. */
export interface FileSinkFs {
  openLogFile(base: string, segments: string[], fileMode: number, dirMode: number): number;
  rotateLogFile(base: string, segments: string[], keep: number): void;
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
  /** The file's size in bytes. */
  fstatSize(fd: number): number;
  closeSync(fd: number): void;
}

/** The real operations: the addon's confined open and rotate, node:fs for the rest. */
export const REAL_FILE_SINK_FS: Readonly<FileSinkFs> = Object.freeze({
  openLogFile,
  rotateLogFile,
  writeSync: (fd: number, buffer: Buffer, offset: number, length: number): number => fs.writeSync(fd, buffer, offset, length),
  fstatSize: (fd: number): number => fs.fstatSync(fd).size,
  closeSync: (fd: number): void => fs.closeSync(fd),
});

/** Free buffers kept for reuse after files close. */
const MAX_FREE_BUFFERS = 16;
const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);

/** One open file and its buffer. Closed when `fd` is -1 (then never used again). */
export class LogFile {
  readonly key: string;
  readonly segments: string[];
  fd: number;
  /** Bytes in the file: fstat at open, then counted. */
  size: number;
  buf: Buffer;
  /** Bytes in `buf`. */
  used: number;
  /** Records in `buf`. */
  lines: number;
  /** Coarse time of the last write, for idle close. */
  lastWriteMs: number;
  /** Write sequence number of the last write, for LRU close. */
  seq: number;
  /** In the sink's dirty list. */
  dirty: boolean;

  constructor(key: string, segments: string[], fd: number, size: number, buf: Buffer, nowMs: number) {
    this.key = key;
    this.segments = segments;
    this.fd = fd;
    this.size = size;
    this.buf = buf;
    this.used = 0;
    this.lines = 0;
    this.lastWriteMs = nowMs;
    this.seq = 0;
    this.dirty = false;
  }
}

export interface LogFileWriterOptions {
  dir: string;
  fileMode: number;
  dirMode: number;
  rotateKeep: number;
  chunkBytes: number;
}

/** Opens, fills, writes out, rotates and closes LogFiles below one base directory. See the top of this file. */
export class LogFileWriter {
  readonly chunkBytes: number;
  private readonly dir: string;
  private readonly fileMode: number;
  private readonly dirMode: number;
  private readonly rotateKeep: number;
  private readonly fs: FileSinkFs;
  private readonly freeBuffers: Buffer[];
  /** Records (lines) on disk, and bytes (including a '\n' that ends a partial line). */
  written: number;
  bytes: number;
  /** Records and bytes in buffers. */
  bufferedLines: number;
  bufferedBytes: number;
  /** After a failed write: its reason (errno name lower-cased, 'eio' for a write of 0 bytes). */
  errorReason: string;
  /** After a failed `writeOut`: lines of the chunk that did not reach the file. */
  lost: number;
  /** After a failed `writeOut` or `writeDirect`: a partial line was left at the end of the file. */
  partialLine: boolean;

  constructor(options: LogFileWriterOptions, fileOps: FileSinkFs) {
    this.chunkBytes = options.chunkBytes;
    this.dir = options.dir;
    this.fileMode = options.fileMode;
    this.dirMode = options.dirMode;
    this.rotateKeep = options.rotateKeep;
    this.fs = fileOps;
    this.freeBuffers = [];
    this.written = 0;
    this.bytes = 0;
    this.bufferedLines = 0;
    this.bufferedBytes = 0;
    this.errorReason = 'eio';
    this.lost = 0;
    this.partialLine = false;
  }

  /**
   * Opens (creating directories and the file) the file at `segments`, learns its size, and with
   * `endPartialLine` first writes '\n' to end a line a failed write left. Throws the error
   * (errno in `.code`); no fd is left open then.
   */
  open(key: string, segments: string[], endPartialLine: boolean, nowMs: number): LogFile {
    let fd = -1;
    let size = 0;
    try {
      fd = this.fs.openLogFile(this.dir, segments, this.fileMode, this.dirMode);
      size = this.fs.fstatSize(fd);
      if (endPartialLine) {
        // A failed write left half a line at the end: end it, so the next record is a line.
        this.writeAll(fd, NEWLINE, 1);
        this.bytes++;
        size++;
      }
    } catch (err) {
      if (fd >= 0) this.closeFd(fd);
      throw err;
    }
    const buf = this.freeBuffers.length > 0 ? (this.freeBuffers.pop() as Buffer) : Buffer.allocUnsafe(this.chunkBytes);
    return new LogFile(key, segments, fd, size, buf, nowMs);
  }

  /** Appends `line` to `file`'s buffer (the caller made sure it fits); returns its bytes. */
  put(file: LogFile, line: string): number {
    const n = file.buf.write(line, file.used, 'utf8');
    file.used += n;
    file.lines++;
    this.bufferedLines++;
    this.bufferedBytes += n;
    return n;
  }

  /**
   * Writes `file`'s buffer out and empties it. False when the write failed: then `lost`,
   * `partialLine` and `errorReason` say what happened (lines wholly written before the error
   * count as written), and the caller closes the file.
   */
  writeOut(file: LogFile): boolean {
    const used = file.used;
    if (used === 0 || file.fd < 0) return true;
    const lines = file.lines;
    const done = this.writeAllCounted(file.fd, file.buf, used);
    file.used = 0;
    file.lines = 0;
    this.bufferedLines -= lines;
    this.bufferedBytes -= used;
    this.bytes += done;
    file.size += done;
    if (done === used) {
      this.written += lines;
      return true;
    }
    // Lines wholly written before the error are on disk; the rest of the chunk is lost.
    let landed = 0;
    for (let i = file.buf.indexOf(0x0a); i !== -1 && i < done; i = file.buf.indexOf(0x0a, i + 1)) landed++;
    if (landed > lines) landed = lines;
    this.written += landed;
    this.lost = lines - landed;
    // A write that stopped right after a '\n' left whole lines only: nothing to end at the next open.
    this.partialLine = done > 0 && file.buf[done - 1] !== 0x0a;
    return false;
  }

  /**
   * Writes a line larger than a chunk on its own (`file`'s buffer is already empty). False when
   * the write failed: then `partialLine` and `errorReason` say what happened, and the caller
   * counts the line dropped and closes the file.
   */
  writeDirect(file: LogFile, line: string, len: number): boolean {
    const data = Buffer.from(line, 'utf8');
    const done = this.writeAllCounted(file.fd, data, len);
    if (done === len) {
      this.written++;
      this.bytes += len;
      file.size += len;
      return true;
    }
    this.bytes += done;
    this.partialLine = done > 0;
    return false;
  }

  /** Shifts the closed file at `segments`: name → name.1 → … → name.<rotateKeep>. Throws the error. */
  rotate(segments: string[]): void {
    this.fs.rotateLogFile(this.dir, segments, this.rotateKeep);
  }

  /**
   * Closes `file` and keeps its buffer for reuse; returns the lines still in its buffer, which
   * are lost (the sink writes out first, so 0 on its paths).
   */
  close(file: LogFile): number {
    if (file.fd < 0) return 0;
    this.closeFd(file.fd);
    file.fd = -1;
    let lost = 0;
    if (file.used > 0) {
      this.bufferedLines -= file.lines;
      this.bufferedBytes -= file.used;
      lost = file.lines;
      file.used = 0;
      file.lines = 0;
    }
    if (this.freeBuffers.length < MAX_FREE_BUFFERS && file.buf.length === this.chunkBytes) this.freeBuffers.push(file.buf);
    file.buf = EMPTY;
    return lost;
  }

  /** Writes `len` bytes of `data`, looping on short writes; returns the bytes written. */
  private writeAllCounted(fd: number, data: Buffer, len: number): number {
    let off = 0;
    try {
      while (off < len) {
        const n = this.fs.writeSync(fd, data, off, len - off);
        if (!(n > 0)) {
          this.errorReason = 'eio';
          return off;
        }
        off += n;
      }
    } catch (err) {
      this.errorReason = errorReason(err);
    }
    return off;
  }

  /** Writes all of `data` or throws (used only while opening). */
  private writeAll(fd: number, data: Buffer, len: number): void {
    const done = this.writeAllCounted(fd, data, len);
    if (done !== len) throw Object.assign(new Error('write failed'), { code: this.errorReason.toUpperCase() });
  }

  private closeFd(fd: number): void {
    try {
      this.fs.closeSync(fd);
    } catch {
      // close(2) errors are not actionable here: the fd is gone either way.
    }
  }
}

/** The drop reason for an error: its errno name lower-cased ('eloop'), else 'error'. */
export function errorReason(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0 && code.length <= 32) return code.toLowerCase();
  }
  return 'error';
}
