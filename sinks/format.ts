/**
 * Encoders: one `LogRecord` in, exactly one line out. A file sink writes these lines as they
 * are, a forwarder frames them, and whoever reads the file later counts records by counting
 * lines; so every encoder returns one line ending in '\n' that contains no other '\n' or '\r',
 * whatever bytes the datagram held. One datagram is always one line.
 *
 * Three formats, chosen once by `createEncoder` (nothing is decided per record):
 *
 * - `text`, for people: `TIME WHO APP[PID]: MESSAGE`. TIME is ISO 8601 with milliseconds and a
 *   numeric offset (`2026-11-28T15:16:03.000+01:00`, always `+00:00` rather than `Z`), from the
 *   message's own timestamp when it had a readable one, else the kernel's receive time. WHO is
 *   the container's name, `host` for host senders, `unknown` when the kernel gave no cgroup.
 *   APP is the sender's tag, else its comm, else `-`; `[PID]` is the pid the sender claimed in
 *   its text and is left out when it claimed none. Every field is escaped: C0 controls other
 *   than tab, DEL and C1 controls become `\xNN` (lower-case hex), U+2028 and U+2029 become
 *   `\u2028` and `\u2029`, and a backslash becomes `\\`, so the escaping can be undone exactly.
 * - `json`, for machines: one object per line, keys always in the same order (`JSON_KEYS`).
 *   Strings are JSON strings, with C1 controls, U+2028 and U+2029 written as `\uXXXX` too, since
 *   some line readers take NEL and the Unicode separators for line breaks. Kernel facts that are
 *   absent are null: `pid` when the kernel gave none (<= 0), `uid`/`gid` when the datagram had
 *   no credentials (4294967295). `app` and `syslog_pid` are the sender's claims, null when it
 *   made none; `comm` is the kernel's (or the tag, as `attribution.comm` says).
 * - `rfc5424`, for another syslog tier: `<PRI>1 TIME HOSTNAME APP PROCID MSGID SD MSG`.
 *   HOSTNAME is this collector host's name (an option), PROCID the kernel pid, MSGID the
 *   message's own. Header fields keep to printable US-ASCII (anything else becomes '_') and to
 *   the RFC's lengths (255, 48, 128, 32). SD starts with our element, `sdId` (default
 *   `container-syslog@32473`), holding what the kernel told us about the sender, then the
 *   sender's own SD elements, except any that use our SD-ID (a sender must not be able to
 *   forge the identity we vouch for). MSG is escaped as in `text` and carries no BOM.
 *
 * What is trusted: nothing in these strings. Container names, labels, comm, tags and messages
 * are written by whoever runs the container or the process; escaping is what keeps them inside
 * their field and their line. Identity fields come from the record, which took them from the
 * kernel; claims are labelled as claims.
 *
 * Bounds and cost: an encoder allocates its output string and little else. Escaping scans once
 * and returns the input itself when nothing needs escaping (the common case). Times are built
 * by arithmetic with the local offset cached per hour (checked at both ends of the hour, so an
 * hour with an offset change is converted with `Date` every time) and the date text cached per
 * day. A change of the process's time zone after start is not noticed. The sender's part of a
 * json or rfc5424 line (cgroup, container, labels, pod, unit) is built once per `SenderCgroup`
 * object and kept in a WeakMap, which relies on the resolver sharing one object per cgroup and
 * never changing it (a changed sender is a new object). Message length is not capped here: the
 * receive slot already bounds it.
 */
import { FACILITY_NAMES, type LogRecord, type SenderCgroup, SEVERITY_NAMES } from '../collector';

/** The formats `createEncoder` knows. */
export type LogFormat = 'text' | 'json' | 'rfc5424';

/** Every value of `LogFormat`, for config validation and messages. */
export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(['text', 'json', 'rfc5424'] as LogFormat[]);

/** Turns one record into one line, ending in '\n', with no other '\n' or '\r'. */
export type Encoder = (rec: LogRecord) => string;

/**
 * The SD-ID of our RFC 5424 element. 32473 is the enterprise number reserved for documentation
 * (RFC 5612); operators who forward to a shared tier should set their own `name@<their PEN>`.
 */
export const DEFAULT_SD_ID = 'container-syslog@32473';

/** The keys of a `json` line, in the order they are written. */
export const JSON_KEYS: readonly string[] = Object.freeze([
  'time', 'received', 'facility', 'severity', 'app', 'syslog_pid', 'pid', 'uid', 'gid', 'comm', 'cgroup',
  'container', 'pod', 'attribution', 'message',
]);

