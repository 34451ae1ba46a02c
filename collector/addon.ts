/**
 * The one file that loads the native addon (native/*.cc, built by node-gyp during `npm ci`).
 * Syscalls live in C++, policy in TypeScript; this file is the typed boundary between them.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Every error the addon throws or reports: `.code` is the errno name ('EACCES', 'EADDRINUSE', …). */
export class NativeError extends Error {
  code = 'EUNKNOWN';
  errno: number | undefined = undefined;
  syscall: string | undefined = undefined;
  path: string | undefined = undefined;
  constructor(message: string) {
    super(message);
    this.name = 'NativeError';
  }
}

export type AttributionMethod = 'pidfd' | 'proc-verified' | 'proc' | 'none';

export interface NativeReceiverOptions {
  path?: string;
  fd?: number;
  mode?: number;
  rcvbufBytes?: number;
  passPidfd?: boolean;
  refuseFds?: boolean;
  batchSize?: number;
  slotBytes?: number;
  method?: AttributionMethod;
  cgroupRoot?: string;
  nsPid?: boolean;
  pidfsKeys?: boolean;
  commCacheSize?: number;
  commTtlMs?: number;
  maxPinnedPidfds?: number;
  extras?: boolean;
  thread?: boolean;
  debugDelayUs?: number;
}

export interface NativeCounters {
  received: number;
  batches: number;
  truncated: number;
  ctrunc: number;
  fdsClosed: number;
  datagramsWithFds: number;
  noCredentials: number;
  /** Credentials with pid 0: queued before SO_PASSCRED was on, or a sender outside our pid namespace. */
  noPid: number;
  noPidfd: number;
  pidfdStale: number;
  pidfdErrors: number;
  getInfoRetries: number;
  commVerified: number;
  commCached: number;
  commMissing: number;
  procReads: number;
  recvErrors: number;
  pinnedPidfds: number;
}

export interface NativeReceiver {
  readonly payload: ArrayBuffer;
  readonly index: ArrayBuffer;
  readonly fd: number;
  readonly path: string;
  readonly boundByUs: boolean;
  readonly passPidfd: boolean;
  readonly refusesFds: boolean;
  readonly timestamps: boolean;
  readonly rcvbufBytes: number;
  readonly rcvbufForced: boolean;
  readonly batchSize: number;
  readonly slotBytes: number;
  readonly threaded: boolean;
  start(): void;
  pause(): void;
  /** Receives synchronously until the queue is empty (or maxBatches); returns the message count. */
  drain(maxBatches?: number): number;
  shutdownRead(): void;
  close(): void;
  counters(): NativeCounters;
  /** Verified exe and cmdline of a sender, by process key (only with `extras`). */
  processExtras(processKey: number): { exe: string; cmdline: string } | null;
}

/** What the kernel offers, found by trying each feature (KERNEL.md §10). */
export interface KernelFeatures {
  passCred: boolean;
  passPidfd: boolean;
  passRights: boolean;
  pidfsInodes: boolean;
  pidfdGetInfo: boolean;
  pidfdInfoExit: boolean;
  pidfdReapedAtRecv: boolean;
  selfCgroupId: number;
}

interface Addon {
  setErrorClass(ctor: typeof NativeError): void;
  probe(): KernelFeatures;
  /** The absolute path of a live cgroup by id (open_by_handle_at), or an errno name. */
  cgroupPathById(mountPath: string, id: number): string;
  openLogFile(base: string, segments: string[], fileMode: number, dirMode: number): number;
  rotateLogFile(base: string, segments: string[], keep: number): void;
  notify(socketPath: string, text: string): void;
  Receiver: new (
    options: NativeReceiverOptions,
    onBatch: (count: number, base: number) => void,
    onError: (err: NativeError) => void,
  ) => NativeReceiver;
  layout: Record<keyof typeof LAYOUT, number>;
  flags: Record<keyof typeof FLAGS, number>;
}

