/**
 * The forward sink in process, against real loopback sockets: framing, order, the bounded queue,
 * reconnects with backoff, a receiver that never reads, the disk buffer (outage, spill while
 * connected, restart), UDP size limits, and TLS that never falls back to plaintext. Every test
 * ends by checking the sink's counters: written, and dropped by reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type LogRecord } from '../../collector';
import { DiskBuffer } from '../../sinks/disk-buffer';
import { FORWARD_DEFAULTS, ForwardSink, type ForwardSinkOptions } from '../../sinks/forward';
import { WireEncoder } from '../../sinks/forward-format';
import { captureDiagnostics, TcpReceiver, UdpReceiver } from '../helpers/capture';
import { hasCommand, removeDir, tempDir, waitFor } from '../helpers/fixtures';
import { recordFrom } from '../helpers/records';
import { freePort, makeCerts } from '../helpers/rsyslog';

function options(over: Partial<ForwardSinkOptions>): ForwardSinkOptions {
  return {
    ...FORWARD_DEFAULTS,
    name: 'central',
    host: '127.0.0.1',
    defaultHostname: 'node-1',
    reconnectBaseMs: 10,
    reconnectMaxMs: 50,
    closeTimeoutMs: 2000,
    ...over,
  };
}

/** A record from container `web` whose message ends in seq=NNNNNN (all the same length). */
function rec(seq: number, pad = 0, name = 'web'): LogRecord {
  return recordFrom({ name }, `<13>Nov 28 13:40:51 app[7]: ${'x'.repeat(pad)}seq=${String(seq).padStart(6, '0')}`);
}

function seqs(messages: string[]): number[] {
  return messages.map((m) => Number(/seq=(\d+)$/.exec(m)?.[1] ?? NaN));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

let dir: string;
/** Closed after each test, even a failed one, so no socket or timer outlives it. */
let open: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}
beforeEach(() => {
  dir = tempDir('cs-forward-');
});
afterEach(async () => {
  for (const x of open.reverse()) await x.close();
  open = [];
  removeDir(dir);
});

