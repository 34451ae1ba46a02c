/**
 * Syslog timestamps: the BSD `Mmm dd hh:mm:ss` of RFC 3164 and the RFC 3339 date-time of RFC
 * 5424 (which some 3164 senders write too), read at an index of the decoded text into ms since
 * the epoch. No I/O and never throws; the overview of the parsers is in `syslog-parse.ts`.
 *
 * - RFC 3164 timestamps have no year or zone. They are read in the local time zone, in the year
 *   that puts them at most one day after `nowMs`, the latest such: normally this year, last
 *   year for a `Dec 31` line read on `Jan 1`, next year for a `Jan  1` line read on `Dec 31`
 *   (a sender clock slightly ahead). `Feb 29` in a year without one is read in the last leap
 *   year before; a date that never exists (`Feb 30`) keeps its text and gets `time` null.
 * - RFC 3339 date-times carry their offset and are computed by arithmetic, without `Date`.
 *
 * State, all private to this file: `bsdTimestampEnd` leaves the fields it read in the `bsd*`
 * variables for `bsdTimeMs`, which must be called right after it (the parsers are synchronous,
 * so calls cannot interleave); the local year of the last `nowMs` is kept with the span of ms it
 * covers; and local-time conversion, the one costly step, is cached per hour (`localMs`).
 */

const DAY_MS = 86_400_000;
/** Days in 400 Gregorian years, one full cycle of the calendar. */
const DAYS_PER_400_YEARS = 146_097;
/** `YYYY-MM-DDTHH:MM:SS.fffffffff+hh:mm` is 35; anything longer is not a timestamp. */
export const MAX_TIMESTAMP = 40;

const C_SPACE = 0x20;
const C_PLUS = 0x2b;
const C_DASH = 0x2d;
const C_DOT = 0x2e;
const C_ZERO = 0x30;
const C_NINE = 0x39;
const C_COLON = 0x3a;

// The fields of the last BSD timestamp read by `bsdTimestampEnd`; valid only right after it.
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
 * End of a BSD timestamp `Mmm dd hh:mm:ss` (day padded with a space or a zero, or one digit
 * after one space) at `i`, followed by a space or the end; -1 if none. Fields go to `bsd*`.
 */
export function bsdTimestampEnd(s: string, i: number, end: number): number {
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

/** The last BSD timestamp read, placed in a year as the comment at the top says; NaN if impossible. */
export function bsdTimeMs(nowMs: number): number {
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
export function rfc3339Ms(s: string, i: number, j: number): number {
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
