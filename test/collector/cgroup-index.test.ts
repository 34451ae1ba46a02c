/**
 * The cgroup id → path index against a scripted tree (a fake file system and clock), then against
 * the real cgroup2 mount with real directories made and removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findCgroup2Mount } from '../../collector';
import { CgroupIndex, type CgroupTreeFs } from '../../collector/cgroup-index';
import { cgroupUnavailableReason, TestCgroups, waitFor } from '../helpers/fixtures';

/** A cgroup tree in memory: absolute path → inode; watchers fire on mkdir/rmdir like inotify. */
class FakeTree implements CgroupTreeFs {
  readonly dirs = new Map<string, number>();
  readonly watchers = new Map<string, (name: string) => void>();
  calls = { subdirs: 0, inode: 0, watch: 0 };
  constructor(readonly mount: string) {
    this.dirs.set(mount, 1);
  }
  mkdir(abs: string, ino: number): void {
    this.dirs.set(abs, ino);
    this.watchers.get(path.dirname(abs))?.(path.basename(abs));
  }
  rmdir(abs: string): void {
    this.dirs.delete(abs);
    this.watchers.get(path.dirname(abs))?.(path.basename(abs));
  }
  subdirs(dir: string): string[] | null {
    this.calls.subdirs++;
    if (!this.dirs.has(dir)) return null;
    return [...this.dirs.keys()].filter((d) => path.dirname(d) === dir && d !== dir).map((d) => path.basename(d));
  }
  inode(dir: string): number | null {
    this.calls.inode++;
    return this.dirs.get(dir) ?? null;
  }
  watch(dir: string, onEntry: (name: string) => void): () => void {
    this.calls.watch++;
    this.watchers.set(dir, onEntry);
    return () => this.watchers.delete(dir);
  }
}

function setup(opts: { watch?: boolean; resolveById?: (id: number) => string | null; maxRetained?: number } = {}) {
  const tree = new FakeTree('/cg');
  let now = 1_000_000;
  const index = new CgroupIndex({
    mount: '/cg',
    treeFs: tree,
    now: () => now,
    watch: opts.watch ?? true,
    resolveById: opts.resolveById ?? null,
    retentionMs: 600_000,
    maxRetained: opts.maxRetained ?? 100,
    rescanMinIntervalMs: 1000,
  });
  return { tree, index, advance: (ms: number) => (now += ms) };
}