describe('over TCP', () => {
  test('every message is framed as LEN SP MSG (RFC 6587), in order, with our SD element', async () => {
    const rx = track(await new TcpReceiver().listen());
    const sink = track(new ForwardSink(options({ port: rx.port })));
    sink.start();
    for (let i = 0; i < 5000; i++) sink.write(rec(i));
    await waitFor(() => sink.stats().written === 5000, 10000, 'everything written');
    await sink.close();
    await waitFor(() => rx.frames().length === 5000, 5000, 'everything received');
    const frames = rx.frames();
    expect(seqs(frames)).toEqual(range(0, 5000));
    expect(frames[0]).toMatch(
      /^<13>1 \S+ node-1 app 1234 - \[container-syslog@32473 runtime="docker" id="web0{61}" name="web" cgroup="[^"]+" pid="1234" uid="0" gid="0" comm="test" attr_cgroup="pidfd" attr_comm="verified"\] seq=000000$/,
    );
    expect(rx.connections).toHaveLength(1);
    const st = sink.stats();
    expect(st).toMatchObject({ written: 5000, dropped: {}, state: 'closed', queueMessages: 0, queueBytes: 0, reconnects: 0 });
    expect(st.bytes).toBe(rx.bytes().length);
    await rx.close();
  });

  test('newline framing and the RFC 3164 shape; HOSTNAME and APP-NAME from templates, falling back when empty', async () => {
    const rx = track(await new TcpReceiver().listen());
    const sink = track(new ForwardSink(options({ port: rx.port, format: 'rfc3164', framing: 'newline', appName: '{name}', hostname: '{short_id}' })));
    sink.write(rec(1));
    sink.write(recordFrom({ kind: 'host', unit: 'cron.service' }, '<78>Nov  2 03:04:05 CRON[99]: (root) CMD (run-parts)'));
    sink.write(recordFrom({ name: 'we b[x]:' }, '<13>Nov 28 13:40:51 app: line\nbreak'));
    await waitFor(() => sink.stats().written === 3, 5000, 'written');
    await sink.close();
    await waitFor(() => rx.bytes().toString().split('\n').length === 4, 5000, 'received');
    const lines = rx.bytes().toString().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual([
      '<13>Nov 28 13:40:51 web000000000 web[1234]: seq=000001',
      '<78>Nov  2 03:04:05 node-1 CRON[1234]: (root) CMD (run-parts)',
      '<13>Nov 28 13:40:51 we_b_x__0000 we_b_x__[1234]: line\\x0abreak',
    ]);
    expect(sink.stats()).toMatchObject({ written: 3, dropped: {} });
    await rx.close();
  });

  test('nothing listening: attempts are retried with backoff, said once in a sentence; a full queue drops the newest', async () => {
    const port = await freePort();
    const cap = captureDiagnostics();
    const sink = track(new ForwardSink(options({ port, queueMaxMessages: 100 }), { diagnostics: cap.diagnostics }));
    for (let i = 0; i < 150; i++) sink.write(rec(i));
    expect(sink.stats()).toMatchObject({ queueMessages: 100, dropped: { queue_full: 50 } });
    await waitFor(() => sink.stats().reconnects >= 3, 5000, 'three more attempts');
    expect(['backoff', 'connecting']).toContain(sink.stats().state);
    expect(sink.stats().lastError).toBe(`Cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
    const warnings = cap.lines().filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1); // rate-limited: one line a minute per kind of failure
    expect(warnings[0].message).toMatch(new RegExp(`^Cannot connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); retrying in \\d+\\.\\d s, 100 messages queued\\.$`));
    expect(warnings[0]).toMatchObject({ sink: 'central', target: `127.0.0.1:${port}`, code: 'ECONNREFUSED', queued: 100 });
    await sink.close();
    sink.write(rec(999));
    expect(sink.stats()).toMatchObject({ written: 0, state: 'closed', queueMessages: 0, dropped: { queue_full: 50, shutdown: 100, closed: 1 } });
  });

  test('the backoff doubles up to its maximum, with full jitter', async () => {
    const port = await freePort();
    // random() close to 1: each wait is just under min(max, base · 2^n); diagnostics unlimited.
    const cap = captureDiagnostics({ intervalMs: 0 });
    const sink = track(new ForwardSink(options({ port, reconnectBaseMs: 20, reconnectMaxMs: 80 }), { random: () => 0.999, diagnostics: cap.diagnostics }));
    sink.start();
    await waitFor(() => sink.stats().reconnects >= 5, 5000, 'five retries');
    const delays = cap.lines().map((l) => l.retry_ms);
    expect(delays.slice(0, 5)).toEqual([19, 39, 79, 79, 79]);
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 0, dropped: {}, state: 'closed' });
  });

  test('the receiver comes back: what was queued arrives first, in order, then new messages', async () => {
    const port = await freePort();
    const sink = track(new ForwardSink(options({ port, queueMaxMessages: 1000 })));
    for (let i = 0; i < 500; i++) sink.write(rec(i));
    await waitFor(() => sink.stats().reconnects >= 2, 5000, 'retries');
    const rx = track(await new TcpReceiver().listen(port));
    await waitFor(() => sink.stats().written === 500, 5000, 'the queue sent');
    expect(sink.stats().state).toBe('connected');
    for (let i = 500; i < 1000; i++) sink.write(rec(i));
    await waitFor(() => sink.stats().written === 1000, 5000, 'the rest');
    await sink.close();
    await waitFor(() => rx.frames().length === 1000, 5000, 'received');
    expect(seqs(rx.frames())).toEqual(range(0, 1000));
    expect(sink.stats()).toMatchObject({ written: 1000, dropped: {}, queueMessages: 0 });
    await rx.close();
  });

  test('a receiver that never reads: write() only queues, memory stays bounded, close() gives up after close_timeout_ms', async () => {
    const rx = track(await new TcpReceiver('paused').listen());
    const sink = track(new ForwardSink(options({ port: rx.port, queueMaxMessages: 2000, closeTimeoutMs: 300 })));
    sink.start();
    await waitFor(() => sink.stats().state === 'connected', 5000, 'connected');
    let sent = 0;
    // Rounds of writes with the event loop turning between them, until the kernel's buffers are
    // full and the queue with them.
    for (let round = 0; round < 400 && sink.stats().dropped.queue_full === undefined; round++) {
      for (let i = 0; i < 1000; i++) sink.write(rec(sent++, 1000));
      await new Promise((r) => setTimeout(r, 2));
    }
    for (let i = 0; i < 10000; i++) sink.write(rec(sent++, 1000));
    const mid = sink.stats();
    expect(mid.state).toBe('connected');
    expect(mid.queueMessages).toBe(2000);
    expect(mid.dropped.queue_full).toBeGreaterThanOrEqual(10000);
    await sink.close();
    const st = sink.stats();
    expect(st.state).toBe('closed');
    expect(st.dropped.shutdown).toBe(2000);
    expect(Object.keys(st.dropped).sort()).toEqual(['queue_full', 'shutdown']);
    expect(st.written + st.dropped.queue_full + st.dropped.shutdown).toBe(sent);
    expect(rx.bytes().length).toBe(0); // it never read a byte
    await rx.close();
  });
});

describe('the disk buffer', () => {
  const line = (seq: number, pad = 0): number => {
    const enc = new WireEncoder({ format: 'rfc5424', defaultHostname: 'node-1', hostname: null, appName: null, sdId: FORWARD_DEFAULTS.sdId });
    return Buffer.byteLength(enc.encode(rec(seq, pad))) + 1;
  };

  test('while the receiver is down, messages go to disk; beyond the cap the drops are exact; on reconnect they arrive first, in order', async () => {
    const port = await freePort();
    const buf = path.join(dir, 'buffer');
    const size = line(0);
    const sink = track(new ForwardSink(options({ port, diskBufferDir: buf, diskBufferMaxBytes: 10 * size + size - 1 })));
    for (let i = 0; i < 25; i++) sink.write(rec(i));
    expect(sink.stats()).toMatchObject({ spilled: 10, queueMessages: 0, diskBufferBytes: 10 * size, dropped: { disk_full: 15 } });
    const rx = track(await new TcpReceiver().listen(port));
    await waitFor(() => sink.stats().written === 10, 5000, 'the disk sent');
    for (let i = 25; i < 30; i++) sink.write(rec(i));
    await waitFor(() => sink.stats().written === 15, 5000, 'the rest');
    await sink.close();
    await waitFor(() => rx.frames().length === 15, 5000, 'received');
    expect(seqs(rx.frames())).toEqual([...range(0, 10), ...range(25, 30)]);
    expect(sink.stats()).toMatchObject({ written: 15, spilled: 10, replayed: 10, diskBufferBytes: 0, dropped: { disk_full: 15 } });
    expect(fs.readdirSync(buf).filter((f) => f.endsWith('.seg'))).toEqual([]);
    await rx.close();
  });

  test('a full memory queue spills to disk while connected, and the order holds across queue, disk and new messages', async () => {
    const rx = track(await new TcpReceiver('paused').listen());
    const sink = track(new ForwardSink(options({ port: rx.port, queueMaxMessages: 200, diskBufferDir: path.join(dir, 'buffer'), diskBufferMaxBytes: 256 * 1024 * 1024 })));
    sink.start();
    await waitFor(() => sink.stats().state === 'connected', 5000, 'connected');
    let sent = 0;
    for (let round = 0; round < 400 && sink.stats().spilled < 2000; round++) {
      for (let i = 0; i < 500; i++) sink.write(rec(sent++, 1000));
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(sink.stats().spilled).toBeGreaterThanOrEqual(2000);
    expect(sink.stats().queueMessages).toBeLessThanOrEqual(200);
    // The receiver starts reading; more messages keep coming meanwhile.
    const chunks = rx.connections[0];
    rx.sockets[0].on('data', (d: Buffer) => chunks.push(d));
    rx.sockets[0].resume();
    for (let i = 0; i < 300; i++) sink.write(rec(sent++, 1000));
    await waitFor(() => sink.stats().written === sent, 20000, 'everything written');
    await sink.close();
    await waitFor(() => rx.frames().length === sent, 5000, 'everything received');
    expect(seqs(rx.frames())).toEqual(range(0, sent));
    const st = sink.stats();
    expect(st).toMatchObject({ written: sent, dropped: {}, diskBufferBytes: 0, queueMessages: 0 });
    expect(st.replayed).toBe(st.spilled);
    await rx.close();
  });

  test('close() in an outage keeps everything on disk, the queue in front; the next run sends it first, in order', async () => {
    const rx = track(await new TcpReceiver('paused').listen());
    const buf = path.join(dir, 'buffer');
    // A queue larger than the kernel's socket buffers, so it is still full when spilling starts.
    const a = track(new ForwardSink(options({ port: rx.port, queueMaxMessages: 20000, closeTimeoutMs: 200, diskBufferDir: buf })));
    a.start();
    await waitFor(() => a.stats().state === 'connected', 5000, 'connected');
    let sent = 0;
    const full = (): boolean => a.stats().queueMessages > 0 && a.stats().spilled - a.stats().replayed >= 500;
    for (let round = 0; round < 400 && !full(); round++) {
      for (let i = 0; i < 500; i++) a.write(rec(sent++, 1000));
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(a.stats().queueMessages).toBeGreaterThan(0);
    await a.close();
    const sa = a.stats();
    // What the kernel took (the receiver never read it) counts as written; the rest is on disk.
    expect(sa.dropped).toEqual({});
    expect(sa.queueMessages).toBe(0);
    expect(sa.spilled - sa.replayed).toBe(sent - sa.written);
    await rx.close();
    // On disk: exactly the messages not written, oldest first (the queue was put in front).
    const check = new DiskBuffer({ dir: buf, maxBytes: 1 << 30 });
    const stored: string[] = [];
    for (let c = check.read(1 << 20); c !== null; c = check.read(1 << 20)) stored.push(...c.buf.toString().split('\n').filter((l) => l !== ''));
    check.close();
    expect(seqs(stored)).toEqual(range(sa.written, sent));
    // The next run, with a receiver that reads: the stored messages first, then new ones.
    const rx2 = track(await new TcpReceiver().listen());
    const b = track(new ForwardSink(options({ port: rx2.port, diskBufferDir: buf })));
    for (let i = 0; i < 10; i++) b.write(rec(sent + i, 1000));
    await waitFor(() => b.stats().written === stored.length + 10, 10000, 'the second run');
    await b.close();
    await waitFor(() => rx2.frames().length === stored.length + 10, 5000, 'received');
    expect(seqs(rx2.frames())).toEqual(range(sa.written, sent + 10));
    expect(b.stats()).toMatchObject({ written: stored.length + 10, replayed: stored.length + 10, dropped: {}, diskBufferBytes: 0 });
    await rx2.close();
  });
});

describe('over UDP', () => {
  test('one message per datagram; a longer one is cut in MSG on a character boundary (truncated), a longer header is dropped (too_large)', async () => {
    const rx = track(await new UdpReceiver().listen());
    const sink = track(new ForwardSink(options({ protocol: 'udp', port: rx.port, maxDatagramBytes: 512 })));
    sink.write(rec(1));
    sink.write(recordFrom({ name: 'web' }, `<13>Nov 28 13:40:51 app[7]: ${'é'.repeat(400)}`));
    sink.write(recordFrom({ name: 'web' }, `<13>1 2026-11-28T13:40:51Z h app 7 - [big@1 v="${'v'.repeat(600)}"] small`));
    sink.write(rec(2));
    await waitFor(() => rx.datagrams.length === 3, 5000, 'three datagrams');
    await sink.close();
    const [first, long, last] = rx.datagrams;
    expect(first.toString()).toMatch(/^<13>1 .* seq=000001$/);
    expect(last.toString()).toMatch(/^<13>1 .* seq=000002$/);
    expect(long.length).toBeLessThanOrEqual(512);
    expect(long.length).toBeGreaterThanOrEqual(511);
    const text = long.toString('utf8');
    expect(text).not.toContain('\ufffd'); // no character cut in half
    expect(text).toMatch(/^<13>1 \S+ node-1 app 1234 - \[container-syslog@32473 [^\]]+\] é+$/);
    expect(sink.stats()).toMatchObject({ written: 3, truncated: 1, dropped: { too_large: 1 } });
    await rx.close();
  });
});

const noOpenssl = hasCommand('openssl') ? null : 'the openssl command is missing';
(noOpenssl === null ? describe : describe.skip)('over TLS', () => {
  test('to a plaintext listener: only TLS handshakes are ever sent, never a message; it retries', async () => {
    const certs = makeCerts(path.join(dir, 'certs'));
    const rx = track(await new TcpReceiver().listen());
    const cap = captureDiagnostics();
    const sink = track(new ForwardSink(
      options({ protocol: 'tls', port: rx.port, connectTimeoutMs: 200, tls: { caFile: certs.ca, certFile: null, keyFile: null, serverName: null, verifyServerName: true } }),
      { diagnostics: cap.diagnostics },
    ));
    for (let i = 0; i < 5; i++) sink.write(recordFrom({ name: 'web' }, '<13>Nov 28 13:40:51 app[7]: secret-plaintext-marker'));
    await waitFor(() => sink.stats().reconnects >= 2, 10000, 'two retries');
    await sink.close();
    expect(rx.connections.length).toBeGreaterThanOrEqual(2);
    for (const c of rx.connections) {
      const b = Buffer.concat(c);
      expect([b[0], b[1]]).toEqual([0x16, 0x03]); // a TLS handshake record: the ClientHello
    }
    expect(rx.bytes().includes('secret-plaintext-marker')).toBe(false);
    expect(rx.bytes().includes('<13>')).toBe(false);
    expect(cap.lines()[0].message).toMatch(
      new RegExp(`^TLS handshake with 127\\.0\\.0\\.1:${rx.port} failed: no answer within 0\\.2 s \\(ETIMEDOUT\\); not sending in plaintext; retrying in \\d+\\.\\d s, 5 messages queued\\.$`),
    );
    expect(sink.stats()).toMatchObject({ written: 0, dropped: { shutdown: 5 } });
    await rx.close();
  });

  test('a CA file that cannot be read is named, and retried', async () => {
    const port = await freePort();
    const cap = captureDiagnostics();
    const sink = track(new ForwardSink(options({ protocol: 'tls', port, tls: { caFile: path.join(dir, 'missing.pem'), certFile: null, keyFile: null, serverName: null, verifyServerName: true } }), {
      diagnostics: cap.diagnostics,
    }));
    sink.write(rec(0));
    await waitFor(() => sink.stats().reconnects >= 2, 5000, 'retries');
    await sink.close();
    expect(cap.lines()[0].message).toMatch(/^Cannot read sinks\.central\.tls\.ca_file '.*missing\.pem' \(ENOENT\); not connecting to 127\.0\.0\.1:\d+; retrying in/);
    expect(sink.stats()).toMatchObject({ written: 0, dropped: { shutdown: 1 } });
  });
});