/** Byte offsets in one 96-byte record of the per-batch index (native/attribution.h). */
export const LAYOUT = {
  recordBytes: 96,
  cgroupId: 0,
  processKey: 8,
  recvTimeUs: 16,
  offset: 24,
  length: 28,
  origLength: 32,
  pid: 36,
  uid: 40,
  gid: 44,
  exitStatus: 48,
  flags: 52,
  fdsClosed: 56,
  pidfdErrno: 60,
  comm: 64,
  nsPid: 80,
  nsDepth: 84,
} as const;

export const FLAGS = {
  creds: 1 << 0,
  pidfd: 1 << 1,
  exited: 1 << 2,
  truncated: 1 << 3,
  ctrunc: 1 << 4,
  fds: 1 << 5,
  cgroup: 1 << 6,
  cgroupProc: 1 << 7,
  cgroupVerified: 1 << 8,
  commVerified: 1 << 9,
  commCached: 1 << 10,
  commProc: 1 << 11,
  pidfdStale: 1 << 12,
  timestamp: 1 << 13,
  nsPid: 1 << 14,
  getInfoRetried: 1 << 15,
  extras: 1 << 16,
} as const;

/** The package root: where package.json and build/ are, from source (tests) or from dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  throw new NativeError(`Cannot find the container-syslog package root above ${__dirname}`);
}

/** A program built beside the addon by node-gyp (native/tools/), e.g. the `cs-send` load generator. */
export function nativeToolPath(name: 'cs-send'): string {
  return path.join(packageRoot(), 'build', 'Release', name);
}

let loaded: Addon | undefined;

export function loadAddon(): Addon {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') {
    const err = new NativeError(
      `container-syslog needs Linux: it reads sender credentials (SCM_CREDENTIALS, SCM_PIDFD) from AF_UNIX ` +
        `datagram sockets, which ${process.platform} does not have`,
    );
    err.code = 'ENOTSUP';
    throw err;
  }
  const file = path.join(packageRoot(), 'build', 'Release', 'container_syslog.node');
  let addon: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as Addon;
  } catch (cause) {
    const err = new NativeError(
      `Cannot load the native addon '${file}': ${(cause as Error).message}. Run 'npm ci' (or 'npm rebuild') ` +
        `in the package directory to build it; it needs python3, make and g++.`,
    );
    err.code = 'ENOENT';
    throw err;
  }
  for (const key of Object.keys(LAYOUT) as (keyof typeof LAYOUT)[]) {
    if (addon.layout[key] !== LAYOUT[key]) {
      throw new NativeError(`The native addon at '${file}' is stale (record field ${key} moved); run 'npm rebuild'`);
    }
  }
  for (const key of Object.keys(FLAGS) as (keyof typeof FLAGS)[]) {
    if (addon.flags[key] !== FLAGS[key]) {
      throw new NativeError(`The native addon at '${file}' is stale (flag ${key} changed); run 'npm rebuild'`);
    }
  }
  addon.setErrorClass(NativeError);
  loaded = addon;
  return addon;
}

/** The absolute path of a live cgroup by id (open_by_handle_at), or null when the kernel says no. */
export function cgroupPathById(mount: string, id: number): string | null {
  const r = loadAddon().cgroupPathById(mount, id);
  return r.startsWith('/') ? r : null;
}

/**
 * Opens base/segments… for appending, creating directories (dirMode) and the file (fileMode) as
 * needed, without following a symlink at any step below base. Throws NativeError (ELOOP, ENOTDIR,
 * EACCES, ENOSPC, …). Each segment must be a plain name: no '/', NUL, '.' or '..'.
 */
export function openLogFile(base: string, segments: string[], fileMode: number, dirMode: number): number {
  return loadAddon().openLogFile(base, segments, fileMode, dirMode);
}

/** Shifts base/…/name to name.1, name.1 to name.2, … keeping `keep` old files, without following symlinks. */
export function rotateLogFile(base: string, segments: string[], keep: number): void {
  loadAddon().rotateLogFile(base, segments, keep);
}

/** Tells the service manager our state (sd_notify): a no-op when NOTIFY_SOCKET is not set. */
export function notifyServiceManager(text: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const socketPath = env.NOTIFY_SOCKET;
  if (socketPath === undefined || socketPath === '') return false;
  loadAddon().notify(socketPath, text);
  return true;
}
