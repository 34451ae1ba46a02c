/**
 * The file sink on real files in temp dirs: where lines land, with which modes; chunked writes
 * that lose, duplicate and reorder nothing (100,000 records into 100 files, counted line by
 * line); rotation by size; reopen after logrotate; idle and LRU closes; and the attacks: a
 * symlink planted below the base, a container named ../../etc, an unwritable path, a full disk
 * mid-chunk. Every test ends by checking the sink's counters, as Vector's compliance helper
 * does: received = written + dropped by reason, nothing left buffered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type LogRecord, type SenderCgroup } from '../../collector';
import { FILE_SINK_DEFAULTS, FileSink, type FileSinkOptions, type FileSinkFs, REAL_FILE_SINK_FS, RETRY_AFTER_MS } from '../../sinks/file-sink';
import {
  containerSender,
  countLines,
  expectCounters,
  hostSender,
  listFiles,
  makeRecord,
  readLines,
  removeDir,
  tempDir,
  UNKNOWN_SENDER,
} from './sink-fixtures';

let root = '';
let dir = '';
const sinks: FileSink[] = [];

beforeEach(() => {
  root = tempDir();
  dir = path.join(root, 'base');
  fs.mkdirSync(dir);
});

afterEach(() => {
  for (const s of sinks.splice(0)) s.close();
  removeDir(root);
});

/** A sink with timers off unless asked: tests flush explicitly. */
function makeSink(options: Partial<FileSinkOptions> = {}, deps: ConstructorParameters<typeof FileSink>[1] = {}): FileSink {
  const sink = new FileSink({ dir, flushIntervalMs: 0, idleCloseMs: 0, rotateBytes: 0, ...options }, deps);
  sinks.push(sink);
  return sink;
}

/** Record `i` of a numbered stream: the message is `<tag> <i>` so order can be checked. */
function numbered(sender: SenderCgroup, tag: string, i: number): LogRecord {
  return makeRecord(sender, `<14>Nov 28 14:16:03 app[1]: ${tag} ${i}`);
}

