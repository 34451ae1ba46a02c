/**
 * `container-syslog probe`: what this host offers and what the collector would do here, in
 * sentences, each gap with what to do about it. It tries the kernel features (the receiver's
 * probe forks two tiny children) and reads the process's own namespaces, capabilities and the
 * socket sysctl; it changes nothing.
 *
 * Namespace checks compare namespace inode numbers with the kernel's fixed numbers for the initial
 * namespaces (PROC_PID_INIT_INO and PROC_CGROUP_INIT_INO): a collector in a container's pid
 * namespace cannot attribute anyone outside it (KERNEL.md §7), and one in a private cgroup
 * namespace sees cgroup paths relative to its own.
 */
import fs from 'node:fs';
import { findCgroup2Mount } from './cgroup-mount';
import { type KernelProbe, probeKernel } from './receiver';

const INIT_PID_NS = 4026531836;
const INIT_CGROUP_NS = 4026531835;
const CAP_DAC_READ_SEARCH = 2;
const CAP_NET_ADMIN = 12;

export interface ProbeItem {
  /** A short stable name (for --json consumers). */
  check: string;
  ok: boolean;
  /** What was found, as a sentence. */
  finding: string;
  /** What to do about it, when not ok. */
  fix: string | null;
}

export interface HostProbe {
  kernel: KernelProbe;
  items: ProbeItem[];
}

export interface HostReaders {
  readlink(path: string): string | null;
  readFile(path: string): string | null;
  lstat(path: string): fs.Stats | null;
}

const realReaders: HostReaders = {
  readlink: (p) => {
    try {
      return fs.readlinkSync(p);
    } catch {
      return null;
    }
  },
  readFile: (p) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  },
  lstat: (p) => {
    try {
      return fs.lstatSync(p);
    } catch {
      return null;
    }
  },
};

function nsInode(link: string | null): number | null {
  const m = link === null ? null : /\[(\d+)\]$/.exec(link);
  return m === null ? null : Number(m[1]);
}

function hasCap(status: string | null, bit: number): boolean | null {
  const m = status === null ? null : /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (m === null) return null;
  return (BigInt(`0x${m[1]}`) & (1n << BigInt(bit))) !== 0n;
}

