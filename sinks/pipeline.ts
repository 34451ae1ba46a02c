/**
 * The collector: receive → attribute → parse → route → rate-limit → sinks, wired from a config.
 *
 * One event loop does it all, one receive batch at a time; nothing here waits for a sink (files
 * are written in chunks, forwarders queue with bounds), so a slow sink costs counted drops, never
 * a blocked /dev/log. Every message received is accounted for: written to at least one sink, or
 * dropped with a reason (`filtered`, `rate_limited`, `handler_error`, or a sink's own reasons),
 * per container in a bounded table.
 */
import {
  type Batch,
  type CgroupProvenance,
  type CommProvenance,
  createSenderResolver,
  type CgroupIndex,
  type LogRecord,
  NO_CGROUP,
  notifyServiceManager,
  probeKernel,
  Receiver,
  RecordBuilder,
  type SenderCgroup,
  type SyslogMessage,
} from '../collector';
import { RateLimiter, RouteError, Router, type SuppressionNotice } from '../routing';
import { type CollectorConfig, type FileSinkConfig, type ForwardSinkConfig, type WinstonSinkConfig } from './config';
import { ConfigError } from './config-schema';
import { type Diagnostics } from './diagnostics';
import { FileSink } from './file-sink';
import { ForwardSink, type ForwardSinkOptions } from './forward';
import { WinstonSink, type WinstonSinkOptions } from './winston-sink';

export interface SinkStats {
  written: number;
  bytes: number;
  dropped: Record<string, number>;
}

export interface Sink {
  /** Starts background work (a forwarder connects); called once by `Collector.start()`. */
  start?(): void;
  write(rec: LogRecord): void;
  flush(): void;
  reopen(): void;
  close(): void | Promise<void>;
  stats(): SinkStats;
}

export interface ContainerCounters {
  received: number;
  dropped: number;
}

export interface CollectorStats {
  received: number;
  routed: number;
  dropped: Record<string, number>;
  /** How senders were attributed: message counts per provenance, for cgroup and for comm. */
  attribution: { cgroup: Record<string, number>; comm: Record<string, number> };
  receiver: ReturnType<Receiver['counters']>;
  sinks: Record<string, SinkStats>;
  perContainer: Record<string, ContainerCounters>;
  cgroups: ReturnType<CgroupIndex['stats']>;
  rateLimited: number;
}

export interface CollectorOptions {
  diagnostics: Diagnostics;
  /** A socket inherited from the service manager; the config's path is then not bound. */
  adoptFd?: number | null;
  now?: () => number;
}

const OTHER = '_other';
const CGROUP_PROVENANCES: readonly CgroupProvenance[] = ['pidfd', 'pidfd-exited', 'proc-verified', 'proc', 'none'];
const COMM_PROVENANCES: readonly (CommProvenance | 'tag')[] = ['verified', 'cached', 'proc', 'tag', 'none'];

function fileSinkOptions(c: FileSinkConfig, hostname: string) {
  return {
    dir: c.dir,
    format: c.format,
    containerPath: c.container_path,
    hostPath: c.host_path,
    unknownPath: c.unknown_path,
    fileMode: c.file_mode,
    dirMode: c.dir_mode,
    rotateBytes: c.rotate_size_bytes,
    rotateKeep: c.rotate_keep,
    idleCloseMs: c.idle_close_secs * 1000,
    maxOpenFiles: c.max_open_files,
    chunkBytes: c.chunk_bytes,
    flushIntervalMs: c.flush_interval_ms,
    hostname,
  };
}

function forwardSinkOptions(name: string, c: ForwardSinkConfig, hostname: string): ForwardSinkOptions {
  return {
    name,
    protocol: c.protocol,
    host: c.host,
    port: c.port !== 0 ? c.port : c.protocol === 'tls' ? 6514 : 514,
    format: c.format,
    framing: c.framing !== 'auto' ? c.framing : c.format === 'rfc3164' ? 'newline' : 'octet-counting',
    tls: {
      caFile: c.tls.ca_file,
      certFile: c.tls.cert_file,
      keyFile: c.tls.key_file,
      serverName: c.tls.server_name,
      verifyServerName: c.tls.verify_server_name,
    },
    queueMaxMessages: c.queue_max_messages,
    queueMaxBytes: c.queue_max_bytes,
    reconnectBaseMs: c.reconnect_base_ms,
    reconnectMaxMs: c.reconnect_max_ms,
    connectTimeoutMs: c.connect_timeout_ms,
    diskBufferDir: c.disk_buffer_dir,
    diskBufferMaxBytes: c.disk_buffer_max_bytes,
    closeTimeoutMs: c.close_timeout_ms,
    appName: c.app_name,
    hostname: c.hostname,
    defaultHostname: hostname,
    sdId: c.sd_id,
    maxDatagramBytes: c.max_datagram_bytes,
  };
}

