/**
 * Docker-shaped test cgroups for the benchmarks: `<mount>/cs-bench-<pid>-<hex>/system.slice/
 * docker-<64 hex>.scope`, the layout dockerd's systemd driver makes, so the collector's identity
 * resolver sees real containers (runtime docker, the short id as the name). The 64-hex ids start
 * with the index as 8 hex digits and end in a random 56-hex stem, which is the printf format
 * cs-send's `-G` takes: sender i (or i % k with `-e`) joins cgroup i. The index leads so that the
 * 12-character short ids, and so the containers' directories, differ.
 *
 * Everything is made below one private root per run and removed by `remove()` (registered as a
 * cleanup step, so a failed or interrupted case removes them too). A cgroup can only be removed
 * once its processes have gone; a just-reaped task may still be leaving, so removal retries for a
 * second. Nothing host-wide is touched: no controllers are enabled, no existing cgroup changes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { findCgroup2Mount } from '../../collector';
import { onCleanup } from './cleanup';

/** One cgroup made here. */
export interface BenchCgroup {
  /** Path relative to the cgroup2 mount, as /proc/PID/cgroup and the collector write it. */
  rel: string;
  dir: string;
  /** The 64-hex container id in the scope name. */
  containerId: string;
}

/** Why cgroups cannot be made here, or null when they can. */
export function cgroupsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'creating cgroups needs root';
  const mount = findCgroup2Mount();
  if (mount === null) return 'no cgroup2 mount in /proc/self/mountinfo';
  try {
    fs.accessSync(mount, fs.constants.W_OK);
  } catch {
    return `the cgroup2 mount ${mount} is not writable`;
  }
  return null;
}

/** A private tree of docker-shaped cgroups for one case; `remove()` (or cleanup) deletes it. */
export class BenchCgroups {
  readonly mount: string;
  readonly rootRel: string;
  readonly groups: BenchCgroup[] = [];
  private readonly stem = crypto.randomBytes(28).toString('hex');
  private readonly made: string[] = [];
  private readonly undo: () => Promise<void>;

  /** Makes `count` docker-shaped cgroups (indexes 0..count-1). */
  constructor(count: number, tag = 'cs-bench') {
    const mount = findCgroup2Mount();
    if (mount === null) throw new Error('no cgroup2 mount');
    this.mount = mount;
    this.rootRel = `/${tag}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    this.undo = onCleanup(`cgroups under ${this.rootRel}`, () => this.removeAll());
    this.mkdir(this.rootRel);
    this.mkdir(`${this.rootRel}/system.slice`);
    for (let i = 0; i < count; i++) {
      const containerId = i.toString(16).padStart(8, '0') + this.stem;
      const rel = `${this.rootRel}/system.slice/docker-${containerId}.scope`;
      this.mkdir(rel);
      this.groups.push({ rel, dir: path.join(mount, rel), containerId });
    }
  }

  /** cs-send's `-G` argument: a printf format of the index. */
  get senderFormat(): string {
    return path.join(this.mount, this.rootRel, `system.slice/docker-%08x${this.stem}.scope`);
  }

  private mkdir(rel: string): void {
    const dir = path.join(this.mount, rel);
    fs.mkdirSync(dir);
    this.made.push(dir);
  }

  /** Removes every cgroup made here, deepest first. */
  async remove(): Promise<void> {
    await this.undo();
  }

  private async removeAll(): Promise<void> {
    await removeCgroupDirs([...this.made].reverse());
    this.made.length = 0;
  }
}

/**
 * Removes cgroup directories in the order given (deepest first). A cgroup can only go once its
 * processes have; a just-reaped task may still be leaving, so each removal retries for 2 s.
 */
export async function removeCgroupDirs(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (attempt >= 100) throw new Error(`cannot remove cgroup ${dir}: ${code}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
