/**
 * The forward sink: every record to a central syslog tier (rsyslog, syslog-ng, Vector, Fluent
 * Bit…) over TCP with octet-counting framing (RFC 6587 §3.4.1, `LEN SP MSG`), over TLS (RFC
 * 5425), or over UDP (RFC 5426, one message per datagram), in RFC 5424 with the container
 * identity in our SD element, or in the RFC 3164 shape for old receivers (`forward-format.ts`).
 *
 * Never blocking the receiver. `write()` encodes the record once, and puts the string in a ring
 * of `queueMaxMessages` slots also bounded by `queueMaxBytes`; that is all it does (no timers,
 * no closures, no I/O per message). When the ring is full the NEWEST message (the one being
 * written) is dropped and counted `queue_full`. A connection task drains the ring: it frames
 * as many queued messages as fit in `BATCH_BYTES` into one Buffer and writes it with one
 * `socket.write()`, and stops when that returns false until 'drain' (socket back-pressure). A
 * message leaves the ring only when the write callback of its batch reports the bytes handed to
 * the kernel; if the connection fails first, the batch is sent again on the next connection, so
 * messages are not lost in our process and, over one connection, stay in order. (What the
 * kernel accepted but the peer never read, because it died, is lost without anyone knowing:
 * plain syslog over TCP has no acknowledgements. RELP would be the fix.)
 *
 * Connection states, visible in `stats().state`: 'connecting' (TCP connect and, for TLS, the
 * handshake, bounded by `connectTimeoutMs`), 'connected', 'backoff' (waiting to reconnect:
 * full jitter, a uniformly random delay in [0, min(reconnectMaxMs, reconnectBaseMs · 2^n)) after
 * the n-th failure in a row; a connection that the peer ends within `STABLE_CONNECTION_MS`
 * counts as a failure, so a tier that accepts and drops at once is not hammered), 'closed'.
 * TLS always verifies the server's certificate against `tls.ca_file` (or Node's CA list), and
 * its name (the host, or `tls.server_name`) unless `tls.verify_server_name` is false; a failure
 * is a failed connection, never a reason to send in plaintext. With TLS 1.3 the server judges
 * our client certificate only after our side of the handshake is done, so nothing is sent until
 * it has shown it accepted us (its first session ticket, or `TLS13_SETTLE_MS` without an
 * alert): otherwise a refused certificate would silently eat the first batch of every attempt.
 * Certificate files are read at every connection attempt, so renewed certificates are picked up.
 *
 * Disk buffer (optional, `disk-buffer.ts`): while the connection is not up, or when the ring is
 * full, messages go to segment files instead; while anything is on disk, new messages go there
 * too, so the ring always holds messages older than the disk, and the connection task sends the
 * ring first, then the disk, in order. Beyond `diskBufferMaxBytes` the newest messages are
 * dropped, counted `disk_full`; a failed disk write counts `disk_error`.
 *
 * UDP: the ring is drained one datagram per message with at most `UDP_IN_FLIGHT` sends
 * outstanding; a message longer than `maxDatagramBytes` is cut in MSG on a UTF-8 character
 * boundary (never split into two datagrams) and counted `truncated` (it is still sent); one
 * whose header and structured data alone are longer is dropped as `too_large`. A send error
 * (e.g. ECONNREFUSED from an ICMP port-unreachable) drops that datagram as `send_error`. There
 * is no disk buffer for UDP: a UDP receiver gives no sign that it is gone.
 *
 * `close()`: sends what it can within `closeTimeoutMs` (trying once more at once if it was
 * waiting to reconnect), ends the connection cleanly, then stores what is left in the disk
 * buffer if there is one (counted `disk_full` beyond its cap), else counts it `shutdown`.
 * Writes after `close()` are counted `closed`.
 *
 * Accounting, what the tests check: every record handed to `write()` is, at any moment,
 * exactly one of: written (handed to the peer's kernel), queued in the ring, on disk, or
 * dropped with a reason. Operational trouble (cannot connect, lost the connection, a
 * certificate problem) goes to the diagnostics as rate-limited sentences, never per message.
 *
 * Layout: the ring and the wire framing are in `forward-queue.ts`, the connection task (connect,
 * TLS and its settle wait, batched writes with back-pressure, backoff, UDP) in
 * `forward-connection.ts`; this file is the sink itself: its options, `write()` and the choice
 * between ring and disk, `close()` with what is left, and `stats()`.
 */
import { type LogRecord } from '../collector';
import { APPEND_FULL, APPEND_OK, DiskBuffer } from './disk-buffer';
import { type Diagnostics, silentDiagnostics } from './diagnostics';
import { DEFAULT_SD_ID } from './format';
import { ForwardConnection, ForwardCounters, type ForwardProtocol, type ForwardState, type ForwardTlsOptions } from './forward-connection';
import { WireEncoder, type WireFormat } from './forward-format';
import { ForwardQueue } from './forward-queue';
import { type Sink, type SinkStats } from './pipeline';

