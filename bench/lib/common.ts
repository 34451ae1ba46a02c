/**
 * Shared bench plumbing: every case runs in a fresh child process and prints one JSON line;
 * the runner interleaves rounds and reports medians and same-round ratios, never absolute claims.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CaseResult {
  case: string;
  messages: number;
  received: number;
  lost: number;
  seconds: number;
  msgsPerSec: number;
  cpuUsPerMsg: number;
  peakRssMb: number;
  [extra: string]: unknown;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `node <script> <args>` and returns the last JSON line it printed. */
export function runCaseChild(script: string, args: string[], timeoutMs = 300000): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line === undefined) return reject(new Error(`${path.basename(script)} ${args.join(' ')} exited ${code} without a result`));
      resolve(JSON.parse(line) as CaseResult);
    });
  });
}

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    unixMaxDgramQlen: readSysctl('net/unix/max_dgram_qlen'),
  };
}

function readSysctl(name: string): string {
  try {
    return fs.readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