export interface EncoderOptions {
  /** HOSTNAME of `rfc5424` lines: this collector host's name. Default '-' (NILVALUE). */
  hostname: string;
  /** SD-ID of our `rfc5424` element; see `DEFAULT_SD_ID`. */
  sdId: string;
  /** Write times in UTC (`+00:00`) instead of the process's local time zone. Default false. */
  utc: boolean;
}

/** The uid and gid the receiver reports when a datagram carried no credentials. */
const NO_ID = 4294967295;

/** RFC 5424 header field lengths (§6). */
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_MSGID = 32;
const MAX_SD_NAME = 32;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: what four year digits can hold. */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));
const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + String(i));
const PAD3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

// Time caches: the local offset of one UTC hour, and the date text of one day. Encoders are
// synchronous, so these module variables cannot be seen half-updated.
let hourKey = NaN;
let hourOffsetMin = 0;
let hourOffsetText = '+00:00';
/** False when the cached hour has an offset change inside it: convert every time then. */
let hourLinear = true;
let dayKey = NaN;
let dayText = '';

// Sender-derived parts of json and rfc5424 lines, per sender object: the resolver shares one
// object per cgroup id and never changes it, so these are built once per sender, not per record.
const senderJsonCache = new WeakMap<SenderCgroup, string>();
const senderSdCache = new WeakMap<SenderCgroup, string>();

/**
 * Creates the encoder for `format`. Options are checked here, once: an unknown format or an
 * invalid `sdId` throws, naming what is accepted.
 */
export function createEncoder(format: LogFormat, options: Partial<EncoderOptions> = {}): Encoder {
  const utc = options.utc === true;
  switch (format) {
    case 'text':
      return (rec) => encodeText(rec, utc);
    case 'json':
      return (rec) => encodeJson(rec, utc);
    case 'rfc5424': {
      const hostname = headerField(options.hostname ?? '-', MAX_HOSTNAME);
      const sdId = options.sdId ?? DEFAULT_SD_ID;
      checkSdId(sdId);
      return (rec) => encodeRfc5424(rec, hostname, sdId, utc);
    }
    default:
      throw new Error(`Unknown log format '${String(format)}'; expected one of: ${LOG_FORMATS.join(', ')}`);
  }
}

/**
 * Throws unless `sdId` is a private RFC 5424 SD-ID, `name@digits`: at most 32 printable US-ASCII
 * characters without '=', ' ', ']' or '"'. IDs without '@' are reserved for IANA.
 */
