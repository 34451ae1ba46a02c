/**
 * The winston sink (`type: winston`): records handed to any winston transport named in config,
 * for the targets winston already reaches (a file with winston's own rotation, HTTP, a cloud
 * service's transport package). It is never used for the per-container files: winston costs a
 * stream hop and an object per message, 10–25× the file sink's chunked writes.
 *
 * Which transport: `module` is resolved like `require()` from the collector's own
 * node_modules (then the working directory); `transport` names an export of it: for `module:
 * winston`, one of `winston.transports` (`File`, `Console`, `Http`, `Stream`); for another
 * package, an export by that name, or, when `transport` is not set, the module's export itself
 * (or its `default`). The class is constructed with `options` as given in YAML. Loading a module
 * runs its code: the config file must be as trusted as the collector. A module that cannot be
 * loaded or has no such class is a config error, raised at start-up (`loadTransportClass`).
 *
 * What a transport gets: one info object per record, `{ level, message, facility, severity,
 * app, pid, container, runtime, container_id, pod_namespace, pod_name, unit }` with `level` the
 * syslog severity under winston's syslog levels (`emerg` … `debug`; a transport's own `level`
 * option filters as usual), `message` the sender's text, and the formatted line (`format`:
 * text, json or rfc5424, as the file sink writes it, without the newline) as `info[MESSAGE]`,
 * which line-oriented transports (File, Console, Stream) write.
 *
 * Bounds, like the forwarder's: `write()` puts the record in a ring of `queueMaxMessages` and
 * returns; when the ring is full the newest is dropped, counted `queue_full`. A pump, scheduled
 * once per turn of the event loop, hands records to a winston logger until its stream says to
 * wait (`write()` returns false), and resumes on 'drain', so what winston holds is bounded by
 * its streams' high-water marks (16 objects each) and a transport that cannot keep up fills
 * our ring, not memory. `written` counts records handed to winston. Transport errors are
 * rate-limited diagnostics. `close()` hands over what it can within `closeTimeoutMs`, counts
 * the rest `shutdown`, ends the logger and waits (within the same bound) until the transport
 * has finished writing.
 */
import winston from 'winston';
import { type LogRecord } from '../collector';
import { type Diagnostics, silentDiagnostics } from './diagnostics';
import { createEncoder, type Encoder, type LogFormat } from './format';
import { type Sink, type SinkStats } from './pipeline';

export interface WinstonSinkOptions {
  /** The sink's name in config, for messages. */
  name: string;
  /** The package (or path) to load. */
  module: string;
  /** The export naming the transport class; null for the module's export itself. */
  transport: string | null;
  /** Passed to the transport's constructor. */
  options: Record<string, unknown>;
  format: LogFormat;
  /** This host's name, for rfc5424 lines. */
  hostname: string;
  queueMaxMessages: number;
  closeTimeoutMs: number;
}

export interface WinstonSinkDeps {
  diagnostics?: Diagnostics;
  /** A transport instance to use instead of loading `module` (tests). */
  transport?: winston.transport;
}

export interface WinstonSinkStats extends SinkStats {
  /** Records in the ring, not yet handed to winston. */
  queueMessages: number;
  lastError: string | null;
}

/** A transport class as winston packages export them. */
export type TransportClass = new (options: Record<string, unknown>) => winston.transport;

const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
const SYSLOG_LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'] as const;

/** A winston format that leaves the info as we built it (the line is already in info[MESSAGE]). */
const passThrough = winston.format((info) => info)();

/**
 * Loads `moduleName` and finds the transport class (see the top of this file). Throws an Error
 * saying what was missing: the module (with the resolver's code), or the export.
 */
