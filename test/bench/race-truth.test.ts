/**
 * The race suite's scoring: records from each receiver's output, matched to their sender by the
 * `worker=N` in the text, against the cgroup and comm that sender really had.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BenchCgroup } from '../../bench/lib/cgroups';
import { collectorClaims, rsyslogClaims, score, senderComm } from '../../bench/lib/race-truth';

const groups: BenchCgroup[] = [0, 1].map((i) => ({
  rel: `/cs-race-1/system.slice/docker-${'a'.repeat(56)}0000000${i}.scope`,
  dir: `/sys/fs/cgroup/unified/cs-race-1/system.slice/docker-${'a'.repeat(56)}0000000${i}.scope`,
  containerId: `${'a'.repeat(56)}0000000${i}`,
}));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-bench-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function collectorLine(worker: number, cgroup: number | null, comm: string | null, provenance: { cgroup: string; comm: string }): string {
  const g = cgroup === null ? null : groups[cgroup];
  return JSON.stringify({
    cgroup: g?.rel ?? null,
    container: g === null ? null : { id: g.containerId },
    comm,
    attribution: provenance,
    message: `GET /api/v1/orders/list status=200 bytes=5123 duration_ms=12 user=alice worker=${String(worker).padStart(2, '0')} seq=00000001`,
  });
}

test('senders are named s%06d', () => {
  expect(senderComm(7)).toBe('s000007');
  expect(senderComm(123456)).toBe('s123456');
});

test('container-syslog json lines: ok, missing (none, tag) and wrong, for cgroup and comm', () => {
  const lines = [
    collectorLine(0, 0, 's000000', { cgroup: 'pidfd', comm: 'verified' }), // ok / ok
    collectorLine(1, 1, 'cs-send', { cgroup: 'pidfd-exited', comm: 'tag' }), // ok / missing (the tag is a claim)
    collectorLine(2, null, 'cs-send', { cgroup: 'none', comm: 'tag' }), // missing / missing
    collectorLine(3, 0, 's000005', { cgroup: 'proc', comm: 'proc' }), // wrong (3 is in group 1) / wrong
  ];
  fs.mkdirSync(path.join(dir, 'docker'));
  fs.writeFileSync(path.join(dir, 'docker', 'syslog.log'), `${lines.join('\n')}\n`);
  const s = score(collectorClaims(dir), 4, groups);
  expect(s.received).toBe(4);
  expect(s.cgroup).toEqual({ ok: 2, missing: 1, wrong: 1 });
  expect(s.comm).toEqual({ ok: 1, missing: 2, wrong: 1 });
  expect(s.provenance.cgroup).toEqual({ pidfd: 1, 'pidfd-exited': 1, none: 1, proc: 1 });
});

test('records of unknown senders and repeats are counted apart', () => {
  const lines = [collectorLine(9, 0, null, { cgroup: 'pidfd', comm: 'none' }), collectorLine(0, 0, null, { cgroup: 'pidfd', comm: 'none' }), collectorLine(0, 0, null, { cgroup: 'pidfd', comm: 'none' }), 'not json'];
  fs.writeFileSync(path.join(dir, 'x.log'), `${lines.join('\n')}\n`);
  const s = score(collectorClaims(dir), 4, groups);
  expect(s.unmatched).toBe(2);
  expect(s.duplicates).toBe(1);
  expect(s.cgroup).toEqual({ ok: 2, missing: 0, wrong: 0 });
});

test('rsyslog Annotate: _COMM from the appended trusted properties, no cgroup column', () => {
  const text = [
    '2026-11-28T16:30:25.592047+00:00 vm cs-send[10146]: GET … worker=00 seq=00000001 @[_PID=10146 _UID=0 _GID=0 _COMM=s000000 _CMDLINE=""]',
    '2026-11-28T16:30:25.592645+00:00 vm cs-send[10150]: GET … worker=01 seq=00000001 @[_PID=10150 _UID=0 _GID=0]',
    '2026-11-28T16:30:25.592645+00:00 vm cs-send[10151]: GET … worker=02 seq=00000001 @[_PID=10151 _COMM=decoy]',
  ];
  fs.writeFileSync(path.join(dir, 'out.log'), `${text.join('\n')}\n`);
  const s = score(rsyslogClaims(dir), 3, groups);
  expect(s.cgroup).toBeNull();
  expect(s.comm).toEqual({ ok: 1, missing: 1, wrong: 1 });
});
