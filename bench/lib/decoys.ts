/**
 * The decoy launcher of the PID-reuse mode (bench/tools/decoys.c), compiled with the system C
 * compiler on first use into dist/bench/tools/ (node-gyp already needs one to build the addon),
 * and recompiled when the source is newer.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Proc } from './cleanup';
import { pollUntil } from './common';
import { ROOT } from './peers';

const SOURCE = path.join(ROOT, 'bench', 'tools', 'decoys.c');
const BINARY = path.join(ROOT, 'dist', 'bench', 'tools', 'decoys');

/** The compiled launcher, or an Error saying why there is none. */
export function decoysBinary(): string | Error {
  try {
    const src = fs.statSync(SOURCE);
    if (fs.existsSync(BINARY) && fs.statSync(BINARY).mtimeMs >= src.mtimeMs) return BINARY;
    fs.mkdirSync(path.dirname(BINARY), { recursive: true });
    const tmp = `${BINARY}.${process.pid}.tmp`;
    const res = spawnSync('cc', ['-O2', '-Wall', '-o', tmp, SOURCE], { encoding: 'utf8' });
    if (res.status !== 0) return new Error(`cc failed: ${res.error?.message ?? res.stderr}`);
    fs.renameSync(tmp, BINARY);
    return BINARY;
  } catch (err) {
    return err as Error;
  }
}

/** A running decoy launcher. */
export interface Decoys {
  /** Stops forking, reaps the children, and returns how many were forked and failed. */
  stop(): Promise<{ forks: number; forkFailures: number }>;
}

/** Starts `concurrent` decoys cycling through the cgroup at `dir`; resolves once they run. */
export async function startDecoys(dir: string, concurrent: number): Promise<Decoys> {
  const bin = decoysBinary();
  if (bin instanceof Error) throw bin;
  const proc = new Proc('decoys', bin, ['-g', dir, '-n', String(concurrent)]);
  if (!(await pollUntil(() => proc.stdout.includes('ready') || !proc.running, 10000)) || !proc.running) {
    throw new Error(`decoys did not start: ${proc.stderr}`);
  }
  return {
    async stop() {
      await proc.stop('SIGTERM', 5000);
      const line = proc.stdout.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line) as { forks: number; forkFailures: number };
      } catch {
        return { forks: -1, forkFailures: -1 };
      }
    },
  };
}
