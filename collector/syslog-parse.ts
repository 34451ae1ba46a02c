/**
 * Parsers for what local programs write to /dev/log. Pure: no I/O, no logging, and they never
 * throw, whatever the bytes. Every datagram gives one `SyslogMessage`; nothing is dropped.
 *
 * Two formats arrive on a host socket, and we tell them apart from the first bytes:
 *
 * - RFC 5424, `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`. `logger --rfc5424`
 *   writes it, and so do some forwarders and language libraries. A payload is taken as 5424
 *   only when it has a valid PRI, then `1 `, then a plausible header: TIMESTAMP is `-` or a
 *   valid RFC 3339 date-time, HOSTNAME, APP-NAME, PROCID and MSGID are printable US-ASCII within
 *   their RFC lengths (255, 48, 128, 32), each followed by one space. `-` (NILVALUE) becomes
 *   null. Structured data is parsed with the `\"`, `\\` and `\]` escapes (any other backslash is
 *   kept as written, and an unescaped `]` inside a quoted value is accepted). Malformed SD does
 *   not lose the message: `structuredData` is null, the text from the SD onwards is the message,
 *   and `BadStructuredData` says so. A UTF-8 BOM at the start of MSG is removed and noted.
 *
 * - RFC 3164, as glibc `syslog()` writes it: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, with the day
 *   padded by a space (`Nov  8`). util-linux `logger` writes the same shape by default on a
 *   unix socket (`<13>Nov 28 15:15:48 root: hello`), and adds the hostname with `--rfc3164`
 *   (`<13>Nov 28 15:15:48 vm root: hello`). glibc with an empty ident writes `: msg`. Variants we
 *   accept, all noted where something was missing: no PRI (user.notice, as §4.3.3 says); no
 *   timestamp; an RFC 3339 timestamp in place of the BSD one (rsyslog-forwarded lines, some
 *   libcs); a one-digit day with one space; a hostname; no tag; `tag:`, `tag[pid]:`, and
 *   `tag[pid] ` without the colon.
 *
 * Rules where the format is ambiguous, decided here:
 *
 * - PRI is `<` + 1 to 3 digits without leading zeros + `>`, at most 191. A payload that starts
 *   with `<` but has no such PRI (`<abc>`, `<>`, `<0013>`, `<192>`) is kept whole as a `raw`
 *   message with `BadPri`: we do not guess what else in it can be trusted.
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
 * - RFC 3164 timestamps have no year or zone. They are read in the local time zone, in the year
 *   that puts them at most one day after `nowMs`, the latest such: normally this year, last
 *   year for a `Dec 31` line read on `Jan 1`, next year for a `Jan  1` line read on `Dec 31`
 *   (a sender clock slightly ahead). `Feb 29` in a year without one is read in the last leap
 *   year before; a date that never exists (`Feb 30`) keeps its text and gets `time` null.
 * - Trailing `\n`, `\r` and NUL are removed from the end of the payload before parsing, and noted;
 *   they are framing, not content. Nothing else is trimmed.
 * - The payload is decoded as UTF-8 once; invalid bytes become U+FFFD and `InvalidUtf8` is set.
 *
 * Nothing the sender writes is trusted. Hostname, tag and PID are what the sender claims about
 * itself; any process can write any of them. They are kept as claims for display and for
 * routing rules that ask for them, never to decide which container a message belongs to: that
 * comes from the kernel (see DESIGN.md). `pid` is a string for that reason, and is never parsed.
 *
 * Speed: this runs for every datagram. One decode of the whole payload, then index scanning with
 * `charCodeAt`; no regular expressions, no closures, and every result built by one object
 * literal with the same fields in the same order. Scratch values between helpers live in a few
 * module variables (the parsers are synchronous, so they cannot interleave). Local-time
 * conversion, the one costly step, is cached per hour (`localMs`); RFC 3339 times are computed
 * by arithmetic. `bench/parse-bench.ts` measured about 0.3 µs per 128-byte glibc line and 0.8 µs
 * per 5424 line with two SD elements on the development machine (2 vCPU EPYC, Node 20).
 */
import { isUtf8 } from 'node:buffer';

/** Which grammar the message was read with; `raw` means no structure was found. */
export type SyslogFormat = 'rfc3164' | 'rfc5424' | 'raw';

