/**
 * Shared test helpers: temp dirs and socket paths, real cgroups under the cgroup2 mount, real
 * sender processes (the project's cs-send, util-linux logger), and the collector's open-fd count.
 * Everything created here is removed by the matching cleanup; processes are ended by their pid.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { nativeToolPath } from '../../collector/addon';
import { removeCgroupDirs } from '../../bench/lib/cgroups';
import { parseSendReport, type SendReport } from '../../bench/lib/common';
import { findCgroup2Mount } from '../../collector/cgroup-mount';

export function tempDir(prefix = 'cs-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755); // senders running as another uid must reach the socket
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

export function randomHex(bytes: number): string {
  return crypto.randomBytes(bytes).toString('hex');
}

/** Why tests that need real cgroups cannot run here, or null when they can (shared with bench/). */
export { cgroupsUnavailable as cgroupUnavailableReason } from '../../bench/lib/cgroups';

export interface TestCgroup {
  /** Path relative to the cgroup2 mount, as /proc/PID/cgroup shows it. */
  rel: string;
  /** Absolute directory. */
  dir: string;
  /** cgroup id: the directory's inode number. */
  id: number;
}

/** A private subtree under the cgroup2 mount; remove() deletes every directory made in it. */
export class TestCgroups {
  readonly mount: string;
  readonly rootRel: string;
  private readonly made: string[] = [];

  constructor(tag = 'cs-test') {
    const mount = findCgroup2Mount();
    if (mount === null) throw new Error('no cgroup2 mount');
    this.mount = mount;
    this.rootRel = `/${tag}-${process.pid}-${randomHex(4)}`;
    this.mkdir(this.rootRel);
  }

  private mkdir(rel: string): void {
    const dir = path.join(this.mount, rel);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      this.made.push(dir);
    }
  }

  /** Creates rel (below the private root, parents as needed) and returns its id. */
  create(rel: string): TestCgroup {
    const parts = rel.split('/').filter(Boolean);
    let cur = this.rootRel;
    for (const p of parts) {
      cur = `${cur}/${p}`;
      this.mkdir(cur);
    }
    const dir = path.join(this.mount, cur);
    return { rel: cur, dir, id: fs.statSync(dir).ino };
  }

  /** Removes one cgroup made here (its processes must have exited). */
  removeOne(cg: TestCgroup): void {
    fs.rmdirSync(cg.dir);
    const i = this.made.indexOf(cg.dir);
    if (i >= 0) this.made.splice(i, 1);
  }

  /** Removes everything made here, deepest first (retrying while just-exited tasks leave). */
  async remove(): Promise<void> {
    await removeCgroupDirs([...this.made].reverse());
    this.made.length = 0;
  }
}

export const CS_SEND = nativeToolPath('cs-send');

/** Runs cs-send to completion: every sender has sent, exited and been reaped when this returns. */
export function sendSync(args: string[], opts: { uid?: number; gid?: number } = {}): SendReport {
  const argv = opts.uid !== undefined ? setprivArgs(opts.uid, opts.gid ?? opts.uid, [CS_SEND, ...args]) : [CS_SEND, ...args];
  const res = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.stdout === '' || res.stdout === null) {
    throw new Error(`cs-send produced no report (status ${res.status}): ${res.stderr}`);
  }
  return parseSendReport(res.stdout);
}

/** Runs cs-send asynchronously (for senders that must not block the receiving event loop). */
export function sendAsync(args: string[]): Promise<SendReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(CS_SEND, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(parseSendReport(out));
      } catch {
        reject(new Error(`cs-send produced no report: ${err}`));
      }
    });
  });
}

/** Senders that stay alive after sending until release() (cs-send -H). */
export class HeldSenders {
  readonly child: ChildProcess;
  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(args: string[], opts: { uid?: number; gid?: number } = {}): Promise<{ held: HeldSenders; report: SendReport }> {
    const argv = opts.uid !== undefined ? setprivArgs(opts.uid, opts.gid ?? opts.uid, [CS_SEND, '-H', ...args]) : [CS_SEND, '-H', ...args];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const held = new HeldSenders(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const rl = readline.createInterface({ input: child.stdout! });
    const line = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`cs-send exited (${code}) before reporting: ${stderr}`)));
    });
    rl.close();
    return { held, report: JSON.parse(line) as SendReport };
  }

  /** Lets the senders exit and waits until they are reaped. */
  release(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin?.end();
    });
  }
}

function setprivArgs(uid: number, gid: number, argv: string[]): string[] {
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...argv];
}

/** util-linux logger, a real short-lived syslog client. Returns when it has exited. */
export function logger(socketPath: string, message: string, extra: string[] = []): void {
  execFileSync('logger', ['-u', socketPath, ...extra, message]);
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Waits until cond() holds, polling the event loop (so receivers keep running). */
export async function waitFor(cond: () => boolean, timeoutMs = 20000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