/** The numbers of `tag` lines in `file`, in file order. */
function numbersIn(file: string, tag: string): number[] {
  return readLines(file).map((l) => {
    const m = l.match(new RegExp(`: ${tag} (\\d+)$`));
    if (m === null) throw new Error(`unexpected line in ${file}: ${l}`);
    return Number(m[1]);
  });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function errnoError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** A disk that takes `budget` more bytes (a write is cut short there), then fails with ENOSPC. */
function fillingDisk(): { fs: Partial<FileSinkFs>; budget: number } {
  const disk = {
    budget: Infinity,
    fs: {
      writeSync: (fd: number, buf: Buffer, off: number, len: number): number => {
        if (disk.budget <= 0) throw errnoError('ENOSPC');
        const n = Math.min(len, disk.budget);
        disk.budget -= n;
        return REAL_FILE_SINK_FS.writeSync(fd, buf, off, n);
      },
    },
  };
  return disk;
}

describe('where lines land', () => {
  test('container, host and unknown senders each in their file', () => {
    const sink = makeSink();
    const web = containerSender('web');
    sink.write(makeRecord(web, '<14>Nov 28 14:16:03 nginx[1]: GET /'));
    sink.write(makeRecord(hostSender('cron.service'), '<78>Nov 28 14:16:03 CRON[2]: job'));
    sink.write(makeRecord(hostSender(null), 'from the root cgroup'));
    sink.write(makeRecord(UNKNOWN_SENDER, 'who knows'));
    sink.flush();
    expect(listFiles(dir)).toEqual(['docker/web/syslog.log', 'host/syslog.log', 'unknown/syslog.log']);
    expect(readLines(path.join(dir, 'docker/web/syslog.log'))).toEqual([expect.stringMatching(/^\S+ web nginx\[1\]: GET \/$/)]);
    expect(readLines(path.join(dir, 'host/syslog.log'))).toEqual([
      expect.stringMatching(/ host CRON\[2\]: job$/),
      expect.stringMatching(/ host myprog: from the root cgroup$/),
    ]);
    expect(readLines(path.join(dir, 'unknown/syslog.log'))).toEqual([expect.stringMatching(/ unknown myprog: who knows$/)]);
    expect(sink.pathFor(makeRecord(web, 'x'))).toEqual(['docker', 'web', 'syslog.log']);
    // Another sender object for the same container name shares the open file.
    sink.write(makeRecord(containerSender('web'), 'same file'));
    expect(sink.stats().openFiles).toBe(3);
    sink.flush();
    expect(countLines(path.join(dir, 'docker/web/syslog.log'))).toBe(2);
    expectCounters(sink, { received: 5, written: 5 });
  });

  test('modes are 0640 and 0750 whatever the umask, and a missing base is created 0750', () => {
    const old = process.umask(0o077);
    try {
      const base = path.join(root, 'new', 'logs');
      const sink = new FileSink({ dir: base, flushIntervalMs: 0, idleCloseMs: 0 });
      sinks.push(sink);
      sink.write(makeRecord(containerSender('web'), 'x'));
      sink.close();
      expect(fs.statSync(base).mode & 0o7777).toBe(0o750);
      expect(fs.statSync(path.join(base, 'docker')).mode & 0o7777).toBe(0o750);
      expect(fs.statSync(path.join(base, 'docker/web')).mode & 0o7777).toBe(0o750);
      expect(fs.statSync(path.join(base, 'docker/web/syslog.log')).mode & 0o7777).toBe(0o640);
      expectCounters(sink, { received: 1, written: 1 });
    } finally {
      process.umask(old);
    }
  });

  test('configured modes are applied, an existing file gets the file mode', () => {
    fs.mkdirSync(path.join(dir, 'host'));
    fs.writeFileSync(path.join(dir, 'host/syslog.log'), 'old\n', { mode: 0o666 });
    fs.chmodSync(path.join(dir, 'host/syslog.log'), 0o666);
    const sink = makeSink({ fileMode: 0o600, dirMode: 0o700 });
    sink.write(makeRecord(hostSender(), 'new'));
    sink.write(makeRecord(containerSender('db'), 'x'));
    sink.close();
    expect(fs.statSync(path.join(dir, 'host/syslog.log')).mode & 0o7777).toBe(0o600);
    expect(fs.statSync(path.join(dir, 'docker')).mode & 0o7777).toBe(0o700);
    expect(readLines(path.join(dir, 'host/syslog.log'))).toEqual(['old', expect.stringMatching(/: new$/)]);
    expectCounters(sink, { received: 2, written: 2 });
  });

  test('other templates and formats', () => {
    const sink = makeSink({ containerPath: '{runtime}/{short_id}/{facility}.json', hostPath: 'host/{unit}.json', format: 'json' });
    const web = containerSender('web');
    sink.write(makeRecord(web, '<14>Nov 28 14:16:03 app: a'));
    sink.write(makeRecord(web, '<86>Nov 28 14:16:03 app: b'));
    sink.write(makeRecord(hostSender('ssh.service'), 'c'));
    sink.close();
    expect(listFiles(dir)).toEqual([`docker/${'ab'.repeat(6)}/authpriv.json`, `docker/${'ab'.repeat(6)}/user.json`, 'host/ssh.service.json']);
    expect(JSON.parse(readLines(path.join(dir, 'host/ssh.service.json'))[0]).message).toBe('c');
    expectCounters(sink, { received: 3, written: 3 });
  });

  test('writeLine puts a notice into a given file, as one line', () => {
    const sink = makeSink();
    const web = containerSender('web');
    sink.write(makeRecord(web, 'before'));
    sink.writeLine(sink.pathFor(makeRecord(web, 'x')), 'container-syslog: 12 messages suppressed\nfor web');
    sink.writeLine(['host', '..'], 'sanitised again');
    sink.writeLine([], 'nowhere');
    sink.flush();
    expect(readLines(path.join(dir, 'docker/web/syslog.log'))).toEqual([
      expect.stringMatching(/: before$/),
      'container-syslog: 12 messages suppressed for web',
    ]);
    expect(readLines(path.join(dir, 'host/_.'))).toEqual(['sanitised again']);
    expectCounters(sink, { received: 4, written: 3, dropped: { invalid: 1 } });
  });
});

describe('chunked writing', () => {
  test('100,000 records into 100 files: every file holds exactly its lines, in order', () => {
    const sink = makeSink();
    const senders = range(0, 100).map((i) => containerSender(`c${i}`));
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const c = (i * 7919) % 100; // interleaved, not round-robin
      sink.write(numbered(senders[c], `c${c}`, i));
    }
    sink.flush();
    let total = 0;
    for (let c = 0; c < 100; c++) {
      const file = path.join(dir, `docker/c${c}/syslog.log`);
      const expected = range(0, N).filter((i) => (i * 7919) % 100 === c);
      total += countLines(file);
      expect(numbersIn(file, `c${c}`)).toEqual(expected);
    }
    expect(total).toBe(N);
    expect(sink.stats().openFiles).toBe(100);
    const bytes = listFiles(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
    expectCounters(sink, { received: N, written: N, bytes });
  });

  test('small chunks, memory pressure and lines longer than a chunk keep order and count', () => {
    const sink = makeSink({ chunkBytes: 1024, maxBufferedBytes: 4096 });
    const a = containerSender('a');
    const b = containerSender('b');
    const expected: Record<string, number[]> = { a: [], b: [] };
    for (let i = 0; i < 3000; i++) {
      const which = i % 3 === 0 ? 'b' : 'a';
      const long = i % 97 === 0 ? ` ${'é'.repeat(1000 + i)}` : '';
      sink.write(makeRecord(which === 'a' ? a : b, `<14>Nov 28 14:16:03 app[1]: ${which}${long} ${i}`));
      expected[which].push(i);
      expect(sink.stats().buffered).toBeLessThanOrEqual(4096 / 40);
    }
    sink.close();
    for (const w of ['a', 'b']) {
      const nums = readLines(path.join(dir, `docker/${w}/syslog.log`)).map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
      expect(nums).toEqual(expected[w]);
    }
    expectCounters(sink, { received: 3000, written: 3000 });
  });

  test('short writes are continued until the chunk is out', () => {
    const short: Partial<FileSinkFs> = {
      writeSync: (fd, buf, off, len) => REAL_FILE_SINK_FS.writeSync(fd, buf, off, Math.min(len, 7)),
    };
    const sink = makeSink({ chunkBytes: 1024 }, { fs: short });
    const web = containerSender('web');
    for (let i = 0; i < 500; i++) sink.write(numbered(web, 'w', i));
    sink.close();
    expect(numbersIn(path.join(dir, 'docker/web/syslog.log'), 'w')).toEqual(range(0, 500));
    expectCounters(sink, { received: 500, written: 500 });
  });

  test('the flush timer writes buffers without an explicit flush', async () => {
    const sink = makeSink({ flushIntervalMs: 20 });
    sink.write(makeRecord(containerSender('web'), 'timer'));
    const file = path.join(dir, 'docker/web/syslog.log');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && fs.statSync(file).size === 0) await new Promise((r) => setTimeout(r, 10));
    expect(readLines(file)).toEqual([expect.stringMatching(/: timer$/)]);
    expectCounters(sink, { received: 1, written: 1 });
  });
});

