/** Builds LogRecords from compact descriptions, for routing and sink tests. */
import { type LogRecord, NO_CGROUP, parseSyslog, type SenderCgroup } from '../../collector';
import { type CgroupProvenance } from '../../collector/receiver';

export interface SenderSpec {
  kind?: 'container' | 'host' | 'root' | 'unknown';
  runtime?: string;
  name?: string;
  id?: string;
  labels?: Record<string, string>;
  pod_namespace?: string;
  pod_name?: string;
  unit?: string;
  cgroupId?: number;
  provenance?: CgroupProvenance;
}

const senders = new Map<string, SenderCgroup>();

/** One shared SenderCgroup object per distinct spec, as the resolver shares them. */
export function senderFrom(spec: SenderSpec): SenderCgroup {
  const key = JSON.stringify(spec);
  const hit = senders.get(key);
  if (hit !== undefined) return hit;
  const kind = spec.kind ?? 'container';
  const id = spec.id ?? (spec.name ?? 'x').padEnd(64, '0').slice(0, 64);
  const pod =
    spec.pod_namespace !== undefined || spec.pod_name !== undefined
      ? { uid: '00000000-0000-0000-0000-000000000000', qos: 'burstable' as const, namespace: spec.pod_namespace ?? null, name: spec.pod_name ?? null, container: null }
      : null;
  const s: SenderCgroup =
    kind === 'unknown'
      ? { ...NO_CGROUP, id: spec.cgroupId ?? 0 }
      : {
          id: spec.cgroupId ?? 100,
          path: kind === 'host' ? `/system.slice/${spec.unit ?? 'x.service'}` : `/system.slice/${spec.runtime ?? 'docker'}-${id}.scope`,
          kind,
          container:
            kind === 'container'
              ? {
                  runtime: (spec.runtime ?? 'docker') as 'docker',
                  id,
                  shortId: id.slice(0, 12),
                  name: spec.name ?? id.slice(0, 12),
                  nameSource: 'docker',
                  image: null,
                  labels: spec.labels ?? {},
                  cgroup: '/x',
                  rootlessUid: null,
                  pod,
                }
              : null,
          pod,
          unit: kind === 'host' ? (spec.unit ?? null) : null,
          slice: null,
          userUnit: null,
          ownerUid: null,
        };
  senders.set(key, s);
  return s;
}

export function recordFrom(spec: SenderSpec, message: string | Buffer, extra: Partial<LogRecord> = {}): LogRecord {
  const payload = typeof message === 'string' ? Buffer.from(message) : message;
  const provenance: CgroupProvenance = spec.provenance ?? (spec.kind === 'unknown' ? 'none' : 'pidfd');
  return {
    receivedUs: Date.UTC(2026, 10, 28, 13, 40, 51) * 1000,
    pid: 1234,
    uid: 0,
    gid: 0,
    nsPid: 1234,
    nsDepth: 1,
    exitStatus: null,
    processKey: 42,
    comm: 'test',
    exe: null,
    cmdline: null,
    sender: senderFrom(spec),
    attribution: { cgroup: provenance, comm: 'verified' },
    syslog: parseSyslog(payload),
    truncated: false,
    originalLength: payload.length,
    ...extra,
  };
}