export function loadTransportClass(moduleName: string, exportName: string | null): TransportClass {
  let mod: unknown;
  try {
    const resolved = require.resolve(moduleName, { paths: [__dirname, process.cwd()] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(resolved) as unknown;
  } catch (err) {
    throw new Error(`cannot load the module '${moduleName}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const asRecord = (v: unknown): Record<string, unknown> | null => (v !== null && (typeof v === 'object' || typeof v === 'function') ? (v as Record<string, unknown>) : null);
  const m = asRecord(mod);
  let found: unknown;
  if (exportName === null) {
    found = typeof mod === 'function' ? mod : m?.default;
  } else {
    found = asRecord(m?.transports)?.[exportName] ?? m?.[exportName] ?? asRecord(m?.default)?.[exportName];
  }
  if (typeof found !== 'function') {
    const available = [...Object.keys(asRecord(m?.transports) ?? {}), ...Object.keys(m ?? {}).filter((k) => typeof m?.[k] === 'function')];
    throw new Error(
      exportName === null
        ? `the module '${moduleName}' does not export a transport class; name one with 'transport'${available.length > 0 ? ` (exports: ${available.join(', ')})` : ''}`
        : `the module '${moduleName}' has no transport '${exportName}'${available.length > 0 ? ` (found: ${[...new Set(available)].join(', ')})` : ''}`,
    );
  }
  return found as TransportClass;
}

export class WinstonSink implements Sink {
  readonly name: string;
  private readonly o: WinstonSinkOptions;
  private readonly diagnostics: Diagnostics;
  private readonly encode: Encoder;
  private readonly logger: winston.Logger;
  private readonly cap: number;
  private readonly ring: (LogRecord | undefined)[];
  private head = 0;
  private count = 0;
  private scheduled = false;
  private waitingDrain = false;
  private closing = false;
  private ended = false;
  private closePromise: Promise<void> | null = null;
  private written = 0;
  private bytes = 0;
  private lastError: string | null = null;
  private readonly dropped = new Map<string, number>();
  private readonly pumpBound: () => void;
  private readonly drainBound: () => void;
  private drainWaiter: (() => void) | null = null;

  /** Throws an Error saying why when the transport cannot be loaded or constructed. */
  constructor(options: WinstonSinkOptions, deps: WinstonSinkDeps = {}) {
    this.o = options;
    this.name = options.name;
    this.diagnostics = deps.diagnostics ?? silentDiagnostics;
    this.encode = createEncoder(options.format, { hostname: options.hostname });
    let transport = deps.transport;
    if (transport === undefined) {
      const Cls = loadTransportClass(options.module, options.transport);
      try {
        transport = new Cls({ ...options.options });
      } catch (err) {
        throw new Error(`cannot create the transport ${options.transport ?? options.module}: ${(err as Error).message}`);
      }
    }
    this.logger = winston.createLogger({
      levels: winston.config.syslog.levels,
      level: 'debug',
      format: passThrough,
      transports: [transport],
      exitOnError: false,
    });
    this.logger.on('error', (err: Error) => {
      this.lastError = err.message;
      this.diagnostics.limited('error', `winston:${this.name}`, `Sink '${this.name}' (winston transport ${this.o.transport ?? this.o.module}) failed: ${err.message}.`, {
        sink: this.name,
      });
    });
    this.cap = options.queueMaxMessages;
    this.ring = new Array<LogRecord | undefined>(this.cap).fill(undefined);
    this.pumpBound = () => {
      this.scheduled = false;
      this.pump();
    };
    this.drainBound = () => {
      this.waitingDrain = false;
      this.pump();
      const w = this.drainWaiter;
      if (w !== null) w();
    };
  }

  write(rec: LogRecord): void {
    if (this.closing) {
      this.drop('closed');
      return;
    }
    if (this.count >= this.cap) {
      this.drop('queue_full');
      return;
    }
    let slot = this.head + this.count;
    if (slot >= this.cap) slot -= this.cap;
    this.ring[slot] = rec;
    this.count++;
    if (!this.scheduled && !this.waitingDrain) {
      this.scheduled = true;
      setImmediate(this.pumpBound);
    }
  }

  private drop(reason: string, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  private info(rec: LogRecord): Record<string | symbol, unknown> {
    const s = rec.syslog;
    const c = rec.sender.container;
    const pod = rec.sender.pod ?? (c === null ? null : c.pod);
    const line = this.encode(rec);
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    const level = SYSLOG_LEVELS[s.severity] ?? 'info';
    this.bytes += Buffer.byteLength(text) + 1;
    return {
      level,
      message: s.message,
      facility: s.facility,
      severity: s.severity,
      app: s.app ?? rec.comm,
      pid: rec.pid > 0 ? rec.pid : null,
      container: c === null ? null : c.name,
      runtime: c === null ? null : c.runtime,
      container_id: c === null ? null : c.id,
      pod_namespace: pod === null ? null : pod.namespace,
      pod_name: pod === null ? null : pod.name,
      unit: rec.sender.unit,
      [LEVEL]: level,
      [MESSAGE]: text,
    };
  }

  private pump(): void {
    if (this.ended) return;
    while (this.count > 0 && !this.waitingDrain) {
      const rec = this.ring[this.head] as LogRecord;
      this.ring[this.head] = undefined;
      if (++this.head === this.cap) this.head = 0;
      this.count--;
      this.written++;
      if (!this.logger.write(this.info(rec))) {
        this.waitingDrain = true;
        this.logger.once('drain', this.drainBound);
      }
    }
  }

  /** Hands what is queued to winston now, as far as it takes it. */
  flush(): void {
    this.pump();
  }

  reopen(): void {
    // winston transports manage their own files.
  }

  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closing = true;
    this.closePromise = this.closeNow();
    return this.closePromise;
  }

  private async closeNow(): Promise<void> {
    const deadline = Date.now() + this.o.closeTimeoutMs;
    this.pump();
    while (this.count > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.drainWaiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.drainWaiter = null;
      this.pump();
    }
    if (this.count > 0) {
      this.drop('shutdown', this.count);
      this.ring.fill(undefined);
      this.count = 0;
    }
    // Ending the logger ends its transports at once, and what still sits in the logger's own
    // buffers would never reach them: wait until it has all been passed on.
    while ((this.logger.writableLength > 0 || this.logger.readableLength > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    this.ended = true;
    const finished = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), Math.max(100, deadline - Date.now()));
      this.logger.once('finish', () => {
        clearTimeout(t);
        resolve(true);
      });
      this.logger.end();
    });
    if (!finished) {
      this.lastError = `the transport did not finish writing within ${this.o.closeTimeoutMs} ms`;
      this.diagnostics.warn(`Sink '${this.name}': ${this.lastError}; what it still held may be lost.`, { sink: this.name });
    }
    this.logger.close();
  }

  stats(): WinstonSinkStats {
    return {
      written: this.written,
      bytes: this.bytes,
      dropped: Object.fromEntries(this.dropped),
      queueMessages: this.count,
      lastError: this.lastError,
    };
  }
}
