/**
 * The forwarder's disk buffer on its own: append and read back in order across segments,
 * commit and rewind, the byte cap exact, prepend in front, restart with what an earlier run
 * left (including a line cut by a crash), a failed write counted, and the lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { APPEND_ERROR, APPEND_FULL, APPEND_OK, DiskBuffer, type DiskChunk } from '../../sinks/disk-buffer';
import { removeDir, tempDir } from '../helpers/fixtures';

let dir: string;
beforeEach(() => {
  dir = path.join(tempDir('cs-disk-'), 'buf');
});
afterEach(() => removeDir(path.dirname(dir)));

const msg = (i: number): string => `message ${String(i).padStart(5, '0')}`; // 13 bytes

function lines(c: DiskChunk | null): string[] {
  return c === null ? [] : c.buf.toString().split('\n').slice(0, -1);
}

function readAll(b: DiskBuffer, max = 1000): string[] {
  const out: string[] = [];
  for (let c = b.read(max); c !== null; c = b.read(max)) out.push(...lines(c));
  return out;
}

function segments(): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
}

describe('the disk buffer', () => {
  test('reads back what was appended, in order, across segments; commit deletes what is behind it', () => {
    const b = new DiskBuffer({ dir, maxBytes: 1 << 20, segmentBytes: 100, chunkBytes: 50 });
    for (let i = 0; i < 50; i++) expect(b.append(msg(i), 13)).toBe(APPEND_OK);
    expect(b.bytes()).toBe(50 * 14);
    const first = b.read(100);
    expect(lines(first)).toEqual([0, 1, 2, 3, 4, 5, 6].map(msg)); // whole lines only
    const rest = readAll(b);
    expect(rest).toEqual(Array.from({ length: 43 }, (_, i) => msg(i + 7)));
    expect(segments().length).toBeGreaterThan(3);
    b.commit((first as DiskChunk).end);
    expect(b.bytes()).toBe(43 * 14);
    b.rewind();
    expect(readAll(b)).toEqual(rest); // not committed: handed out again
    b.close();
  });

  test('the cap counts message bytes plus one newline each, exactly', () => {
    const b = new DiskBuffer({ dir, maxBytes: 10 * 14 + 13 });
    const results = Array.from({ length: 12 }, (_, i) => b.append(msg(i), 13));
    expect(results).toEqual([...Array(10).fill(APPEND_OK), APPEND_FULL, APPEND_FULL]);
    expect(b.bytes()).toBe(140);
    const c = b.read(1 << 20);
    b.commit((c as DiskChunk).end);
    expect(b.isEmpty()).toBe(true);
    expect(segments()).toEqual([]);
    expect(b.append(msg(99), 13)).toBe(APPEND_OK);
    b.close();
  });

  test('prepend puts older messages in front, and a partly sent head is rewritten at close', () => {
    const a = new DiskBuffer({ dir, maxBytes: 1 << 20 });
    for (let i = 10; i < 20; i++) a.append(msg(i), 13);
    const c = a.read(14 * 3) as DiskChunk; // 10, 11, 12 sent
    a.commit(c.end);
    expect(a.prepend([msg(7), msg(8), msg(9)], [13, 13, 13])).toBe(3);
    a.close();
    const b = new DiskBuffer({ dir, maxBytes: 1 << 20 });
    expect(b.bytes()).toBe(10 * 14);
    expect(readAll(b)).toEqual([7, 8, 9, 13, 14, 15, 16, 17, 18, 19].map(msg));
    b.close();
  });

  test('prepend stores the oldest that fit; the rest are the caller\'s to count', () => {
    const b = new DiskBuffer({ dir, maxBytes: 5 * 14 });
    b.append(msg(10), 13);
    b.append(msg(11), 13);
    expect(b.prepend([0, 1, 2, 3, 4].map(msg), [13, 13, 13, 13, 13])).toBe(3);
    expect(readAll(b)).toEqual([0, 1, 2, 10, 11].map(msg));
    b.close();
  });

  test('a restart reads what the earlier run left, oldest first, and skips a line cut by a crash', () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '0001000000000000.seg'), `${msg(1)}\n${msg(2)}\nmess`);
    fs.writeFileSync(path.join(dir, '0001000000000001.seg'), `${msg(3)}\n`);
    fs.writeFileSync(path.join(dir, '0001000000000001.seg.tmp'), 'half-written prepend');
    const b = new DiskBuffer({ dir, maxBytes: 1 << 20 });
    b.append(msg(4), 13);
    expect(readAll(b)).toEqual([1, 2, 3, 4].map(msg));
    expect(b.corruptLines).toBe(1);
    expect(fs.existsSync(path.join(dir, '0001000000000001.seg.tmp'))).toBe(false);
    b.close();
  });

  test('a failed write drops that chunk, counted, and refuses appends for a while', () => {
    let now = 0;
    const b = new DiskBuffer({ dir, maxBytes: 1 << 20, now: () => now });
    b.append(msg(0), 13);
    fs.rmSync(dir, { recursive: true, force: true }); // the segment cannot be created now
    expect(b.flush()).toBe(false);
    expect(b.errorDrops).toBe(1);
    expect(b.lastError).toBe('ENOENT');
    expect(b.append(msg(1), 13)).toBe(APPEND_ERROR);
    expect(b.errorDrops).toBe(2);
    now += 1000;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    expect(b.append(msg(2), 13)).toBe(APPEND_OK);
    expect(readAll(b)).toEqual([msg(2)]);
    b.close();
  });

  test('one directory, one collector: a live lock is refused, a stale one taken over', () => {
    const a = new DiskBuffer({ dir, maxBytes: 1 << 20 });
    fs.writeFileSync(path.join(dir, 'lock'), '1\n'); // pid 1 is alive
    expect(() => new DiskBuffer({ dir, maxBytes: 1 << 20 })).toThrow(`the disk buffer '${dir}' is in use by process 1`);
    fs.writeFileSync(path.join(dir, 'lock'), '999999999\n');
    const b = new DiskBuffer({ dir, maxBytes: 1 << 20 });
    b.close();
    a.close();
  });
});
