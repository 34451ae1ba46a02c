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
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { type LogRecord } from '../collector';
import { APPEND_FULL, APPEND_OK, DiskBuffer, type DiskPosition } from './disk-buffer';
import { type Diagnostics, silentDiagnostics } from './diagnostics';
import { DEFAULT_SD_ID } from './format';
import { WireEncoder, type WireFormat } from './forward-format';
import { type Sink, type SinkStats } from './pipeline';

export type ForwardProtocol = 'tcp' | 'tls' | 'udp';
/** TCP/TLS framing: RFC 6587 octet counting, or a newline after each message (non-transparent). */
export type ForwardFraming = 'octet-counting' | 'newline';
export type ForwardState = 'connecting' | 'connected' | 'backoff' | 'closed';

export interface ForwardTlsOptions {
  /** CA certificates (PEM) that may sign the server's certificate; null for Node's built-in list. */
  caFile: string | null;
  /** Our client certificate (PEM), for servers that require one; with `keyFile`. */
  certFile: string | null;
  keyFile: string | null;
  /** The name the server's certificate must carry; null for `host`. Also sent as SNI unless it is an IP address. */
  serverName: string | null;
  /** Check the certificate's name (default true); false checks only that a trusted CA signed it. */
  verifyServerName: boolean;
}

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

/** Bytes framed into one socket write, at most (one longer message goes alone). */
export const BATCH_BYTES = 256 * 1024;
/** UDP sends outstanding at most. */
export const UDP_IN_FLIGHT = 64;
/** TLS 1.3 without a session ticket from the server: wait this long for an alert before sending. */
export const TLS13_SETTLE_MS = 1000;
/** A connection that ends sooner counts as a failed attempt for the backoff. */
export const STABLE_CONNECTION_MS = 5000;

interface InFlight {
  /** Messages from the memory ring (from its head), and their bytes. */
  mem: number;
  memBytes: number;
  /** Messages in the batch, and bytes on the wire. */
  count: number;
  wireBytes: number;
  /** After a batch from disk: where the disk may be committed to. */
  disk: DiskPosition | null;
}

/** X.509 verification results as Node reports them (OpenSSL's names). */
const CERT_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** TLS alerts by which a server says it refused our certificate (or our lack of one). */
const PEER_REFUSED_CERT = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|ACCESS_DENIED|HANDSHAKE_FAILURE)/;

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : String(n).length;
}

