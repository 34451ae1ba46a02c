/**
 * The collector as an operator runs it: `node dist/sinks/cli.js run …` in a child process, on a
 * socket and a log directory in a temp dir. (npm test builds dist/ before jest runs.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './fixtures';

export const CLI = path.resolve(__dirname, '../../dist/sinks/cli.js');

export class Daemon {
  stderr = '';
  exitCode: number | null = null;
  private readonly exited: Promise<number>;

  private constructor(readonly child: ChildProcess) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal !== null ? 128 : -1);
        resolve(this.exitCode);
      }),
    );
  }

  /** Starts `run` with these arguments and waits until it accepts messages. */
  static async start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
    const d = Daemon.spawn(['run', ...args], env);
    await waitFor(() => d.stderr.includes('Accepting messages') || d.exitCode !== null, 15000, 'the collector to start');
    if (d.exitCode !== null) throw new Error(`collector exited ${d.exitCode}: ${d.stderr}`);
    return d;
  }

  static spawn(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
    return new Daemon(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.pid !== undefined && this.exitCode === null) process.kill(this.child.pid, sig);
  }

  /** SIGTERM, then the exit code. */
  async stop(): Promise<number> {
    this.signal('SIGTERM');
    return this.exited;
  }

  wait(): Promise<number> {
    return this.exited;
  }
}

export function writeConfig(dir: string, yaml: string): string {
  const file = path.join(dir, 'container-syslog.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

export function readLines(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Every regular file below dir, relative paths (symlinks are neither followed nor listed). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}
