/**
 * What a forwarder puts on the wire, before framing: one syslog message per record, in RFC 5424
 * or in the RFC 3164 shape old receivers expect, with HOSTNAME and APP-NAME optionally taken
 * from small templates such as `{name}`.
 *
 * - `rfc5424`: `<PRI>1 TIME HOSTNAME APP-NAME PROCID MSGID SD [MSG]`. TIME is the message's
 *   own timestamp when it had a readable one, else the kernel's receive time (ISO 8601 with
 *   milliseconds and the local offset, as `format.ts` writes it). PROCID is the kernel's pid.
 *   SD starts with our element (`sd_id`, default `container-syslog@32473`) carrying the
 *   container identity the kernel vouched for (runtime, id, name, pod, unit, cgroup, pid, uid,
 *   gid, comm, and how each was learnt), built by `format.ts`'s `encodeStructuredData`, which
 *   also keeps a sender from forging our SD-ID. MSG is escaped so it holds no line break.
 * - `rfc3164`: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG` in local time, for receivers that
 *   know nothing newer. It has no structured data, so the container identity travels only where
 *   the templates put it (`app_name: "{name}"` makes the TAG the container's name).
 *
 * Templates (`hostname`, `app_name`) use the variables of path templates (`path-template.ts`):
 * runtime, name, id, short_id, pod_namespace, pod_name, pod_container, pod_uid, unit, slice,
 * kind, app, facility, severity, uid, date. A variable whose value is not known renders as
 * nothing, and a template that renders as nothing at all falls back to the default field (this
 * host's name for HOSTNAME; the sender's tag, else its comm, for APP-NAME), so
 * `app_name: "{name}"` names containers and leaves host processes their own tag. The result is
 * cut to the field's printable US-ASCII alphabet (anything else becomes '_') and length (RFC
 * 5424: 255 and 48; RFC 3164: TAG 32, and neither field with '[', ']' or ':', which old parsers
 * take for the end of the tag).
 *
 * What is trusted: nothing in these strings; every field is escaped or restricted to its
 * alphabet, so a hostile container name or message cannot add a field, an SD element or a line.
 *
 * Cost: decided at construction (format, templates, SD-ID); per record one string is built. A
 * template that depends on the sender alone is rendered once per sender object (the resolver
 * shares one immutable object per cgroup) and kept in a WeakMap. `msgStart` tells the caller
 * where MSG begins, so a datagram can be cut in MSG and never in the header.
 */
import { FACILITY_NAMES, type LogRecord, type SenderCgroup, SEVERITY_NAMES } from '../collector';
import { checkSdId, DEFAULT_SD_ID, encodeStructuredData, escapeText, isoTime } from './format';
import { TEMPLATE_VARIABLES, type TemplateVariable } from './path-template';

/** The message formats a forwarder speaks. */
export type WireFormat = 'rfc5424' | 'rfc3164';

/** Every value of `WireFormat`, for config validation. */
export const WIRE_FORMATS: readonly WireFormat[] = Object.freeze(['rfc5424', 'rfc3164'] as WireFormat[]);

/** A compiled header-field template. */
export interface FieldTemplate {
  readonly template: string;
  /** True when the result depends on `rec.sender` alone. */
  readonly senderOnly: boolean;
  /** The rendered text, unknown variables as ''; not yet cut to a field's alphabet. Never throws. */
  render(rec: LogRecord): string;
}

const NO_ID = 4294967295;
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_TAG = 32;
const MAX_MSGID = 32;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + String(i));
/** Variables at or after this index depend on more than the sender. */
const FIRST_RECORD_VARIABLE = TEMPLATE_VARIABLES.indexOf('app');

class CompiledFieldTemplate implements FieldTemplate {
  readonly template: string;
  readonly senderOnly: boolean;
  private readonly lits: string[];
  private readonly vars: number[];

  constructor(template: string, lits: string[], vars: number[]) {
    this.template = template;
    this.lits = lits;
    this.vars = vars;
    this.senderOnly = vars.every((v) => v < FIRST_RECORD_VARIABLE);
  }

  render(rec: LogRecord): string {
    const lits = this.lits;
    const vars = this.vars;
    let s = lits[0];
    for (let i = 0; i < vars.length; i++) s += variableValue(rec, vars[i]) + lits[i + 1];
    return s;
  }
}

/**
 * Compiles a header-field template such as `{name}` or `{runtime}-{short_id}`. Throws an Error
 * naming the template and the problem: an unknown variable (listing the valid ones) or an
 * unbalanced brace.
 */
