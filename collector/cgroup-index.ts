/**
 * cgroup id → cgroup path, kept after the cgroup is gone.
 *
 * The kernel gives each datagram's sender as a cgroup id: the inode number of the cgroup2
 * directory, never reused within a boot (KERNEL.md §4). An id is only useful with its path, and
 * the path is only readable while the directory exists, yet a container's last messages are often
 * read after its cgroup was removed. So the index learns paths early and forgets them late:
 *
 * - at start it walks the whole cgroup2 tree (stat of each directory gives its id);
 * - it watches every directory (inotify through fs.watch, up to `maxWatches`), so a cgroup made
 *   and removed between two messages is still indexed while it exists;
 * - on a miss it asks the kernel directly (open_by_handle_at, which needs CAP_DAC_READ_SEARCH),
 *   then, at most once per `rescanMinIntervalMs`, walks the tree again;
 * - a removed cgroup keeps its path for `retentionMs` (default 10 minutes), at most `maxRetained`
 *   of them, oldest forgotten first. A cached path can be stale, never wrong: ids are not reused.
 *
 * An id that still cannot be resolved is remembered as unresolved for `rescanMinIntervalMs`, so a
 * flood from one unknown cgroup costs one kernel lookup per interval, not one per message. The
 * root cgroup (id 1) is '/'. Nothing here throws on a bad tree: unreadable directories are skipped
 * and counted. The clock and every file-system call are constructor parameters for tests.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CgroupPathEntry {
  id: number;
  /** Relative to the cgroup2 mount, '/' for the root: as /proc/PID/cgroup shows it. */
  path: string;
  /** When the directory was seen to be gone (ms, the index's clock), or null while it exists. */
  removedAtMs: number | null;
}

export interface CgroupTreeFs {
  /** Subdirectory names of an absolute directory, or null if unreadable. */
  subdirs(dir: string): string[] | null;
  /** Inode number of an absolute directory, or null if it does not exist. */
  inode(dir: string): number | null;
  /** Watches a directory for entries created or removed; returns a closer, or null if it cannot. */
  watch(dir: string, onEntry: (name: string) => void): (() => void) | null;
}

export const realTreeFs: CgroupTreeFs = {
  subdirs(dir) {
    try {
      return fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      return null;
    }
  },
  inode(dir) {
    try {
      return fs.statSync(dir).ino;
    } catch {
      return null;
    }
  },
  watch(dir, onEntry) {
    try {
      // Only 'rename' (an entry made or removed). 'change' fires whenever a process enters or
      // leaves a cgroup (cgroup.events), which on a busy host is constant and never a new cgroup.
      const w = fs.watch(dir, { persistent: false }, (event, name) => {
        if (event === 'rename' && typeof name === 'string' && name !== '') onEntry(name);
      });
      w.on('error', () => w.close());
      return () => w.close();
    } catch {
      return null;
    }
  },
};

export interface CgroupIndexOptions {
  /** The cgroup2 mount point (collector/cgroup-mount.ts finds it). */
  mount: string;
  retentionMs?: number;
  maxRetained?: number;
  /** Live cgroups indexed at most; beyond it new ones are found only by kernel lookups. */
  maxEntries?: number;
  rescanMinIntervalMs?: number;
  watch?: boolean;
  maxWatches?: number;
  /** The absolute path of a live cgroup by id, or null (default: the addon's open_by_handle_at). */
  resolveById?: ((id: number) => string | null) | null;
  treeFs?: CgroupTreeFs;
  now?: () => number;
}

export interface CgroupIndexStats {
  live: number;
  retained: number;
  watches: number;
  walks: number;
  kernelLookups: number;
  kernelHits: number;
  unresolved: number;
  skippedDirs: number;
}

const ROOT_ID = 1;

export class CgroupIndex {
  readonly mount: string;
  private readonly byId = new Map<number, CgroupPathEntry>();
  private readonly byPath = new Map<string, number>();
  /** Removed entries in the order they were removed (a Map keeps insertion order). */
  private readonly retained = new Map<number, CgroupPathEntry>();
  private readonly unresolvedUntil = new Map<number, number>();
  private readonly watchers = new Map<string, () => void>();
  private readonly retentionMs: number;
  private readonly maxRetained: number;
  private readonly maxEntries: number;
  private readonly rescanMinIntervalMs: number;
  private readonly watchEnabled: boolean;
  private readonly maxWatches: number;
  private readonly resolveById: ((id: number) => string | null) | null;
  private readonly treeFs: CgroupTreeFs;
  private readonly now: () => number;
  private lastWalkMs = -Infinity;
  private readonly counters = { walks: 0, kernelLookups: 0, kernelHits: 0, unresolved: 0, skippedDirs: 0 };

  constructor(options: CgroupIndexOptions) {
    this.mount = options.mount.replace(/\/+$/, '') || '/';
    this.retentionMs = options.retentionMs ?? 10 * 60 * 1000;
    this.maxRetained = options.maxRetained ?? 10_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.rescanMinIntervalMs = options.rescanMinIntervalMs ?? 1000;
    this.watchEnabled = options.watch ?? true;
    this.maxWatches = options.maxWatches ?? 4096;
    this.resolveById = options.resolveById ?? null;
    this.treeFs = options.treeFs ?? realTreeFs;
    this.now = options.now ?? Date.now;
  }

  /** Walks the tree and starts watching it. */
  start(): void {
    this.walk();
  }

  stop(): void {
    for (const close of this.watchers.values()) close();
    this.watchers.clear();
  }

