/**
 * RFC 3164, as glibc `syslog()` writes it: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, with the day
 * padded by a space (`Nov  8`). util-linux `logger` writes the same shape by default on a
 * unix socket (`<13>Nov 28 15:15:48 root: hello`), and adds the hostname with `--rfc3164`
 * (`<13>Nov 28 15:15:48 vm root: hello`). glibc with an empty ident writes `: msg`. Variants we
 * accept, all noted where something was missing: no PRI (user.notice, as §4.3.3 says); no
 * timestamp; an RFC 3339 timestamp in place of the BSD one (rsyslog-forwarded lines, some
 * libcs); a one-digit day with one space; a hostname; no tag; `tag:`, `tag[pid]:`, and
 * `tag[pid] ` without the colon.
 *
 * Rules where the format is ambiguous, decided here (those for every datagram, such as PRI,
 * are in the overview in `syslog-parse.ts`; the year and zone of a timestamp in
 * `syslog-time.ts`):
 *
 * - A tag is a run of 1 to 48 printable characters (ASCII `!`..`~` except `[` and `:`, or any
 *   character from U+00A0 up other than U+FFFD), then either `:` or `[PID]:` or `[PID] `, then
 *   a space or the end. PID is 1 to 128 printable ASCII characters other than `]`. A bare word
 *   followed by a space is NOT a tag: it cannot be told from the first word of a message, so the
 *   whole text stays in `message` with `NoTag`. `:`/`[PID]:` with an empty name gives `app`
 *   null (glibc with an empty ident).
 * - A tag is only looked for after a valid PRI or a timestamp. A payload with neither has no
 *   anchor for structure and is `raw`: the whole text is the message.
 * - A hostname is recognised only (1) after a timestamp, (2) when the first token is not itself
 *   a tag, (3) when that token is 1 to 255 characters of `[A-Za-z0-9._-]` starting with a letter
 *   or digit, and (4) when exactly one space after it comes a tag. glibc never sends a hostname
 *   to /dev/log, so for its lines (2) always holds and none is taken; `logger --rfc3164` lines
 *   get theirs. The price: `Nov 28 13:40:51 Disk sda: failing` reads as host `Disk`, tag `sda`.
 *
 * `tagEnd` leaves the name's end and the PID's span in module variables, private to this file
 * and read by `parse3164` right after the call.
 */
import { decode, lastPriEnd, lastTrimNotes, lastUtf8Notes, makeMessage, makeRaw, PRI_BAD, PRI_NONE, readPri, trimEnd } from './syslog-frame';
import type { ParseNote, SyslogMessage } from './syslog-parse';
import { bsdTimeMs, bsdTimestampEnd, MAX_TIMESTAMP, rfc3339Ms } from './syslog-time';

// The bits of `ParseNote` set here, typed by it so that a change there fails to compile here
// (importing the values would make an import cycle).
const NOTE_NO_PRI: typeof ParseNote.NoPri = 1;
const NOTE_BAD_PRI: typeof ParseNote.BadPri = 2;
const NOTE_NO_TIMESTAMP: typeof ParseNote.NoTimestamp = 4;
const NOTE_NO_TAG: typeof ParseNote.NoTag = 128;

const MAX_TAG = 48;
const MAX_PID = 128;
const MAX_HOSTNAME = 255;

const C_SPACE = 0x20;
const C_DASH = 0x2d;
const C_DOT = 0x2e;
const C_ZERO = 0x30;
const C_NINE = 0x39;
const C_COLON = 0x3a;
const C_LBRACKET = 0x5b;
const C_RBRACKET = 0x5d;
const C_REPLACEMENT = 0xfffd;

// Scratch registers between `tagEnd` and its caller; valid only right after the call.
let tagAppEnd = 0;
let tagPidStart = -1;
let tagPidEnd = -1;

/**
 * Parses a datagram as RFC 3164 (with the variants listed at the top of this file), or as `raw`
 * when it has no structure. Never throws.
 */
export function parseRfc3164(payload: Buffer, nowMs: number = Date.now()): SyslogMessage {
  const s = decode(payload);
  const end = trimEnd(s);
  const notes = lastTrimNotes() | lastUtf8Notes();
  return parse3164(s, end, notes, readPri(s, end), nowMs);
}

/**
 * The decoded text, trimmed to `end`, as RFC 3164 or `raw`; `pri` is what `readPri` just
 * returned (its end is read from `lastPriEnd()`), `notes` those found so far.
 */
