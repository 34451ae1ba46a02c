/**
 * One received datagram as the rest of the pipeline sees it: what the kernel said about the
 * sender (pid, uid, gid, cgroup, exit state), who that is (container, pod, host unit), what the
 * sender claimed in its text (the parsed syslog fields), and how each identity field was learnt.
 *
 * Only kernel-provided identity chooses a container. The sender's own tag, hostname and pid are
 * kept as claims (`syslog.app`, `syslog.pid`), and the tag stands in for comm only when the
 * kernel gave none, labelled `tag`.
 */
import { type Batch, type CgroupProvenance, type CommProvenance, type Receiver } from './receiver';
import { NO_CGROUP, type SenderCgroup, type SenderResolver } from './sender-identity';
import { parseSyslogRange, type SyslogMessage } from './syslog-parse';

export interface Attribution {
  cgroup: CgroupProvenance;
  comm: CommProvenance | 'tag';
}

export interface LogRecord {
  /** Kernel receive time, µs since the epoch. */
  receivedUs: number;
  /** From SCM_CREDENTIALS, in the collector's pid namespace; -1 when absent, 0 when not visible. */
  pid: number;
  uid: number;
  gid: number;
  /** The sender's pid inside its own pid namespace, -1 unknown; depth 1 = the collector's. */
  nsPid: number;
  nsDepth: number;
  /** wait(2) status when the sender had already been reaped, else null. */
  exitStatus: number | null;
  /** pidfs inode of the sender: unique per process for the boot; 0 unknown. */
  processKey: number;
  comm: string | null;
  exe: string | null;
  cmdline: string | null;
  sender: SenderCgroup;
  attribution: Attribution;
  syslog: SyslogMessage;
  truncated: boolean;
  /** Datagram length as sent (the payload may have been cut to the receive slot). */
  originalLength: number;
}

export interface RecordBuilderOptions {
  resolver: SenderResolver | null;
  /** Needed for exe/cmdline when the receiver reads extras. */
  receiver?: Receiver | null;
  now?: () => number;
}

export class RecordBuilder {
  private readonly resolver: SenderResolver | null;
  private readonly receiver: Receiver | null;
  private readonly now: () => number;
  /** exe/cmdline by process key: one native call per process, not per message. */
  private readonly extras = new Map<number, { exe: string; cmdline: string } | null>();

  constructor(options: RecordBuilderOptions) {
    this.resolver = options.resolver;
    this.receiver = options.receiver ?? null;
    this.now = options.now ?? Date.now;
  }

  build(b: Batch, i: number, nowMs: number = this.now()): LogRecord {
    const start = b.payloadOffset(i);
    const syslog = parseSyslogRange(b.bytes, start, start + b.length(i), nowMs);
    const cgroupId = b.cgroupId(i);
    const sender = cgroupId > 0 && this.resolver !== null ? this.resolver.cgroup(cgroupId) : cgroupId > 0 ? { ...NO_CGROUP, id: cgroupId } : NO_CGROUP;
    let comm = b.comm(i);
    let commSource: CommProvenance | 'tag' = b.commProvenance(i);
    if (comm === null && syslog.app !== null) {
      comm = syslog.app;
      commSource = 'tag';
    }
    let exe: string | null = null;
    let cmdline: string | null = null;
    if (this.receiver !== null && b.hasExtras(i)) {
      const key = b.processKey(i);
      let x = this.extras.get(key);
      if (x === undefined) {
        x = this.receiver.processExtras(key);
        if (this.extras.size >= 4096) this.extras.delete(this.extras.keys().next().value as number);
        this.extras.set(key, x);
      }
      if (x !== null) {
        exe = x.exe;
        cmdline = x.cmdline;
      }
    }
    return {
      receivedUs: b.receivedUs(i),
      pid: b.pid(i),
      uid: b.uid(i),
      gid: b.gid(i),
      nsPid: b.nsPid(i),
      nsDepth: b.nsDepth(i),
      exitStatus: b.exitStatus(i),
      processKey: b.processKey(i),
      comm,
      exe,
      cmdline,
      sender,
      attribution: { cgroup: b.cgroupProvenance(i), comm: commSource },
      syslog,
      truncated: b.truncated(i),
      originalLength: b.originalLength(i),
    };
  }
}