function winstonSinkOptions(name: string, c: WinstonSinkConfig, hostname: string): WinstonSinkOptions {
  return {
    name,
    module: c.module,
    transport: c.transport,
    options: c.options,
    format: c.format,
    hostname,
    queueMaxMessages: c.queue_max_messages,
    closeTimeoutMs: c.close_timeout_ms,
  };
}

/** One sentence about a sink's counters, for the log at stop. */
function sinkSummary(name: string, st: SinkStats): string {
  const x = st as SinkStats & { state?: string; queueMessages?: number; diskBufferBytes?: number; reconnects?: number; truncated?: number };
  let text = `Sink '${name}' closed: written ${st.written}, bytes ${st.bytes}, dropped ${JSON.stringify(st.dropped)}`;
  if (x.state !== undefined) text += `, reconnects ${x.reconnects ?? 0}, truncated ${x.truncated ?? 0}, left on disk ${x.diskBufferBytes ?? 0} bytes`;
  return `${text}.`;
}

/** Where a record is counted: its container's name, or host/unknown. */
function counterKey(s: SenderCgroup): string {
  if (s.container !== null) return `${s.container.runtime}/${s.container.name}`;
  return s.kind === 'root' ? 'host' : s.kind;
}

export class Collector {
  readonly config: CollectorConfig;
  private readonly diagnostics: Diagnostics;
  private readonly now: () => number;
  private readonly adoptFd: number | null;
  private readonly sinks = new Map<string, Sink>();
  /** Written through at the end of every batch: a SIGKILL loses at most the batch in flight. */
  private readonly fileSinks: FileSink[] = [];
  private readonly cgroupProvenance = new Map<string, number>(CGROUP_PROVENANCES.map((p) => [p, 0]));
  private readonly commProvenance = new Map<string, number>(COMM_PROVENANCES.map((p) => [p, 0]));
  private readonly router: Router;
  private readonly limiter: RateLimiter;
  private readonly dropped = new Map<string, number>();
  private readonly perContainer = new Map<string, ContainerCounters>();
  private readonly countersBySender = new WeakMap<SenderCgroup, ContainerCounters>();
  private receiver: Receiver | null = null;
  private index: CgroupIndex | null = null;
  private builder: RecordBuilder | null = null;
  private timer: NodeJS.Timeout | null = null;
  private received = 0;
  private routed = 0;

  constructor(config: CollectorConfig, options: CollectorOptions) {
    this.config = config;
    this.diagnostics = options.diagnostics;
    this.now = options.now ?? Date.now;
    this.adoptFd = options.adoptFd ?? null;
    const files = new FileSink(fileSinkOptions(config.files, config.hostname));
    this.sinks.set('files', files);
    this.fileSinks.push(files);
    for (const [name, def] of Object.entries(config.sinks)) {
      let sink: Sink;
      try {
        if (def.type === 'forward') {
          sink = new ForwardSink(forwardSinkOptions(name, def, config.hostname), { diagnostics: this.diagnostics });
        } else if (def.type === 'winston') {
          sink = new WinstonSink(winstonSinkOptions(name, def, config.hostname), { diagnostics: this.diagnostics });
        } else {
          const files = new FileSink(fileSinkOptions(def, config.hostname));
          this.fileSinks.push(files);
          sink = files;
        }
      } catch (err) {
        throw new ConfigError(`sinks.${name}: ${(err as Error).message}`);
      }
      this.sinks.set(name, sink);
    }
    try {
      this.router = new Router(config.routes, { sinkNames: this.sinks.keys(), defaultSinks: ['files'], defaultRateLimit: config.rate_limit });
    } catch (err) {
      // A route naming a sink that does not exist is a config mistake like any other.
      if (err instanceof RouteError) throw new ConfigError(err.message);
      throw err;
    }
    this.limiter = new RateLimiter({ now: this.now, onNotice: (n) => this.writeNotice(n) });
  }