/** One RFC 5424 SD-ELEMENT: its SD-ID and its params, in the order sent, duplicates kept. */
export interface SdElement {
  id: string;
  params: [string, string][];
}

/** One parsed datagram. Every field is always present; absent values are null. */
export interface SyslogMessage {
  format: SyslogFormat;
  /** 0..23; 1 (user) when there was no valid PRI. */
  facility: number;
  /** 0..7; 5 (notice) when there was no valid PRI. */
  severity: number;
  /** False when PRI was missing, malformed or out of range. */
  priValid: boolean;
  /** The timestamp text exactly as sent, or null. */
  timestamp: string | null;
  /** The timestamp in ms since the epoch, or null when absent or not a real date. */
  time: number | null;
  /** The hostname the sender claims, or null. */
  hostname: string | null;
  /** TAG (RFC 3164) or APP-NAME (RFC 5424), as claimed by the sender, or null. */
  app: string | null;
  /** The PID the sender claims in its text (`[123]` or PROCID). Never trusted, never parsed. */
  pid: string | null;
  /** RFC 5424 MSGID, or null. */
  msgid: string | null;
  /** RFC 5424 SD elements; null when there are none, in 3164 and raw, and when malformed. */
  structuredData: SdElement[] | null;
  /** The message text: UTF-8 decoded, BOM and trailing `\n`, `\r`, NUL removed. */
  message: string;
  /** Bit set of `ParseNote` values. */
  notes: number;
}

/** Bits of `SyslogMessage.notes`: what was missing, malformed or removed. */
export const ParseNote = {
  /** No PRI: facility and severity are the defaults (user.notice). */
  NoPri: 1,
  /** Something like a PRI that is malformed or above 191; the message is `raw`. */
  BadPri: 2,
  /** No timestamp was found. */
  NoTimestamp: 4,
  /** Trailing `\n` or `\r` removed. */
  TrailingNewline: 8,
  /** Trailing NUL removed. */
  TrailingNul: 16,
  /** A UTF-8 BOM at the start of an RFC 5424 MSG removed. */
  Bom: 32,
  /** RFC 5424 structured data malformed; kept as text in `message`. */
  BadStructuredData: 64,
  /** No tag / APP-NAME (or an empty one). */
  NoTag: 128,
  /** The payload was not valid UTF-8; invalid bytes became U+FFFD. */
  InvalidUtf8: 256,
  /** The message is empty. */
  Empty: 512,
} as const;

/** One bit of `ParseNote`. */
export type ParseNoteBit = (typeof ParseNote)[keyof typeof ParseNote];

/** Facility names by number (RFC 5424 table 1, with the usual short names). */
export const FACILITY_NAMES: readonly string[] = Object.freeze([
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news',
  'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
]);

/** Severity names by number (RFC 5424 table 2, with the usual short names). */
export const SEVERITY_NAMES: readonly string[] = Object.freeze([
  'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug',
]);

const NOTE_NO_PRI = ParseNote.NoPri;
const NOTE_BAD_PRI = ParseNote.BadPri;
const NOTE_NO_TIMESTAMP = ParseNote.NoTimestamp;
const NOTE_TRAILING_NEWLINE = ParseNote.TrailingNewline;
const NOTE_TRAILING_NUL = ParseNote.TrailingNul;
const NOTE_BOM = ParseNote.Bom;
const NOTE_BAD_SD = ParseNote.BadStructuredData;
const NOTE_NO_TAG = ParseNote.NoTag;
const NOTE_INVALID_UTF8 = ParseNote.InvalidUtf8;
const NOTE_EMPTY = ParseNote.Empty;

const PRI_NONE = -1;
const PRI_BAD = -2;
const DAY_MS = 86_400_000;
/** Days in 400 Gregorian years, one full cycle of the calendar. */
const DAYS_PER_400_YEARS = 146_097;

const MAX_TAG = 48;
const MAX_PID = 128;
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;
const MAX_SD_NAME = 32;
/** `YYYY-MM-DDTHH:MM:SS.fffffffff+hh:mm` is 35; anything longer is not a timestamp. */
const MAX_TIMESTAMP = 40;