describe('rotation', () => {
  test('by size: keeps N old files, sizes bounded, the kept files hold the latest lines exactly once', () => {
    const rotateBytes = 4096;
    const keep = 3;
    const sink = makeSink({ rotateBytes, rotateKeep: keep });
    const web = containerSender('web');
    const N = 2000;
    for (let i = 0; i < N; i++) sink.write(numbered(web, 'r', i));
    sink.close();
    const base = path.join(dir, 'docker/web');
    expect(fs.readdirSync(base).sort()).toEqual(['syslog.log', 'syslog.log.1', 'syslog.log.2', 'syslog.log.3']);
    const kept: number[] = [];
    for (const name of ['syslog.log.3', 'syslog.log.2', 'syslog.log.1', 'syslog.log']) {
      expect(fs.statSync(path.join(base, name)).size).toBeLessThanOrEqual(rotateBytes);
      kept.push(...numbersIn(path.join(base, name), 'r'));
    }
    // A contiguous tail ending with the last line: nothing lost or repeated across rotations.
    expect(kept).toEqual(range(N - kept.length, N));
    expect(kept.length).toBeGreaterThan(3 * (rotateBytes / 80));
    const lineBytes = fs.statSync(path.join(base, 'syslog.log.1')).size / countLines(path.join(base, 'syslog.log.1'));
    expect(sink.stats().rotations).toBeGreaterThanOrEqual(Math.floor((N * lineBytes) / rotateBytes) - 1);
    expectCounters(sink, { received: N, written: N });
  });

  test('with enough files kept, the union of all files is every line exactly once', () => {
    const sink = makeSink({ rotateBytes: 2000, rotateKeep: 200, chunkBytes: 1024 });
    const web = containerSender('web');
    const N = 3000;
    for (let i = 0; i < N; i++) sink.write(numbered(web, 'u', i));
    sink.close();
    const base = path.join(dir, 'docker/web');
    const names = fs.readdirSync(base);
    const rotations = sink.stats().rotations;
    expect(names.length).toBe(rotations + 1);
    expect(rotations).toBeGreaterThan(50);
    const all: number[] = [];
    for (let k = rotations; k >= 1; k--) all.push(...numbersIn(path.join(base, `syslog.log.${k}`), 'u'));
    all.push(...numbersIn(path.join(base, 'syslog.log'), 'u'));
    expect(all).toEqual(range(0, N));
    for (const n of names) expect(fs.statSync(path.join(base, n)).size).toBeLessThanOrEqual(2000);
    expectCounters(sink, { received: N, written: N });
  });

  test('an existing file already over the limit is rotated first; a line over the limit gets its own file', () => {
    fs.mkdirSync(path.join(dir, 'host'));
    fs.writeFileSync(path.join(dir, 'host/syslog.log'), 'x'.repeat(5000) + '\n');
    const sink = makeSink({ rotateBytes: 1000, rotateKeep: 5 });
    const host = hostSender();
    sink.write(makeRecord(host, 'small 1'));
    sink.write(makeRecord(host, `big ${'y'.repeat(3000)}`));
    sink.write(makeRecord(host, 'small 2'));
    sink.close();
    const lines = (n: string): string[] => readLines(path.join(dir, 'host', n));
    expect(lines('syslog.log.3')).toEqual(['x'.repeat(5000)]);
    expect(lines('syslog.log.2')).toEqual([expect.stringMatching(/: small 1$/)]);
    expect(lines('syslog.log.1')).toEqual([expect.stringMatching(/: big y+$/)]);
    expect(lines('syslog.log')).toEqual([expect.stringMatching(/: small 2$/)]);
    expectCounters(sink, { received: 3, written: 3 });
  });
});

