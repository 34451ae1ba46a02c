/**
 * Synthetic records for the sink benchmarks: `perContainer` × `containers` distinct records,
 * interleaved by container as live traffic is, each a 128-byte glibc-shaped datagram parsed as the
 * collector would, from a docker container with a kernel-attributed sender. The benches cycle
 * through them, so the parse cost is paid once, outside the timed part.
 */
import { type LogRecord, parseSyslog, type SenderCgroup } from '../../collector';

/** A docker container's sender, as the resolver shares it (one object per container). */
export function syntheticSender(i: number): SenderCgroup {
  const id = i.toString(16).padStart(64, 'a');
  const cgroup = `/system.slice/docker-${id}.scope`;
  return {
    id: 1000 + i,
    path: cgroup,
    kind: 'container',
    container: {
      runtime: 'docker',
      id,
      shortId: id.slice(0, 12),
      name: `svc-${i}`,
      nameSource: 'docker',
      image: 'app:1',
      labels: {},
      cgroup,
      rootlessUid: null,
      pod: null,
    },
    pod: null,
    unit: null,
    slice: 'system.slice',
    userUnit: null,
    ownerUid: null,
  };
}

function padTo(line: string, bytes: number): string {
  let out = line;
  let w = 0;
  while (out.length < bytes) out += ` word${w++}`;
  return out.slice(0, bytes);
}

export function syntheticRecords(containers: number, perContainer: number, nowMs = Date.now()): LogRecord[] {
  const senders = Array.from({ length: containers }, (_, i) => syntheticSender(i));
  const out: LogRecord[] = [];
  for (let k = 0; k < perContainer; k++) {
    for (let c = 0; c < containers; c++) {
      const i = k * containers + c;
      const at = new Date(nowMs - (i % 600) * 1000);
      const ts = `${at.toString().slice(4, 10)} ${at.toTimeString().slice(0, 8)}`;
      const payload = Buffer.from(padTo(`<30>${ts} myservice[${1000 + c}]: request handled id=${i}`, 128));
      out.push({
        receivedUs: (nowMs - (i % 600) * 1000) * 1000 + i,
        pid: 1000 + c,
        uid: 1000,
        gid: 1000,
        nsPid: -1,
        nsDepth: 1,
        exitStatus: null,
        processKey: 5000 + c,
        comm: 'myservice',
        exe: null,
        cmdline: null,
        sender: senders[c],
        attribution: { cgroup: 'pidfd', comm: 'verified' },
        syslog: parseSyslog(payload, nowMs),
        truncated: false,
        originalLength: payload.length,
      });
    }
  }
  return out;
}