const C_NL = 0x0a;
const C_CR = 0x0d;
const C_SPACE = 0x20;
const C_QUOTE = 0x22;
const C_PLUS = 0x2b;
const C_DASH = 0x2d;
const C_DOT = 0x2e;
const C_ZERO = 0x30;
const C_ONE = 0x31;
const C_NINE = 0x39;
const C_COLON = 0x3a;
const C_LT = 0x3c;
const C_EQ = 0x3d;
const C_GT = 0x3e;
const C_LBRACKET = 0x5b;
const C_BACKSLASH = 0x5c;
const C_RBRACKET = 0x5d;
const C_BOM = 0xfeff;
const C_REPLACEMENT = 0xfffd;

// Scratch registers between helpers and their callers; valid only right after the call.
let priEnd = 0;
let trimNotes = 0;
let tagAppEnd = 0;
let tagPidStart = -1;
let tagPidEnd = -1;
let sdEnd = 0;
let bsdMonth = 0;
let bsdDay = 0;
let bsdHour = 0;
let bsdMinute = 0;
let bsdSecond = 0;

// Start of recently seen local hours in ms, keyed as in `localMs`; NaN keys never match.
const HOUR_CACHE_SLOTS = 64;
const hourCacheKeys = new Float64Array(HOUR_CACHE_SLOTS).fill(NaN);
const hourCacheValues = new Float64Array(HOUR_CACHE_SLOTS);
const hourCacheLinear = new Uint8Array(HOUR_CACHE_SLOTS);

// The local year of the last `nowMs` seen, and the span of ms it covers.
let yearValue = 0;
let yearStartMs = 0;
let yearEndMs = -1;

/**
 * Parses one datagram from /dev/log, RFC 5424 or RFC 3164, whichever it is; `raw` when neither
 * gives structure. Never throws.
 *
 * @param payload the datagram's bytes, as received
 * @param nowMs the receive time, to place RFC 3164 timestamps (which have no year) in a year
 */
export function parseSyslog(payload: Buffer, nowMs: number = Date.now()): SyslogMessage {
  const s = decode(payload);
  const end = trimEnd(s);
  const notes = trimNotes | utf8Notes(payload, s);
  const pri = readPri(s, end);
  if (pri >= 0) {
    const m = parse5424(s, end, notes, pri);
    if (m !== null) return m;
  }
  return parse3164(s, end, notes, pri, nowMs);
}

/**
 * Parses a datagram as RFC 3164 (with the variants listed at the top of this file), or as `raw`
 * when it has no structure. Never throws.
 */
export function parseRfc3164(payload: Buffer, nowMs: number = Date.now()): SyslogMessage {
  const s = decode(payload);
  const end = trimEnd(s);
  const notes = trimNotes | utf8Notes(payload, s);
  return parse3164(s, end, notes, readPri(s, end), nowMs);
}

/**
 * Parses a datagram as RFC 5424; null when it is not 5424 at all (no valid PRI, no version 1,
 * or an implausible header). Malformed structured data still gives a message. Never throws.
 *
 * @param _nowMs unused (5424 timestamps are absolute); accepted so all parsers are called alike
 */
export function parseRfc5424(payload: Buffer, _nowMs?: number): SyslogMessage | null {
  const s = decode(payload);
  const end = trimEnd(s);
  const notes = trimNotes | utf8Notes(payload, s);
  const pri = readPri(s, end);
  return pri >= 0 ? parse5424(s, end, notes, pri) : null;
}

/** The one place a result is built, so every result has the same fields in the same order. */
function makeMessage(
  format: SyslogFormat,
  pri: number,
  timestamp: string | null,
  time: number | null,
  hostname: string | null,
  app: string | null,
  pid: string | null,
  msgid: string | null,
  structuredData: SdElement[] | null,
  message: string,
  notes: number,
): SyslogMessage {
  const valid = pri >= 0;
  return {
    format,
    facility: valid ? pri >> 3 : 1,
    severity: valid ? pri & 7 : 5,
    priValid: valid,
    timestamp,
    time,
    hostname,
    app,
    pid,
    msgid,
    structuredData,
    message,
    notes: message.length === 0 ? notes | NOTE_EMPTY : notes,
  };
}

