/**
 * Helpers for forwarder tests: the collector's real diagnostics (winston, JSON lines) captured
 * into memory through a winston Stream transport; receivers on loopback sockets that record
 * every byte; and a parser for RFC 6587 octet-counted frames.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import winston from 'winston';
import { createDiagnostics, type Diagnostics } from '../../sinks/diagnostics';

export interface DiagnosticLine {
  level: string;
  message: string;
  timestamp: string;
  [field: string]: unknown;
}

export interface CapturedDiagnostics {
  diagnostics: Diagnostics;
  /** Every line written so far, parsed. */
  lines(): DiagnosticLine[];
  /** The raw text written so far. */
  text(): string;
}

/** Real diagnostics (createDiagnostics, json format) writing into memory. */
export function captureDiagnostics(options: { intervalMs?: number; now?: () => number } = {}): CapturedDiagnostics {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const diagnostics = createDiagnostics({
    level: 'debug',
    file: null,
    format: 'json',
    intervalMs: options.intervalMs,
    now: options.now,
    transport: new winston.transports.Stream({ stream }),
  });
  return {
    diagnostics,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as DiagnosticLine),
  };
}

/** Splits an RFC 6587 octet-counted stream into messages; throws on a malformed frame. */
export function parseOctetFrames(data: Buffer): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) throw new Error(`no SP after a length at offset ${off}`);
    const lenText = data.toString('latin1', off, sp);
    if (!/^[1-9]\d*$/.test(lenText)) throw new Error(`bad frame length '${lenText}' at offset ${off}`);
    const len = Number(lenText);
    if (sp + 1 + len > data.length) throw new Error(`frame at ${off} runs past the end (${len} bytes)`);
    out.push(data.toString('utf8', sp + 1, sp + 1 + len));
    off = sp + 1 + len;
  }
  return out;
}

/** A TCP receiver on 127.0.0.1 that keeps every byte of every connection. */
export class TcpReceiver {
  readonly server: net.Server;
  readonly connections: Buffer[][] = [];
  readonly sockets: net.Socket[] = [];
  port = 0;

  constructor(private readonly mode: 'read' | 'paused' = 'read') {
    this.server = net.createServer((s) => {
      const chunks: Buffer[] = [];
      this.connections.push(chunks);
      this.sockets.push(s);
      s.on('error', () => undefined);
      if (this.mode === 'paused') s.pause();
      else s.on('data', (d: Buffer) => chunks.push(d));
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Everything received, all connections in order of arrival. */
  bytes(): Buffer {
    return Buffer.concat(this.connections.flat());
  }

  frames(): string[] {
    return this.connections.flatMap((c) => parseOctetFrames(Buffer.concat(c)));
  }

  /** Idempotent. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A UDP receiver on 127.0.0.1 that keeps every datagram. */
export class UdpReceiver {
  readonly socket = dgram.createSocket('udp4');
  readonly datagrams: Buffer[] = [];
  port = 0;

  async listen(): Promise<this> {
    this.socket.on('message', (m: Buffer) => this.datagrams.push(m));
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.port = this.socket.address().port;
    return this;
  }

  private closed = false;

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