describe('reopen, idle close, LRU', () => {
  test('reopen(): after logrotate moves the file, new lines go to a new file', () => {
    const sink = makeSink();
    const web = containerSender('web');
    for (let i = 0; i < 10; i++) sink.write(numbered(web, 'o', i));
    sink.flush();
    const file = path.join(dir, 'docker/web/syslog.log');
    fs.renameSync(file, `${file}.1`);
    for (let i = 10; i < 15; i++) sink.write(numbered(web, 'o', i)); // buffered: still for the old fd
    sink.reopen();
    for (let i = 15; i < 25; i++) sink.write(numbered(web, 'o', i));
    sink.flush();
    expect(numbersIn(`${file}.1`, 'o')).toEqual(range(0, 15));
    expect(numbersIn(file, 'o')).toEqual(range(15, 25));
    expectCounters(sink, { received: 25, written: 25 });
  });

  test('idle files are written out and closed; writing again reopens them', () => {
    let now = 1_000_000;
    const sink = makeSink({ idleCloseMs: 1000 }, { now: () => now });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => containerSender(n));
    sink.write(makeRecord(a, 'a1'));
    sink.write(makeRecord(b, 'b1'));
    sink.write(makeRecord(c, 'c1'));
    now += 500;
    expect(sink.closeIdle()).toBe(0);
    sink.write(makeRecord(a, 'a2'));
    now += 600;
    expect(sink.closeIdle()).toBe(2);
    expect(sink.stats().openFiles).toBe(1);
    expect(readLines(path.join(dir, 'docker/b/syslog.log'))).toEqual([expect.stringMatching(/: b1$/)]);
    sink.write(makeRecord(b, 'b2'));
    expect(sink.stats().openFiles).toBe(2);
    sink.close();
    expect(readLines(path.join(dir, 'docker/a/syslog.log')).map((l) => l.slice(-2))).toEqual(['a1', 'a2']);
    expect(readLines(path.join(dir, 'docker/b/syslog.log')).map((l) => l.slice(-2))).toEqual(['b1', 'b2']);
    expect(readLines(path.join(dir, 'docker/c/syslog.log')).map((l) => l.slice(-2))).toEqual(['c1']);
    expectCounters(sink, { received: 5, written: 5 });
  });

  test('maxOpenFiles: never more open, least recently written closed first, every line kept', () => {
    let opens = 0;
    const counting: Partial<FileSinkFs> = {
      openLogFile: (...args) => {
        opens++;
        return REAL_FILE_SINK_FS.openLogFile(...args);
      },
    };
    const sink = makeSink({ maxOpenFiles: 5, chunkBytes: 1024 }, { fs: counting });
    const senders = range(0, 20).map((i) => containerSender(`c${i}`));
    let maxOpen = 0;
    for (let i = 0; i < 20_000; i++) {
      sink.write(numbered(senders[i % 20], 'l', i));
      maxOpen = Math.max(maxOpen, sink.stats().openFiles);
    }
    expect(maxOpen).toBe(5);
    // Hot and cold: the five most recently written stay open while one more is used.
    opens = 0;
    for (let i = 0; i < 100; i++) sink.write(numbered(senders[15 + (i % 5)], 'l', 20_000 + i));
    expect(opens).toBe(0);
    sink.close();
    let total = 0;
    for (let c = 0; c < 20; c++) {
      const nums = numbersIn(path.join(dir, `docker/c${c}/syslog.log`), 'l');
      expect(nums).toEqual([...range(0, 20_100)].filter((i) => (i < 20_000 ? i % 20 === c : 15 + ((i - 20_000) % 5) === c)));
      total += nums.length;
    }
    expect(total).toBe(20_100);
    expectCounters(sink, { received: 20_100, written: 20_100 });
  });
});