/** The whole text as the message: no structure found, or none trusted. */
function makeRaw(s: string, end: number, notes: number): SyslogMessage {
  return makeMessage('raw', PRI_NONE, null, null, null, null, null, null, null, s.substring(0, end),
    notes | NOTE_NO_TIMESTAMP | NOTE_NO_TAG);
}

function decode(payload: Buffer): string {
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  // Typed callers always pass a Buffer; anything else is read as bytes if it is bytes, or as empty.
  const u: unknown = payload;
  if (u instanceof Uint8Array) return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('utf8');
  return '';
}

/** `InvalidUtf8` if decoding replaced bytes. U+FFFD can also be sent as such, so only then check. */
function utf8Notes(payload: Buffer, s: string): number {
  if (s.indexOf('\uFFFD') === -1) return 0;
  const u: unknown = payload;
  return u instanceof Uint8Array && !isUtf8(u) ? NOTE_INVALID_UTF8 : 0;
}

/** End of the text without trailing `\n`, `\r`, NUL; what was removed goes to `trimNotes`. */
function trimEnd(s: string): number {
  let end = s.length;
  let notes = 0;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c === C_NL || c === C_CR) notes |= NOTE_TRAILING_NEWLINE;
    else if (c === 0) notes |= NOTE_TRAILING_NUL;
    else break;
    end--;
  }
  trimNotes = notes;
  return end;
}

/** PRI value 0..191 (its end in `priEnd`), `PRI_NONE` if the text does not start with `<`, else `PRI_BAD`. */
function readPri(s: string, end: number): number {
  if (end === 0 || s.charCodeAt(0) !== C_LT) return PRI_NONE;
  let value = 0;
  let i = 1;
  while (i < end && i <= 4) {
    const c = s.charCodeAt(i);
    if (c === C_GT) break;
    if (!(c >= C_ZERO && c <= C_NINE)) return PRI_BAD;
    if (c === C_ZERO && i === 1 && i + 1 < end && s.charCodeAt(i + 1) !== C_GT) return PRI_BAD;
    value = value * 10 + (c - C_ZERO);
    i++;
  }
  if (i === 1 || i >= end || s.charCodeAt(i) !== C_GT || value > 191) return PRI_BAD;
  priEnd = i + 1;
  return value;
}

// ---------------------------------------------------------------------------------------------
// RFC 5424

function parse5424(s: string, end: number, notes: number, pri: number): SyslogMessage | null {
  let i = priEnd;
  if (i + 2 > end || s.charCodeAt(i) !== C_ONE || s.charCodeAt(i + 1) !== C_SPACE) return null;
  i += 2;

  let j = headerTokenEnd(s, i, end, MAX_TIMESTAMP);
  if (j < 0) return null;
  let timestamp: string | null = null;
  let time: number | null = null;
  if (j !== i + 1 || s.charCodeAt(i) !== C_DASH) {
    const t = rfc3339Ms(s, i, j);
    if (t !== t) return null;
    timestamp = s.substring(i, j);
    time = t;
  } else {
    notes |= NOTE_NO_TIMESTAMP;
  }

  i = j + 1;
  j = headerTokenEnd(s, i, end, MAX_HOSTNAME);
  if (j < 0) return null;
  const hostname = nilOrText(s, i, j);

  i = j + 1;
  j = headerTokenEnd(s, i, end, MAX_APP_NAME);
  if (j < 0) return null;
  const app = nilOrText(s, i, j);
  if (app === null) notes |= NOTE_NO_TAG;

  i = j + 1;
  j = headerTokenEnd(s, i, end, MAX_PROCID);
  if (j < 0) return null;
  const pid = nilOrText(s, i, j);

  i = j + 1;
  j = headerTokenEnd(s, i, end, MAX_MSGID);
  if (j < 0) return null;
  const msgid = nilOrText(s, i, j);

  // The header is plausible: from here on it is 5424, whatever the SD looks like.
  i = j + 1;
  let sd: SdElement[] | null = null;
  let msgStart = -1;
  const c = i < end ? s.charCodeAt(i) : -1;
  if (c === C_DASH) {
    if (i + 1 === end) msgStart = end;
    else if (s.charCodeAt(i + 1) === C_SPACE) msgStart = i + 2;
  } else if (c === C_LBRACKET) {
    sd = parseSd(s, i, end);
    if (sd !== null) {
      if (sdEnd === end) msgStart = end;
      else if (s.charCodeAt(sdEnd) === C_SPACE) msgStart = sdEnd + 1;
      else sd = null;
    }
  }
  if (msgStart < 0) {
    return makeMessage('rfc5424', pri, timestamp, time, hostname, app, pid, msgid, null,
      s.substring(i, end), notes | NOTE_BAD_SD);
  }
  if (msgStart < end && s.charCodeAt(msgStart) === C_BOM) {
    msgStart++;
    notes |= NOTE_BOM;
  }
  return makeMessage('rfc5424', pri, timestamp, time, hostname, app, pid, msgid, sd,
    s.substring(msgStart, end), notes);
}

