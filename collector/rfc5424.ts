/**
 * RFC 5424, `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`: the header after the PRI,
 * the structured data and the message. The overview, and the rules for every datagram, are in
 * `syslog-parse.ts`.
 *
 * A payload is taken as 5424 only when it has a valid PRI, then `1 `, then a plausible header:
 * TIMESTAMP is `-` or a valid RFC 3339 date-time, HOSTNAME, APP-NAME, PROCID and MSGID are
 * printable US-ASCII within their RFC lengths (255, 48, 128, 32), each followed by one space.
 * `-` (NILVALUE) becomes null. Structured data is parsed with the `\"`, `\\` and `\]` escapes
 * (any other backslash is kept as written, and an unescaped `]` inside a quoted value is
 * accepted). Malformed SD does not lose the message: `structuredData` is null, the text from the
 * SD onwards is the message, and `BadStructuredData` says so. A UTF-8 BOM at the start of MSG is
 * removed and noted.
 *
 * `parseSd` leaves where the SD ended in a module variable, private to this file and read by
 * `parse5424` right after the call.
 */
import { decode, lastPriEnd, lastTrimNotes, lastUtf8Notes, makeMessage, readPri, trimEnd } from './syslog-frame';
import type { ParseNote, SdElement, SyslogMessage } from './syslog-parse';
import { MAX_TIMESTAMP, rfc3339Ms } from './syslog-time';

// The bits of `ParseNote` set here, typed by it so that a change there fails to compile here
// (importing the values would make an import cycle).
const NOTE_NO_TIMESTAMP: typeof ParseNote.NoTimestamp = 4;
const NOTE_BOM: typeof ParseNote.Bom = 32;
const NOTE_BAD_SD: typeof ParseNote.BadStructuredData = 64;
const NOTE_NO_TAG: typeof ParseNote.NoTag = 128;

const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;
const MAX_MSGID = 32;
const MAX_SD_NAME = 32;

const C_SPACE = 0x20;
const C_QUOTE = 0x22;
const C_DASH = 0x2d;
const C_ONE = 0x31;
const C_EQ = 0x3d;
const C_LBRACKET = 0x5b;
const C_BACKSLASH = 0x5c;
const C_RBRACKET = 0x5d;
const C_BOM = 0xfeff;

// Scratch register between `parseSd` and its caller; valid only right after the call.
let sdEnd = 0;

/**
 * Parses a datagram as RFC 5424; null when it is not 5424 at all (no valid PRI, no version 1,
 * or an implausible header). Malformed structured data still gives a message. Never throws.
 *
 * @param _nowMs unused (5424 timestamps are absolute); accepted so all parsers are called alike
 */
export function parseRfc5424(payload: Buffer, _nowMs?: number): SyslogMessage | null {
  const s = decode(payload);
  const end = trimEnd(s);
  const notes = lastTrimNotes() | lastUtf8Notes();
  const pri = readPri(s, end);
  return pri >= 0 ? parse5424(s, end, notes, pri) : null;
}

/**
 * The decoded text, trimmed to `end`, as RFC 5424, or null when it is not; `pri` is the valid
 * PRI `readPri` just returned (its end is read from `lastPriEnd()`), `notes` those found so far.
 */
export function parse5424(s: string, end: number, notes: number, pri: number): SyslogMessage | null {
  let i = lastPriEnd();
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