export function compileFieldTemplate(template: string): FieldTemplate {
  if (typeof template !== 'string' || template.length === 0) throw new Error('Empty template; write one like "{name}"');
  const lits: string[] = [];
  const vars: number[] = [];
  let lit = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch === '}') throw new Error(`Template '${template}' has an unbalanced '}'; variables are written {name}`);
    if (ch !== '{') {
      lit += ch;
      i++;
      continue;
    }
    const close = template.indexOf('}', i + 1);
    const open = template.indexOf('{', i + 1);
    if (close === -1 || (open !== -1 && open < close)) throw new Error(`Template '${template}' has an unbalanced '{'; variables are written {name}`);
    const name = template.substring(i + 1, close);
    const code = (TEMPLATE_VARIABLES as readonly string[]).indexOf(name);
    if (code === -1) throw new Error(`Unknown variable '{${name}}' in template '${template}'; valid variables: ${TEMPLATE_VARIABLES.join(', ')}`);
    lits.push(lit);
    vars.push(code);
    lit = '';
    i = close + 1;
  }
  lits.push(lit);
  return new CompiledFieldTemplate(template, lits, vars);
}

function variableValue(rec: LogRecord, v: number): string {
  const sender = rec.sender;
  const c = sender.container;
  const pod = sender.pod ?? (c === null ? null : c.pod);
  let s: string | null;
  switch (TEMPLATE_VARIABLES[v] as TemplateVariable) {
    case 'runtime':
      s = c === null ? null : c.runtime;
      break;
    case 'name':
      s = c === null ? null : c.name;
      break;
    case 'id':
      s = c === null ? null : c.id;
      break;
    case 'short_id':
      s = c === null ? null : c.shortId;
      break;
    case 'pod_namespace':
      s = pod === null ? null : pod.namespace;
      break;
    case 'pod_name':
      s = pod === null ? null : pod.name;
      break;
    case 'pod_container':
      s = pod === null ? null : pod.container;
      break;
    case 'pod_uid':
      s = pod === null ? null : pod.uid;
      break;
    case 'unit':
      s = sender.unit;
      break;
    case 'slice':
      s = sender.slice;
      break;
    case 'kind':
      s = sender.kind;
      break;
    case 'app':
      s = rec.syslog.app ?? rec.comm;
      break;
    case 'facility':
      s = FACILITY_NAMES[rec.syslog.facility] ?? null;
      break;
    case 'severity':
      s = SEVERITY_NAMES[rec.syslog.severity] ?? null;
      break;
    case 'uid':
      s = rec.uid >= 0 && rec.uid !== NO_ID ? String(rec.uid) : null;
      break;
    case 'date': {
      const d = new Date(rec.receivedUs / 1000);
      s = d.getFullYear() === d.getFullYear() ? `${String(d.getFullYear()).padStart(4, '0')}-${PAD2[d.getMonth() + 1]}-${PAD2[d.getDate()]}` : null;
      break;
    }
    default:
      s = null;
  }
  return s ?? '';
}

/**
 * `s` restricted to printable US-ASCII without space (others become '_'), and, when `tag`,
 * without '[', ']' and ':' too; cut to `max`; '' stays ''.
 */
function asciiField(s: string, max: number, tag: boolean): string {
  const n = s.length > max ? max : s.length;
  let ok = n === s.length;
  for (let i = 0; ok && i < n; i++) ok = fieldChar(s.charCodeAt(i), tag);
  if (ok) return s;
  let out = '';
  for (let i = 0; i < n; i++) out += fieldChar(s.charCodeAt(i), tag) ? s[i] : '_';
  return out;
}

function fieldChar(c: number, tag: boolean): boolean {
  return c > 0x20 && c < 0x7f && !(tag && (c === 0x5b || c === 0x5d || c === 0x3a));
}

export interface WireEncoderOptions {
  format: WireFormat;
  /** HOSTNAME when no template is given or it renders empty: this collector host's name. */
  defaultHostname: string;
  /** Template for HOSTNAME, or null. */
  hostname: string | null;
  /** Template for APP-NAME (TAG in rfc3164), or null for the sender's tag, else its comm. */
  appName: string | null;
  /** SD-ID of our element (rfc5424). */
  sdId: string;
}

/**
 * Encodes records for the wire. `encode()` returns the message without framing or newline; after
 * each call `msgStart` is the index in that string where MSG begins (its length when it has none).
 */