export { BATCH_BYTES, STABLE_CONNECTION_MS, TLS13_SETTLE_MS, UDP_IN_FLIGHT } from './forward-connection';
export type { ForwardProtocol, ForwardState, ForwardTlsOptions } from './forward-connection';
/** TCP/TLS framing: RFC 6587 octet counting, or a newline after each message (non-transparent). */
export type ForwardFraming = 'octet-counting' | 'newline';

export interface ForwardSinkOptions {
  /** The sink's name in config, for messages. */
  name: string;
  protocol: ForwardProtocol;
  host: string;
  port: number;
  format: WireFormat;
  framing: ForwardFraming;
  tls: ForwardTlsOptions;
  queueMaxMessages: number;
  queueMaxBytes: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  diskBufferDir: string | null;
  diskBufferMaxBytes: number;
  closeTimeoutMs: number;
  /** Template for APP-NAME (forward-format.ts), or null. */
  appName: string | null;
  /** Template for HOSTNAME, or null for `defaultHostname`. */
  hostname: string | null;
  defaultHostname: string;
  sdId: string;
  maxDatagramBytes: number;
}

export const FORWARD_DEFAULTS: Readonly<Omit<ForwardSinkOptions, 'name' | 'host' | 'defaultHostname'>> = Object.freeze({
  protocol: 'tcp',
  port: 514,
  format: 'rfc5424',
  framing: 'octet-counting',
  tls: { caFile: null, certFile: null, keyFile: null, serverName: null, verifyServerName: true },
  queueMaxMessages: 100_000,
  queueMaxBytes: 64 * 1024 * 1024,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  connectTimeoutMs: 10_000,
  diskBufferDir: null,
  diskBufferMaxBytes: 256 * 1024 * 1024,
  closeTimeoutMs: 5000,
  appName: null,
  hostname: null,
  sdId: DEFAULT_SD_ID,
  maxDatagramBytes: 2048,
} as Omit<ForwardSinkOptions, 'name' | 'host' | 'defaultHostname'>);

export interface ForwardSinkDeps {
  diagnostics?: Diagnostics;
  /** Uniform in [0, 1), for the backoff jitter; default Math.random. */
  random?: () => number;
}

export interface ForwardSinkStats extends SinkStats {
  state: ForwardState;
  /** Messages and bytes in the memory ring (including those written but not yet confirmed). */
  queueMessages: number;
  queueBytes: number;
  /** Bytes on disk not yet sent (messages plus a newline each). */
  diskBufferBytes: number;
  /** Messages put on disk, and sent from disk, by this process. */
  spilled: number;
  replayed: number;
  /** Connection attempts after the first. */
  reconnects: number;
  /** UDP messages cut to `maxDatagramBytes` (and sent). */
  truncated: number;
  /** The last connection or disk error, as a sentence fragment, or null. */
  lastError: string | null;
}

/** The cut point for `buf` at most `max` bytes: not inside a UTF-8 sequence. */
export function utf8Cut(buf: Buffer, max: number): number {
  if (buf.length <= max) return buf.length;
  let cut = max;
  while (cut > 0 && (buf[cut] & 0xc0) === 0x80) cut--;
  return cut;
}

export class ForwardSink implements Sink {
  readonly name: string;
  readonly target: string;
  private readonly o: ForwardSinkOptions;
  private readonly encoder: WireEncoder;
  private readonly disk: DiskBuffer | null;
  private readonly queue: ForwardQueue;
  private readonly counters: ForwardCounters;
  private readonly conn: ForwardConnection;
  // Closing.
  private closePromise: Promise<void> | null = null;
  private closeResolve: (() => void) | null = null;
  private closeTimer: NodeJS.Timeout | null = null;

  /** Throws an Error naming the option when a template, the SD-ID or the disk buffer is not usable. */
  constructor(options: ForwardSinkOptions, deps: ForwardSinkDeps = {}) {
    this.o = options;
    this.name = options.name;
    this.encoder = new WireEncoder({
      format: options.format,
      defaultHostname: options.defaultHostname,
      hostname: options.hostname,
      appName: options.appName,
      sdId: options.sdId,
    });
    if (options.diskBufferDir !== null && options.protocol === 'udp') throw new Error('a disk buffer needs protocol tcp or tls');
    this.disk = options.diskBufferDir === null ? null : new DiskBuffer({ dir: options.diskBufferDir, maxBytes: options.diskBufferMaxBytes });
    this.queue = new ForwardQueue(options.queueMaxMessages, options.queueMaxBytes);
    this.counters = new ForwardCounters();
    this.conn = new ForwardConnection(options, {
      queue: this.queue,
      disk: this.disk,
      counters: this.counters,
      diagnostics: deps.diagnostics ?? silentDiagnostics,
      random: deps.random ?? Math.random,
      octets: options.framing === 'octet-counting',
      finishClose: () => this.finishClose(),
    });
    this.target = this.conn.target;
  }

