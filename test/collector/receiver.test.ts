/**
 * The receive path against real sockets and real sender processes: credentials, cgroup ids for
 * live and reaped senders, comm that is never wrong, fds that never leak, truncation, big
 * datagrams, a million messages counted exactly, and the errors an operator sees.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Batch, findCgroup2Mount, NativeError, probeKernel, Receiver } from '../../collector';
import {
  CS_SEND,
  cgroupUnavailableReason,
  HeldSenders,
  logger,
  openFdCount,
  randomHex,
  removeDir,
  sendAsync,
  sendSync,
  tempDir,
  TestCgroups,
  waitFor,
} from '../helpers/fixtures';

interface Seen {
  pid: number;
  uid: number;
  gid: number;
  cgroupId: number;
  cgroupProvenance: string;
  comm: string | null;
  commProvenance: string;
  exitStatus: number | null;
  processKey: number;
  nsPid: number;
  nsDepth: number;
  text: string;
  length: number;
  originalLength: number;
  truncated: boolean;
  fdsClosed: number;
  receivedUs: number;
}

function collect(into: Seen[]): (b: Batch) => void {
  return (b) => {
    for (let i = 0; i < b.count; i++) {
      into.push({
        pid: b.pid(i),
        uid: b.uid(i),
        gid: b.gid(i),
        cgroupId: b.cgroupId(i),
        cgroupProvenance: b.cgroupProvenance(i),
        comm: b.comm(i),
        commProvenance: b.commProvenance(i),
        exitStatus: b.exitStatus(i),
        processKey: b.processKey(i),
        nsPid: b.nsPid(i),
        nsDepth: b.nsDepth(i),
        text: b.text(i),
        length: b.length(i),
        originalLength: b.originalLength(i),
        truncated: b.truncated(i),
        fdsClosed: b.fdsClosed(i),
        receivedUs: b.receivedUs(i),
      });
    }
  };
}

let dir: string;
let sock: string;

beforeEach(() => {
  dir = tempDir();
  sock = path.join(dir, 'log.sock');
});
afterEach(() => removeDir(dir));

describe('kernel probe', () => {
  test('names a rung consistent with the features it found', () => {
    const p = probeKernel();
    console.log(`kernel probe: rung ${p.rung}, method ${p.method}: ${p.summary}`);
    expect(p.passCred).toBe(true);
    if (p.rung === 'pidfd-reaped') expect(p.pidfdReapedAtRecv && p.pidfdInfoExit && p.pidfdGetInfo).toBe(true);
    if (p.rung === 'proc') expect(p.passPidfd).toBe(false);
    expect(p.method).toBe(p.pidfdGetInfo ? 'pidfd' : p.passPidfd ? 'proc-verified' : 'proc');
    // selfCgroupId is the inode of our own cgroup2 directory when GET_INFO works.
    if (p.pidfdGetInfo) {
      const rel = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
      expect(p.selfCgroupId).toBe(fs.statSync(path.join(findCgroup2Mount()!, rel)).ino);
    }
  });
});

describe('credentials', () => {
  test.each([
    ['on the main thread', false],
    ['on the receive thread', true],
  ])('pid, uid and gid match each sender, also for an unprivileged sender, %s', async (_mode, thread) => {
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, thread }, collect(seen));
    r.start();
    const root = await HeldSenders.start(['-s', sock, '-k', '2', '-n', '3']);
    const nobody = await HeldSenders.start(['-s', sock, '-n', '2'], { uid: 65534, gid: 65534 });
    await waitFor(() => seen.length === 8, 10000, '8 datagrams');
    r.stop();
    await root.held.release();
    await nobody.held.release();
    const pids = [...root.report.pids, ...nobody.report.pids];
    for (const s of seen) {
      expect(pids).toContain(s.pid);
      const claimed = Number(/\[(\d+)\]:/.exec(s.text)![1]);
      expect(s.pid).toBe(claimed); // cs-send writes its real pid in the tag
      const isNobody = nobody.report.pids.includes(s.pid);
      expect(s.uid).toBe(isNobody ? 65534 : 0);
      expect(s.gid).toBe(isNobody ? 65534 : 0);
      expect(s.commProvenance).toBe(seen.indexOf(s) === seen.findIndex((x) => x.pid === s.pid) ? 'verified' : 'cached');
      expect(s.comm).toBe('cs-send');
      expect(s.processKey).toBeGreaterThan(0);
      expect(s.nsDepth).toBe(1);
      expect(s.nsPid).toBe(s.pid);
    }
    expect(seen.filter((s) => s.uid === 65534)).toHaveLength(2);
    // The pidfs inode is a per-process key: equal for one process, different across processes.
    const keyByPid = new Map<number, Set<number>>();
    for (const s of seen) keyByPid.set(s.pid, (keyByPid.get(s.pid) ?? new Set()).add(s.processKey));
    expect([...keyByPid.values()].every((k) => k.size === 1)).toBe(true);
    expect(new Set(seen.map((s) => s.processKey)).size).toBe(3);
    const now = Date.now() * 1000;
    for (const s of seen) expect(Math.abs(now - s.receivedUs)).toBeLessThan(60e6);
  });

  test('a sender in a child pid namespace is seen with its host pid and its own pid there', async () => {
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock }, collect(seen));
    r.start();
    // unshare forks: cs-send runs as pid 1 of a new pid namespace, its sender child as pid 2.
    const child = spawn('unshare', ['--pid', '--fork', '--', CS_SEND, '-H', '-s', sock], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await waitFor(() => seen.length === 1, 10000, 'one datagram');
    expect(seen[0].nsDepth).toBe(2);
    expect(seen[0].nsPid).toBe(2);
    expect(seen[0].pid).toBeGreaterThan(2);
    const claimed = Number(/\[(\d+)\]:/.exec(seen[0].text)![1]);
    expect(claimed).toBe(2); // what the sender believes; the kernel's pid is the host one
    const exited = new Promise((res) => child.once('exit', res));
    child.stdin!.end();
    await exited;
    r.stop();
  });
});

const cgroupSkip = cgroupUnavailableReason();
const describeCgroups = cgroupSkip === null ? describe : describe.skip;
if (cgroupSkip !== null) console.log(`skipping cgroup attribution tests: ${cgroupSkip}`);

describeCgroups('cgroup and comm attribution with real cgroups', () => {
  let cgs: TestCgroups;
  beforeEach(() => {
    cgs = new TestCgroups();
  });
  afterEach(() => cgs.remove());

  test('a live sender in a docker-shaped cgroup is reported with that cgroup id and its comm', async () => {
    const cg = cgs.create(`system.slice/docker-${randomHex(32)}.scope`);
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, method: 'pidfd' }, collect(seen));
    r.start();
    const { held } = await HeldSenders.start(['-s', sock, '-g', cg.dir, '-c', 'live-sender', '-n', '3']);
    await waitFor(() => seen.length === 3, 10000, '3 datagrams');
    r.stop();
    await held.release();
    for (const s of seen) {
      expect(s.cgroupId).toBe(cg.id);
      expect(s.cgroupProvenance).toBe('pidfd');
      expect(s.comm).toBe('live-sender');
      expect(s.exitStatus).toBeNull();
    }
    expect(seen[0].commProvenance).toBe('verified');
  });

  test('a sender reaped before the read is still reported with its cgroup id; comm is unknown, never wrong', () => {
    const probe = probeKernel();
    if (probe.rung !== 'pidfd-reaped') {
      console.log(`skipping: reaped-sender attribution needs kernel 6.17+ (this kernel: ${probe.rung})`);
      return;
    }
    const cg = cgs.create(`system.slice/docker-${randomHex(32)}.scope`);
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, method: 'pidfd' }, collect(seen));
    // Not started: the datagrams wait in the kernel queue while every sender exits and is reaped.
    const rep = sendSync(['-s', sock, '-g', cg.dir, '-c', 'reaped-sender', '-k', '3', '-n', '2']);
    expect(rep.sent).toBe(6);
    logger(sock, 'from logger, also gone'); // a real short-lived client, outside the test cgroup
    r.drain();
    r.stop();
    expect(seen).toHaveLength(7);
    for (const s of seen.slice(0, 6)) {
      expect(rep.pids).toContain(s.pid);
      expect(s.cgroupId).toBe(cg.id);
      expect(s.cgroupProvenance).toBe('pidfd-exited');
      expect(s.exitStatus).toBe(0);
      expect(s.comm).toBeNull();
      expect(s.commProvenance).toBe('none');
    }
    const fromLogger = seen[6];
    expect(fromLogger.text).toContain('from logger, also gone');
    expect(fromLogger.cgroupId).toBe(probe.selfCgroupId); // logger ran in the test's own cgroup
    expect(fromLogger.comm).toBeNull();
  });

  test('a cgroup removed before the read still yields the id the sender had', () => {
    if (probeKernel().rung !== 'pidfd-reaped') return void console.log('skipping: needs kernel 6.17+');
    const cg = cgs.create(`machine.slice/libpod-${randomHex(32)}.scope`);
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, method: 'pidfd' }, collect(seen));
    sendSync(['-s', sock, '-g', cg.dir, '-n', '1']);
    cgs.removeOne(cg);
    expect(fs.existsSync(cg.dir)).toBe(false);
    r.drain();
    r.stop();
    expect(seen[0].cgroupId).toBe(cg.id);
  });

  test('the comm of a process seen alive is still known, as cached, after it is reaped', async () => {
    const cg = cgs.create(`system.slice/cri-containerd-${randomHex(32)}.scope`);
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, method: 'pidfd', commTtlMs: 60000 }, collect(seen));
    r.start();
    // A real process that logs once, waits, logs again and exits.
    const py = [
      'import socket, sys, os',
      `open(${JSON.stringify(cg.dir + '/cgroup.procs')}, 'w').write('0')`,
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      `s.sendto(b'<13>first', ${JSON.stringify(sock)})`,
      'sys.stdin.readline()',
      `s.sendto(b'<13>second', ${JSON.stringify(sock)})`,
    ].join('\n');
    const child = spawn('python3', ['-c', py], { stdio: ['pipe', 'inherit', 'inherit'] });
    await waitFor(() => seen.length === 1, 10000, 'first datagram');
    r.pause();
    const exited = new Promise((res) => child.once('exit', res));
    child.stdin!.end('go\n');
    await exited; // reaped by node before the second datagram is read
    r.drain();
    r.stop();
    expect(seen.map((s) => [s.text, s.comm, s.commProvenance, s.cgroupId])).toEqual([
      ['<13>first', 'python3', 'verified', cg.id],
      ['<13>second', 'python3', 'cached', cg.id],
    ]);
    if (probeKernel().rung === 'pidfd-reaped') expect(seen[1].cgroupProvenance).toBe('pidfd-exited');
    expect(seen[0].processKey).toBe(seen[1].processKey);
  });
});

describe('exe and cmdline (optional, verified)', () => {
  test('are read for a live sender only when asked, and never for a reaped one', async () => {
    const keys: { key: number; extras: boolean }[] = [];
    const r = new Receiver({ socketPath: sock, extras: true }, (b) => {
      for (let i = 0; i < b.count; i++) keys.push({ key: b.processKey(i), extras: b.hasExtras(i) });
    });
    logger(sock, 'gone before the read');
    r.drain();
    expect(keys[0].extras).toBe(false);
    r.start();
    const { held } = await HeldSenders.start(['-s', sock, '-n', '2', '-t', 'xtag']);
    await waitFor(() => keys.length === 3, 10000, 'two datagrams');
    await held.release();
    expect(keys[1].extras && keys[2].extras).toBe(true);
    expect(r.processExtras(keys[1].key)).toEqual({ exe: CS_SEND, cmdline: `${CS_SEND} -H -s ${sock} -n 2 -t xtag` });
    expect(r.processExtras(keys[0].key)).toBeNull();
    r.stop();
    const off = new Receiver({ socketPath: sock }, (b) => {
      for (let i = 0; i < b.count; i++) keys.push({ key: b.processKey(i), extras: b.hasExtras(i) });
    });
    off.start();
    const again = await HeldSenders.start(['-s', sock, '-n', '1']);
    await waitFor(() => keys.length === 4, 10000, 'one datagram');
    await again.held.release();
    expect(keys[3].extras).toBe(false);
    expect(off.processExtras(keys[3].key)).toBeNull();
    off.stop();
  });
});

describe('fds passed by senders', () => {
  test('10,000 datagrams carrying SCM_RIGHTS fds leave the open-fd count unchanged', async () => {
    const seen = { n: 0, fds: 0, withPidfd: 0 };
    const r = new Receiver({ socketPath: sock, refuseFds: false }, (b) => {
      for (let i = 0; i < b.count; i++) {
        seen.n++;
        seen.fds += b.fdsClosed(i);
        if (b.processKey(i) > 0) seen.withPidfd++;
      }
    });
    const before = openFdCount();
    r.start();
    const rep = await sendAsync(['-s', sock, '-k', '2', '-n', '5000', '-f', '3']);
    expect(rep.sent).toBe(10000);
    await waitFor(() => seen.n === 10000, 30000, '10,000 datagrams');
    // Every fd that arrived is closed; the only extra fds are pidfds the sender cache chose to
    // keep open to known senders (bounded, released when they are reaped or on stop), and the
    // receive thread's wake-up eventfd.
    expect(openFdCount() - before).toBe(r.counters().pinnedPidfds + (r.threaded ? 1 : 0));
    expect(r.counters().pinnedPidfds).toBeLessThanOrEqual(2);
    expect(seen.fds).toBe(30000);
    const c = r.counters();
    expect(c.fdsClosed).toBe(30000);
    expect(c.datagramsWithFds).toBe(10000);
    // The control buffer has room for the fds and the pidfd after them (KERNEL.md §2.4).
    expect(c.ctrunc).toBe(0);
    if (r.socket.passPidfd) expect(seen.withPidfd).toBe(10000);
    r.stop();
    expect(openFdCount()).toBe(before - 1); // before counted the receiver's own socket
  });

  test.each([
    ['on the main thread', false],
    ['on the receive thread', true],
  ])('the pidfds of 20,000 plain datagrams from 4 senders are all closed, %s', async (_mode, thread) => {
    // No fds from the senders here, so one batch's pidfds take consecutive numbers and are closed
    // a run at a time (close_range); the count must come back all the same.
    let n = 0;
    let withPidfd = 0;
    const r = new Receiver({ socketPath: sock, thread }, (b) => {
      for (let i = 0; i < b.count; i++) {
        n++;
        if (b.processKey(i) > 0) withPidfd++;
      }
    });
    const before = openFdCount();
    r.start();
    const rep = await sendAsync(['-s', sock, '-k', '4', '-n', '5000']);
    expect(rep.sent).toBe(20000);
    await waitFor(() => n === 20000, 30000, '20,000 datagrams');
    expect(openFdCount() - before).toBe(r.counters().pinnedPidfds + (r.threaded ? 1 : 0));
    expect(r.counters().pinnedPidfds).toBeLessThanOrEqual(4);
    if (r.socket.passPidfd) expect(withPidfd).toBe(20000);
    expect(r.threaded).toBe(thread);
    r.stop();
    expect(openFdCount()).toBe(before - 1);
  });

  test('with SO_PASSRIGHTS=0 the kernel refuses fds at the sender', () => {
    const r = new Receiver({ socketPath: sock }, () => undefined);
    if (!probeKernel().passRights) {
      r.stop();
      return void console.log('skipping: SO_PASSRIGHTS needs kernel 6.16+');
    }
    expect(r.socket.refusesFds).toBe(true);
    const rep = sendSync(['-s', sock, '-n', '5', '-f', '2']);
    expect(rep.errors).toBe(5);
    expect(rep.firstErrno).toBe('EPERM');
    expect(r.drain()).toBe(0);
    r.stop();
  });
});

describe('payloads', () => {
  test('a datagram larger than the slot is flagged truncated and counted', () => {
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, maxMessageBytes: 1024 }, collect(seen));
    sendSync(['-s', sock, '-n', '1', '-b', '3000']);
    sendSync(['-s', sock, '-n', '1', '-b', '1024']);
    r.drain();
    expect(seen[0].truncated).toBe(true);
    expect(seen[0].length).toBe(1024);
    expect(seen[0].originalLength).toBe(3000);
    expect(seen[1].truncated).toBe(false);
    expect(seen[1].length).toBe(1024);
    expect(r.counters().truncated).toBe(1);
    r.stop();
  });

  test('a 64 KiB datagram arrives intact', async () => {
    const seen: Buffer[] = [];
    const r = new Receiver({ socketPath: sock }, (b) => {
      for (let i = 0; i < b.count; i++) seen.push(Buffer.from(b.payload(i)));
    });
    const body = crypto.randomBytes(65536);
    // unix-dgram: the plain sender a Node user would write.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const unix = require('unix-dgram');
    const client = unix.createSocket('unix_dgram');
    await new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.send(body, 0, body.length, sock, () => resolve());
    });
    client.close();
    r.drain();
    r.stop();
    expect(seen).toHaveLength(1);
    expect(seen[0].length).toBe(65536);
    expect(seen[0].equals(body)).toBe(true);
  });

  test.each([
    ['on the main thread', false],
    ['on the receive thread', true],
  ])('1,000,000 datagrams from 4 processes are all received, counted exactly, in order per sender, %s', async (_mode, thread) => {
    const perWorker = [0, 0, 0, 0];
    let bad = 0;
    const r = new Receiver({ socketPath: sock, method: 'pidfd', thread }, (b) => {
      for (let i = 0; i < b.count; i++) {
        const p = b.payload(i);
        // "... worker=WW seq=SSSSSSSS" ends every line: fixed positions from the end.
        const n = p.length;
        const worker = (p[n - 15] - 48) * 10 + (p[n - 14] - 48);
        const seq = Number(p.toString('latin1', n - 8, n));
        if (worker < 0 || worker > 3 || seq !== perWorker[worker] + 1) bad++;
        else perWorker[worker] = seq;
      }
    });
    r.start();
    const rep = await sendAsync(['-s', sock, '-k', '4', '-n', '250000']);
    expect(rep.sent).toBe(1_000_000);
    expect(rep.errors).toBe(0);
    await waitFor(() => r.counters().received === 1_000_000, 60000, 'a million datagrams');
    r.stop();
    expect(bad).toBe(0);
    expect(perWorker).toEqual([250000, 250000, 250000, 250000]);
    const c = r.counters();
    expect(c.received).toBe(1_000_000);
    expect(c.noCredentials).toBe(0);
    expect(c.pidfdErrors).toBe(0);
    expect(c.handlerErrors).toBe(0);
    expect(c.batches).toBeGreaterThan(0);
    expect(c.batches).toBeLessThanOrEqual(1_000_000);
    expect(r.threaded).toBe(thread);
  });
});

describe('socket lifecycle and errors', () => {
  test('a stale socket file is replaced, and the socket gets the requested mode', () => {
    // A crashed daemon leaves its socket file behind: bind one and exit without unlinking.
    const res = spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(${JSON.stringify(sock)})`]);
    expect(res.status).toBe(0);
    expect(fs.statSync(sock).isSocket()).toBe(true);
    const r = new Receiver({ socketPath: sock, mode: 0o620 }, () => undefined);
    expect(fs.statSync(sock).mode & 0o7777).toBe(0o620);
    expect(sendSync(['-s', sock, '-n', '1']).sent).toBe(1);
    expect(r.drain()).toBe(1);
    r.stop();
    expect(fs.existsSync(sock)).toBe(false);
  });

  test('a live socket is refused with EADDRINUSE', () => {
    const r = new Receiver({ socketPath: sock }, () => undefined);
    let err: NativeError | undefined;
    try {
      new Receiver({ socketPath: sock }, () => undefined);
    } catch (e) {
      err = e as NativeError;
    }
    expect(err).toBeInstanceOf(NativeError);
    expect(err!.code).toBe('EADDRINUSE');
    expect(err!.message).toMatch(/another process is receiving on it/);
    expect(fs.statSync(sock).isSocket()).toBe(true); // the live one is untouched
    r.stop();
  });

  test('a path that is not a socket is refused and left alone', () => {
    fs.writeFileSync(sock, 'precious');
    expect(() => new Receiver({ socketPath: sock }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'ENOTSOCK' }),
    );
    expect(fs.readFileSync(sock, 'utf8')).toBe('precious');
    const link = path.join(dir, 'dev-log');
    fs.symlinkSync('/run/systemd/journal/dev-log', link);
    expect(() => new Receiver({ socketPath: link }, () => undefined)).toThrow(/symbolic link to '\/run\/systemd\/journal\/dev-log'/);
  });

  test('a path too long for sun_path and a missing directory give clear codes', () => {
    expect(() => new Receiver({ socketPath: path.join(dir, 'x'.repeat(120)) }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'ENAMETOOLONG' }),
    );
    expect(() => new Receiver({ socketPath: path.join(dir, 'missing', 'log.sock') }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'bind' }),
    );
  });

  test('an unprivileged collector cannot bind in a root-only directory: EACCES', () => {
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked, 0o700);
    const script = `
      const { Receiver } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/collector'))});
      try { new Receiver({ socketPath: ${JSON.stringify(path.join(locked, 'log.sock'))} }, () => {}); console.log('bound'); }
      catch (e) { console.log(e.name, e.code, e.syscall); }`;
    const res = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
    // As nobody, even looking at the path is denied (lstat), before bind is tried.
    expect(res.stdout.trim()).toMatch(/^NativeError EACCES (lstat|bind)$/);
  });

  test.each([
    ['on the main thread', false],
    ['on the receive thread', true],
  ])('stop() delivers what was queued, then removes the socket so new sends fail, %s', (_mode, thread) => {
    const seen: Seen[] = [];
    const r = new Receiver({ socketPath: sock, thread }, collect(seen));
    r.start();
    sendSync(['-s', sock, '-n', '7']);
    expect(r.stop()).toBeLessThanOrEqual(7); // what the running receiver had not taken yet
    expect(seen).toHaveLength(7); // including what the thread had received but not yet handed over
    expect(fs.existsSync(sock)).toBe(false);
    const rep = sendSync(['-s', sock, '-n', '1']);
    expect(rep.errors).toBe(1);
    expect(r.stop()).toBe(0); // idempotent
  });

  test('a handler that throws is reported and counted, and receiving goes on', async () => {
    const errors: Error[] = [];
    let calls = 0;
    const r = new Receiver({ socketPath: sock, onError: (e) => errors.push(e) }, (b) => {
      calls++;
      if (calls === 1) throw new Error(`boom with ${b.count}`);
    });
    sendSync(['-s', sock, '-n', '3']);
    r.drain();
    sendSync(['-s', sock, '-n', '2']);
    r.drain();
    expect(errors[0].message).toBe('boom with 3');
    expect(r.counters().handlerErrors).toBe(3);
    expect(r.counters().received).toBe(5);
    r.stop();
  });

  test('a socket passed by systemd socket activation is adopted and never unlinked', async () => {
    const script = `
      const { Receiver } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/collector'))});
      if (process.env.LISTEN_PID !== String(process.pid) || process.env.LISTEN_FDS !== '1') throw new Error('no LISTEN_FDS');
      const seen = [];
      const r = new Receiver({ adoptFd: 3 }, (b) => { for (let i = 0; i < b.count; i++) seen.push([b.text(i).slice(-6), b.pid(i)]); });
      r.drain();
      require('child_process').execFileSync('logger', ['-u', r.socketPath, 'after']);
      r.drain();
      console.log(JSON.stringify({ seen, path: r.socketPath, adopted: r.adopted, noPid: r.counters().noPid }));
      r.stop();`;
    const child = spawn('systemd-socket-activate', ['--datagram', '-l', sock, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => fs.existsSync(sock), 10000, 'the activation socket');
    logger(sock, 'wake-1'); // systemd-socket-activate starts the program on the first datagram
    await new Promise((res) => child.once('exit', res));
    const result = JSON.parse(out.trim());
    expect(result.path).toBe(sock);
    expect(result.adopted).toBe(true);
    // Queued before the collector set SO_PASSCRED: the kernel had attached no sender, so the
    // credentials say pid 0 (KERNEL.md §2.1), and that is counted.
    expect(result.seen[0]).toEqual(['wake-1', 0]);
    expect(result.noPid).toBe(1);
    expect(result.seen[1][0]).toBe(' after');
    expect(result.seen[1][1]).toBeGreaterThan(0);
    expect(fs.statSync(sock).isSocket()).toBe(true); // the service manager's socket stays
  });

  test('an fd that is not a datagram socket is refused', () => {
    const fd = fs.openSync('/dev/null', 'r');
    try {
      expect(() => new Receiver({ adoptFd: fd }, () => undefined)).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }));
    } finally {
      fs.closeSync(fd);
    }
  });

  test('on a platform without these sockets the addon loader says why', () => {
    jest.isolateModules(() => {
      const real = process.platform;
      Object.defineProperty(process, 'platform', { value: 'darwin' });
      try {
        const { loadAddon } = require('../../collector/addon');
        expect(() => loadAddon()).toThrow(expect.objectContaining({ code: 'ENOTSUP', message: expect.stringMatching(/needs Linux/) }));
      } finally {
        Object.defineProperty(process, 'platform', { value: real });
      }
    });
  });
});