export function parse3164(s: string, end: number, notes: number, pri: number, nowMs: number): SyslogMessage {
  if (pri === PRI_BAD) return makeRaw(s, end, notes | NOTE_BAD_PRI);
  let i = 0;
  if (pri === PRI_NONE) notes |= NOTE_NO_PRI;
  else i = lastPriEnd();

  let timestamp: string | null = null;
  let time: number | null = null;
  let j = bsdTimestampEnd(s, i, end);
  if (j >= 0) {
    timestamp = s.substring(i, j);
    const t = bsdTimeMs(nowMs);
    time = t === t ? t : null;
  } else if (i + 20 <= end && s.charCodeAt(i + 4) === C_DASH) {
    j = i;
    const limit = i + MAX_TIMESTAMP < end ? i + MAX_TIMESTAMP : end;
    while (j < limit && s.charCodeAt(j) !== C_SPACE) j++;
    if (j === end || s.charCodeAt(j) === C_SPACE) {
      const t = rfc3339Ms(s, i, j);
      if (t === t) {
        timestamp = s.substring(i, j);
        time = t;
      }
    }
  }
  if (timestamp === null) {
    if (pri === PRI_NONE) return makeRaw(s, end, notes);
    notes |= NOTE_NO_TIMESTAMP;
  } else {
    i = j < end ? j + 1 : end;
  }

  let hostname: string | null = null;
  let app: string | null = null;
  let pid: string | null = null;
  let m = tagEnd(s, i, end);
  if (m < 0 && timestamp !== null) {
    const h = hostnameEnd(s, i, end);
    if (h >= 0) {
      m = tagEnd(s, h + 1, end);
      if (m >= 0) {
        hostname = s.substring(i, h);
        i = h + 1;
      }
    }
  }
  if (m >= 0) {
    if (tagAppEnd > i) app = s.substring(i, tagAppEnd);
    if (tagPidStart >= 0) pid = s.substring(tagPidStart, tagPidEnd);
    i = m;
  }
  if (app === null) notes |= NOTE_NO_TAG;
  return makeMessage('rfc3164', pri, timestamp, time, hostname, app, pid, null, null, s.substring(i, end), notes);
}

/**
 * A tag at `i`: returns where the message starts, with the name's end in `tagAppEnd` and the
 * PID's span in `tagPidStart`/`tagPidEnd` (-1 if none); -1 if there is no tag at `i`.
 */
function tagEnd(s: string, i: number, end: number): number {
  let j = i;
  let c = 0;
  while (j < end) {
    c = s.charCodeAt(j);
    if (c === C_COLON || c === C_LBRACKET) break;
    if (!((c > C_SPACE && c < 0x7f) || (c >= 0xa0 && c !== C_REPLACEMENT))) return -1;
    j++;
    if (j - i > MAX_TAG) return -1;
  }
  if (j >= end) return -1;
  tagAppEnd = j;
  tagPidStart = -1;
  tagPidEnd = -1;
  if (c === C_LBRACKET) {
    const p = j + 1;
    j = p;
    while (j < end) {
      c = s.charCodeAt(j);
      if (c === C_RBRACKET) break;
      if (!(c > C_SPACE && c < 0x7f) || c === C_LBRACKET) return -1;
      j++;
      if (j - p > MAX_PID) return -1;
    }
    if (j >= end || j === p) return -1;
    tagPidStart = p;
    tagPidEnd = j;
    j++;
    if (j === end) return end;
    c = s.charCodeAt(j);
    if (c === C_SPACE) return j + 1;
    if (c !== C_COLON) return -1;
  }
  j++; // the colon
  if (j === end) return end;
  return s.charCodeAt(j) === C_SPACE ? j + 1 : -1;
}

/** Index of the space after a hostname-shaped token at `i`, or -1. */
function hostnameEnd(s: string, i: number, end: number): number {
  let j = i;
  while (j < end) {
    const c = s.charCodeAt(j);
    const alnum = (c >= C_ZERO && c <= C_NINE) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
    if (!alnum) {
      if (j === i || !(c === C_DASH || c === C_DOT || c === 0x5f)) break;
    }
    j++;
    if (j - i > MAX_HOSTNAME) return -1;
  }
  return j > i && j < end && s.charCodeAt(j) === C_SPACE ? j : -1;
}