  /** Starts connecting (also done by the first write). */
  start(): void {
    this.conn.start();
  }

  write(rec: LogRecord): void {
    const conn = this.conn;
    if (conn.closing) {
      this.counters.drop('closed');
      return;
    }
    if (!conn.started) conn.start();
    let msg = this.encoder.encode(rec);
    let bytes = Buffer.byteLength(msg);
    if (this.o.protocol === 'udp' && bytes > this.o.maxDatagramBytes) {
      const buf = Buffer.from(msg);
      const headBytes = Buffer.byteLength(msg.substring(0, this.encoder.msgStart));
      const cut = utf8Cut(buf, this.o.maxDatagramBytes);
      if (headBytes >= this.o.maxDatagramBytes || cut < headBytes) {
        this.counters.drop('too_large');
        return;
      }
      msg = buf.toString('utf8', 0, cut);
      bytes = cut;
      this.counters.truncated++;
    }
    const disk = this.disk;
    const queue = this.queue;
    // While anything is on disk, new messages go there too: the ring stays older than the disk.
    if (disk !== null && (conn.state !== 'connected' || !disk.isEmpty() || !queue.fits(bytes))) {
      const r = disk.append(msg, bytes);
      if (r === APPEND_OK) {
        this.counters.spilled++;
        conn.wake();
      } else if (r === APPEND_FULL) {
        this.counters.drop('disk_full');
      }
      // APPEND_ERROR: counted by the disk buffer (errorDrops), reported as 'disk_error'.
      return;
    }
    if (!queue.fits(bytes)) {
      this.counters.drop('queue_full');
      return;
    }
    queue.push(msg, bytes);
    conn.wake();
  }

  /** Sends what is queued now, instead of on the next turn of the event loop. */
  flush(): void {
    this.disk?.flush();
    this.conn.pump();
  }

  /** SIGHUP: when waiting to reconnect, try now (certificates are read again at every attempt). */
  reopen(): void {
    this.conn.reopen();
  }

  /**
   * Sends what it can within `closeTimeoutMs`, ends the connection, then stores the rest on disk
   * (if configured) or counts it `shutdown`. Resolves when done; never rejects.
   */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => {
      this.closeResolve = resolve;
    });
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.finishClose();
    }, this.o.closeTimeoutMs);
    this.conn.close();
    return this.closePromise;
  }

  /** The connection is done or gone, or the close deadline passed: stop it, keep or count the rest, resolve. */
  private finishClose(): void {
    if (!this.conn.shutDown()) return;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    // What is left in the ring: to disk, oldest first, as far as its cap allows; else dropped.
    const n = this.queue.count;
    if (n > 0) {
      const { msgs, lens } = this.queue.takeAll();
      if (this.disk !== null) {
        let stored = 0;
        let failed = false;
        try {
          stored = this.disk.prepend(msgs, lens);
        } catch (err) {
          failed = true;
          this.counters.lastError = `Cannot write the disk buffer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        }
        if (stored < n) this.counters.drop(failed ? 'disk_error' : 'disk_full', n - stored);
        this.counters.spilled += stored;
      } else {
        this.counters.drop('shutdown', n);
      }
    }
    try {
      this.disk?.close();
    } catch (err) {
      this.counters.lastError = `Cannot close the disk buffer: ${(err as Error).message}`;
    }
    const resolve = this.closeResolve;
    this.closeResolve = null;
    if (resolve !== null) resolve();
  }

  stats(): ForwardSinkStats {
    const c = this.counters;
    const dropped = Object.fromEntries(c.dropped) as Record<string, number>;
    if (this.disk !== null && this.disk.errorDrops > 0) dropped.disk_error = (dropped.disk_error ?? 0) + this.disk.errorDrops;
    return {
      written: c.written,
      bytes: c.bytes,
      dropped,
      state: this.conn.state,
      queueMessages: this.queue.count,
      queueBytes: this.queue.bytes,
      diskBufferBytes: this.disk === null ? 0 : this.disk.bytes(),
      spilled: c.spilled,
      replayed: c.replayed,
      reconnects: c.reconnects,
      truncated: c.truncated,
      lastError: c.lastError ?? (this.disk?.lastError ?? null),
    };
  }
}
