/**
 * The forward sink against a real rsyslog, in process so its state and counters can be watched:
 * TLS with the wrong CA, the wrong name, and no client certificate (each a clear certificate
 * error, retried, nothing sent); UDP with the size limit; RFC 3164 with newline framing as an
 * old receiver parses it.
 */
import path from 'node:path';
import { type LogRecord } from '../../collector';
import { FORWARD_DEFAULTS, ForwardSink, type ForwardSinkOptions, type ForwardTlsOptions } from '../../sinks/forward';
import { captureDiagnostics } from '../helpers/capture';
import { removeDir, tempDir, waitFor } from '../helpers/fixtures';
import { recordFrom } from '../helpers/records';
import { freePort, makeCerts, Rsyslog, rsyslogUnavailableReason, type TestCerts } from '../helpers/rsyslog';

const skip = rsyslogUnavailableReason();
if (skip !== null) console.log(`skipping rsyslog forwarding tests: ${skip}`);

function options(over: Partial<ForwardSinkOptions>): ForwardSinkOptions {
  return { ...FORWARD_DEFAULTS, name: 'central', host: '127.0.0.1', defaultHostname: 'node-1', reconnectBaseMs: 20, reconnectMaxMs: 100, closeTimeoutMs: 1000, ...over };
}

function rec(i: number): LogRecord {
  return recordFrom({ name: 'web' }, `<13>Nov 28 13:40:51 app[7]: message ${i}`);
}