describe('CgroupIndex with a scripted tree', () => {
  test('the start-up walk indexes every directory by inode; the root is /', () => {
    const { tree, index } = setup();
    tree.mkdir('/cg/system.slice', 10);
    tree.mkdir('/cg/system.slice/docker-a.scope', 11);
    index.start();
    expect(index.lookup(1)?.path).toBe('/');
    expect(index.lookup(10)?.path).toBe('/system.slice');
    expect(index.lookup(11)?.path).toBe('/system.slice/docker-a.scope');
    expect(index.stats().live).toBe(3);
  });

  test('a cgroup made after start is indexed by its watch, removed ones are retained 10 minutes', () => {
    const { tree, index, advance } = setup();
    tree.mkdir('/cg/machine.slice', 20);
    index.start();
    tree.mkdir('/cg/machine.slice/libpod-x.scope', 21);
    expect(index.peek(21)?.path).toBe('/machine.slice/libpod-x.scope');
    tree.rmdir('/cg/machine.slice/libpod-x.scope');
    const kept = index.peek(21);
    expect(kept?.path).toBe('/machine.slice/libpod-x.scope');
    expect(kept?.removedAtMs).not.toBeNull();
    advance(599_000);
    expect(index.lookup(21)?.path).toBe('/machine.slice/libpod-x.scope');
    advance(2_000);
    expect(index.stats().retained).toBe(0);
    expect(index.peek(21)).toBeNull();
  });

  test('removing a directory retires its whole subtree', () => {
    const { tree, index } = setup();
    tree.mkdir('/cg/lxc.payload.a', 30);
    tree.mkdir('/cg/lxc.payload.a/init.scope', 31);
    index.start();
    tree.dirs.delete('/cg/lxc.payload.a/init.scope');
    tree.rmdir('/cg/lxc.payload.a');
    expect(index.peek(30)?.removedAtMs).not.toBeNull();
    expect(index.peek(31)?.removedAtMs).not.toBeNull();
    expect(index.stats().live).toBe(1);
  });

  test('retention is bounded: the oldest removed cgroups are forgotten first', () => {
    const { tree, index, advance } = setup({ maxRetained: 3 });
    index.start();
    for (let i = 0; i < 5; i++) tree.mkdir(`/cg/c${i}`, 100 + i);
    for (let i = 0; i < 5; i++) {
      advance(10);
      tree.rmdir(`/cg/c${i}`);
    }
    expect(index.stats().retained).toBe(3);
    expect(index.peek(100)).toBeNull();
    expect(index.peek(101)).toBeNull();
    expect(index.peek(104)?.path).toBe('/c4');
  });

  test('a path made again gets its new id; the old id keeps the old (same) path, retained', () => {
    const { tree, index, advance } = setup({ watch: false });
    tree.mkdir('/cg/a', 40);
    index.start();
    tree.dirs.delete('/cg/a');
    tree.dirs.set('/cg/a', 41);
    advance(1001);
    expect(index.lookup(41)?.path).toBe('/a'); // found by a rescan
    expect(index.peek(40)?.removedAtMs).not.toBeNull();
    expect(index.peek(40)?.path).toBe('/a');
  });

  test('a miss asks the kernel first, then walks at most once per interval, and remembers the miss', () => {
    const asked: number[] = [];
    const { tree, index, advance } = setup({
      watch: false,
      resolveById: (id) => {
        asked.push(id);
        return id === 50 ? '/cg/hidden/x' : null;
      },
    });
    index.start();
    expect(index.lookup(50)?.path).toBe('/hidden/x');
    expect(index.lookup(50)?.path).toBe('/hidden/x');
    expect(asked).toEqual([50]); // indexed after the first kernel answer
    advance(5000);
    const walks = index.stats().walks;
    expect(index.lookup(999)).toBeNull(); // kernel no, walk yes
    expect(index.stats().walks).toBe(walks + 1);
    expect(index.lookup(999)).toBeNull(); // remembered: neither kernel nor walk
    expect(index.lookup(998)).toBeNull(); // kernel asked, but the walk is rate-limited
    expect(index.stats().walks).toBe(walks + 1);
    expect(asked).toEqual([50, 999, 998]);
    advance(1001);
    tree.mkdir('/cg/late', 999);
    expect(index.lookup(999)?.path).toBe('/late');
    expect(index.stats().unresolved).toBe(2);
  });

  test('a kernel path outside the mount is not trusted', () => {
    const { index } = setup({ watch: false, resolveById: () => '/elsewhere/x' });
    index.start();
    expect(index.lookup(77)).toBeNull();
  });
});

const skip = cgroupUnavailableReason();
(skip === null ? describe : describe.skip)('CgroupIndex on the real cgroup2 mount', () => {
  if (skip !== null) console.log(`skipping real cgroup index tests: ${skip}`);
  let cgs: TestCgroups;
  let index: CgroupIndex;
  beforeEach(() => {
    cgs = new TestCgroups();
    index = new CgroupIndex({ mount: findCgroup2Mount()!, resolveById: null });
    index.start();
  });
  afterEach(async () => {
    index.stop();
    await cgs.remove();
  });

  test('learns a new cgroup from its watch and keeps its path after rmdir', async () => {
    const cg = cgs.create('system.slice/docker-feed.scope');
    await waitFor(() => index.peek(cg.id) !== null, 5000, 'the watch to index the new cgroup');
    expect(index.peek(cg.id)?.path).toBe(cg.rel);
    cgs.removeOne(cg);
    await waitFor(() => index.peek(cg.id)?.removedAtMs != null, 5000, 'the watch to see the rmdir');
    expect(fs.existsSync(cg.dir)).toBe(false);
    expect(index.lookup(cg.id)?.path).toBe(cg.rel);
  });
});
