/**
 * Ground truth and scoring for the race-window suite.
 *
 * Sender i (cs-send -e, one process per datagram) joined cgroup i % k and named itself
 * `s%06d` of i before sending, and its text says `worker=i`; so every record can be matched to
 * its sender by the text alone and compared with what the receiver says about who sent it:
 *
 * - cgroup: **ok** when the receiver names the cgroup (or container id) the sender joined,
 *   **missing** when it names none (`attribution.cgroup: none`, no `_SYSTEMD_CGROUP`),
 *   **wrong** when it names another one — another sender's, a decoy's, the host root;
 * - comm: **ok** when it is `s%06d` of i and the receiver learnt it from the kernel, **missing**
 *   when it has none (our `attribution.comm` `none`, or `tag`: the sender's own claim standing
 *   in, which is "cs-send" here and never the truth), **wrong** when it names another process.
 *
 * What each receiver records: container-syslog's json lines (`cgroup`, `container.id`, `comm`,
 * `attribution`); journald's `_SYSTEMD_CGROUP` and `_COMM` per entry (read from /proc by pid);
 * rsyslog Annotate's `_COMM` in the `@[…]` it appends to the text (it records no cgroup, so its
 * cgroup column stays empty). A record whose text names no sender index, or an index out of range,
 * is counted as `unmatched`; messages never written are `lost`.
 */
import fs from 'node:fs';
import { type BenchCgroup } from './cgroups';
import { filesUnder, readJournal } from './outputs';

/** Messages whose sender was named right, not at all, or wrongly. */
export interface Outcome {
  ok: number;
  missing: number;
  wrong: number;
}

/** One trial scored against the truth. */
export interface RaceScore {
  received: number;
  unmatched: number;
  duplicates: number;
  /** null when the receiver records no such field at all (rsyslog: cgroup). */
  cgroup: Outcome | null;
  comm: Outcome;
  /** How the receiver says it learnt each field (our `attribution` values), counted. */
  provenance: { cgroup: Record<string, number>; comm: Record<string, number> };
}

/** What one receiver said about one message, in a form common to every receiver. */
interface Claim {
  index: number;
  /** undefined: the receiver has no such field; null: it has none for this message. */
  cgroupRel: string | null | undefined;
  containerId: string | null | undefined;
  comm: string | null;
  cgroupSource?: string;
  commSource?: string;
}

/** The comm sender i gave itself (cs-send -c s%06d). */
export function senderComm(i: number): string {
  return `s${String(i).padStart(6, '0')}`;
}

const WORKER = /worker=(\d+)/;

function emptyOutcome(): Outcome {
  return { ok: 0, missing: 0, wrong: 0 };
}

/** Scores the claims against the truth: sender i joined groups[i % groups.length]. */
export function score(claims: Iterable<Claim>, senders: number, groups: BenchCgroup[]): RaceScore {
  const seen = new Uint8Array(senders);
  const s: RaceScore = { received: 0, unmatched: 0, duplicates: 0, cgroup: null, comm: emptyOutcome(), provenance: { cgroup: {}, comm: {} } };
  for (const c of claims) {
    s.received++;
    if (!(c.index >= 0 && c.index < senders)) {
      s.unmatched++;
      continue;
    }
    if (seen[c.index]++ > 0) s.duplicates++;
    const truth = groups[c.index % groups.length];
    if (c.cgroupRel !== undefined) {
      s.cgroup ??= emptyOutcome();
      if (c.cgroupRel === null && (c.containerId === null || c.containerId === undefined)) s.cgroup.missing++;
      else if (c.containerId === truth.containerId || c.cgroupRel === truth.rel) s.cgroup.ok++;
      else s.cgroup.wrong++;
    }
    if (c.comm === null) s.comm.missing++;
    else if (c.comm === senderComm(c.index)) s.comm.ok++;
    else s.comm.wrong++;
    if (c.cgroupSource !== undefined) s.provenance.cgroup[c.cgroupSource] = (s.provenance.cgroup[c.cgroupSource] ?? 0) + 1;
    if (c.commSource !== undefined) s.provenance.comm[c.commSource] = (s.provenance.comm[c.commSource] ?? 0) + 1;
  }
  return s;
}

interface CollectorLine {
  cgroup: string | null;
  container: { id: string } | null;
  comm: string | null;
  attribution: { cgroup: string; comm: string };
  message: string;
}

/** container-syslog's json lines, from every file below `dir`. */
export function* collectorClaims(dir: string): Generator<Claim> {
  for (const file of filesUnder(dir)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      let rec: CollectorLine;
      try {
        rec = JSON.parse(line) as CollectorLine;
      } catch {
        yield { index: -1, cgroupRel: null, containerId: null, comm: null };
        continue;
      }
      const m = WORKER.exec(rec.message ?? '');
      const cgroupKnown = rec.attribution.cgroup !== 'none';
      const commKnown = rec.attribution.comm !== 'none' && rec.attribution.comm !== 'tag';
      yield {
        index: m !== null ? Number(m[1]) : -1,
        cgroupRel: cgroupKnown ? rec.cgroup : null,
        containerId: cgroupKnown ? (rec.container?.id ?? null) : null,
        comm: commKnown ? rec.comm : null,
        cgroupSource: rec.attribution.cgroup,
        commSource: rec.attribution.comm,
      };
    }
  }
}

/** journald's entries of ours (SYSLOG_IDENTIFIER=cs-send), as `journalctl -o json` prints them. */
export async function journalClaims(store: string): Promise<Claim[]> {
  const out: Claim[] = [];
  await readJournal(store, ['SYSLOG_IDENTIFIER=cs-send', '-o', 'json', '--output-fields=MESSAGE,_COMM,_SYSTEMD_CGROUP'], (line) => {
    if (line === '') return;
    const e = JSON.parse(line) as { MESSAGE?: string; _COMM?: string; _SYSTEMD_CGROUP?: string };
    const m = WORKER.exec(typeof e.MESSAGE === 'string' ? e.MESSAGE : '');
    out.push({
      index: m !== null ? Number(m[1]) : -1,
      cgroupRel: e._SYSTEMD_CGROUP ?? null,
      containerId: null,
      comm: e._COMM ?? null,
      cgroupSource: e._SYSTEMD_CGROUP !== undefined ? 'proc' : 'none',
      commSource: e._COMM !== undefined ? 'proc' : 'none',
    });
  });
  return out;
}

/** rsyslog's lines with Annotate: `… worker=N seq=… @[_PID=… _COMM=… …]`. */
export function* rsyslogClaims(dir: string): Generator<Claim> {
  for (const file of filesUnder(dir)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      const m = WORKER.exec(line);
      const at = line.lastIndexOf(' @[');
      const comm = at >= 0 ? /(?:^|\s)_COMM=([^\s\]]+)/.exec(line.slice(at + 3)) : null;
      yield {
        index: m !== null ? Number(m[1]) : -1,
        cgroupRel: undefined,
        containerId: undefined,
        comm: comm !== null ? comm[1] : null,
        commSource: comm !== null ? 'proc' : 'none',
      };
    }
  }
}