describe('attacks and failures', () => {
  test('does not follow symlinked dir', () => {
    const elsewhere = tempDir('cs-sink-elsewhere-');
    try {
      fs.symlinkSync(elsewhere, path.join(dir, 'docker'));
      const sink = makeSink();
      const web = containerSender('web');
      for (let i = 0; i < 5; i++) sink.write(makeRecord(web, `secret ${i}`));
      sink.write(makeRecord(hostSender(), 'host still works'));
      sink.close();
      expect(fs.readdirSync(elsewhere)).toEqual([]);
      const s = sink.stats();
      const reason = Object.keys(s.dropped)[0];
      expect(['eloop', 'enotdir']).toContain(reason);
      expect(readLines(path.join(dir, 'host/syslog.log'))).toEqual([expect.stringMatching(/host still works$/)]);
      expectCounters(sink, { received: 6, written: 1, dropped: { [reason]: 5 } });
    } finally {
      removeDir(elsewhere);
    }
  });

  test('does not follow a symlink planted at the file', () => {
    const target = path.join(root, 'target.txt');
    fs.writeFileSync(target, 'untouched\n');
    fs.mkdirSync(path.join(dir, 'docker/web'), { recursive: true });
    fs.symlinkSync(target, path.join(dir, 'docker/web/syslog.log'));
    const sink = makeSink();
    sink.write(makeRecord(containerSender('web'), 'x'));
    sink.close();
    expect(fs.readFileSync(target, 'utf8')).toBe('untouched\n');
    expectCounters(sink, { received: 1, written: 0, dropped: { eloop: 1 } });
  });

  test('a container named ../../etc cannot write outside the base', () => {
    const sink = makeSink();
    for (const name of ['../../etc', '..', '.', '/etc/passwd', 'a/../../../b', '..\u0000']) {
      sink.write(makeRecord(containerSender(name), `from ${JSON.stringify(name)}`));
    }
    sink.close();
    expect(fs.readdirSync(root)).toEqual(['base']);
    expect(listFiles(dir)).toEqual([
      'docker/_./syslog.log',
      'docker/_._.._etc/syslog.log',
      'docker/_._/syslog.log',
      'docker/_/syslog.log',
      'docker/_etc_passwd/syslog.log',
      'docker/a_.._.._.._b/syslog.log',
    ]);
    expectCounters(sink, { received: 6, written: 6 });
  });

  test('an unwritable path is counted as dropped, nothing thrown, retried after 1 s', () => {
    fs.writeFileSync(path.join(dir, 'unknown'), 'a file where a directory belongs\n');
    let now = 5_000_000;
    let opens = 0;
    const counting: Partial<FileSinkFs> = {
      openLogFile: (...args) => {
        opens++;
        return REAL_FILE_SINK_FS.openLogFile(...args);
      },
    };
    const sink = makeSink({}, { now: () => now, fs: counting });
    for (let i = 0; i < 5; i++) expect(() => sink.write(makeRecord(UNKNOWN_SENDER, `u ${i}`))).not.toThrow();
    expect(opens).toBe(1);
    sink.write(makeRecord(hostSender(), 'h'));
    expect(opens).toBe(2);
    now += RETRY_AFTER_MS - 1;
    sink.write(makeRecord(UNKNOWN_SENDER, 'still failing'));
    expect(opens).toBe(2);
    fs.unlinkSync(path.join(dir, 'unknown'));
    now += 1;
    sink.write(makeRecord(UNKNOWN_SENDER, 'works again'));
    expect(opens).toBe(3);
    sink.close();
    expect(readLines(path.join(dir, 'unknown/syslog.log'))).toEqual([expect.stringMatching(/works again$/)]);
    expectCounters(sink, { received: 8, written: 2, dropped: { enotdir: 6 } });
  });

  test('a failed rotation and a failed direct write are counted, and the path retried after 1 s', () => {
    let now = 1_000_000;
    let rotateFails = true;
    let writeFails = false;
    const flaky: Partial<FileSinkFs> = {
      rotateLogFile: (...args) => {
        if (rotateFails) throw errnoError('EPERM');
        REAL_FILE_SINK_FS.rotateLogFile(...args);
      },
      writeSync: (fd, buf, off, len) => {
        if (writeFails) throw errnoError('EIO');
        return REAL_FILE_SINK_FS.writeSync(fd, buf, off, len);
      },
    };
    const sink = makeSink({ rotateBytes: 300, rotateKeep: 2, chunkBytes: 1024 }, { now: () => now, fs: flaky });
    const web = containerSender('web');
    for (let i = 0; i < 10; i++) sink.write(numbered(web, 'q', i)); // ~60 bytes each: the 5th or 6th needs a rotation
    const afterRotateFail = sink.stats();
    expect(afterRotateFail.dropped.eperm).toBeGreaterThan(0);
    now += RETRY_AFTER_MS;
    rotateFails = false;
    writeFails = true;
    sink.write(makeRecord(web, `long ${'z'.repeat(2000)}`)); // rotates (no write needed), then a direct write fails
    writeFails = false;
    now += RETRY_AFTER_MS;
    sink.write(numbered(web, 'q', 99));
    sink.close();
    const s = sink.stats();
    expect(s.dropped.eio).toBe(1);
    expect(readLines(path.join(dir, 'docker/web/syslog.log'))).toEqual([expect.stringMatching(/: q 99$/)]);
    expectCounters(sink, { received: 12, written: s.written, dropped: { eperm: afterRotateFail.dropped.eperm, eio: 1 } });
    expect(s.written).toBe(12 - 1 - afterRotateFail.dropped.eperm);
  });

  test('EACCES on open is counted under its own reason', () => {
    const sink = makeSink({}, { fs: { openLogFile: () => { throw errnoError('EACCES'); } } });
    sink.write(makeRecord(containerSender('web'), 'x'));
    sink.write(makeRecord(containerSender('web2'), 'y'));
    sink.close();
    expectCounters(sink, { received: 2, written: 0, dropped: { eacces: 2 } });
  });

  test('a full disk mid-chunk: whole lines written count as written, the rest dropped, the next line starts clean', () => {
    let now = 1_000_000;
    const disk = fillingDisk();
    const sink = makeSink({ chunkBytes: 4096 }, { now: () => now, fs: disk.fs });
    const web = containerSender('web');
    for (let i = 0; i < 10; i++) sink.write(numbered(web, 'f', i));
    sink.flush();
    const file = path.join(dir, 'docker/web/syslog.log');
    const lineBytes = fs.statSync(file).size / 10;
    disk.budget = Math.floor(lineBytes * 3.5); // three and a half of the next ten lines fit
    for (let i = 10; i < 20; i++) sink.write(numbered(web, 'f', i));
    sink.flush();
    for (let i = 20; i < 25; i++) sink.write(numbered(web, 'f', i)); // within 1 s: dropped as enospc
    disk.budget = Infinity;
    now += RETRY_AFTER_MS;
    for (let i = 25; i < 30; i++) sink.write(numbered(web, 'f', i));
    sink.close();
    const lines = readLines(file);
    // 10 before; 3 whole lines of the failed chunk; half of the 4th, ended by the '\n' written
    // at the next open; then the 5 written after the retry delay.
    expect(lines.length).toBe(10 + 3 + 1 + 5);
    expect(lines[13].length).toBeLessThan(lines[12].length);
    expect(lines[12].replace(/12$/, '13').startsWith(lines[13])).toBe(true);
    const nums = lines.filter((_, i) => i !== 13).map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    expect(nums).toEqual([...range(0, 13), ...range(25, 30)]);
    expectCounters(sink, { received: 30, written: 18, dropped: { enospc: 7 + 5 }, bytes: fs.statSync(file).size });
  });

  test('a full disk exactly at a line boundary leaves no partial line, so no empty line follows', () => {
    let now = 1_000_000;
    const disk = fillingDisk();
    const sink = makeSink({ chunkBytes: 4096 }, { now: () => now, fs: disk.fs });
    const web = containerSender('web');
    for (let i = 0; i < 10; i++) sink.write(numbered(web, 'g', i));
    sink.flush();
    const file = path.join(dir, 'docker/web/syslog.log');
    const lineBytes = fs.statSync(file).size / 10;
    disk.budget = (lineBytes + 1) * 3; // exactly three of the next lines fit (two-digit numbers: one byte longer)
    for (let i = 10; i < 20; i++) sink.write(numbered(web, 'g', i));
    sink.flush();
    disk.budget = Infinity;
    now += RETRY_AFTER_MS;
    for (let i = 20; i < 25; i++) sink.write(numbered(web, 'g', i));
    sink.close();
    const lines = readLines(file);
    expect(lines.every((l) => l.length > 0)).toBe(true);
    const nums = lines.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    expect(nums).toEqual([...range(0, 13), ...range(20, 25)]);
    expectCounters(sink, { received: 25, written: 18, dropped: { enospc: 7 }, bytes: fs.statSync(file).size });
  });
});

