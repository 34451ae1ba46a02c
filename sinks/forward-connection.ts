/**
 * The forward sink's connection task: connects over TCP, TLS or UDP, drains the queue into the
 * socket, and reconnects with backoff. `forward.ts` describes the states, the backoff and the
 * TLS rules for users; this is where they are carried out.
 *
 * One connection at a time. Each socket's handlers check that it is still `stream` (or `udp`)
 * before acting, and every lost connection bumps `generation`, so the callbacks of an old socket
 * (a late 'close', a write callback after a reconnect) change nothing. A batch from the ring is
 * released only by its write callback on the current generation; on loss, `unsendAll()` and
 * `disk.rewind()` put everything unconfirmed back, to be sent again by the next connection.
 *
 * Bounds: one batch is at most `BATCH_BYTES` (one longer message goes alone); socket writes stop
 * at the first `false` until 'drain'; UDP has at most `UDP_IN_FLIGHT` datagrams outstanding; a
 * connection attempt (TCP connect plus TLS handshake) is bounded by `connectTimeoutMs`, a TLS 1.3
 * settle by `TLS13_SETTLE_MS`; the backoff delay by `reconnectMaxMs`. Closures are made per
 * connection (socket handlers, the write callback of its generation), never per message.
 *
 * Closing belongs to the sink (its promise, its deadline, what to do with the rest); the
 * connection only stops reconnecting once `close()` was called, ends the socket cleanly when
 * everything it had was confirmed, and calls the sink's `finishClose` when it is done or gone.
 * `shutDown()` is the sink's way to stop it for good at any moment.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { type DiskBuffer } from './disk-buffer';
import { type Diagnostics } from './diagnostics';
import { type Batch, type ForwardQueue, frameLines } from './forward-queue';

export type ForwardProtocol = 'tcp' | 'tls' | 'udp';
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

/** The options the connection reads (a ForwardSinkOptions is one). */
export interface ForwardConnectionOptions {
  /** The sink's name in config, for messages. */
  name: string;
  protocol: ForwardProtocol;
  host: string;
  port: number;
  tls: ForwardTlsOptions;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
}

/** The parts the connection works with, all owned by the sink. */
export interface ForwardConnectionParts {
  queue: ForwardQueue;
  disk: DiskBuffer | null;
  counters: ForwardCounters;
  diagnostics: Diagnostics;
  /** Uniform in [0, 1), for the backoff jitter. */
  random: () => number;
  /** Octet-counting framing (RFC 6587 §3.4.1); false for a newline after each message. */
  octets: boolean;
  /** While closing: the connection is done (everything confirmed) or gone; the sink finishes. */
  finishClose: () => void;
}