/** Index of the space ending a 1..max PRINTUSASCII header token at `i`, or -1. */
function headerTokenEnd(s: string, i: number, end: number, max: number): number {
  const limit = i + max < end ? i + max : end;
  let j = i;
  while (j < limit) {
    const c = s.charCodeAt(j);
    if (c === C_SPACE) break;
    if (!(c > C_SPACE && c < 0x7f)) return -1;
    j++;
  }
  if (j === i || j >= end || s.charCodeAt(j) !== C_SPACE) return -1;
  return j;
}

function nilOrText(s: string, i: number, j: number): string | null {
  return j === i + 1 && s.charCodeAt(i) === C_DASH ? null : s.substring(i, j);
}

/** SD elements starting at the `[` at `i`, their end in `sdEnd`; null if malformed. */
function parseSd(s: string, i: number, end: number): SdElement[] | null {
  const out: SdElement[] = [];
  while (i < end && s.charCodeAt(i) === C_LBRACKET) {
    i++;
    let j = sdNameEnd(s, i, end);
    if (j < 0) return null;
    const element: SdElement = { id: s.substring(i, j), params: [] };
    i = j;
    while (i < end && s.charCodeAt(i) === C_SPACE) {
      i++;
      j = sdNameEnd(s, i, end);
      if (j < 0 || j + 1 >= end || s.charCodeAt(j) !== C_EQ || s.charCodeAt(j + 1) !== C_QUOTE) return null;
      const name = s.substring(i, j);
      i = j + 2;
      let k = i;
      let escaped = false;
      while (k < end) {
        const c = s.charCodeAt(k);
        if (c === C_QUOTE) break;
        if (c === C_BACKSLASH) {
          escaped = true;
          k += 2;
        } else {
          k++;
        }
      }
      if (k >= end) return null;
      element.params.push([name, escaped ? unescapeSdValue(s, i, k) : s.substring(i, k)]);
      i = k + 1;
    }
    if (i >= end || s.charCodeAt(i) !== C_RBRACKET) return null;
    i++;
    out.push(element);
  }
  sdEnd = i;
  return out;
}

/** End of a 1..32 character SD-NAME at `i` (PRINTUSASCII except `=`, `]`, `"`), or -1. */
function sdNameEnd(s: string, i: number, end: number): number {
  let j = i;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (!(c > C_SPACE && c < 0x7f) || c === C_EQ || c === C_RBRACKET || c === C_QUOTE) break;
    j++;
  }
  return j === i || j - i > MAX_SD_NAME ? -1 : j;
}

/** A PARAM-VALUE with `\"`, `\\`, `\]` unescaped; other backslashes kept as written. */
function unescapeSdValue(s: string, i: number, k: number): string {
  let out = '';
  let from = i;
  let j = i;
  while (j < k) {
    if (s.charCodeAt(j) === C_BACKSLASH && j + 1 < k) {
      const n = s.charCodeAt(j + 1);
      if (n === C_QUOTE || n === C_BACKSLASH || n === C_RBRACKET) {
        out += s.substring(from, j);
        from = j + 1;
        j += 2;
        continue;
      }
    }
    j++;
  }
  return out + s.substring(from, k);
}

// ---------------------------------------------------------------------------------------------
// RFC 3164

