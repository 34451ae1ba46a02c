/**
 * Helpers for the sink tests: records as plain objects (senders made once per container and
 * reused, as the resolver shares them), a streaming line counter, and the counter check every
 * file sink test ends with, in the manner of Vector's compliance helper.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type Attribution,
  type ContainerInfo,
  type LogRecord,
  NO_CGROUP,
  parseSyslog,
  type PodInfo,
  type Runtime,
  type SenderCgroup,
} from '../../collector';
import { type FileSink } from '../../sinks/file-sink';

/** 2026-11-28T14:16:03.042Z, in µs. */
export const RECEIVED_US = Date.UTC(2026, 10, 28, 14, 16, 3, 42) * 1000;

export interface ContainerSpec {
  runtime?: Runtime;
  id?: string;
  image?: string | null;
  labels?: Record<string, string>;
  pod?: PodInfo | null;
  path?: string | null;
}

/** A container sender; make one per container and reuse it. */
export function containerSender(name: string, spec: ContainerSpec = {}): SenderCgroup {
  const id = spec.id ?? 'ab'.repeat(32);
  const runtime = spec.runtime ?? 'docker';
  const cgroup = `/system.slice/docker-${id}.scope`;
  const container: ContainerInfo = {
    runtime,
    id,
    shortId: id.slice(0, 12),
    name,
    nameSource: 'docker',
    image: spec.image === undefined ? 'nginx:1.27' : spec.image,
    labels: spec.labels ?? {},
    cgroup,
    rootlessUid: null,
    pod: spec.pod ?? null,
  };
  return {
    id: 4242,
    path: spec.path === undefined ? cgroup : spec.path,
    kind: 'container',
    container,
    pod: spec.pod ?? null,
    unit: null,
    slice: 'system.slice',
    userUnit: null,
    ownerUid: null,
  };
}

/** A host sender, in a systemd unit. */
export function hostSender(unit: string | null = 'cron.service'): SenderCgroup {
  return {
    id: 77,
    path: unit === null ? '/' : `/system.slice/${unit}`,
    kind: unit === null ? 'root' : 'host',
    container: null,
    pod: null,
    unit,
    slice: unit === null ? null : 'system.slice',
    userUnit: null,
    ownerUid: null,
  };
}

/** A sender the kernel could not place. */
export const UNKNOWN_SENDER: SenderCgroup = NO_CGROUP;

export interface RecordSpec {
  receivedUs?: number;
  pid?: number;
  uid?: number;
  gid?: number;
  comm?: string | null;
  attribution?: Attribution;
}

/** A record from `payload` (parsed as the collector would) sent by `sender`. */
export function makeRecord(sender: SenderCgroup, payload: string | Buffer, spec: RecordSpec = {}): LogRecord {
  const receivedUs = spec.receivedUs ?? RECEIVED_US;
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return {
    receivedUs,
    pid: spec.pid ?? 4321,
    uid: spec.uid ?? 1000,
    gid: spec.gid ?? 1000,
    nsPid: -1,
    nsDepth: 1,
    exitStatus: null,
    processKey: 99,
    comm: spec.comm === undefined ? 'myprog' : spec.comm,
    exe: null,
    cmdline: null,
    sender,
    attribution: spec.attribution ?? { cgroup: 'pidfd', comm: 'verified' },
    syslog: parseSyslog(bytes, Math.floor(receivedUs / 1000)),
    truncated: false,
    originalLength: bytes.length,
  };
}

export function tempDir(prefix = 'cs-sink-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Lines in a file, counted in 64 KiB reads (the file is never held whole). */
export function countLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(65_536);
  let lines = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      for (let i = buf.indexOf(0x0a); i !== -1 && i < n; i = buf.indexOf(0x0a, i + 1)) lines++;
    }
  } finally {
    fs.closeSync(fd);
  }
  return lines;
}

/** The file's lines without their '\n' (the file must end in '\n' or be empty). */
export function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text.length === 0) return [];
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** Every regular file below `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

export interface ExpectedCounters {
  received: number;
  written: number;
  dropped?: Record<string, number>;
  bytes?: number;
}

/**
 * The check every file sink test ends with: the counters are what the test caused, nothing is
 * left buffered, and every record received is written or dropped with a reason.
 */
export function expectCounters(sink: FileSink, expected: ExpectedCounters): void {
  const s = sink.stats();
  const droppedTotal = Object.values(s.dropped).reduce((a, b) => a + b, 0);
  expect(s.buffered).toBe(0);
  expect(s.received).toBe(s.written + s.buffered + droppedTotal);
  expect({ received: s.received, written: s.written, dropped: s.dropped }).toEqual({
    received: expected.received,
    written: expected.written,
    dropped: expected.dropped ?? {},
  });
  if (expected.bytes !== undefined) expect(s.bytes).toBe(expected.bytes);
}