export function checkSdId(sdId: string): void {
  const at = typeof sdId === 'string' ? sdId.indexOf('@') : -1;
  let ok = at > 0 && at < sdId.length - 1 && sdId.length <= MAX_SD_NAME;
  for (let i = 0; ok && i < sdId.length; i++) {
    const c = sdId.charCodeAt(i);
    ok = i > at ? c >= 0x30 && c <= 0x39 : sdNameChar(c) && (c !== 0x40 || i === at);
  }
  if (!ok) {
    throw new Error(
      `Invalid sd_id '${String(sdId)}': expected 'name@enterprise-number' (at most 32 printable ASCII ` +
        `characters without '=', ' ', ']' or '"'), e.g. '${DEFAULT_SD_ID}'`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Formats

function encodeText(rec: LogRecord, utc: boolean): string {
  const s = rec.syslog;
  const sender = rec.sender;
  const container = sender.container;
  const who = container !== null ? escapeText(container.name) : sender.kind === 'host' || sender.kind === 'root' ? 'host' : 'unknown';
  const app = s.app ?? rec.comm;
  const head = isoTime(rec.receivedUs / 1000, utc) + ' ' + who + ' ' + (app === null ? '-' : escapeText(app));
  return (s.pid === null ? head : head + '[' + escapeText(s.pid) + ']') + ': ' + escapeText(s.message) + '\n';
}

function encodeJson(rec: LogRecord, utc: boolean): string {
  const s = rec.syslog;
  const hasCreds = rec.uid !== NO_ID;
  return '{"time":"' + recordTime(rec, utc) +
    '","received":"' + isoTime(rec.receivedUs / 1000, utc) +
    '","facility":' + jsonString(facilityName(s.facility)) +
    ',"severity":' + jsonString(severityName(s.severity)) +
    ',"app":' + jsonString(s.app) +
    ',"syslog_pid":' + jsonString(s.pid) +
    ',"pid":' + (rec.pid > 0 ? String(rec.pid) : 'null') +
    ',"uid":' + (hasCreds ? String(rec.uid) : 'null') +
    ',"gid":' + (hasCreds && rec.gid !== NO_ID ? String(rec.gid) : 'null') +
    ',"comm":' + jsonString(rec.comm) +
    senderJson(rec.sender) +
    ',"attribution":{"cgroup":' + jsonString(rec.attribution.cgroup) +
    ',"comm":' + jsonString(rec.attribution.comm) +
    '},"message":' + jsonString(s.message) + '}\n';
}

/** `,"cgroup":…,"container":…,"pod":…` for a sender, built once per sender object. */
function senderJson(sender: SenderCgroup): string {
  const hit = senderJsonCache.get(sender);
  if (hit !== undefined) return hit;
  const container = sender.container;
  const pod = sender.pod ?? (container !== null ? container.pod : null);
  const text = ',"cgroup":' + jsonString(sender.path) +
    ',"container":' + (container === null ? 'null'
      : '{"runtime":' + jsonString(container.runtime) +
        ',"id":' + jsonString(container.id) +
        ',"name":' + jsonString(container.name) +
        ',"image":' + jsonString(container.image) +
        ',"labels":' + jsonText(JSON.stringify(container.labels)) + '}') +
    ',"pod":' + (pod === null ? 'null'
      : '{"uid":' + jsonString(pod.uid) +
        ',"namespace":' + jsonString(pod.namespace) +
        ',"name":' + jsonString(pod.name) +
        ',"container":' + jsonString(pod.container) + '}');
  senderJsonCache.set(sender, text);
  return text;
}

function encodeRfc5424(rec: LogRecord, hostname: string, sdId: string, utc: boolean): string {
  const s = rec.syslog;
  const app = s.app ?? rec.comm;
  const head = '<' + String(s.facility * 8 + s.severity) + '>1 ' + recordTime(rec, utc) + ' ' + hostname + ' ' +
    (app === null ? '-' : headerField(app, MAX_APP_NAME)) + ' ' +
    (rec.pid > 0 ? String(rec.pid) : '-') + ' ' +
    (s.msgid === null ? '-' : headerField(s.msgid, MAX_MSGID)) + ' ' +
    encodeStructuredData(rec, sdId);
  return s.message.length === 0 ? head + '\n' : head + ' ' + escapeText(s.message) + '\n';
}

/**
 * The STRUCTURED-DATA field of an RFC 5424 line for `rec`: our element `[sdId …]` with the
 * params that are known, in this order: runtime, id, name (container); pod_uid, pod_namespace,
 * pod_name, pod_container; unit; cgroup; pid, uid, gid (kernel credentials); comm; attr_cgroup,
 * attr_comm (how cgroup and comm were learnt, always present). Then the sender's own SD
 * elements as it sent them, minus any that use `sdId`. Param values are escaped for SD (`"`,
 * `\`, `]`) and for the line (controls as `\xNN`); names keep to the SD-NAME alphabet.
 * `sdId` is not checked here (`createEncoder` checks its option); pass a valid one.
 */
export function encodeStructuredData(rec: LogRecord, sdId: string = DEFAULT_SD_ID): string {
  let sd = '[' + sdId + senderSd(rec.sender);
  if (rec.pid > 0) sd += ' pid="' + String(rec.pid) + '"';
  if (rec.uid !== NO_ID) sd += ' uid="' + String(rec.uid) + '"';
  if (rec.gid !== NO_ID) sd += ' gid="' + String(rec.gid) + '"';
  if (rec.comm !== null) sd += ' comm="' + sdValue(rec.comm) + '"';
  sd += ' attr_cgroup="' + sdValue(rec.attribution.cgroup) + '" attr_comm="' + sdValue(rec.attribution.comm) + '"]';
  const theirs = rec.syslog.structuredData;
  if (theirs !== null) {
    for (let i = 0; i < theirs.length; i++) {
      const el = theirs[i];
      const id = sdName(el.id);
      if (id === sdId) continue;
      sd += '[' + id;
      const params = el.params;
      for (let j = 0; j < params.length; j++) sd += ' ' + sdName(params[j][0]) + '="' + sdValue(params[j][1]) + '"';
      sd += ']';
    }
  }
  return sd;
}

/** The sender's SD params (container, pod, unit, cgroup), built once per sender object. */
function senderSd(sender: SenderCgroup): string {
  const hit = senderSdCache.get(sender);
  if (hit !== undefined) return hit;
  const container = sender.container;
  const pod = sender.pod ?? (container !== null ? container.pod : null);
  let sd = '';
  if (container !== null) {
    sd += ' runtime="' + sdValue(container.runtime) + '" id="' + sdValue(container.id) + '" name="' + sdValue(container.name) + '"';
  }
  if (pod !== null) {
    sd += ' pod_uid="' + sdValue(pod.uid) + '"';
    if (pod.namespace !== null) sd += ' pod_namespace="' + sdValue(pod.namespace) + '"';
    if (pod.name !== null) sd += ' pod_name="' + sdValue(pod.name) + '"';
    if (pod.container !== null) sd += ' pod_container="' + sdValue(pod.container) + '"';
  }
  if (sender.unit !== null) sd += ' unit="' + sdValue(sender.unit) + '"';
  if (sender.path !== null) sd += ' cgroup="' + sdValue(sender.path) + '"';
  senderSdCache.set(sender, sd);
  return sd;
}

// ---------------------------------------------------------------------------------------------
// Times

/** The record's time: the message's own timestamp when it had one, else the receive time. */
function recordTime(rec: LogRecord, utc: boolean): string {
  const t = rec.syslog.time;
  return isoTime(t !== null && t === t ? t : rec.receivedUs / 1000, utc);
}

/**
 * `ms` (since the epoch) as ISO 8601 with milliseconds and a numeric offset, in local time or
 * UTC: `2026-11-28T15:16:03.042+01:00`. Clamped to years 0000..9999; NaN reads as the epoch.
 */
export function isoTime(ms: number, utc = false): string {
  let t = Math.floor(ms);
  // Messages of one batch mostly share their millisecond: the last answer is kept.
  if (t === lastIsoMs && utc === lastIsoUtc) return lastIsoText;
  if (!(t >= MIN_TIME_MS && t <= MAX_TIME_MS)) t = t !== t ? 0 : t < MIN_TIME_MS ? MIN_TIME_MS : MAX_TIME_MS;
  let offsetMin = 0;
  let offsetText = '+00:00';
  if (!utc) {
    const hk = Math.floor(t / HOUR_MS);
    if (hk !== hourKey) {
      const first = localOffsetMin(hk * HOUR_MS);
      hourKey = hk;
      hourOffsetMin = first;
      hourOffsetText = formatOffset(first);
      hourLinear = localOffsetMin(hk * HOUR_MS + HOUR_MS - 1) === first;
    }
    if (hourLinear) {
      offsetMin = hourOffsetMin;
      offsetText = hourOffsetText;
    } else {
      offsetMin = localOffsetMin(t);
      offsetText = formatOffset(offsetMin);
    }
  }
  const local = t + offsetMin * 60_000;
  const dk = Math.floor(local / DAY_MS);
  if (dk !== dayKey) {
    const d = new Date(dk * DAY_MS);
    const y = d.getUTCFullYear();
    dayText = (y < 0 ? '0000' : y < 1000 ? String(y).padStart(4, '0') : String(y)) + '-' + PAD2[d.getUTCMonth() + 1] + '-' + PAD2[d.getUTCDate()] + 'T';
    dayKey = dk;
  }
  let rest = local - dk * DAY_MS;
  const h = Math.floor(rest / HOUR_MS);
  rest -= h * HOUR_MS;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  const text = dayText + PAD2[h] + ':' + PAD2[m] + ':' + PAD2[sec] + '.' + PAD3[rest - sec * 1000] + offsetText;
  lastIsoMs = Math.floor(ms);
  lastIsoUtc = utc;
  lastIsoText = text;
  return text;
}

let lastIsoMs = NaN;
let lastIsoUtc = false;
let lastIsoText = '';

/** Minutes east of UTC at `ms` in the process's time zone, rounded to whole minutes. */
function localOffsetMin(ms: number): number {
  const o = Math.round(-new Date(ms).getTimezoneOffset());
  return o === o ? o : 0;
}

function formatOffset(min: number): string {
  const a = min < 0 ? -min : min;
  return (min < 0 ? '-' : '+') + PAD2[Math.floor(a / 60) % 100] + ':' + PAD2[a % 60];
}

// ---------------------------------------------------------------------------------------------
// Escaping

/** True for what `escapeText` rewrites: C0 but tab, backslash, DEL, C1, U+2028, U+2029. */
/** Exactly the characters escapedInText() accepts. */
const NEEDS_TEXT_ESCAPE = /[\x00-\x08\x0a-\x1f\x5c\x7f-\x9f\u2028\u2029]/;

function escapedInText(c: number): boolean {
  return c < 0x20 ? c !== 0x09 : c < 0x7f ? c === 0x5c : c <= 0x9f || c === 0x2028 || c === 0x2029;
}

/**
 * Makes `s` safe inside one line: C0 controls except tab, DEL and C1 controls become `\xNN`,
 * U+2028/U+2029 become `\u2028`/`\u2029`, and `\` becomes `\\`. Reversible; returns `s` itself
 * when nothing needs escaping.
 */
export function escapeText(s: string): string {
  // The common case, nothing to escape, is decided by one regex scan (about 2× faster than a
  // charCodeAt loop in V8); the loop below runs only for lines that need it.
  if (!NEEDS_TEXT_ESCAPE.test(s)) return s;
  const n = s.length;
  let i = 0;
  while (i < n && !escapedInText(s.charCodeAt(i))) i++;
  if (i === n) return s;
  let out = s.substring(0, i);
  let from = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!escapedInText(c)) continue;
    if (from < i) out += s.substring(from, i);
    out += escapeChar(c);
    from = i + 1;
  }
  return from < n ? out + s.substring(from) : out;
}

function escapeChar(c: number): string {
  if (c === 0x5c) return '\\\\';
  if (c === 0x2028) return '\\u2028';
  if (c === 0x2029) return '\\u2029';
  return '\\x' + HEX2[c];
}

/** An SD-PARAM value: `escapeText`, plus `"` and `]` escaped with a backslash (RFC 5424 §6.3.3). */
function sdValue(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5d || escapedInText(c)) break;
    i++;
  }
  if (i === n) return s;
  let out = s.substring(0, i);
  let from = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    const quote = c === 0x22 || c === 0x5d;
    if (!quote && !escapedInText(c)) continue;
    if (from < i) out += s.substring(from, i);
    out += quote ? (c === 0x22 ? '\\"' : '\\]') : escapeChar(c);
    from = i + 1;
  }
  return from < n ? out + s.substring(from) : out;
}

function sdNameChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x3d && c !== 0x5d && c !== 0x22;
}

/** An SD-ID or PARAM-NAME: 1..32 printable US-ASCII without '=', ' ', ']', '"'; others become '_'. */
function sdName(s: string): string {
  const n = s.length > MAX_SD_NAME ? MAX_SD_NAME : s.length;
  if (n === 0) return '_';
  let ok = n === s.length;
  for (let i = 0; ok && i < n; i++) ok = sdNameChar(s.charCodeAt(i));
  if (ok) return s;
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += sdNameChar(c) ? s[i] : '_';
  }
  return out;
}

/** A header field: printable US-ASCII (others become '_'), at most `max` long, '-' when empty. */
function headerField(s: string, max: number): string {
  const n = s.length > max ? max : s.length;
  if (n === 0) return '-';
  let ok = n === s.length;
  for (let i = 0; ok && i < n; i++) {
    const c = s.charCodeAt(i);
    ok = c > 0x20 && c < 0x7f;
  }
  if (ok) return s;
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c > 0x20 && c < 0x7f ? s[i] : '_';
  }
  return out;
}

const JSON_EXTRA_TEST = /[\u0080-\u009f\u2028\u2029]/;
const JSON_EXTRA = /[\u0080-\u009f\u2028\u2029]/g;

function jsonUnicodeEscape(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}

/** JSON text with C1 controls, U+2028 and U+2029 written as `\uXXXX` (still valid JSON). */
function jsonText(json: string): string {
  return JSON_EXTRA_TEST.test(json) ? json.replace(JSON_EXTRA, jsonUnicodeEscape) : json;
}

/**
 * A JSON string literal, or `null`. Plain printable ASCII (the common case) is quoted as it is;
 * anything else goes through JSON.stringify and `jsonText`.
 */
function jsonString(s: string | null): string {
  if (s === null) return 'null';
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) break;
    i++;
  }
  return i === n ? '"' + s + '"' : jsonText(JSON.stringify(s));
}

function facilityName(f: number): string {
  return FACILITY_NAMES[f] ?? String(f);
}

function severityName(s: number): string {
  return SEVERITY_NAMES[s] ?? String(s);
}
