/**
 * `container-syslog probe`: the report on this machine, checked against what the test reads
 * itself; a probe run inside a new pid namespace (unshare) reporting that gap; and the sentences
 * for gaps this machine does not have, through injected readers.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { formatProbe, type HostReaders, probeHost, probeKernel } from '../../collector';
import { CLI } from '../helpers/daemon';
import { removeDir, tempDir } from '../helpers/fixtures';

const real: HostReaders = {
  readlink: (p) => (fs.existsSync(p) || fs.lstatSync(p, { throwIfNoEntry: false }) ? fs.readlinkSync(p) : null),
  readFile: (p) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null),
  lstat: (p) => fs.lstatSync(p, { throwIfNoEntry: false }) ?? null,
};

describe('probe', () => {
  test('on this machine: every item agrees with what the test reads itself', () => {
    const p = probeHost('/nonexistent/dev-log');
    const item = (c: string) => p.items.find((i) => i.check === c)!;
    console.log(formatProbe(p));
    expect(item('attribution').finding).toContain(`rung '${probeKernel().rung}'`);
    expect(item('pid-namespace').ok).toBe(fs.readlinkSync('/proc/self/ns/pid') === 'pid:[4026531836]');
    expect(item('cgroup-namespace').ok).toBe(fs.readlinkSync('/proc/self/ns/cgroup') === 'cgroup:[4026531835]');
    const qlen = Number(fs.readFileSync('/proc/sys/net/unix/max_dgram_qlen', 'utf8'));
    expect(item('dgram-qlen').ok).toBe(qlen >= 512);
    expect(item('dgram-qlen').finding).toContain(`is ${qlen}`);
    const capEff = BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    expect(item('cap-dac-read-search').ok).toBe((capEff & 4n) !== 0n);
    expect(item('socket')).toMatchObject({ ok: true, finding: '/nonexistent/dev-log does not exist: the collector can bind it.' });
    for (const i of p.items) expect(i.fix === null).toBe(i.ok);
  });

  test('run in a new pid namespace, the CLI reports that gap and what to do', () => {
    const out = execFileSync('unshare', ['--pid', '--fork', process.execPath, CLI, 'probe', '--json', '--socket', '/nonexistent'], { encoding: 'utf8' });
    const p = JSON.parse(out) as ReturnType<typeof probeHost>;
    const pidns = p.items.find((i) => i.check === 'pid-namespace')!;
    expect(pidns.ok).toBe(false);
    expect(pidns.finding).toMatch(/senders outside it arrive with pid 0/);
    expect(pidns.fix).toMatch(/hostPID: true/);
  });

  test('gaps this machine may not have are explained: no capabilities, journald owning the socket, a file in the way', () => {
    const dir = tempDir();
    try {
      const link = path.join(dir, 'log');
      fs.symlinkSync('/run/systemd/journal/dev-log', link);
      const readers: HostReaders = {
        ...real,
        readFile: (p) => (p === '/proc/self/status' ? 'Name:\tx\nCapEff:\t0000000000000000\n' : p.endsWith('max_dgram_qlen') ? '10\n' : real.readFile(p)),
      };
      const p = probeHost(link, readers);
      const item = (c: string) => p.items.find((i) => i.check === c)!;
      expect(item('cap-dac-read-search')).toMatchObject({ ok: false, fix: expect.stringMatching(/CAP_DAC_READ_SEARCH/) });
      expect(item('dgram-qlen')).toMatchObject({ ok: false, fix: expect.stringMatching(/net.unix.max_dgram_qlen = 512/) });
      expect(item('socket').finding).toBe(`${link} is a symbolic link to /run/systemd/journal/dev-log (systemd-journald owns it).`);
      fs.unlinkSync(link);
      fs.writeFileSync(link, '');
      expect(probeHost(link, readers).items.find((i) => i.check === 'socket')).toMatchObject({ ok: false, finding: `${link} exists and is not a socket.` });
      const text = formatProbe(p);
      expect(text).toMatch(/^gap  .*\n     What to do: /m);
    } finally {
      removeDir(dir);
    }
  });
});
