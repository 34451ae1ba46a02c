/**
 * Forwarding end to end, as an operator runs it: the CLI on a temp socket, cs-send senders in a
 * docker-shaped cgroup, a real rsyslog from Debian as the central tier (plain TCP and TLS with
 * certificates made here), and the counters the collector logs for each sink when it stops.
 *
 * What these prove: every message arrives with its container identity, in order per sender;
 * an outage of the tier loses nothing up to the configured buffer and beyond it exactly what
 * is reported dropped, with the reason; a tier that accepts nothing never delays the
 * per-container files; winston's File transport gets what a route sends it, and only that.
 */
import path from 'node:path';
import { Daemon, readLines, writeConfig } from '../helpers/daemon';
import { cgroupUnavailableReason, randomHex, removeDir, sendAsync, tempDir, type TestCgroup, TestCgroups, waitFor } from '../helpers/fixtures';
import { TcpReceiver } from '../helpers/capture';
import { freePort, makeCerts, Rsyslog, rsyslogUnavailableReason } from '../helpers/rsyslog';

const skip = cgroupUnavailableReason() ?? rsyslogUnavailableReason();
if (skip !== null) console.log(`skipping forwarding end-to-end tests: ${skip}`);

interface SinkSummary {
  written: number;
  dropped: Record<string, number>;
  reconnects: number;
  leftOnDisk: number;
}

/** The counters the collector logs for a sink when it stops. */
function summary(stderr: string, sink: string): SinkSummary {
  const m = new RegExp(`Sink '${sink}' closed: written (\\d+), bytes \\d+, dropped (\\{[^}]*\\})(?:, reconnects (\\d+), truncated \\d+, left on disk (\\d+) bytes)?`).exec(stderr);
  if (m === null) throw new Error(`no summary for sink '${sink}' in:\n${stderr}`);
  return { written: Number(m[1]), dropped: JSON.parse(m[2]) as Record<string, number>, reconnects: Number(m[3] ?? 0), leftOnDisk: Number(m[4] ?? 0) };
}

interface Arrived {
  app: string;
  worker: number;
  seq: number;
  line: string;
}

/** Parses what rsyslog stored (the raw RFC 5424 message) for container `id`; throws on a stranger. */
function parseArrived(lines: string[], id: string): Arrived[] {
  const re = new RegExp(
    `^<13>1 \\S+ \\S+ (\\S+) \\d+ - \\[container-syslog@32473 runtime="docker" id="${id}" name="${id.slice(0, 12)}" ` +
      `cgroup="[^"]*/system\\.slice/docker-${id}\\.scope" pid="\\d+" uid="0" gid="0" comm="[^"]+" attr_cgroup="pidfd[a-z-]*" attr_comm="[a-z]+"\\] ` +
      `GET /api/v1/orders/list .* worker=(\\d+) seq=(\\d+)$`,
  );
  return lines.map((line) => {
    const m = re.exec(line);
    if (m === null) throw new Error(`unexpected line at rsyslog: ${line}`);
    return { app: m[1], worker: Number(m[2]), seq: Number(m[3]), line };
  });
}

/** Per sender (tag and worker): the seqs in the order they arrived. */
function bySender(arrived: Arrived[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const a of arrived) {
    const k = `${a.app}/${a.worker}`;
    const list = out.get(k) ?? [];
    list.push(a.seq);
    out.set(k, list);
  }
  return out;
}

