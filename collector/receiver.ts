/**
 * The receive path: the one typed wrapper of the native receiver. Datagrams arrive in batches of
 * up to 256, each with the sender's identity as the kernel gave it, over two buffers allocated
 * once. A `Batch` is a reused view over them: read what you need during the callback, copy what
 * you keep; the next batch overwrites it.
 */
import { findCgroup2Mount } from './cgroup-mount';
import {
  type AttributionMethod,
  FLAGS,
  type KernelFeatures,
  LAYOUT,
  loadAddon,
  type NativeCounters,
  NativeError,
  type NativeReceiver,
} from './addon';

/** Rungs of the kernel ladder (DESIGN.md), best first. */
export type KernelRung = 'pidfd-reaped' | 'pidfd-exit' | 'pidfd-info' | 'pidfd-verify' | 'proc';

export interface KernelProbe extends KernelFeatures {
  rung: KernelRung;
  /** The attribution method `auto` picks on this kernel. */
  method: AttributionMethod;
  /** One sentence per rung: what the operator gets on this kernel. */
  summary: string;
}

const RUNG_SUMMARY: Record<KernelRung, string> = {
  'pidfd-reaped':
    'race-free cgroup attribution, even for senders reaped before their message is read (SO_PASSPIDFD, PIDFD_GET_INFO with exit info, pidfds for reaped senders: kernel 6.17 or later)',
  'pidfd-exit':
    'race-free cgroup attribution unless the sender was reaped before its message was read (PIDFD_GET_INFO with exit info: kernel 6.15-6.16)',
  'pidfd-info':
    'race-free cgroup attribution while the sender is alive or a zombie (PIDFD_GET_INFO: kernel 6.13-6.14)',
  'pidfd-verify':
    'cgroup read from /proc and accepted only if the pidfd shows the sender was not reaped (SO_PASSPIDFD: kernel 6.5-6.12)',
  proc: 'racy /proc lookup by pid only: short-lived senders may be missed or misattributed (kernel older than 6.5)',
};

let probed: KernelProbe | undefined;

/** Probes the kernel once per process (it forks two tiny children) and names the rung. */
export function probeKernel(): KernelProbe {
  if (probed !== undefined) return probed;
  const f = loadAddon().probe();
  let rung: KernelRung;
  if (f.pidfdGetInfo && f.pidfdInfoExit && f.pidfdReapedAtRecv) rung = 'pidfd-reaped';
  else if (f.pidfdGetInfo && f.pidfdInfoExit) rung = 'pidfd-exit';
  else if (f.pidfdGetInfo) rung = 'pidfd-info';
  else if (f.passPidfd) rung = 'pidfd-verify';
  else rung = 'proc';
  const method: AttributionMethod = f.pidfdGetInfo ? 'pidfd' : f.passPidfd ? 'proc-verified' : 'proc';
  probed = { ...f, rung, method, summary: RUNG_SUMMARY[rung] };
  return probed;
}

export type CgroupProvenance = 'pidfd' | 'pidfd-exited' | 'proc-verified' | 'proc' | 'none';
export type CommProvenance = 'verified' | 'cached' | 'proc' | 'none';