  /** What the index already knows about an id, without asking the kernel or walking. */
  peek(id: number): CgroupPathEntry | null {
    return this.byId.get(id) ?? this.retained.get(id) ?? null;
  }

  /** The path of a cgroup id, live or recently removed; null when it cannot be learnt. */
  lookup(id: number): CgroupPathEntry | null {
    const hit = this.byId.get(id) ?? this.retained.get(id);
    if (hit !== undefined) return hit;
    if (id <= 0) return null;
    const until = this.unresolvedUntil.get(id);
    const now = this.now();
    if (until !== undefined && until > now) return null;
    if (this.resolveById !== null) {
      this.counters.kernelLookups++;
      const abs = this.resolveById(id);
      const rel = abs === null ? null : this.relative(abs);
      if (rel !== null) {
        this.counters.kernelHits++;
        return this.add(id, rel);
      }
    }
    if (now - this.lastWalkMs >= this.rescanMinIntervalMs) {
      this.walk();
      const found = this.byId.get(id);
      if (found !== undefined) return found;
    }
    this.counters.unresolved++;
    this.unresolvedUntil.set(id, now + this.rescanMinIntervalMs);
    if (this.unresolvedUntil.size > 10_000) this.unresolvedUntil.clear();
    return null;
  }

  stats(): CgroupIndexStats {
    this.expire();
    return { live: this.byId.size, retained: this.retained.size, watches: this.watchers.size, ...this.counters };
  }

  /** Full walk: indexes new directories, retires vanished ones. */
  private walk(): void {
    this.counters.walks++;
    this.lastWalkMs = this.now();
    const seen = new Set<number>();
    const stack: string[] = ['/'];
    while (stack.length > 0) {
      const rel = stack.pop() as string;
      const id = this.treeFs.inode(this.absolute(rel));
      if (id === null) continue;
      seen.add(id);
      if (!this.byId.has(id)) this.add(id, rel);
      const names = this.treeFs.subdirs(this.absolute(rel));
      if (names === null) {
        this.counters.skippedDirs++;
        continue;
      }
      for (const name of names) stack.push(rel === '/' ? `/${name}` : `${rel}/${name}`);
    }
    for (const [id, entry] of this.byId) {
      if (!seen.has(id)) this.retire(id, entry);
    }
    this.expire();
  }

  private add(id: number, rel: string): CgroupPathEntry {
    const entry: CgroupPathEntry = { id, path: rel, removedAtMs: null };
    if (this.byId.size >= this.maxEntries) return entry; // answered, not indexed
    const previous = this.byPath.get(rel);
    if (previous !== undefined && previous !== id) {
      // Same path, new directory: the old one was removed and made again.
      const old = this.byId.get(previous);
      if (old !== undefined) this.retire(previous, old);
    }
    this.byId.set(id, entry);
    this.byPath.set(rel, id);
    this.retained.delete(id);
    this.unresolvedUntil.delete(id);
    this.watchDir(rel);
    return entry;
  }

  private retire(id: number, entry: CgroupPathEntry): void {
    this.byId.delete(id);
    if (this.byPath.get(entry.path) === id) this.byPath.delete(entry.path);
    const close = this.watchers.get(entry.path);
    if (close !== undefined) {
      close();
      this.watchers.delete(entry.path);
    }
    entry.removedAtMs = this.now();
    this.retained.set(id, entry);
    this.expire();
  }

  private expire(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const [id, entry] of this.retained) {
      if (this.retained.size > this.maxRetained || (entry.removedAtMs as number) < cutoff) this.retained.delete(id);
      else break; // insertion order is removal order
    }
  }

  private watchDir(rel: string): void {
    if (!this.watchEnabled || this.watchers.has(rel) || this.watchers.size >= this.maxWatches) return;
    const close = this.treeFs.watch(this.absolute(rel), (name) => this.onEntry(rel, name));
    if (close !== null) this.watchers.set(rel, close);
  }

  /** A watched directory gained or lost an entry: index the new subtree, or retire the old one. */
  private onEntry(parentRel: string, name: string): void {
    if (name.includes('/')) return;
    const rel = parentRel === '/' ? `/${name}` : `${parentRel}/${name}`;
    const id = this.treeFs.inode(this.absolute(rel));
    const known = this.byPath.get(rel);
    if (id === null) {
      if (known === undefined) return;
      const gone = this.byId.get(known);
      if (gone !== undefined) this.retireSubtree(rel);
      return;
    }
    if (known === id) return;
    if (this.treeFs.subdirs(this.absolute(rel)) === null) return; // a control file, not a cgroup
    const stack = [rel];
    while (stack.length > 0) {
      const r = stack.pop() as string;
      const i = this.treeFs.inode(this.absolute(r));
      if (i === null) continue;
      if (!this.byId.has(i)) this.add(i, r);
      for (const n of this.treeFs.subdirs(this.absolute(r)) ?? []) stack.push(`${r}/${n}`);
    }
  }

  private retireSubtree(rel: string): void {
    const prefix = `${rel}/`;
    for (const [p, id] of [...this.byPath]) {
      if (p === rel || p.startsWith(prefix)) {
        const e = this.byId.get(id);
        if (e !== undefined) this.retire(id, e);
      }
    }
  }

  private absolute(rel: string): string {
    return rel === '/' ? this.mount : path.join(this.mount, rel);
  }

  private relative(abs: string): string | null {
    if (abs === this.mount) return '/';
    if (!abs.startsWith(`${this.mount}/`)) return null;
    return abs.slice(this.mount.length);
  }
}

export { ROOT_ID as CGROUP_ROOT_ID };