function range1(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

(skip === null ? describe : describe.skip)('forwarding to a central rsyslog, end to end', () => {
  let dir: string;
  let sock: string;
  let logs: string;
  let cgs: TestCgroups;
  let cg: TestCgroup;
  let id: string;
  let rsyslog: Rsyslog | null;
  let daemon: Daemon | null;
  let receiver: TcpReceiver | null;

  beforeEach(() => {
    dir = tempDir('cs-fwd-e2e-');
    sock = path.join(dir, 'log');
    logs = path.join(dir, 'logs');
    cgs = new TestCgroups();
    id = randomHex(32);
    cg = cgs.create(`system.slice/docker-${id}.scope`);
    rsyslog = null;
    daemon = null;
    receiver = null;
  });
  afterEach(async () => {
    await daemon?.stop();
    await rsyslog?.stop();
    await receiver?.close();
    await cgs.remove();
    removeDir(dir);
  });

  const containerFile = (): string => path.join(logs, `docker/${id.slice(0, 12)}/syslog.log`);
  const start = async (sinkYaml: string, extra = ''): Promise<Daemon> => {
    const cfg = writeConfig(dir, `rate_limit:\n  burst: 0\nroutes:\n  - sinks: [files, central]\nsinks:\n  central:\n${sinkYaml}${extra}`);
    daemon = await Daemon.start(['--config', cfg, '--socket', sock, '--dir', logs]);
    return daemon;
  };
  const send = (tag: string, procs: number, each: number, more: string[] = []) =>
    sendAsync(['-s', sock, '-k', String(procs), '-n', String(each), '-g', cg.dir, '-t', tag, ...more]);

  test('over TCP: every message arrives with its container identity, in order per sender', async () => {
    const port = await freePort();
    rsyslog = await Rsyslog.start(path.join(dir, 'rsyslog'), { protocol: 'tcp', port });
    const d = await start(`    type: forward\n    host: 127.0.0.1\n    port: ${port}\n`);
    const rep = await send('web', 4, 2500);
    expect(rep.sent).toBe(10000);
    await waitFor(() => rsyslog!.lines().length >= 10000, 30000, 'rsyslog to get all 10,000');
    expect(await d.stop()).toBe(0);
    const arrived = parseArrived(rsyslog.lines(), id);
    expect(arrived).toHaveLength(10000);
    const senders = bySender(arrived);
    expect([...senders.keys()].sort()).toEqual(['web/0', 'web/1', 'web/2', 'web/3']);
    for (const seqs of senders.values()) expect(seqs).toEqual(range1(2500));
    expect(readLines(containerFile())).toHaveLength(10000);
    expect(summary(d.stderr, 'central')).toEqual({ written: 10000, dropped: {}, reconnects: 0, leftOnDisk: 0 });
    expect(summary(d.stderr, 'files')).toMatchObject({ written: 10000, dropped: {} });
  });

  test('over TLS with a client certificate and server_name: the same, encrypted', async () => {
    const certs = makeCerts(path.join(dir, 'certs'));
    const port = await freePort();
    rsyslog = await Rsyslog.start(path.join(dir, 'rsyslog'), {
      protocol: 'tls',
      port,
      tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, authMode: 'x509/certvalid' },
    });
    const d = await start(
      `    type: forward\n    protocol: tls\n    host: 127.0.0.1\n    port: ${port}\n    tls:\n      ca_file: ${certs.ca}\n` +
        `      cert_file: ${certs.clientCert}\n      key_file: ${certs.clientKey}\n      server_name: localhost\n`,
    );
    expect((await send('web', 4, 500)).sent).toBe(2000);
    await waitFor(() => rsyslog!.lines().length >= 2000, 30000, 'rsyslog to get all 2,000');
    expect(await d.stop()).toBe(0);
    const senders = bySender(parseArrived(rsyslog.lines(), id));
    for (const seqs of senders.values()) expect(seqs).toEqual(range1(500));
    expect(summary(d.stderr, 'central')).toEqual({ written: 2000, dropped: {}, reconnects: 0, leftOnDisk: 0 });
  });

  test('rsyslog stopped and restarted: nothing lost up to the memory queue; beyond it the newest dropped, counted exactly', async () => {
    const port = await freePort();
    rsyslog = await Rsyslog.start(path.join(dir, 'rsyslog'), { protocol: 'tcp', port });
    const d = await start(`    type: forward\n    host: 127.0.0.1\n    port: ${port}\n    queue_max_messages: 1000\n    reconnect_base_ms: 50\n    reconnect_max_ms: 200\n`);
    await send('before', 4, 100);
    await waitFor(() => rsyslog!.lines().length >= 400, 20000, 'the first 400');
    await rsyslog.stop();
    await waitFor(() => d.stderr.includes(`Lost the connection to 127.0.0.1:${port}`), 10000, 'the forwarder to notice');
    await send('during', 4, 500); // 2,000 while the tier is down; the queue holds 1,000
    await waitFor(() => readLines(containerFile()).length === 2400, 20000, 'the files to have all 2,400');
    await rsyslog.restart();
    await waitFor(() => rsyslog!.lines().length >= 1400, 20000, 'the queue to arrive');
    expect(await d.stop()).toBe(0);
    const arrived = parseArrived(rsyslog.lines(), id);
    const s = summary(d.stderr, 'central');
    expect(s.dropped).toEqual({ queue_full: 1000 });
    expect(2400 - arrived.length).toBe(s.dropped.queue_full);
    expect(s.written).toBe(arrived.length);
    expect(s.reconnects).toBeGreaterThan(0);
    // Per sender, in order and without gaps: all of 'before', and a prefix of 'during' (the
    // newest were dropped, so each sender lost its tail).
    const senders = bySender(arrived);
    for (let w = 0; w < 4; w++) {
      expect(senders.get(`before/${w}`)).toEqual(range1(100));
      const during = senders.get(`during/${w}`) ?? [];
      expect(during).toEqual(range1(during.length));
    }
    expect(readLines(containerFile())).toHaveLength(2400);
  });

  test('rsyslog stopped and restarted with a disk buffer: what fits arrives in order, the rest is dropped as disk_full, exactly', async () => {
    const port = await freePort();
    const capBytes = 100_000;
    rsyslog = await Rsyslog.start(path.join(dir, 'rsyslog'), { protocol: 'tcp', port });
    const d = await start(
      `    type: forward\n    host: 127.0.0.1\n    port: ${port}\n    reconnect_base_ms: 50\n    reconnect_max_ms: 200\n` +
        `    disk_buffer_dir: ${path.join(dir, 'buffer')}\n    disk_buffer_max_bytes: ${capBytes}\n`,
    );
    await send('before', 4, 100);
    await waitFor(() => rsyslog!.lines().length >= 400, 20000, 'the first 400');
    await rsyslog.stop();
    await waitFor(() => d.stderr.includes(`Lost the connection to 127.0.0.1:${port}`), 10000, 'the forwarder to notice');
    await send('during', 4, 500);
    await waitFor(() => readLines(containerFile()).length === 2400, 20000, 'the files to have all 2,400');
    await rsyslog.restart();
    await waitFor(() => rsyslog!.lines().length > 400, 20000, 'the replay to start');
    expect(await d.stop()).toBe(0); // close() sends what is left on disk before it exits
    const s = summary(d.stderr, 'central');
    await waitFor(() => rsyslog!.lines().length === s.written, 10000, 'rsyslog to store all that was written');
    const arrived = parseArrived(rsyslog.lines(), id);
    expect(Object.keys(s.dropped)).toEqual(['disk_full']);
    expect(2400 - arrived.length).toBe(s.dropped.disk_full);
    expect(s.leftOnDisk).toBe(0);
    // Up to the cap: the replayed messages filled it as far as the next one would not fit.
    const during = arrived.filter((a) => a.app === 'during');
    const stored = during.reduce((n, a) => n + Buffer.byteLength(a.line) + 1, 0);
    expect(stored).toBeLessThanOrEqual(capBytes);
    expect(stored + Buffer.byteLength(during[0].line) + 1).toBeGreaterThan(capBytes - 8); // lines differ by a few digits
    const senders = bySender(arrived);
    for (let w = 0; w < 4; w++) {
      expect(senders.get(`before/${w}`)).toEqual(range1(100));
      const seqs = senders.get(`during/${w}`) ?? [];
      expect(seqs).toEqual(range1(seqs.length));
    }
  });

  test('a tier that accepts nothing never delays the per-container files', async () => {
    receiver = await new TcpReceiver('paused').listen();
    const d = await start(`    type: forward\n    host: 127.0.0.1\n    port: ${receiver.port}\n    queue_max_messages: 1000\n    close_timeout_ms: 500\n`);
    // 20,000 datagrams of 1,000 bytes: far more than the socket buffers of a connection that is never read.
    expect((await send('web', 4, 5000, ['-b', '1000'])).sent).toBe(20000);
    await waitFor(() => readLines(containerFile()).length === 20000, 20000, 'the files to have all 20,000');
    expect(receiver.bytes().length).toBe(0);
    await waitFor(() => /Sink 'central' is dropping messages \(queue_full\)/.test(d.stderr), 5000, 'the drops to be reported');
    expect(await d.stop()).toBe(0);
    const s = summary(d.stderr, 'central');
    expect(Object.keys(s.dropped).sort()).toEqual(['queue_full', 'shutdown']);
    expect(s.written + s.dropped.queue_full + s.dropped.shutdown).toBe(20000);
    expect(s.dropped.shutdown).toBe(1000);
    expect(summary(d.stderr, 'files')).toMatchObject({ written: 20000, dropped: {} });
  });

  test("a route sends some messages only to winston's File transport; it gets exactly those", async () => {
    const audit = path.join(dir, 'audit.log');
    const cfg = writeConfig(
      dir,
      `rate_limit:\n  burst: 0\nroutes:\n  - name: audit only to the audit log\n    match: { app: [audit] }\n    sinks: [audit]\n` +
        `sinks:\n  audit:\n    type: winston\n    module: winston\n    transport: File\n    options: { filename: ${audit} }\n    format: json\n`,
    );
    daemon = await Daemon.start(['--config', cfg, '--socket', sock, '--dir', logs]);
    await send('audit', 2, 150);
    await send('web', 2, 100);
    expect(await daemon.stop()).toBe(0);
    const auditLines = readLines(audit).map((l) => JSON.parse(l) as { app: string; container: { id: string; name: string }; message: string });
    expect(auditLines).toHaveLength(300);
    for (const l of auditLines) expect(l).toMatchObject({ app: 'audit', container: { id, name: id.slice(0, 12) } });
    const files = readLines(containerFile());
    expect(files).toHaveLength(200);
    expect(files.every((l) => / web\[\d+\]: /.test(l))).toBe(true);
    expect(summary(daemon.stderr, 'audit')).toMatchObject({ written: 300, dropped: {} });
    expect(summary(daemon.stderr, 'files')).toMatchObject({ written: 200, dropped: {} });
  });

  test('a route naming a sink that does not exist is a config error: named, exit 2', async () => {
    const cfg = writeConfig(dir, 'routes:\n  - sinks: [centrl]\nsinks:\n  central: { type: forward, host: 127.0.0.1 }\n');
    const d = Daemon.spawn(['run', '--config', cfg, '--socket', sock, '--dir', logs]);
    expect(await d.wait()).toBe(2);
    expect(d.stderr).toContain("routes[0].sinks: no sink named 'centrl' (defined: files, central)");
  });
});