export interface ReceiverOptions {
  /** Bind here (a stale socket file is replaced, a live one refused). */
  socketPath?: string;
  /** Or adopt this already-bound socket (systemd socket activation); it is never unlinked. */
  adoptFd?: number;
  /** File mode of a socket we bind; default 0o666 so every local process can log. */
  mode?: number;
  /** Receive buffer; SO_RCVBUFFORCE where permitted. 0 leaves the kernel default. */
  rcvbufBytes?: number;
  /** Datagrams per recvmmsg call, 1..256. */
  batchSize?: number;
  /** Longest datagram kept whole; longer ones are truncated and flagged. */
  maxMessageBytes?: number;
  /** How the sender's cgroup is learnt; `auto` takes the best this kernel offers. */
  method?: AttributionMethod | 'auto';
  /** The cgroup2 mount (for the /proc methods); found from mountinfo when absent. */
  cgroupRoot?: string;
  /** Set SO_PASSRIGHTS=0 so senders cannot pass fds at all (kernel 6.16+). Default true. */
  refuseFds?: boolean;
  /** Read the sender's pid inside its own pid namespace (once per new process). Default true. */
  nsPid?: boolean;
  /** Per-process comm cache: entries, and how long a verified comm counts as fresh. */
  commCacheSize?: number;
  commTtlMs?: number;
  /** pidfds kept open to known senders (each makes that sender's datagrams cheaper); 0 disables. */
  maxPinnedPidfds?: number;
  /**
   * Receive and attribute on a thread of the addon's own, in parallel with the JS pipeline.
   * By default the receive runs on the main thread from a poll handle, with one batch in flight;
   * with the thread, two (one being processed, one being received).
   */
  thread?: boolean;
  /** Also read each new sender's exe and cmdline, by the same verified method as comm. Off by default. */
  extras?: boolean;
  /** Benchmarks only: busy-wait this long per datagram between receiving and attributing it. */
  debugDelayUs?: number;
  /** Called with receive errors other than EAGAIN/EINTR, and with errors thrown by the handler. */
  onError?: (err: Error) => void;
}

export interface ReceiverCounters extends NativeCounters {
  /** Messages in batches whose handler threw: they were received but not processed. */
  handlerErrors: number;
}

/** A reused view over one received batch; valid only inside the batch callback. */
export class Batch {
  count = 0;
  /** Index of this batch's first record in the shared buffers (batches alternate between sets). */
  base = 0;
  /** Every payload of the batch set, shared: read datagram `i` at `payloadOffset(i)`. */
  readonly bytes: Buffer;
  private readonly index: Buffer;
  private readonly f64: Float64Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;

  constructor(payload: ArrayBuffer, index: ArrayBuffer) {
    this.bytes = Buffer.from(payload);
    this.index = Buffer.from(index);
    this.f64 = new Float64Array(index);
    this.u32 = new Uint32Array(index);
    this.i32 = new Int32Array(index);
  }

  /** SCM_CREDENTIALS pid in the collector's pid namespace; -1 when no credentials arrived. */
  pid(i: number): number {
    return this.i32[(this.base + i) * 24 + LAYOUT.pid / 4];
  }
  uid(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.uid / 4];
  }
  gid(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.gid / 4];
  }
  flags(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.flags / 4];
  }
  /** cgroup v2 id (the cgroup directory's inode number); 0 when unknown. */
  cgroupId(i: number): number {
    return this.f64[(this.base + i) * 12 + LAYOUT.cgroupId / 8];
  }
  /** The sender's pidfs inode: unique per process for the whole boot; 0 when unknown. */
  processKey(i: number): number {
    return this.f64[(this.base + i) * 12 + LAYOUT.processKey / 8];
  }
  /** Kernel receive time, µs since the epoch. */
  receivedUs(i: number): number {
    return this.f64[(this.base + i) * 12 + LAYOUT.recvTimeUs / 8];
  }
  /** wait(2) status of a sender that had been reaped; null if it was alive or a zombie. */
  exitStatus(i: number): number | null {
    return (this.flags(i) & FLAGS.exited) !== 0 ? this.i32[(this.base + i) * 24 + LAYOUT.exitStatus / 4] : null;
  }
  length(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.length / 4];
  }
  /** The datagram's length as sent (larger than length(i) when truncated). */
  originalLength(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.origLength / 4];
  }
  truncated(i: number): boolean {
    return (this.flags(i) & FLAGS.truncated) !== 0;
  }
  fdsClosed(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.fdsClosed / 4];
  }
  pidfdErrno(i: number): number {
    return this.i32[(this.base + i) * 24 + LAYOUT.pidfdErrno / 4];
  }
  /** Where datagram `i` starts in `bytes` (it is `length(i)` long). */
  payloadOffset(i: number): number {
    return this.u32[(this.base + i) * 24 + LAYOUT.offset / 4];
  }
  /** The payload bytes, without copying: valid until the callback returns. */
  payload(i: number): Buffer {
    const off = this.payloadOffset(i);
    return this.bytes.subarray(off, off + this.length(i));
  }
  /** The payload decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(i: number): string {
    const off = this.payloadOffset(i);
    return this.bytes.toString('utf8', off, off + this.length(i));
  }
  /** The sender's comm as the receiver learnt it, or null (see commProvenance). */
  comm(i: number): string | null {
    if ((this.flags(i) & (FLAGS.commVerified | FLAGS.commCached | FLAGS.commProc)) === 0) return null;
    const base = (this.base + i) * LAYOUT.recordBytes + LAYOUT.comm;
    let end = base;
    while (end < base + 16 && this.index[end] !== 0) end++;
    return this.index.toString('utf8', base, end);
  }
  /** The sender's pid inside its innermost pid namespace, or -1 when unknown (e.g. reaped). */
  nsPid(i: number): number {
    return (this.flags(i) & FLAGS.nsPid) !== 0 ? this.i32[(this.base + i) * 24 + LAYOUT.nsPid / 4] : -1;
  }
  /** Pid namespace levels between the collector and the sender (1 = same namespace), 0 unknown. */
  nsDepth(i: number): number {
    return (this.flags(i) & FLAGS.nsPid) !== 0 ? this.u32[(this.base + i) * 24 + LAYOUT.nsDepth / 4] : 0;
  }
  cgroupProvenance(i: number): CgroupProvenance {
    return cgroupProvenance(this.flags(i));
  }
  commProvenance(i: number): CommProvenance {
    return commProvenance(this.flags(i));
  }
  /** Whether verified exe/cmdline exist for this sender (Receiver.processExtras). */
  hasExtras(i: number): boolean {
    return (this.flags(i) & FLAGS.extras) !== 0;
  }
}