export function probeHost(socketPath = '/dev/log', readers: HostReaders = realReaders, kernel: KernelProbe = probeKernel()): HostProbe {
  const items: ProbeItem[] = [];
  const add = (check: string, ok: boolean, finding: string, fix: string | null = null): void => {
    items.push({ check, ok, finding, fix: ok ? null : fix });
  };

  add(
    'attribution',
    kernel.rung === 'pidfd-reaped',
    `This kernel offers rung '${kernel.rung}': ${kernel.summary}. The collector will use method '${kernel.method}'.`,
    kernel.rung === 'proc'
      ? 'Senders are attributed by the racy /proc lookup. A kernel 6.5 or later adds pidfds; 6.17 or later makes attribution race-free even for senders that exit at once.'
      : 'Attribution is race-free only while senders are alive; a kernel 6.17 or later also covers senders that exit before their message is read.',
  );
  add(
    'passrights',
    kernel.passRights,
    kernel.passRights
      ? 'The socket can refuse file descriptors (SO_PASSRIGHTS): senders cannot push fds into the collector.'
      : 'This kernel cannot refuse file descriptors on the socket (SO_PASSRIGHTS needs 6.16); fds that senders pass are closed and counted.',
    'Nothing is required: fds are closed on arrival. Kernel 6.16 or later refuses them at the sender.',
  );
  add(
    'pidfs',
    kernel.pidfsInodes,
    kernel.pidfsInodes
      ? 'pidfds have their own inodes (pidfs), so per-process caches are keyed race-free.'
      : 'pidfds share one inode on this kernel (before 6.9): comm is verified per message but not cached per process.',
    'A kernel 6.9 or later makes comm caching possible and attribution cheaper.',
  );

  const pidns = nsInode(readers.readlink('/proc/self/ns/pid'));
  add(
    'pid-namespace',
    pidns === INIT_PID_NS,
    pidns === INIT_PID_NS
      ? 'The collector runs in the host pid namespace.'
      : `The collector runs in a pid namespace other than the host's (${pidns ?? 'unknown'}): senders outside it arrive with pid 0 and their pidfds cannot be queried (EREMOTE).`,
    'Run it in the host pid namespace: hostPID: true in Kubernetes, --pid=host with docker or podman.',
  );
  const cgns = nsInode(readers.readlink('/proc/self/ns/cgroup'));
  add(
    'cgroup-namespace',
    cgns === INIT_CGROUP_NS,
    cgns === INIT_CGROUP_NS
      ? 'The collector runs in the host cgroup namespace.'
      : `The collector runs in a private cgroup namespace (${cgns ?? 'unknown'}): cgroup paths are seen relative to it and containers may not be recognised.`,
    'Run it in the host cgroup namespace: --cgroupns=host with docker or podman.',
  );
  const mount = findCgroup2Mount();
  add(
    'cgroup2',
    mount !== null,
    mount !== null ? `The cgroup2 hierarchy is mounted at ${mount}.` : 'No cgroup2 file system is mounted: cgroup ids cannot be turned into paths, so containers are not recognised.',
    'Mount the host cgroup2 hierarchy (in a container: -v /sys/fs/cgroup:/sys/fs/cgroup:ro).',
  );
  const status = readers.readFile('/proc/self/status');
  const dac = hasCap(status, CAP_DAC_READ_SEARCH);
  add(
    'cap-dac-read-search',
    dac === true,
    dac === true
      ? 'The collector has CAP_DAC_READ_SEARCH: a cgroup it has not indexed yet is resolved by id at once (open_by_handle_at).'
      : 'The collector lacks CAP_DAC_READ_SEARCH: an unknown cgroup id is found by rescanning the tree instead of by handle, which is slower and misses cgroups removed in between.',
    'Grant CAP_DAC_READ_SEARCH (AmbientCapabilities= in the unit, or the container\'s capabilities).',
  );
  const netAdmin = hasCap(status, CAP_NET_ADMIN);
  add(
    'cap-net-admin',
    netAdmin === true,
    netAdmin === true
      ? 'The collector has CAP_NET_ADMIN: the receive buffer can be raised beyond net.core.rmem_max.'
      : 'The collector lacks CAP_NET_ADMIN: the receive buffer stays within net.core.rmem_max.',
    'Grant CAP_NET_ADMIN, or raise net.core.rmem_max.',
  );
  const qlen = Number((readers.readFile('/proc/sys/net/unix/max_dgram_qlen') ?? '').trim());
  add(
    'dgram-qlen',
    qlen >= 512,
    Number.isFinite(qlen) && qlen > 0
      ? `net.unix.max_dgram_qlen is ${qlen}: at most ${qlen} datagrams wait in the socket before senders block.`
      : 'net.unix.max_dgram_qlen could not be read.',
    'Set net.unix.max_dgram_qlen = 512 (deploy/99-container-syslog.conf), as systemd does: bursts then queue instead of blocking every syslog() caller.',
  );
  const st = readers.lstat(socketPath);
  if (st === null) {
    add('socket', true, `${socketPath} does not exist: the collector can bind it.`);
  } else if (st.isSymbolicLink()) {
    const target = readers.readlink(socketPath) ?? '?';
    add(
      'socket',
      false,
      `${socketPath} is a symbolic link to ${target}${target.includes('systemd/journal') ? ' (systemd-journald owns it)' : ''}.`,
      `Run container-syslog on its own socket (--socket /run/container-syslog/dev-log), or take over ${socketPath} with deploy/container-syslog.socket (see the README).`,
    );
  } else if (st.isSocket()) {
    add('socket', true, `${socketPath} is a socket; if another daemon is receiving on it, the collector will say so and refuse to start.`);
  } else {
    add('socket', false, `${socketPath} exists and is not a socket.`, `Remove it, or run with --socket PATH.`);
  }
  return { kernel, items };
}

/** The report as sentences, one per line, gaps with their fix. */
export function formatProbe(p: HostProbe): string {
  const lines: string[] = [];
  for (const i of p.items) {
    lines.push(`${i.ok ? 'ok  ' : 'gap '} ${i.finding}`);
    if (i.fix !== null) lines.push(`     What to do: ${i.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