export class WireEncoder {
  msgStart = 0;
  private readonly format: WireFormat;
  private readonly defaultHost: string;
  private readonly hostTemplate: FieldTemplate | null;
  private readonly appTemplate: FieldTemplate | null;
  private readonly sdId: string;
  private readonly hostCache = new WeakMap<SenderCgroup, string>();
  private readonly appCache = new WeakMap<SenderCgroup, string>();
  private lastSecond = NaN;
  private lastStamp = '';

  /** Throws an Error naming the option when a template or the SD-ID is not valid. */
  constructor(options: WireEncoderOptions) {
    this.format = options.format;
    this.sdId = options.sdId ?? DEFAULT_SD_ID;
    if (this.format === 'rfc5424') checkSdId(this.sdId);
    this.defaultHost = asciiField(options.defaultHostname, MAX_HOSTNAME, this.format === 'rfc3164') || '-';
    this.hostTemplate = options.hostname === null ? null : compileFieldTemplate(options.hostname);
    this.appTemplate = options.appName === null ? null : compileFieldTemplate(options.appName);
  }

  encode(rec: LogRecord): string {
    return this.format === 'rfc5424' ? this.encode5424(rec) : this.encode3164(rec);
  }

  private host(rec: LogRecord): string {
    const t = this.hostTemplate;
    if (t === null) return this.defaultHost;
    if (t.senderOnly) {
      const hit = this.hostCache.get(rec.sender);
      if (hit !== undefined) return hit;
    }
    const s = asciiField(t.render(rec), MAX_HOSTNAME, this.format === 'rfc3164') || this.defaultHost;
    if (t.senderOnly) this.hostCache.set(rec.sender, s);
    return s;
  }

  /** The app field, or '' when neither template nor sender gives one. */
  private app(rec: LogRecord, max: number, tag: boolean): string {
    const t = this.appTemplate;
    if (t !== null) {
      if (t.senderOnly) {
        const hit = this.appCache.get(rec.sender);
        if (hit !== undefined) return hit;
      }
      const s = asciiField(t.render(rec), max, tag);
      if (t.senderOnly && s !== '') this.appCache.set(rec.sender, s);
      if (s !== '') return s;
    }
    const a = rec.syslog.app ?? rec.comm;
    return a === null ? '' : asciiField(a, max, tag);
  }

  private encode5424(rec: LogRecord): string {
    const s = rec.syslog;
    const t = s.time;
    const app = this.app(rec, MAX_APP_NAME, false);
    const msgid = s.msgid === null ? '' : asciiField(s.msgid, MAX_MSGID, false);
    const head = '<' + String(s.facility * 8 + s.severity) + '>1 ' + isoTime(t !== null && t === t ? t : rec.receivedUs / 1000) + ' ' +
      this.host(rec) + ' ' + (app === '' ? '-' : app) + ' ' + (rec.pid > 0 ? String(rec.pid) : '-') + ' ' + (msgid === '' ? '-' : msgid) + ' ' +
      encodeStructuredData(rec, this.sdId);
    if (s.message.length === 0) {
      this.msgStart = head.length;
      return head;
    }
    this.msgStart = head.length + 1;
    return head + ' ' + escapeText(s.message);
  }

  private encode3164(rec: LogRecord): string {
    const s = rec.syslog;
    const t = s.time;
    const app = this.app(rec, MAX_TAG, true);
    const head = '<' + String(s.facility * 8 + s.severity) + '>' + this.stamp3164(t !== null && t === t ? t : rec.receivedUs / 1000) + ' ' +
      this.host(rec) + ' ' + (app === '' ? '-' : app) + (rec.pid > 0 ? '[' + String(rec.pid) + ']: ' : ': ');
    this.msgStart = head.length;
    return head + escapeText(s.message);
  }

  /** `Mmm dd hh:mm:ss` (day padded with a space) in local time, cached per second. */
  private stamp3164(ms: number): string {
    const sec = Math.floor(ms / 1000);
    if (sec === this.lastSecond) return this.lastStamp;
    const d = new Date(sec * 1000);
    const day = d.getDate();
    const stamp = d.getFullYear() === d.getFullYear()
      ? `${MONTHS[d.getMonth()]} ${day < 10 ? ' ' : ''}${day} ${PAD2[d.getHours()]}:${PAD2[d.getMinutes()]}:${PAD2[d.getSeconds()]}`
      : 'Jan  1 00:00:00';
    this.lastSecond = sec;
    this.lastStamp = stamp;
    return stamp;
  }
}