export function cgroupProvenance(flags: number): CgroupProvenance {
  if ((flags & FLAGS.cgroup) === 0) return 'none';
  if ((flags & FLAGS.cgroupProc) !== 0) return (flags & FLAGS.cgroupVerified) !== 0 ? 'proc-verified' : 'proc';
  return (flags & FLAGS.exited) !== 0 ? 'pidfd-exited' : 'pidfd';
}

export function commProvenance(flags: number): CommProvenance {
  if ((flags & FLAGS.commVerified) !== 0) return 'verified';
  if ((flags & FLAGS.commCached) !== 0) return 'cached';
  if ((flags & FLAGS.commProc) !== 0) return 'proc';
  return 'none';
}

export class Receiver {
  readonly method: AttributionMethod;
  readonly socketPath: string;
  readonly adopted: boolean;
  /** Whether the addon receives on a thread of its own. */
  readonly threaded: boolean;
  /** What the socket setup achieved: SO_PASSPIDFD on, SO_PASSRIGHTS off, rcvbuf size. */
  readonly socket: {
    passPidfd: boolean;
    refusesFds: boolean;
    timestamps: boolean;
    rcvbufBytes: number;
    rcvbufForced: boolean;
  };
  private readonly native: NativeReceiver;
  private readonly batch: Batch;
  private readonly onBatch: (batch: Batch) => void;
  private readonly onError: (err: Error) => void;
  private handlerErrors = 0;
  private state: 'bound' | 'running' | 'closed' = 'bound';