function writeDecimal(buf: Buffer, off: number, n: number): number {
  const d = digits(n);
  let v = n;
  for (let i = off + d - 1; i >= off; i--) {
    buf[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return off + d;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sizeText(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
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
  private readonly diagnostics: Diagnostics;
  private readonly random: () => number;
  private readonly encoder: WireEncoder;
  private readonly octets: boolean;
  private readonly disk: DiskBuffer | null;
  // The ring.
  private readonly cap: number;
  private readonly ring: (string | undefined)[];
  private readonly ringBytes: Uint32Array;
  private head = 0;
  private count = 0;
  /** Of `count`, handed to the socket and not yet confirmed (from `head`). */
  private sent = 0;
  private queuedBytes = 0;
  // The connection.
  private state: ForwardState = 'connecting';
  private started = false;
  private stream: net.Socket | null = null;
  private udp: dgram.Socket | null = null;
  private generation = 0;
  private inflight: InFlight[] = [];
  private udpInFlight = 0;
  private waitingDrain = false;
  private pumpScheduled = false;
  private attempt = 0;
  private tcpUp = false;
  private connectedAt = 0;
  /** While a TLS 1.3 connection waits to settle: starts sending at once. */
  private settle: (() => void) | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private lastErr: NodeJS.ErrnoException | null = null;
  private onWritten: (err?: Error | null) => void = () => undefined;
  private readonly onUdpSent: (err: Error | null) => void;
  private readonly pumpBound: () => void;
  private readonly reconnectBound: () => void;
  // Closing.
  private closing = false;
  private closePromise: Promise<void> | null = null;
  private closeResolve: (() => void) | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  // Counters.
  private written = 0;
  private bytesOut = 0;
  private truncated = 0;
  private reconnects = 0;
  private spilled = 0;
  private replayed = 0;
  private lastError: string | null = null;
  private readonly dropped = new Map<string, number>();

  /** Throws an Error naming the option when a template, the SD-ID or the disk buffer is not usable. */
  constructor(options: ForwardSinkOptions, deps: ForwardSinkDeps = {}) {
    this.o = options;
    this.name = options.name;
    this.target = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    this.diagnostics = deps.diagnostics ?? silentDiagnostics;
    this.random = deps.random ?? Math.random;
    this.encoder = new WireEncoder({
      format: options.format,
      defaultHostname: options.defaultHostname,
      hostname: options.hostname,
      appName: options.appName,
      sdId: options.sdId,
    });
    this.octets = options.framing === 'octet-counting';
    if (options.diskBufferDir !== null && options.protocol === 'udp') throw new Error('a disk buffer needs protocol tcp or tls');
    this.disk = options.diskBufferDir === null ? null : new DiskBuffer({ dir: options.diskBufferDir, maxBytes: options.diskBufferMaxBytes });
    this.cap = options.queueMaxMessages;
    this.ring = new Array<string | undefined>(this.cap).fill(undefined);
    this.ringBytes = new Uint32Array(this.cap);
    this.onUdpSent = (err) => this.udpSent(err);
    this.pumpBound = () => {
      this.pumpScheduled = false;
      this.pump();
    };
    this.reconnectBound = () => {
      this.backoffTimer = null;
      this.reconnects++;
      this.connect();
    };
  }

  /** Starts connecting (also done by the first write). */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.connect();
  }

  write(rec: LogRecord): void {
    if (this.closing) {
      this.drop('closed');
      return;
    }
    if (!this.started) this.start();
    let msg = this.encoder.encode(rec);
    let bytes = Buffer.byteLength(msg);
    if (this.o.protocol === 'udp' && bytes > this.o.maxDatagramBytes) {
      const buf = Buffer.from(msg);
      const headBytes = Buffer.byteLength(msg.substring(0, this.encoder.msgStart));
      const cut = utf8Cut(buf, this.o.maxDatagramBytes);
      if (headBytes >= this.o.maxDatagramBytes || cut < headBytes) {
        this.drop('too_large');
        return;
      }
      msg = buf.toString('utf8', 0, cut);
      bytes = cut;
      this.truncated++;
    }
    const disk = this.disk;
    if (disk !== null && (this.state !== 'connected' || !disk.isEmpty() || this.count >= this.cap || this.queuedBytes + bytes > this.o.queueMaxBytes)) {
      const r = disk.append(msg, bytes);
      if (r === APPEND_OK) {
        this.spilled++;
        if (this.state === 'connected' && !this.pumpScheduled && !this.waitingDrain) this.schedulePump();
      } else if (r === APPEND_FULL) {
        this.drop('disk_full');
      }
      // APPEND_ERROR: counted by the disk buffer (errorDrops), reported as 'disk_error'.
      return;
    }
    if (this.count >= this.cap || this.queuedBytes + bytes > this.o.queueMaxBytes) {
      this.drop('queue_full');
      return;
    }
    let slot = this.head + this.count;
    if (slot >= this.cap) slot -= this.cap;
    this.ring[slot] = msg;
    this.ringBytes[slot] = bytes;
    this.count++;
    this.queuedBytes += bytes;
    if (this.state === 'connected' && !this.pumpScheduled && !this.waitingDrain) this.schedulePump();
  }

  private schedulePump(): void {
    this.pumpScheduled = true;
    setImmediate(this.pumpBound);
  }

  private drop(reason: string, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  /** Sends what is queued now, instead of on the next turn of the event loop. */
  flush(): void {
    this.disk?.flush();
    if (this.state === 'connected') this.pump();
  }

  /** SIGHUP: when waiting to reconnect, try now (certificates are read again at every attempt). */
  reopen(): void {
    if (this.state === 'backoff' && this.backoffTimer !== null && !this.closing) {
      clearTimeout(this.backoffTimer);
      this.reconnectBound();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Connecting

  private connect(): void {
    this.state = 'connecting';
    this.tcpUp = false;
    this.lastErr = null;
    if (this.o.protocol === 'udp') {
      this.connectUdp();
      return;
    }
    let sock: net.Socket;
    if (this.o.protocol === 'tls') {
      let ca: Buffer | undefined;
      let cert: Buffer | undefined;
      let key: Buffer | undefined;
      const t = this.o.tls;
      let which = 'ca_file';
      try {
        if (t.caFile !== null) ca = fs.readFileSync(t.caFile);
        which = 'cert_file';
        if (t.certFile !== null) cert = fs.readFileSync(t.certFile);
        which = 'key_file';
        if (t.keyFile !== null) key = fs.readFileSync(t.keyFile);
      } catch (err) {
        const file = which === 'ca_file' ? t.caFile : which === 'cert_file' ? t.certFile : t.keyFile;
        this.failed(`Cannot read sinks.${this.name}.tls.${which} '${file}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); not connecting to ${this.target}`, 'files');
        return;
      }
      const expected = t.serverName ?? this.o.host;
      const options: tls.ConnectionOptions = {
        host: this.o.host,
        port: this.o.port,
        ca,
        cert,
        key,
        rejectUnauthorized: true,
        checkServerIdentity: t.verifyServerName ? (_host, c) => tls.checkServerIdentity(expected, c) : () => undefined,
      };
      if (net.isIP(expected) === 0) options.servername = expected;
      try {
        sock = tls.connect(options);
      } catch (err) {
        // Bad PEM data and the like surface here, synchronously.
        this.failed(`Cannot set up TLS for ${this.target}: ${(err as Error).message}; check sinks.${this.name}.tls`, 'files');
        return;
      }
      sock.once('connect', () => {
        this.tcpUp = true;
      });
      sock.once('secureConnect', () => this.handshakeDone(sock as tls.TLSSocket));
    } else {
      sock = net.connect({ host: this.o.host, port: this.o.port });
      sock.once('connect', () => {
        this.tcpUp = true;
        this.connected(sock);
      });
    }
    this.stream = sock;
    sock.setNoDelay(true);
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (sock === this.stream) this.lastErr = err;
    });
    sock.on('close', () => this.streamClosed(sock));
    sock.on('drain', () => {
      if (sock === this.stream) {
        this.waitingDrain = false;
        this.pump();
      }
    });
    // The peer sends nothing in syslog; read and discard whatever comes so 'end' is seen.
    sock.on('data', () => undefined);
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      if (sock === this.stream && this.state === 'connecting' && this.settle !== null) {
        // The handshake is done and no alert came: the timeout is not the handshake's.
        this.settle();
      } else if (sock === this.stream && this.state === 'connecting') {
        const e: NodeJS.ErrnoException = new Error(`no answer within ${seconds(this.o.connectTimeoutMs)}`);
        e.code = 'ETIMEDOUT';
        this.lastErr = e;
        sock.destroy();
      }
    }, this.o.connectTimeoutMs);
    this.connectTimer.unref();
  }

  private connectUdp(): void {
    dns.lookup(this.o.host, (err, address, family) => {
      if (this.state === 'closed') return;
      if (err !== null) {
        this.lastErr = err;
        this.failed(`Cannot resolve ${this.o.host} (${err.code ?? err.message})`, 'connect');
        return;
      }
      const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      this.udp = sock;
      sock.on('error', (e: NodeJS.ErrnoException) => {
        if (sock !== this.udp) return;
        this.lastErr = e;
        this.lastError = `${e.code ?? e.message}`;
      });
      sock.on('close', () => {
        if (sock !== this.udp) return;
        this.udp = null;
        this.generation++;
        this.udpInFlight = 0;
        this.sent = 0;
        if (this.closing) this.finishClose();
        else this.failed(`Lost the UDP socket for ${this.target}`, 'lost');
      });
      sock.connect(this.o.port, address, () => {
        if (sock !== this.udp) return;
        this.state = 'connected';
        this.attempt = 0;
        const queued = this.queueText();
        this.diagnostics.limited('info', `forward:${this.name}:connected`, `Sending to ${this.target} over UDP${queued === '' ? '' : `; ${queued}`}.`, {
          sink: this.name,
          target: this.target,
        });
        this.pump();
        if (this.closing) this.checkCloseDone();
      });
    });
  }

  /**
   * Our side of the TLS handshake is done. With TLS 1.3 the server checks our certificate only
   * after that, and says no with an alert: what we wrote meanwhile would be lost. So wait for its
   * first session ticket (sent once it accepted us) or, from servers that send none,
   * `TLS13_SETTLE_MS` without an alert, before sending.
   */
  private handshakeDone(sock: tls.TLSSocket): void {
    if (sock !== this.stream) return;
    if (!sock.authorized) {
      // rejectUnauthorized makes this unreachable; never send on an unverified connection.
      sock.destroy();
      return;
    }
    if (sock.getProtocol() !== 'TLSv1.3') {
      this.connected(sock);
      return;
    }
    let done = false;
    const go = (): void => {
      if (done) return;
      done = true;
      clearTimeout(settle);
      this.settle = null;
      // Not from inside the 'session' event: writing while Node is still processing the
      // ticket's record corrupts the stream (the peer sees a bad record MAC).
      setImmediate(() => this.connected(sock));
    };
    const settle = setTimeout(go, TLS13_SETTLE_MS);
    settle.unref();
    this.settle = go;
    sock.once('session', go);
  }

  private connected(sock: net.Socket): void {
    if (sock !== this.stream || this.state !== 'connecting') return;
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    this.state = 'connected';
    this.connectedAt = Date.now();
    this.lastError = null;
    const gen = ++this.generation;
    this.onWritten = (err) => this.batchWritten(gen, err);
    const queued = this.queueText();
    this.diagnostics.limited(
      'info',
      `forward:${this.name}:connected`,
      `Connected to ${this.target} over ${this.o.protocol.toUpperCase()}${queued === '' ? '' : `; sending ${queued}`}.`,
      { sink: this.name, target: this.target },
    );
    this.pump();
    if (this.closing) this.checkCloseDone();
  }

  /** "120 messages queued, 5.1 MiB on disk", or '' when nothing waits. */
  private queueText(): string {
    const parts: string[] = [];
    if (this.count > 0) parts.push(`${this.count} message${this.count === 1 ? '' : 's'} queued`);
    if (this.disk !== null && !this.disk.isEmpty()) parts.push(`${sizeText(this.disk.bytes())} on disk`);
    return parts.join(', ');
  }

  private streamClosed(sock: net.Socket): void {
    if (sock !== this.stream) return;
    this.stream = null;
    this.settle = null;
    this.generation++;
    this.inflight = [];
    this.sent = 0;
    this.waitingDrain = false;
    this.disk?.rewind();
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    const wasConnected = this.state === 'connected';
    // A connection that lasted is a success: the backoff starts again from the base. One that
    // the server ended at once (refused our certificate, overloaded) keeps it growing.
    if (wasConnected && Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.attempt = 0;
    if (this.closing) {
      this.finishClose();
      return;
    }
    const err = this.lastErr;
    const code = err === null ? null : (err.code ?? null);
    // OpenSSL's messages span lines and name source files; its `reason` is the readable part.
    const reason = err === null ? null : ((err as NodeJS.ErrnoException & { reason?: string }).reason ?? err.message.split('\n')[0]);
    if (wasConnected && code !== null && PEER_REFUSED_CERT.test(code)) {
      // TLS 1.3: the server checks our certificate after our side of the handshake is done.
      this.failed(
        `The server ${this.target} ended the TLS connection: ${reason ?? code} (${code}). This is a certificate problem: ` +
          `the server refused our client certificate (sinks.${this.name}.tls.cert_file${this.o.tls.certFile === null ? ', which is not set' : ''}); not sending in plaintext`,
        'tls',
      );
    } else if (wasConnected) {
      this.failed(`Lost the connection to ${this.target} (${code ?? 'closed by the peer'})`, 'lost');
    } else if (this.o.protocol === 'tls' && this.tcpUp) {
      const what = err === null || reason === null ? 'the server closed the connection' : `${reason}${code !== null && !reason.includes(code) ? ` (${code})` : ''}`;
      let hint = '';
      if (code !== null && CERT_CODES.has(code)) {
        hint = code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
          ? `. This is a certificate problem: the server's certificate does not carry the name ${this.o.tls.serverName ?? this.o.host} (set sinks.${this.name}.tls.server_name to the name it carries)`
          : `. This is a certificate problem: the server's certificate is not trusted by sinks.${this.name}.tls.ca_file${this.o.tls.caFile === null ? ' (Node\'s built-in CA list)' : ` (${this.o.tls.caFile})`}`;
      } else if (code !== null && PEER_REFUSED_CERT.test(code)) {
        hint = `. This is a certificate problem: the server refused our client certificate (sinks.${this.name}.tls.cert_file${this.o.tls.certFile === null ? ', which is not set' : ''})`;
      }
      this.failed(`TLS handshake with ${this.target} failed: ${what}${hint}; not sending in plaintext`, 'tls');
    } else {
      this.failed(`Cannot connect to ${this.target} (${code ?? 'closed'})`, 'connect');
    }
  }

  /** Records a failed attempt or a lost connection, says so (rate-limited), and schedules the next attempt. */
  private failed(sentence: string, kind: string): void {
    const delay = Math.floor(this.random() * Math.min(this.o.reconnectMaxMs, this.o.reconnectBaseMs * 2 ** Math.min(this.attempt, 30)));
    this.attempt++;
    this.lastError = sentence;
    this.state = 'backoff';
    if (this.closing) {
      // No new attempt while closing: the close deadline decides.
      this.finishClose();
      return;
    }
    const queued = this.queueText();
    this.diagnostics.limited('warn', `forward:${this.name}:${kind}`, `${sentence}; retrying in ${seconds(delay)}${queued === '' ? '' : `, ${queued}`}.`, {
      sink: this.name,
      target: this.target,
      code: this.lastErr?.code ?? null,
      retry_ms: delay,
      queued: this.count,
    });
    this.backoffTimer = setTimeout(this.reconnectBound, delay);
    this.backoffTimer.unref();
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  private pump(): void {
    if (this.state !== 'connected') return;
    if (this.o.protocol === 'udp') this.pumpUdp();
    else this.pumpStream();
  }

  private pumpStream(): void {
    const sock = this.stream;
    if (sock === null || this.waitingDrain) return;
    for (;;) {
      let batch: InFlight;
      let buf: Buffer;
      if (this.sent < this.count) {
        // From the ring: as many messages as fit in one batch (at least one).
        const cap = this.cap;
        let i = this.head + this.sent;
        if (i >= cap) i -= cap;
        let n = 0;
        let memBytes = 0;
        let wire = 0;
        const left = this.count - this.sent;
        let j = i;
        while (n < left) {
          const b = this.ringBytes[j];
          const w = this.octets ? digits(b) + 1 + b : b + 1;
          if (n > 0 && wire + w > BATCH_BYTES) break;
          wire += w;
          memBytes += b;
          n++;
          if (++j === cap) j = 0;
        }
        buf = Buffer.allocUnsafe(wire);
        let off = 0;
        j = i;
        for (let k = 0; k < n; k++) {
          const b = this.ringBytes[j];
          if (this.octets) {
            off = writeDecimal(buf, off, b);
            buf[off++] = 0x20;
            off += buf.write(this.ring[j] as string, off, b, 'utf8');
          } else {
            off += buf.write(this.ring[j] as string, off, b, 'utf8');
            buf[off++] = 0x0a;
          }
          if (++j === cap) j = 0;
        }
        batch = { mem: n, memBytes, count: n, wireBytes: wire, disk: null };
        this.sent += n;
      } else if (this.disk !== null) {
        let chunk;
        try {
          chunk = this.disk.read(BATCH_BYTES);
        } catch (err) {
          this.lastError = `Cannot read the disk buffer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
          this.diagnostics.limited('error', `forward:${this.name}:disk-read`, `${this.lastError}; the messages stay on disk for the next attempt.`, { sink: this.name });
          return;
        }
        if (chunk === null) return;
        const framed = this.frameLines(chunk.buf);
        buf = framed.buf;
        batch = { mem: 0, memBytes: 0, count: framed.count, wireBytes: buf.length, disk: chunk.end };
      } else {
        return;
      }
      this.inflight.push(batch);
      if (!sock.write(buf, this.onWritten)) {
        this.waitingDrain = true;
        return;
      }
    }
  }

  /** Lines from the disk ('\n'-terminated) framed for the wire, and how many. */
  private frameLines(lines: Buffer): { buf: Buffer; count: number } {
    let count = 0;
    let from = 0;
    if (!this.octets) {
      for (let nl = lines.indexOf(10, from); nl >= 0; nl = lines.indexOf(10, from)) {
        count++;
        from = nl + 1;
      }
      return { buf: lines, count };
    }
    let wire = 0;
    for (let nl = lines.indexOf(10, from); nl >= 0; nl = lines.indexOf(10, from)) {
      wire += digits(nl - from) + 1 + (nl - from);
      count++;
      from = nl + 1;
    }
    const buf = Buffer.allocUnsafe(wire);
    let off = 0;
    from = 0;
    for (let nl = lines.indexOf(10, from); nl >= 0; nl = lines.indexOf(10, from)) {
      off = writeDecimal(buf, off, nl - from);
      buf[off++] = 0x20;
      off += lines.copy(buf, off, from, nl);
      from = nl + 1;
    }
    return { buf, count };
  }

  private batchWritten(gen: number, err: Error | null | undefined): void {
    // A failed write is resent after the next connect: the close handler rewinds.
    if (gen !== this.generation || (err !== null && err !== undefined)) return;
    const b = this.inflight.shift();
    if (b === undefined) return;
    if (b.mem > 0) this.release(b.mem, b.memBytes);
    if (b.disk !== null) {
      this.disk?.commit(b.disk);
      this.replayed += b.count;
    }
    this.written += b.count;
    this.bytesOut += b.wireBytes;
    if (this.closing) this.checkCloseDone();
  }

  /** Frees `n` confirmed messages at the head of the ring. */
  private release(n: number, bytes: number): void {
    const cap = this.cap;
    let h = this.head;
    for (let k = 0; k < n; k++) {
      this.ring[h] = undefined;
      if (++h === cap) h = 0;
    }
    this.head = h;
    this.count -= n;
    this.sent -= n;
    this.queuedBytes -= bytes;
  }

  private pumpUdp(): void {
    const sock = this.udp;
    if (sock === null) return;
    const cap = this.cap;
    while (this.sent < this.count && this.udpInFlight < UDP_IN_FLIGHT) {
      let i = this.head + this.sent;
      if (i >= cap) i -= cap;
      sock.send(this.ring[i] as string, this.onUdpSent);
      this.sent++;
      this.udpInFlight++;
    }
  }

  private udpSent(err: Error | null): void {
    if (this.udp === null || this.udpInFlight === 0) return;
    this.udpInFlight--;
    const b = this.ringBytes[this.head];
    if (err !== null) {
      this.drop('send_error');
      this.lastError = `Sending to ${this.target} failed (${(err as NodeJS.ErrnoException).code ?? err.message})`;
      this.diagnostics.limited('warn', `forward:${this.name}:udp`, `${this.lastError}; dropping those datagrams.`, { sink: this.name, target: this.target });
    } else {
      this.written++;
      this.bytesOut += b;
    }
    this.release(1, b);
    if (this.closing) this.checkCloseDone();
    else if (this.sent < this.count && !this.pumpScheduled) this.schedulePump();
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /**
   * Sends what it can within `closeTimeoutMs`, ends the connection, then stores the rest on disk
   * (if configured) or counts it `shutdown`. Resolves when done; never rejects.
   */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closing = true;
    this.closePromise = new Promise<void>((resolve) => {
      this.closeResolve = resolve;
    });
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      this.finishClose();
    }, this.o.closeTimeoutMs);
    if (!this.started) {
      this.finishClose();
    } else if (this.state === 'backoff' && this.backoffTimer !== null && this.hasWork()) {
      // One more attempt at once rather than waiting out the backoff.
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
      this.reconnects++;
      this.connect();
    } else if (this.state === 'connected') {
      this.pump();
      this.checkCloseDone();
    } else if (this.state === 'backoff') {
      this.finishClose();
    }
    return this.closePromise;
  }

  private hasWork(): boolean {
    return this.count > 0 || (this.disk !== null && !this.disk.isEmpty());
  }

  private checkCloseDone(): void {
    if (this.state !== 'connected' || this.hasWork()) return;
    if (this.o.protocol === 'udp') {
      if (this.udpInFlight === 0) this.finishClose();
      return;
    }
    if (this.inflight.length > 0) return;
    // Everything reached the kernel: end cleanly, and finish when the socket closes.
    const sock = this.stream;
    if (sock === null) this.finishClose();
    else sock.end();
  }

  private finishClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const t of [this.closeTimer, this.backoffTimer, this.connectTimer]) if (t !== null) clearTimeout(t);
    this.closeTimer = this.backoffTimer = this.connectTimer = null;
    const sock = this.stream;
    this.stream = null;
    if (sock !== null) sock.destroy();
    const udp = this.udp;
    this.udp = null;
    if (udp !== null) udp.close();
    this.generation++;
    this.inflight = [];
    this.sent = 0;
    this.udpInFlight = 0;
    this.disk?.rewind();
    // What is left in the ring: to disk, oldest first, as far as its cap allows; else dropped.
    if (this.count > 0) {
      const msgs: string[] = [];
      const lens: number[] = [];
      let h = this.head;
      for (let k = 0; k < this.count; k++) {
        msgs.push(this.ring[h] as string);
        lens.push(this.ringBytes[h]);
        if (++h === this.cap) h = 0;
      }
      const n = this.count;
      if (this.disk !== null) {
        let stored = 0;
        let failed = false;
        try {
          stored = this.disk.prepend(msgs, lens);
        } catch (err) {
          failed = true;
          this.lastError = `Cannot write the disk buffer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        }
        if (stored < n) this.drop(failed ? 'disk_error' : 'disk_full', n - stored);
        this.spilled += stored;
      } else {
        this.drop('shutdown', n);
      }
      this.ring.fill(undefined);
      this.head = 0;
      this.count = 0;
      this.queuedBytes = 0;
    }
    try {
      this.disk?.close();
    } catch (err) {
      this.lastError = `Cannot close the disk buffer: ${(err as Error).message}`;
    }
    const resolve = this.closeResolve;
    this.closeResolve = null;
    if (resolve !== null) resolve();
  }

  stats(): ForwardSinkStats {
    const dropped = Object.fromEntries(this.dropped) as Record<string, number>;
    if (this.disk !== null && this.disk.errorDrops > 0) dropped.disk_error = (dropped.disk_error ?? 0) + this.disk.errorDrops;
    return {
      written: this.written,
      bytes: this.bytesOut,
      dropped,
      state: this.state,
      queueMessages: this.count,
      queueBytes: this.queuedBytes,
      diskBufferBytes: this.disk === null ? 0 : this.disk.bytes(),
      spilled: this.spilled,
      replayed: this.replayed,
      reconnects: this.reconnects,
      truncated: this.truncated,
      lastError: this.lastError ?? (this.disk?.lastError ?? null),
    };
  }
}