  /** Binds (or adopts) the socket and starts receiving. Throws NativeError when the socket cannot be had. */
  start(): void {
    const probe = probeKernel();
    const { resolver, index } = createSenderResolver({
      cgroupMount: this.config.cgroups.mount ?? undefined,
      roots: {
        dockerRoot: this.config.metadata.docker_root,
        podmanRoot: this.config.metadata.podman_root,
        podsLogRoot: this.config.metadata.pods_log_root,
        containersLogRoot: this.config.metadata.containers_log_root,
      },
      index: {
        retentionMs: this.config.cgroups.retention_secs * 1000,
        maxRetained: this.config.cgroups.max_retained,
        rescanMinIntervalMs: this.config.cgroups.rescan_min_interval_ms,
        maxWatches: this.config.cgroups.max_watches,
      },
    });
    const s = this.config.socket;
    const a = this.config.attribution;
    const receiver = new Receiver(
      {
        socketPath: this.adoptFd === null ? s.path : undefined,
        adoptFd: this.adoptFd ?? undefined,
        mode: s.mode,
        rcvbufBytes: s.receive_buffer_bytes,
        batchSize: s.batch_size,
        thread: s.receive_thread,
        maxMessageBytes: s.max_message_bytes,
        method: a.method,
        cgroupRoot: index.mount,
        commCacheSize: a.comm_cache_entries,
        commTtlMs: a.comm_ttl_ms,
        maxPinnedPidfds: a.pinned_pidfds,
        extras: a.exe_and_cmdline,
        debugDelayUs: a.debug_delay_us,
        onError: (err) => this.diagnostics.limited('error', `receive:${err.message}`, `Receiving failed: ${err.message}`),
      },
      (b) => this.onBatch(b),
    );
    index.start();
    this.index = index;
    this.receiver = receiver;
    this.builder = new RecordBuilder({ resolver, receiver, now: this.now });
    for (const sink of this.sinks.values()) sink.start?.();
    receiver.start();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    this.diagnostics.info(
      `Accepting messages on '${receiver.socketPath}'${receiver.adopted ? ' (socket passed by the service manager)' : ''}; ` +
        `sender attribution by ${receiver.method} (kernel rung ${probe.rung}: ${probe.summary}).`,
      { socket: receiver.socketPath, method: receiver.method, rung: probe.rung, dir: this.config.files.dir },
    );
    if (!receiver.socket.refusesFds) {
      this.diagnostics.info('This kernel cannot refuse fds on the socket (SO_PASSRIGHTS, 6.16+); fds that senders pass are closed and counted.');
    }
    notifyServiceManager('READY=1\nSTATUS=Accepting messages');
  }

  private onBatch(b: Batch): void {
    const builder = this.builder as RecordBuilder;
    const now = this.now();
    this.received += b.count;
    for (let i = 0; i < b.count; i++) {
      const rec = builder.build(b, i, now);
      const counters = this.countFor(rec.sender);
      counters.received++;
      this.cgroupProvenance.set(rec.attribution.cgroup, (this.cgroupProvenance.get(rec.attribution.cgroup) ?? 0) + 1);
      this.commProvenance.set(rec.attribution.comm, (this.commProvenance.get(rec.attribution.comm) ?? 0) + 1);
      const decision = this.router.route(rec);
      if (decision.filtered) {
        this.drop('filtered', counters);
        continue;
      }
      if (!this.limiter.allow(rec, decision)) {
        this.drop('rate_limited', counters);
        continue;
      }
      this.routed++;
      for (let k = 0; k < decision.sinks.length; k++) (this.sinks.get(decision.sinks[k]) as Sink).write(rec);
    }
    for (let k = 0; k < this.fileSinks.length; k++) this.fileSinks[k].flush();
  }

  private countFor(sender: SenderCgroup): ContainerCounters {
    // The resolver shares one object per cgroup: look its counters up by identity, and build
    // the name key only on the first message of a cgroup.
    const cached = this.countersBySender.get(sender);
    if (cached !== undefined) return cached;
    const c = this.countForKey(counterKey(sender));
    this.countersBySender.set(sender, c);
    return c;
  }