/** Bytes framed into one socket write, at most (one longer message goes alone). */
export const BATCH_BYTES = 256 * 1024;
/** UDP sends outstanding at most. */
export const UDP_IN_FLIGHT = 64;
/** TLS 1.3 without a session ticket from the server: wait this long for an alert before sending. */
export const TLS13_SETTLE_MS = 1000;
/** A connection that ends sooner counts as a failed attempt for the backoff. */
export const STABLE_CONNECTION_MS = 5000;

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

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sizeText(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The forward sink's counters, kept by the sink and its connection together; the sink's `stats()` reports them. */
export class ForwardCounters {
  /** Messages handed to the peer's kernel, and bytes on the wire. */
  written = 0;
  bytes = 0;
  truncated = 0;
  reconnects = 0;
  spilled = 0;
  replayed = 0;
  /** The last connection or disk error, as a sentence fragment, or null. */
  lastError: string | null = null;
  readonly dropped = new Map<string, number>();

  drop(reason: string, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }
}

/** The connection task of one forward sink. See the top of this file. */
export class ForwardConnection {
  readonly target: string;
  /** Read-only outside this class. */
  state: ForwardState = 'connecting';
  /** Read-only outside this class: `start()` was called, and `close()`. */
  started = false;
  closing = false;
  private readonly o: ForwardConnectionOptions;
  private readonly name: string;
  private readonly queue: ForwardQueue;
  private readonly disk: DiskBuffer | null;
  private readonly counters: ForwardCounters;
  private readonly diagnostics: Diagnostics;
  private readonly random: () => number;
  private readonly octets: boolean;
  private readonly finishClose: () => void;
  private stream: net.Socket | null = null;
  private udp: dgram.Socket | null = null;
  private generation = 0;
  private inflight: Batch[] = [];
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

  constructor(options: ForwardConnectionOptions, parts: ForwardConnectionParts) {
    this.o = options;
    this.name = options.name;
    this.target = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    this.queue = parts.queue;
    this.disk = parts.disk;
    this.counters = parts.counters;
    this.diagnostics = parts.diagnostics;
    this.random = parts.random;
    this.octets = parts.octets;
    this.finishClose = parts.finishClose;
    this.onUdpSent = (err) => this.udpSent(err);
    this.pumpBound = () => {
      this.pumpScheduled = false;
      this.pump();
    };
    this.reconnectBound = () => {
      this.backoffTimer = null;
      this.counters.reconnects++;
      this.connect();
    };
  }

  /** Starts connecting, once; not after `close()`. */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    this.connect();
  }

  /** Something was queued: send it on the next turn of the event loop, when connected and not waiting for 'drain'. */
  wake(): void {
    if (this.state === 'connected' && !this.pumpScheduled && !this.waitingDrain) this.schedulePump();
  }

  /** SIGHUP: when waiting to reconnect, try now (certificates are read again at every attempt). */
  reopen(): void {
    if (this.state === 'backoff' && this.backoffTimer !== null && !this.closing) {
      clearTimeout(this.backoffTimer);
      this.reconnectBound();
    }
  }

  /**
   * The sink is closing: no new attempts from now on. Sends what is left (at once, if it was
   * waiting to reconnect and there is something), then `finishClose`; or that at once when
   * there is nothing to wait for.
   */
  close(): void {
    this.closing = true;
    if (!this.started) {
      this.finishClose();
    } else if (this.state === 'backoff' && this.backoffTimer !== null && this.hasWork()) {
      // One more attempt at once rather than waiting out the backoff.
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
      this.counters.reconnects++;
      this.connect();
    } else if (this.state === 'connected') {
      this.pump();
      this.checkCloseDone();
    } else if (this.state === 'backoff') {
      this.finishClose();
    }
  }

  /**
   * Stops for good: timers cleared, sockets destroyed, nothing in flight (the queue and the disk
   * hold everything unconfirmed). False when it was already closed.
   */
  shutDown(): boolean {
    if (this.state === 'closed') return false;
    this.state = 'closed';
    for (const t of [this.backoffTimer, this.connectTimer]) if (t !== null) clearTimeout(t);
    this.backoffTimer = this.connectTimer = null;
    const sock = this.stream;
    this.stream = null;
    if (sock !== null) sock.destroy();
    const udp = this.udp;
    this.udp = null;
    if (udp !== null) udp.close();
    this.generation++;
    this.inflight = [];
    this.queue.unsendAll();
    this.udpInFlight = 0;
    this.disk?.rewind();
    return true;
  }

  private schedulePump(): void {
    this.pumpScheduled = true;
    setImmediate(this.pumpBound);
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
        this.counters.lastError = `${e.code ?? e.message}`;
      });
      sock.on('close', () => {
        if (sock !== this.udp) return;
        this.udp = null;
        this.generation++;
        this.udpInFlight = 0;
        this.queue.unsendAll();
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
    this.counters.lastError = null;
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
    const count = this.queue.count;
    if (count > 0) parts.push(`${count} message${count === 1 ? '' : 's'} queued`);
    if (this.disk !== null && !this.disk.isEmpty()) parts.push(`${sizeText(this.disk.bytes())} on disk`);
    return parts.join(', ');
  }

  private streamClosed(sock: net.Socket): void {
    if (sock !== this.stream) return;
    this.stream = null;
    this.settle = null;
    this.generation++;
    this.inflight = [];
    this.queue.unsendAll();
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
    this.counters.lastError = sentence;
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
      queued: this.queue.count,
    });
    this.backoffTimer = setTimeout(this.reconnectBound, delay);
    this.backoffTimer.unref();
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /** Sends what is queued now, if connected. */
  pump(): void {
    if (this.state !== 'connected') return;
    if (this.o.protocol === 'udp') this.pumpUdp();
    else this.pumpStream();
  }

  private pumpStream(): void {
    const sock = this.stream;
    if (sock === null || this.waitingDrain) return;
    const queue = this.queue;
    for (;;) {
      let batch: Batch;
      let buf: Buffer;
      if (queue.sent < queue.count) {
        // From the ring: as many messages as fit in one batch (at least one).
        batch = { mem: 0, memBytes: 0, count: 0, wireBytes: 0, disk: null };
        buf = queue.frameUnsent(this.octets, BATCH_BYTES, batch);
      } else if (this.disk !== null) {
        let chunk;
        try {
          chunk = this.disk.read(BATCH_BYTES);
        } catch (err) {
          this.counters.lastError = `Cannot read the disk buffer: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
          this.diagnostics.limited('error', `forward:${this.name}:disk-read`, `${this.counters.lastError}; the messages stay on disk for the next attempt.`, { sink: this.name });
          return;
        }
        if (chunk === null) return;
        const framed = frameLines(chunk.buf, this.octets);
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

  private batchWritten(gen: number, err: Error | null | undefined): void {
    // A failed write is resent after the next connect: the close handler rewinds.
    if (gen !== this.generation || (err !== null && err !== undefined)) return;
    const b = this.inflight.shift();
    if (b === undefined) return;
    if (b.mem > 0) this.queue.release(b.mem, b.memBytes);
    if (b.disk !== null) {
      this.disk?.commit(b.disk);
      this.counters.replayed += b.count;
    }
    this.counters.written += b.count;
    this.counters.bytes += b.wireBytes;
    if (this.closing) this.checkCloseDone();
  }

  private pumpUdp(): void {
    const sock = this.udp;
    if (sock === null) return;
    const queue = this.queue;
    while (queue.sent < queue.count && this.udpInFlight < UDP_IN_FLIGHT) {
      sock.send(queue.firstUnsent(), this.onUdpSent);
      queue.markSent(1);
      this.udpInFlight++;
    }
  }

  private udpSent(err: Error | null): void {
    if (this.udp === null || this.udpInFlight === 0) return;
    this.udpInFlight--;
    const b = this.queue.headBytes();
    if (err !== null) {
      this.counters.drop('send_error');
      this.counters.lastError = `Sending to ${this.target} failed (${(err as NodeJS.ErrnoException).code ?? err.message})`;
      this.diagnostics.limited('warn', `forward:${this.name}:udp`, `${this.counters.lastError}; dropping those datagrams.`, { sink: this.name, target: this.target });
    } else {
      this.counters.written++;
      this.counters.bytes += b;
    }
    this.queue.release(1, b);
    if (this.closing) this.checkCloseDone();
    else if (this.queue.sent < this.queue.count && !this.pumpScheduled) this.schedulePump();
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  private hasWork(): boolean {
    return this.queue.count > 0 || (this.disk !== null && !this.disk.isEmpty());
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
}