function parse3164(s: string, end: number, notes: number, pri: number, nowMs: number): SyslogMessage {
  if (pri === PRI_BAD) return makeRaw(s, end, notes | NOTE_BAD_PRI);
  let i = 0;
  if (pri === PRI_NONE) notes |= NOTE_NO_PRI;
  else i = priEnd;

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

/**
 * End of a BSD timestamp `Mmm dd hh:mm:ss` (day padded with a space or a zero, or one digit
 * after one space) at `i`, followed by a space or the end; -1 if none. Fields go to `bsd*`.
 */
function bsdTimestampEnd(s: string, i: number, end: number): number {
  if (i + 14 > end) return -1;
  const month = monthAt(s, i);
  if (month < 0 || s.charCodeAt(i + 3) !== C_SPACE) return -1;
  // The day: " d" (glibc pads with a space), "dd", or "d".
  let j = i + 4;
  const padded = s.charCodeAt(j) === C_SPACE;
  if (padded) j++;
  let c = s.charCodeAt(j);
  if (!(c >= C_ZERO && c <= C_NINE)) return -1;
  let day = c - C_ZERO;
  c = s.charCodeAt(++j);
  if (!padded && c >= C_ZERO && c <= C_NINE) {
    day = day * 10 + (c - C_ZERO);
    c = s.charCodeAt(++j);
  }
  if (c !== C_SPACE || j + 9 > end) return -1;
  j++;
  const hour = twoDigits(s, j);
  const minute = twoDigits(s, j + 3);
  const second = twoDigits(s, j + 6);
  if (s.charCodeAt(j + 2) !== C_COLON || s.charCodeAt(j + 5) !== C_COLON) return -1;
  if (day < 1 || day > 31 || !(hour <= 23) || !(minute <= 59) || !(second <= 60)) return -1;
  j += 8;
  if (j < end && s.charCodeAt(j) !== C_SPACE) return -1;
  bsdMonth = month;
  bsdDay = day;
  bsdHour = hour;
  bsdMinute = minute;
  bsdSecond = second;
  return j;
}

/** Month 0..11 from an English three-letter abbreviation at `i`, or -1. */
function monthAt(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  const c = s.charCodeAt(i + 2);
  switch (a) {
    case 0x4a: // J
      if (b === 0x61) return c === 0x6e ? 0 : -1; // Jan
      if (b === 0x75) return c === 0x6e ? 5 : c === 0x6c ? 6 : -1; // Jun, Jul
      return -1;
    case 0x46: // F
      return b === 0x65 && c === 0x62 ? 1 : -1; // Feb
    case 0x4d: // M
      if (b !== 0x61) return -1;
      return c === 0x72 ? 2 : c === 0x79 ? 4 : -1; // Mar, May
    case 0x41: // A
      if (b === 0x70) return c === 0x72 ? 3 : -1; // Apr
      if (b === 0x75) return c === 0x67 ? 7 : -1; // Aug
      return -1;
    case 0x53: // S
      return b === 0x65 && c === 0x70 ? 8 : -1; // Sep
    case 0x4f: // O
      return b === 0x63 && c === 0x74 ? 9 : -1; // Oct
    case 0x4e: // N
      return b === 0x6f && c === 0x76 ? 10 : -1; // Nov
    case 0x44: // D
      return b === 0x65 && c === 0x63 ? 11 : -1; // Dec
    default:
      return -1;
  }
}

/** Two ASCII digits at `i` as a number, or NaN. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  if (!(a >= C_ZERO && a <= C_NINE && b >= C_ZERO && b <= C_NINE)) return NaN;
  return (a - C_ZERO) * 10 + (b - C_ZERO);
}

/** The last BSD timestamp read, placed in a year as the file comment says; NaN if impossible. */
function bsdTimeMs(nowMs: number): number {
  if (!(nowMs >= yearStartMs && nowMs < yearEndMs)) {
    const y = new Date(nowMs).getFullYear();
    if (y !== y) return NaN;
    yearValue = y;
    yearStartMs = new Date(y, 0, 1).getTime();
    yearEndMs = new Date(y + 1, 0, 1).getTime();
  }
  const limit = nowMs + DAY_MS;
  let t = localMs(yearValue);
  if (!(t <= limit)) {
    t = localMs(yearValue - 1);
    // Feb 29 read in a year after a non-leap year: the leap year before.
    if (t !== t && bsdMonth === 1 && bsdDay === 29) t = localMs(yearValue - 1 - ((yearValue - 1) % 4));
    return t <= limit ? t : NaN;
  }
  if (bsdMonth === 0 && yearEndMs <= limit) {
    const next = localMs(yearValue + 1);
    if (next <= limit) t = next;
  }
  return t;
}

/**
 * The last BSD timestamp in local time in `year`; NaN if that date does not exist.
 *
 * Converting local time with `Date` costs more than the rest of a parse, so the start of each
 * local hour is cached (64 slots, direct-mapped by year/month/day/hour) and minutes and seconds
 * are added to it. That is exact when the hour has no offset change inside it, which is checked
 * once per slot (its last second must be 3599 s after its first); an hour with a change inside,
 * such as Lord Howe's half-hour DST step at 02:00, is converted by `Date` every time. A change of
 * the process's time zone after start is not noticed.
 */
function localMs(year: number): number {
  const key = ((year * 16 + bsdMonth) * 32 + bsdDay) * 32 + bsdHour;
  const slot = key & (HOUR_CACHE_SLOTS - 1);
  if (hourCacheKeys[slot] !== key) {
    const first = localDateMs(year, bsdMonth, bsdDay, bsdHour, 0, 0);
    const last = localDateMs(year, bsdMonth, bsdDay, bsdHour, 59, 59);
    hourCacheKeys[slot] = key;
    hourCacheValues[slot] = first;
    hourCacheLinear[slot] = last - first === 3_599_000 ? 1 : 0;
  }
  if (hourCacheLinear[slot] === 1) return hourCacheValues[slot] + bsdMinute * 60_000 + bsdSecond * 1000;
  return localDateMs(year, bsdMonth, bsdDay, bsdHour, bsdMinute, bsdSecond);
}

/** A local date-time through `Date` (month 0..11), NaN if the day does not exist in that month. */
function localDateMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const d = new Date(year, month, day, hour, minute, second);
  if (year >= 0 && year < 100) d.setFullYear(year);
  return d.getDate() === day ? d.getTime() : NaN;
}

