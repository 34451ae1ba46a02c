/**
 * What every syslog parser does first, and the one place a result is built: the payload decoded
 * as UTF-8 once, trailing framing (`\n`, `\r`, NUL) found, the PRI read. Internal to the
 * parsers; the rules they follow are in the overview in `syslog-parse.ts`.
 *
 * `decode`, `trimEnd` and `readPri` return one value and leave a second in a module variable,
 * private to this file and read through `lastUtf8Notes()`, `lastTrimNotes()` and `lastPriEnd()`
 * right after the call (the parsers are synchronous, so calls cannot interleave).
 */
import { isUtf8 } from 'node:buffer';
import type { ParseNote, SdElement, SyslogFormat, SyslogMessage } from './syslog-parse';

// The bits of `ParseNote` set here, typed by it so that a change there fails to compile here
// (importing the values would make an import cycle).
const NOTE_NO_TIMESTAMP: typeof ParseNote.NoTimestamp = 4;
const NOTE_TRAILING_NEWLINE: typeof ParseNote.TrailingNewline = 8;
const NOTE_TRAILING_NUL: typeof ParseNote.TrailingNul = 16;
const NOTE_NO_TAG: typeof ParseNote.NoTag = 128;
const NOTE_INVALID_UTF8: typeof ParseNote.InvalidUtf8 = 256;
const NOTE_EMPTY: typeof ParseNote.Empty = 512;

/** `readPri`: the text does not start with `<`. */
export const PRI_NONE = -1;
/** `readPri`: the text starts with `<` but not with a valid PRI. */
export const PRI_BAD = -2;

const C_NL = 0x0a;
const C_CR = 0x0d;
const C_ZERO = 0x30;
const C_NINE = 0x39;
const C_LT = 0x3c;
const C_GT = 0x3e;

// Scratch registers between helpers and their callers; valid only right after the call.
let priEnd = 0;
let trimNotes = 0;
let utf8Notes = 0;

/** The one place a result is built, so every result has the same fields in the same order. */
export function makeMessage(
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
export function makeRaw(s: string, end: number, notes: number): SyslogMessage {
  return makeMessage('raw', PRI_NONE, null, null, null, null, null, null, null, s.substring(0, end),
    notes | NOTE_NO_TIMESTAMP | NOTE_NO_TAG);
}

/**
 * `bytes[start, end)` as text, decoded as UTF-8 once; invalid bytes become U+FFFD, and then
 * `lastUtf8Notes()` is `InvalidUtf8` (U+FFFD can also be sent as such, so only then are the
 * bytes checked). No Buffer view is made: the receive path reads every datagram of a batch out
 * of one shared buffer.
 */
export function decodeRange(bytes: Buffer, start: number, end: number): string {
  const s = bytes.toString('utf8', start, end);
  utf8Notes = s.indexOf('\uFFFD') === -1 || isUtf8(bytes.subarray(start, end)) ? 0 : NOTE_INVALID_UTF8;
  return s;
}

/** A whole payload, as `decodeRange` decodes a range of one. */
export function decode(payload: Buffer): string {
  // Typed callers always pass a Buffer; anything else is read as bytes if it is bytes, or as empty.
  const u: unknown = payload;
  if (Buffer.isBuffer(u)) return decodeRange(u, 0, u.length);
  if (u instanceof Uint8Array) return decodeRange(Buffer.from(u.buffer, u.byteOffset, u.byteLength), 0, u.byteLength);
  utf8Notes = 0;
  return '';
}

/** `InvalidUtf8` if the last `decode` or `decodeRange` replaced bytes. */
export function lastUtf8Notes(): number {
  return utf8Notes;
}

/** End of the text without trailing `\n`, `\r`, NUL; what was removed goes to `trimNotes`. */
export function trimEnd(s: string): number {
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

/** What the last `trimEnd` removed, as `TrailingNewline` and `TrailingNul` notes. */
export function lastTrimNotes(): number {
  return trimNotes;
}

/** PRI value 0..191 (its end in `priEnd`, see `lastPriEnd`), `PRI_NONE` if the text does not start with `<`, else `PRI_BAD`. */
export function readPri(s: string, end: number): number {
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

/** Where the text after the PRI starts, after a `readPri` that found a valid one. */
export function lastPriEnd(): number {
  return priEnd;
}