  private countForKey(key: string): ContainerCounters {
    let c = this.perContainer.get(key);
    if (c === undefined) {
      if (this.perContainer.size >= this.config.stats.max_containers) {
        c = this.perContainer.get(OTHER);
        if (c === undefined) {
          c = { received: 0, dropped: 0 };
          this.perContainer.set(OTHER, c);
        }
        return c;
      }
      c = { received: 0, dropped: 0 };
      this.perContainer.set(key, c);
    }
    return c;
  }

  private drop(reason: string, counters: ContainerCounters): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    counters.dropped++;
  }

  /** The one line a rate-limited sender's file gets when its window ends. */
  private writeNotice(n: SuppressionNotice): void {
    const s = n.sender;
    const who =
      s.container !== null
        ? `container ${s.container.name}`
        : s.unit !== null
          ? `unit ${s.unit}`
          : s.kind === 'host' || s.kind === 'root'
            ? `host processes in cgroup ${s.path ?? s.id}`
            : 'senders that could not be attributed';
    const secs = Math.max(1, Math.round((n.windowEndMs - n.windowStartMs) / 1000));
    const syslog: SyslogMessage = {
      format: 'raw',
      facility: 5,
      severity: 4,
      priValid: true,
      timestamp: null,
      time: n.windowEndMs,
      hostname: null,
      app: 'container-syslog',
      pid: String(process.pid),
      msgid: null,
      structuredData: null,
      message: `Suppressed ${n.suppressed} messages from ${who} in the last ${secs} s (rate limit: ${n.config.burst} per ${n.config.interval_secs} s).`,
      notes: 0,
    };
    const rec: LogRecord = {
      receivedUs: n.windowEndMs * 1000,
      pid: process.pid,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      nsPid: -1,
      nsDepth: 0,
      exitStatus: null,
      processKey: 0,
      comm: 'container-syslog',
      exe: null,
      cmdline: null,
      sender: n.sender ?? NO_CGROUP,
      attribution: { cgroup: 'none', comm: 'none' },
      syslog,
      truncated: false,
      originalLength: 0,
    };
    for (const name of n.sinks) this.sinks.get(name)?.write(rec);
    this.diagnostics.limited('warn', `ratelimit:${who}`, syslog.message, { suppressed: n.suppressed });
  }

  private tick(): void {
    this.limiter.sweep();
    for (const [name, sink] of this.sinks) {
      const st = sink.stats();
      for (const [reason, count] of Object.entries(st.dropped)) {
        if (count > 0) {
          this.diagnostics.limited('error', `sink:${name}:${reason}`, `Sink '${name}' is dropping messages (${reason}); ${count} dropped so far.`, {
            sink: name,
            reason,
            dropped: count,
          });
        }
      }
    }
  }

  /** SIGHUP: every file sink closes its files and reopens them on the next write. */
  reopen(): void {
    for (const sink of this.sinks.values()) sink.reopen();
    this.diagnostics.info('Reopened log files (SIGHUP).');
  }

  /**
   * SIGTERM: stop receiving, deliver what is queued (a socket we bound is unlinked first so nothing
   * new queues), emit pending rate-limit notices, flush and close every sink.
   */
  async stop(): Promise<number> {
    notifyServiceManager('STOPPING=1');
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const drained = this.receiver?.stop() ?? 0;
    this.limiter.flush();
    // Forwarders may take up to their close timeout each: close all sinks at once.
    const names = [...this.sinks.keys()];
    await Promise.all(names.map((name) => (this.sinks.get(name) as Sink).close()));
    for (const name of names) {
      const st = (this.sinks.get(name) as Sink).stats();
      this.diagnostics.info(sinkSummary(name, st), { sink: name, written: st.written });
    }
    this.index?.stop();
    return drained;
  }

  stats(): CollectorStats {
    const sinks: Record<string, SinkStats> = {};
    for (const [name, sink] of this.sinks) sinks[name] = sink.stats();
    return {
      received: this.received,
      routed: this.routed,
      dropped: Object.fromEntries(this.dropped),
      attribution: { cgroup: Object.fromEntries(this.cgroupProvenance), comm: Object.fromEntries(this.commProvenance) },
      receiver: this.receiver?.counters() ?? ({} as ReturnType<Receiver['counters']>),
      sinks,
      perContainer: Object.fromEntries(this.perContainer),
      cgroups: this.index?.stats() ?? ({} as ReturnType<CgroupIndex['stats']>),
      rateLimited: this.limiter.stats().suppressed,
    };
  }
}