  constructor(options: ReceiverOptions, onBatch: (batch: Batch) => void) {
    const addon = loadAddon();
    const requested = options.method ?? 'auto';
    const method = requested === 'auto' ? probeKernel().method : requested;
    if (method === 'pidfd' && requested !== 'auto' && !probeKernel().pidfdGetInfo) {
      throw configError(`attribution method 'pidfd' needs PIDFD_GET_INFO (kernel 6.13 or later); this kernel offers '${probeKernel().method}'`);
    }
    if (method === 'proc-verified' && !probeKernel().passPidfd) {
      throw configError(`attribution method 'proc-verified' needs SO_PASSPIDFD (kernel 6.5 or later); this kernel offers 'proc'`);
    }
    let cgroupRoot = options.cgroupRoot ?? '';
    if ((method === 'proc' || method === 'proc-verified') && cgroupRoot === '') {
      cgroupRoot = findCgroup2Mount() ?? '';
      if (cgroupRoot === '') throw configError(`attribution method '${method}' needs a cgroup2 mount, and /proc/self/mountinfo lists none`);
    }
    if (options.socketPath === undefined && options.adoptFd === undefined) {
      throw configError('a socket path or an inherited socket fd is required');
    }
    this.method = method;
    this.onBatch = onBatch;
    this.onError = options.onError ?? ((err) => process.emitWarning(err));
    this.native = new addon.Receiver(
      {
        path: options.socketPath,
        fd: options.adoptFd,
        mode: options.mode ?? 0o666,
        rcvbufBytes: options.rcvbufBytes ?? 0,
        batchSize: options.batchSize ?? 256,
        slotBytes: options.maxMessageBytes ?? 65536,
        // The classic racy method is what peers do: no pidfd at all.
        passPidfd: method !== 'proc' && method !== 'none',
        refuseFds: options.refuseFds ?? true,
        method,
        cgroupRoot,
        nsPid: options.nsPid ?? true,
        commCacheSize: options.commCacheSize ?? 4096,
        commTtlMs: options.commTtlMs ?? 1000,
        maxPinnedPidfds: options.maxPinnedPidfds ?? 1024,
        extras: options.extras ?? false,
        thread: options.thread ?? false,
        debugDelayUs: options.debugDelayUs ?? 0,
      },
      (count, base) => this.dispatch(count, base),
      (err) => this.onError(err),
    );
    this.batch = new Batch(this.native.payload, this.native.index);
    this.socketPath = this.native.path;
    this.adopted = !this.native.boundByUs;
    this.threaded = this.native.threaded;
    this.socket = {
      passPidfd: this.native.passPidfd,
      refusesFds: this.native.refusesFds,
      timestamps: this.native.timestamps,
      rcvbufBytes: this.native.rcvbufBytes,
      rcvbufForced: this.native.rcvbufForced,
    };
  }

  private dispatch(count: number, base: number): void {
    this.batch.count = count;
    this.batch.base = base;
    try {
      this.onBatch(this.batch);
    } catch (err) {
      this.handlerErrors += count;
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Starts receiving on the event loop. The socket is already bound, so senders could queue. */
  start(): void {
    if (this.state === 'closed') throw configError('the receiver is stopped');
    this.native.start();
    this.state = 'running';
  }

  /** Stops taking new batches from the event loop; what is queued stays queued. */
  pause(): void {
    if (this.state === 'running') this.native.pause();
    if (this.state !== 'closed') this.state = 'bound';
  }

  /**
   * Stops receiving and delivers everything already queued, then closes the socket. A socket we
   * bound is unlinked first and its receive side shut, so nothing new can queue behind the drain;
   * an adopted socket is left to the service manager with whatever is still queued in it.
   * Returns the number of messages delivered by the drain.
   */
  stop(): number {
    if (this.state === 'closed') return 0;
    this.native.pause();
    let drained = 0;
    if (!this.adopted) {
      this.native.shutdownRead();
      drained = this.native.drain(1 << 20);
    }
    this.native.close();
    this.state = 'closed';
    return drained;
  }

  /** Delivers what is queued now, synchronously (tests and shutdown paths). */
  drain(maxBatches = 4096): number {
    if (this.state === 'closed') return 0;
    return this.native.drain(maxBatches);
  }

  /** Verified exe and cmdline of the sender with this process key, when `extras` is on. */
  processExtras(processKey: number): { exe: string; cmdline: string } | null {
    return this.native.processExtras(processKey);
  }

  counters(): ReceiverCounters {
    return { ...this.native.counters(), handlerErrors: this.handlerErrors };
  }
}

function configError(message: string): NativeError {
  const err = new NativeError(message);
  err.code = 'EINVAL';
  return err;
}