/**
 * An RFC 3339 date-time occupying exactly `[i, j)` in ms since the epoch, or NaN.
 * `YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|+hh:mm|-hh:mm)`, `t`/`z` accepted; second 60 allowed.
 */
function rfc3339Ms(s: string, i: number, j: number): number {
  if (j - i < 20) return NaN;
  const year = twoDigits(s, i) * 100 + twoDigits(s, i + 2);
  const month = twoDigits(s, i + 5);
  const day = twoDigits(s, i + 8);
  const hour = twoDigits(s, i + 11);
  const minute = twoDigits(s, i + 14);
  const second = twoDigits(s, i + 17);
  if (s.charCodeAt(i + 4) !== C_DASH || s.charCodeAt(i + 7) !== C_DASH || (s.charCodeAt(i + 10) | 0x20) !== 0x74 ||
    s.charCodeAt(i + 13) !== C_COLON || s.charCodeAt(i + 16) !== C_COLON) return NaN;
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
    hour <= 23 && minute <= 59 && second <= 60)) return NaN;
  let k = i + 19;
  let ms = 0;
  if (s.charCodeAt(k) === C_DOT) {
    k++;
    const from = k;
    while (k < j) {
      const c = s.charCodeAt(k);
      if (!(c >= C_ZERO && c <= C_NINE)) break;
      if (k - from < 3) ms += (c - C_ZERO) * (k === from ? 100 : k === from + 1 ? 10 : 1);
      k++;
    }
    if (k === from || k - from > 9) return NaN;
  }
  let offsetMin = 0;
  const c = s.charCodeAt(k);
  if ((c | 0x20) === 0x7a) {
    if (k + 1 !== j) return NaN;
  } else if (c === C_PLUS || c === C_DASH) {
    const oh = twoDigits(s, k + 1);
    const om = twoDigits(s, k + 4);
    if (k + 6 !== j || s.charCodeAt(k + 3) !== C_COLON || !(oh <= 23 && om <= 59)) return NaN;
    offsetMin = (c === C_DASH ? -1 : 1) * (oh * 60 + om);
  } else {
    return NaN;
  }
  const seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  return seconds * 1000 + ms - offsetMin * 60_000;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (month 1..12), by arithmetic: `Date.UTC`
 * costs more than the whole header scan, and reads years 0..99 as 1900..1999. The year is
 * counted from March so that the leap day is the last day of its year.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * DAYS_PER_400_YEARS + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