(skip === null ? describe : describe.skip)('forwarding to rsyslog', () => {
  let dir: string;
  let certs: TestCerts;
  let rsyslog: Rsyslog | null = null;
  let sink: ForwardSink | null = null;

  beforeAll(() => {
    dir = tempDir('cs-fwd-rsyslog-');
    certs = makeCerts(path.join(dir, 'certs'));
  });
  afterAll(() => removeDir(dir));
  afterEach(async () => {
    await sink?.close();
    await rsyslog?.stop();
    sink = null;
    rsyslog = null;
  });

  const tlsServer = async (authMode: 'anon' | 'x509/certvalid' = 'anon'): Promise<Rsyslog> => {
    const port = await freePort();
    rsyslog = await Rsyslog.start(path.join(dir, `rsyslog-${port}`), { protocol: 'tls', port, tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, authMode } });
    return rsyslog;
  };
  const tls = (over: Partial<ForwardTlsOptions>): ForwardTlsOptions => ({ caFile: certs.ca, certFile: null, keyFile: null, serverName: null, verifyServerName: true, ...over });

  test('TLS: messages queued before the connection is up arrive intact and in order', async () => {
    const rs = await tlsServer();
    sink = new ForwardSink(options({ protocol: 'tls', port: rs.options.port, tls: tls({}) }));
    for (let i = 0; i < 1000; i++) sink.write(rec(i));
    await waitFor(() => rs.lines().length === 1000, 10000, 'all 1,000');
    expect(rs.lines().map((l) => Number(/ message (\d+)$/.exec(l)?.[1]))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 1000, dropped: {}, reconnects: 0 });
    expect(rs.stderr).not.toMatch(/bad record mac/);
  });

  test('TLS with the wrong CA: a clear certificate error, retried again and again, and nothing reaches rsyslog', async () => {
    const rs = await tlsServer();
    const cap = captureDiagnostics();
    sink = new ForwardSink(options({ protocol: 'tls', port: rs.options.port, tls: tls({ caFile: certs.otherCa }) }), { diagnostics: cap.diagnostics });
    for (let i = 0; i < 10; i++) sink.write(rec(i));
    await waitFor(() => sink!.stats().reconnects >= 5, 10000, 'five retries');
    const st = sink.stats();
    expect(st).toMatchObject({ written: 0, queueMessages: 10, dropped: {} });
    expect(['backoff', 'connecting']).toContain(st.state);
    const [line] = cap.lines();
    expect(line.level).toBe('warn');
    expect(line.message).toMatch(
      new RegExp(
        `^TLS handshake with 127\\.0\\.0\\.1:${rs.options.port} failed: self-signed certificate in certificate chain \\(SELF_SIGNED_CERT_IN_CHAIN\\)\\. ` +
          `This is a certificate problem: the server's certificate is not trusted by sinks\\.central\\.tls\\.ca_file \\(.*other-ca\\.pem\\); ` +
          `not sending in plaintext; retrying in \\d+\\.\\d s, 10 messages queued\\.$`,
      ),
    );
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 0, dropped: { shutdown: 10 } });
    expect(rs.lines()).toEqual([]);
  });

  test('TLS to a certificate that does not carry the expected name: the name is said; verify_server_name false accepts it', async () => {
    const rs = await tlsServer();
    const cap = captureDiagnostics();
    sink = new ForwardSink(options({ protocol: 'tls', port: rs.options.port, tls: tls({ serverName: 'central.example' }) }), { diagnostics: cap.diagnostics });
    sink.write(rec(0));
    await waitFor(() => sink!.stats().reconnects >= 2, 10000, 'retries');
    expect(cap.lines()[0].message).toMatch(
      /failed: Host: central\.example\. is not in the cert's altnames: IP Address:127\.0\.0\.1, DNS:localhost \(ERR_TLS_CERT_ALTNAME_INVALID\)\. This is a certificate problem: the server's certificate does not carry the name central\.example \(set sinks\.central\.tls\.server_name to the name it carries\); not sending in plaintext;/,
    );
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 0, dropped: { shutdown: 1 } });
    sink = new ForwardSink(options({ protocol: 'tls', port: rs.options.port, tls: tls({ serverName: 'central.example', verifyServerName: false }) }));
    sink.write(rec(1));
    await waitFor(() => rs.lines().length === 1, 10000, 'the message');
    expect(rs.lines()[0]).toMatch(/ message 1$/);
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 1, dropped: {} });
  });

  test('TLS without the client certificate rsyslog requires: a certificate problem, and the queue is kept, not lost', async () => {
    const rs = await tlsServer('x509/certvalid');
    const cap = captureDiagnostics();
    sink = new ForwardSink(options({ protocol: 'tls', port: rs.options.port, tls: tls({}) }), { diagnostics: cap.diagnostics });
    for (let i = 0; i < 5; i++) sink.write(rec(i));
    await waitFor(() => sink!.stats().reconnects >= 3, 10000, 'retries');
    // TLS 1.3: the server refuses our (missing) certificate after our handshake is done; the
    // forwarder waits for the server's session ticket before sending, so nothing was written.
    expect(sink.stats()).toMatchObject({ written: 0, queueMessages: 5 });
    expect(cap.lines()[0].message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: tlsv13 alert certificate required \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)\. This is a certificate problem: the server refused our client certificate \(sinks\.central\.tls\.cert_file, which is not set\); not sending in plaintext; retrying in/,
    );
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 0, dropped: { shutdown: 5 } });
    expect(rs.lines()).toEqual([]);
  });

  test('UDP: every datagram within max_datagram_bytes, a long message cut in MSG and counted', async () => {
    const port = await freePort('udp');
    rsyslog = await Rsyslog.start(path.join(dir, 'rsyslog-udp'), { protocol: 'udp', port });
    sink = new ForwardSink(options({ protocol: 'udp', port, maxDatagramBytes: 1024 }));
    sink.write(rec(0));
    sink.write(recordFrom({ name: 'web' }, `<13>Nov 28 13:40:51 app[7]: long ${'0123456789'.repeat(300)}`));
    sink.write(rec(2));
    await waitFor(() => rsyslog!.lines().length === 3, 10000, 'three messages');
    const lines = rsyslog.lines();
    expect(lines[0]).toMatch(/\] message 0$/);
    expect(lines[2]).toMatch(/\] message 2$/);
    expect(Buffer.byteLength(lines[1])).toBe(1024);
    expect(lines[1]).toMatch(/^<13>1 \S+ node-1 app 1234 - \[container-syslog@32473 runtime="docker" [^\]]+\] long (0123456789)+\d*$/);
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 3, truncated: 1, dropped: {} });
  });

  test('RFC 3164 with newline framing, parsed by rsyslog: HOSTNAME and TAG from the templates', async () => {
    const port = await freePort();
    rsyslog = await Rsyslog.start(path.join(dir, 'rsyslog-3164'), { protocol: 'tcp', port, template: '%hostname%|%syslogtag%|%msg%|%pri%\n' });
    sink = new ForwardSink(options({ port, format: 'rfc3164', framing: 'newline', hostname: '{runtime}-{short_id}', appName: '{name}' }));
    for (let i = 0; i < 3; i++) sink.write(rec(i));
    await waitFor(() => rsyslog!.lines().length === 3, 10000, 'three messages');
    expect(rsyslog.lines()).toEqual([0, 1, 2].map((i) => `docker-web000000000|web[1234]:| message ${i}|13`));
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 3, dropped: {} });
  });
});