describe('configuration and lifecycle', () => {
  test('config errors name the option', () => {
    expect(() => new FileSink({ dir, containerPath: '{runtime}/{nmae}' })).toThrow(/container_path: Unknown variable '\{nmae\}'/);
    expect(() => new FileSink({ dir, format: 'xml' as FileSinkOptions['format'] })).toThrow(/format is 'xml'; expected one of: text, json, rfc5424/);
    expect(() => new FileSink({ dir, chunkBytes: 10 })).toThrow(/chunk_bytes is 10; expected an integer from 1024/);
    expect(() => new FileSink({ dir, maxOpenFiles: 0 })).toThrow(/max_open_files/);
    expect(() => new FileSink({ dir, fileMode: 0o10000 })).toThrow(/file_mode/);
    fs.writeFileSync(path.join(root, 'file'), '');
    expect(() => new FileSink({ dir: path.join(root, 'file') })).toThrow(/not a directory/);
    expect(FILE_SINK_DEFAULTS).toMatchObject({ dir: '/var/log/container-syslog', containerPath: '{runtime}/{name}/syslog.log', fileMode: 0o640, dirMode: 0o750, chunkBytes: 65_536, flushIntervalMs: 100 });
  });

  test('after close(), writes are dropped as closed; close() twice is harmless', () => {
    const sink = makeSink();
    sink.write(makeRecord(hostSender(), 'a'));
    sink.close();
    sink.close();
    sink.write(makeRecord(hostSender(), 'b'));
    sink.writeLine(['host', 'syslog.log'], 'c');
    expect(readLines(path.join(dir, 'host/syslog.log')).length).toBe(1);
    expectCounters(sink, { received: 3, written: 1, dropped: { closed: 2 } });
  });

  test('a record that breaks the contract is dropped as invalid, not thrown', () => {
    const sink = makeSink();
    expect(() => sink.write({} as LogRecord)).not.toThrow();
    expect(() => sink.write(null as unknown as LogRecord)).not.toThrow();
    sink.close();
    expectCounters(sink, { received: 2, written: 0, dropped: { invalid: 2 } });
  });
});
