/**
 * Leaving nothing behind. A bench case starts daemons, senders, namespaces and cgroups; whatever
 * way it ends (success, an exception, SIGTERM from the runner's timeout, Ctrl-C), every one of
 * them must go. Each thing a case creates registers its own undo here, newest first, and the undo
 * ends processes by their own pid, never by name. `Proc` wraps a spawned child so the case can
 * wait for it, signal it, and be sure it is gone.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';

type Undo = () => void | Promise<void>;

const undos: { what: string; fn: Undo }[] = [];
let installed = false;
let running = false;

/** Registers an undo step; returns a function that runs it now (and unregisters it). */
export function onCleanup(what: string, fn: Undo): () => Promise<void> {
  install();
  const entry = { what, fn };
  undos.push(entry);
  return async () => {
    const i = undos.indexOf(entry);
    if (i < 0) return;
    undos.splice(i, 1);
    await fn();
  };
}

/** Runs every registered undo, newest first; failures are reported and do not stop the rest. */
export async function cleanupAll(): Promise<void> {
  if (running) return;
  running = true;
  while (undos.length > 0) {
    const { what, fn } = undos.pop() as { what: string; fn: Undo };
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`cleanup of ${what} failed: ${(err as Error).message}\n`);
    }
  }
  running = false;
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench case: ${sig}, cleaning up\n`);
      void cleanupAll().finally(() => process.exit(1));
    });
  }
}

/** A spawned child whose exit can be awaited and which is ended by its pid at cleanup. */
export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  private readonly exited: Promise<number>;
  private readonly undo: () => Promise<void>;

  constructor(name: string, cmd: string, args: string[], options: SpawnOptions & { keepOutput?: boolean } = {}) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    if (this.child.pid === undefined) throw new Error(`cannot start ${name} (${cmd})`);
    this.pid = this.child.pid;
    const keep = options.keepOutput ?? true;
    this.child.stdout?.on('data', (d: Buffer) => {
      if (keep || this.stdout.length < 65536) this.stdout += d.toString();
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 65536) this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal !== null ? 128 : -1);
        resolve(this.exitCode);
      }),
    );
    this.undo = onCleanup(name, () => this.stop('SIGKILL', 2000).then(() => undefined));
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  wait(): Promise<number> {
    return this.exited;
  }

  /** Sends `signal` to this pid (only while it runs) and waits up to `timeoutMs`, then SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15000): Promise<number> {
    if (this.exitCode === null) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        if (this.exitCode === null) process.kill(this.pid, 'SIGKILL');
      }, timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.undo();
    return this.exitCode ?? -1;
  }
}
