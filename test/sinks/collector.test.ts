/**
 * The collector end to end, as an operator runs it: the CLI on a temp socket, real senders
 * (logger, cs-send) in real cgroups, and the files it writes.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { Receiver } from '../../collector';
import { parseConfig } from '../../sinks/config';
import { silentDiagnostics } from '../../sinks/diagnostics';
import { Collector } from '../../sinks/pipeline';
import { CLI, Daemon, listFiles, readLines, writeConfig } from '../helpers/daemon';
import { cgroupUnavailableReason, logger, randomHex, removeDir, sendAsync, tempDir, TestCgroups, waitFor } from '../helpers/fixtures';

let dir: string;
let sock: string;
let logs: string;

beforeEach(() => {
  dir = tempDir();
  sock = path.join(dir, 'log');
  logs = path.join(dir, 'logs');
});
afterEach(() => removeDir(dir));

describe('the command line', () => {
  test('--help documents every option', () => {
    const out = execFileSync(process.execPath, [CLI, 'run', '--help'], { encoding: 'utf8' });
    for (const opt of ['--config', '--socket', '--dir', '--format', '--docker-root', '--podman-root', '--pods-log-root']) expect(out).toContain(opt);
    expect(out).toMatch(/SIGTERM/);
    expect(out).toMatch(/SIGHUP/);
  });

  test('a misspelt option is refused with a suggestion, exit 2', async () => {
    const d = Daemon.spawn(['run', '--sockt', sock]);
    expect(await d.wait()).toBe(2);
    expect(d.stderr).toMatch(/Unknown option '--sockt'.*did you mean '--socket'\?/s);
  });

  test('a config mistake names the key, exit 2', async () => {
    const cfg = writeConfig(dir, 'files:\n  formt: json\n');
    const d = Daemon.spawn(['run', '--config', cfg, '--socket', sock]);
    expect(await d.wait()).toBe(2);
    expect(d.stderr).toContain("unknown key 'files.formt'; did you mean 'format'?");
  });

  test('a socket owned by journald (a symlink) is explained and refused, exit 1', async () => {
    fs.symlinkSync('/run/systemd/journal/dev-log', sock);
    const d = Daemon.spawn(['run', '--socket', sock, '--dir', logs]);
    expect(await d.wait()).toBe(1);
    expect(d.stderr).toContain("is a symbolic link to '/run/systemd/journal/dev-log', the socket of systemd-journald");
    expect(d.stderr).toMatch(/--socket \/run\/container-syslog\/dev-log/);
    expect(fs.readlinkSync(sock)).toBe('/run/systemd/journal/dev-log');
  });

  test('a live socket (another daemon) is refused, exit 1', async () => {
    const other = new Receiver({ socketPath: sock }, () => undefined);
    const d = Daemon.spawn(['run', '--socket', sock, '--dir', logs]);
    expect(await d.wait()).toBe(1);
    expect(d.stderr).toMatch(/another process is already receiving on '.*'.*Stop that daemon first, or run container-syslog on another socket/);
    other.stop();
  });

  test('READY=1 reaches NOTIFY_SOCKET once the collector accepts messages', async () => {
    const notifySock = path.join(dir, 'notify');
    const got: string[] = [];
    const n = new Receiver({ socketPath: notifySock }, (b) => {
      for (let i = 0; i < b.count; i++) got.push(b.text(i));
    });
    n.start();
    const d = await Daemon.start(['--socket', sock, '--dir', logs], { NOTIFY_SOCKET: notifySock });
    await waitFor(() => got.length > 0, 5000, 'READY=1');
    expect(got[0]).toMatch(/^READY=1\n/);
    expect(await d.stop()).toBe(0);
    await waitFor(() => got.some((g) => g.startsWith('STOPPING=1')), 5000, 'STOPPING=1');
    n.stop();
  });
});

describe('messages land in files', () => {
  test('logger -u SOCKET hello lands in host/syslog.log', async () => {
    const d = await Daemon.start(['--socket', sock, '--dir', logs]);
    logger(sock, 'hello');
    expect(await d.stop()).toBe(0);
    const lines = readLines(path.join(logs, 'host/syslog.log'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d host \S+: hello$/);
    expect(fs.statSync(path.join(logs, 'host/syslog.log')).mode & 0o777).toBe(0o640);
    expect(fs.statSync(path.join(logs, 'host')).mode & 0o777).toBe(0o750);
  });

  test('every message sent before SIGTERM is on disk after exit', async () => {
    const cfg = writeConfig(dir, 'rate_limit:\n  burst: 0\n');
    const d = await Daemon.start(['--config', cfg, '--socket', sock, '--dir', logs]);
    const rep = await sendAsync(['-s', sock, '-k', '4', '-n', '5000']);
    expect(rep.sent).toBe(20000);
    expect(await d.stop()).toBe(0); // at once: whatever is still queued or buffered must be written
    expect(readLines(path.join(logs, 'host/syslog.log'))).toHaveLength(20000);
    expect(d.stderr).toMatch(/Stopped on SIGTERM: received 20000, routed 20000/);
  });

  test('json format: one object per line with identity and provenance', async () => {
    const d = await Daemon.start(['--socket', sock, '--dir', logs, '--format', 'json']);
    logger(sock, 'as json', ['-t', 'myapp']);
    expect(await d.stop()).toBe(0);
    const [line] = readLines(path.join(logs, 'host/syslog.log'));
    const obj = JSON.parse(line);
    expect(Object.keys(obj)).toEqual(['time', 'received', 'facility', 'severity', 'app', 'syslog_pid', 'pid', 'uid', 'gid', 'comm', 'cgroup', 'container', 'pod', 'attribution', 'message']);
    expect(obj).toMatchObject({ app: 'myapp', message: 'as json', uid: 0, container: null, pod: null, facility: 'user', severity: 'notice' });
    expect(obj.attribution.cgroup).toMatch(/^pidfd/);
  });
});

const cgroupSkip = cgroupUnavailableReason();
if (cgroupSkip !== null) console.log(`skipping collector cgroup tests: ${cgroupSkip}`);

(cgroupSkip === null ? describe : describe.skip)('containers get their own directories', () => {
  let cgs: TestCgroups;
  beforeEach(() => {
    cgs = new TestCgroups();
  });
  afterEach(() => cgs.remove());

  test('a docker-shaped cgroup lands in docker/<short id>, and with its config.v2.json in docker/<name>', async () => {
    const named = randomHex(32);
    const anon = randomHex(32);
    const dockerRoot = path.join(dir, 'docker');
    fs.mkdirSync(path.join(dockerRoot, 'containers', named), { recursive: true });
    fs.writeFileSync(path.join(dockerRoot, 'containers', named, 'config.v2.json'), JSON.stringify({ ID: named, Name: '/web', Config: { Image: 'nginx' } }));
    const a = cgs.create(`system.slice/docker-${named}.scope`);
    const b = cgs.create(`system.slice/docker-${anon}.scope`);
    const d = await Daemon.start(['--socket', sock, '--dir', logs, '--docker-root', dockerRoot]);
    execFileSync('sh', ['-c', 'echo 0 > "$1/cgroup.procs" && exec logger -u "$2" from-web', 'sh', a.dir, sock]);
    execFileSync('sh', ['-c', 'echo 0 > "$1/cgroup.procs" && exec logger -u "$2" from-anon', 'sh', b.dir, sock]);
    expect(await d.stop()).toBe(0);
    expect(listFiles(logs)).toEqual([`docker/${anon.slice(0, 12)}/syslog.log`, 'docker/web/syslog.log']);
    expect(readLines(path.join(logs, 'docker/web/syslog.log'))[0]).toMatch(/ web \S+: from-web$/);
    expect(readLines(path.join(logs, `docker/${anon.slice(0, 12)}/syslog.log`))[0]).toMatch(/ from-anon$/);
  });

  test('1,000,000 messages from 100 short- and long-lived senders in 100 cgroups: each file holds only its own, total exact', async () => {
    // Docker-shaped scopes whose 64-hex ids end in the sender group's index, so cs-send -G can
    // name them as a printf format: 50 for long-lived senders, 50 for one-message processes.
    // The index leads the id, so the 12-character short ids differ.
    const longBase = randomHex(28);
    const shortBase = randomHex(28);
    const idOf = (i: number) => (i % 50).toString(16).padStart(8, '0') + (i < 50 ? longBase : shortBase);
    for (let i = 0; i < 100; i++) cgs.create(`system.slice/docker-${idOf(i)}.scope`);
    const scope = (base: string) => path.join(cgs.mount, cgs.rootRel, `system.slice/docker-%08x${base}.scope`);
    const cfg = writeConfig(dir, 'rate_limit:\n  burst: 0\n');
    const d = await Daemon.start(['--config', cfg, '--socket', sock, '--dir', logs]);
    const [long, short] = await Promise.all([
      sendAsync(['-s', sock, '-k', '50', '-n', '19000', '-t', 'long', '-G', scope(longBase)]),
      sendAsync(['-s', sock, '-e', '-n', '50000', '-k', '50', '-j', '16', '-t', 'short', '-G', scope(shortBase)]),
    ]);
    expect([long.sent, long.errors, short.sent, short.errors]).toEqual([950_000, 0, 50_000, 0]);
    expect(await d.stop()).toBe(0);
    expect(listFiles(logs)).toHaveLength(100);
    let total = 0;
    let foreign = 0;
    for (let i = 0; i < 100; i++) {
      const lines = readLines(path.join(logs, `docker/${idOf(i).slice(0, 12)}/syslog.log`));
      total += lines.length;
      for (const line of lines) {
        const m = / (long|short)\[\d+\]: .* worker=(\d+) seq=\d{8}$/.exec(line);
        // long: worker is the sender's index = its cgroup; short: message w went to cgroup w % 50.
        const ok = m !== null && m[1] === (i < 50 ? 'long' : 'short') && Number(m[2]) % 50 === i % 50;
        if (!ok) foreign++;
      }
      expect(lines.length).toBe(i < 50 ? 19000 : 1000);
    }
    expect(foreign).toBe(0);
    expect(total).toBe(1_000_000);
    expect(d.stderr).toMatch(/received 1000000, routed 1000000/);
  });

  test('a container named ../../etc or a/b cannot write outside the base; a planted symlink is not followed', async () => {
    const ids = [randomHex(32), randomHex(32), randomHex(32)];
    const names = ['/../../etc', '/a/b', '/victim'];
    const dockerRoot = path.join(dir, 'docker');
    ids.forEach((id, i) => {
      fs.mkdirSync(path.join(dockerRoot, 'containers', id), { recursive: true });
      fs.writeFileSync(path.join(dockerRoot, 'containers', id, 'config.v2.json'), JSON.stringify({ ID: id, Name: names[i] }));
    });
    const cgsOf = ids.map((id) => cgs.create(`system.slice/docker-${id}.scope`));
    // An attacker who could write in the base dir plants docker/victim -> outside.
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    fs.mkdirSync(path.join(logs, 'docker'), { recursive: true });
    fs.symlinkSync(outside, path.join(logs, 'docker', 'victim'));
    const d = await Daemon.start(['--socket', sock, '--dir', logs, '--docker-root', dockerRoot]);
    for (const cg of cgsOf) execFileSync('sh', ['-c', 'echo 0 > "$1/cgroup.procs" && exec logger -u "$2" hostile', 'sh', cg.dir, sock]);
    await waitFor(() => /dropping messages \(enotdir\)/.test(d.stderr), 5000, 'the drop to be reported');
    expect(await d.stop()).toBe(0);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'etc'))).toBe(false);
    const files = listFiles(logs);
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(path.resolve(logs, f).startsWith(`${logs}/`)).toBe(true);
      expect(f.split('/')).toHaveLength(3); // docker/<one segment>/syslog.log
      expect(f.split('/')[1]).not.toMatch(/^\.\.?$/);
    }
    expect(d.stderr).toMatch(/Sink 'files' is dropping messages \(enotdir\); 1 dropped so far/);
  });

  test('a flood from one container is limited while another container\'s messages all arrive; the flood gets one notice', async () => {
    const flood = randomHex(32);
    const calm = randomHex(32);
    const f = cgs.create(`system.slice/docker-${flood}.scope`);
    const c = cgs.create(`system.slice/docker-${calm}.scope`);
    const cfg = writeConfig(dir, 'rate_limit:\n  interval_secs: 60\n  burst: 100\n');
    const d = await Daemon.start(['--config', cfg, '--socket', sock, '--dir', logs]);
    // The flood is fork-per-message: 2,000 processes, one datagram each, one container.
    const [fr, cr] = await Promise.all([
      sendAsync(['-s', sock, '-e', '-n', '2000', '-j', '16', '-g', f.dir, '-t', 'flood']),
      sendAsync(['-s', sock, '-k', '2', '-n', '40', '-g', c.dir, '-t', 'calm']),
    ]);
    expect([fr.sent, cr.sent]).toEqual([2000, 80]);
    expect(await d.stop()).toBe(0);
    const calmLines = readLines(path.join(logs, `docker/${calm.slice(0, 12)}/syslog.log`));
    expect(calmLines).toHaveLength(80);
    const floodLines = readLines(path.join(logs, `docker/${flood.slice(0, 12)}/syslog.log`));
    expect(floodLines.filter((l) => / flood\[/.test(l))).toHaveLength(100);
    const notices = floodLines.filter((l) => / container-syslog\[\d+\]: Suppressed /.test(l));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`Suppressed 1900 messages from container ${flood.slice(0, 12)}`);
    expect(d.stderr).toMatch(/routed 180/);
  });

  test('files rotate by size keeping N, and SIGHUP reopens them after logrotate moved them', async () => {
    const cfg = writeConfig(dir, 'rate_limit:\n  burst: 0\nfiles:\n  rotate_size_bytes: 20000\n  rotate_keep: 3\n');
    const d = await Daemon.start(['--config', cfg, '--socket', sock, '--dir', logs]);
    const file = path.join(logs, 'host/syslog.log');
    await sendAsync(['-s', sock, '-n', '500']);
    await waitFor(() => fs.existsSync(`${file}.3`) && readLines(file).length > 0, 5000, 'rotation');
    expect(fs.existsSync(`${file}.4`)).toBe(false);
    for (const f of [file, `${file}.1`, `${file}.2`, `${file}.3`]) expect(fs.statSync(f).size).toBeLessThanOrEqual(20000);
    // logrotate: move the file away, then HUP; the collector must write a new one.
    await waitFor(() => readLines(file).length > 0, 5000, 'a flush');
    fs.renameSync(file, `${file}.moved`);
    d.signal('SIGHUP');
    await waitFor(() => /Reopened log files/.test(d.stderr), 5000, 'the reopen');
    logger(sock, 'after reopen');
    expect(await d.stop()).toBe(0);
    expect(readLines(file)).toHaveLength(1);
    expect(readLines(file)[0]).toMatch(/after reopen$/);
    // Nothing was lost in the files that remain: the newest lines of the 500 are all there, in order.
    const kept = [`${file}.3`, `${file}.2`, `${file}.1`, `${file}.moved`].flatMap(readLines).map((l) => Number(/seq=(\d+)$/.exec(l)![1]));
    expect(kept[kept.length - 1]).toBe(500);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 501 - kept.length + i));
  });
});

describe('the whole path, property-tested', () => {
  test('random datagrams never throw and never become two lines', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const unix = require('unix-dgram');
    const config = parseConfig(`socket:\n  path: ${sock}\nfiles:\n  dir: ${logs}\nrate_limit:\n  burst: 0\n`);
    for (const format of ['text', 'json', 'rfc5424'] as const) {
      const collector = new Collector({ ...config, files: { ...config.files, format, host_path: `host/${format}.log` } }, { diagnostics: silentDiagnostics });
      collector.start();
      const client = unix.createSocket('unix_dgram');
      const payloads = fc.sample(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(`<13>Nov 28 13:40:51 app[1]: ${s}\n`)),
        ),
        { numRuns: 2000, seed: 42 },
      );
      try {
        for (const p of payloads) {
          const buf = Buffer.from(p);
          // unix-dgram's socket does not block: on EAGAIN (a full queue) wait and send again.
          for (;;) {
            const err = await new Promise<Error | undefined>((resolve) => client.send(buf, 0, buf.length, sock, resolve));
            if (err === undefined) break;
            if (!/-11$/.test(err.message)) throw err;
            await new Promise((r) => setTimeout(r, 1));
          }
        }
        await waitFor(() => collector.stats().received === payloads.length, 10000, 'every datagram');
      } finally {
        await collector.stop();
        client.close();
      }
      const s = collector.stats();
      expect(s.receiver.handlerErrors).toBe(0);
      expect(s.sinks.files.dropped).toEqual({});
      const lines = readLines(path.join(logs, `host/${format}.log`));
      expect(lines).toHaveLength(payloads.length);
      if (format === 'json') for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    }
  });
});
