/**
 * Path templates: where below the base directory a record's file lives, e.g.
 * `{runtime}/{name}/syslog.log` → `docker/web/syslog.log`.
 *
 * Values come from container metadata and sender text, so they are hostile: a container can be
 * named `../../etc`, a label can hold a newline, a tag can be 300 bytes of emoji. The rules that
 * keep every rendered path one plain name per directory level, below the base:
 *
 * - The template is split at '/' when it is compiled, never the rendered text: a value can
 *   never add a directory level, whatever it holds.
 * - Each rendered segment is sanitised (`sanitizeSegment`): '/', '\', NUL and control
 *   characters (C0, DEL, C1, U+2028/2029) and unpaired surrogates become '_'; a leading '.'
 *   becomes '_' (so no segment is '.', '..' or hidden); an empty segment becomes '_'; the
 *   segment is cut to `MAX_SEGMENT_BYTES` bytes of UTF-8 on a character boundary.
 *   `../../etc` as a name renders as `_._.._etc`.
 * - A value that is not known (no container, no pod, no uid) renders as `_unknown`.
 * - The native open (`openLogFile`) walks the segments with O_NOFOLLOW and refuses '.', '..',
 *   '/' and NUL again: this file is the first line of defence, not the only one.
 *
 * Config mistakes are thrown by `compilePathTemplate`, naming the template, the problem and
 * the accepted variables: an unknown variable (with the nearest valid name suggested), an
 * unbalanced or empty brace, an empty segment (`a//b`, a leading or trailing '/'), or literal
 * text that sanitising would change (`.hidden`, a backslash, a control character). Rendering
 * is pure and never throws.
 *
 * What is trusted: only the kernel-derived identity (`rec.sender`) and the kernel's uid and
 * receive time. `app` is the sender's own claim (its tag, else its comm); a template that uses
 * it lets senders choose among file names, never a directory outside the base.
 *
 * Cost: compiling splits and checks once; rendering concatenates literals and values and scans
 * each segment once. `senderOnly` says the result depends on `rec.sender` alone, so a caller may
 * cache it per sender object (the resolver shares one object per cgroup).
 */
import { FACILITY_NAMES, type LogRecord, SEVERITY_NAMES } from '../collector';

/** The variables a template may use, in the order they are listed in error messages. */
export const TEMPLATE_VARIABLES = Object.freeze([
  'runtime', 'name', 'id', 'short_id', 'pod_namespace', 'pod_name', 'pod_container', 'pod_uid',
  'unit', 'slice', 'kind', 'app', 'facility', 'severity', 'uid', 'date',
] as const);

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** What a variable renders as when its value is not known. */
export const MISSING_VALUE = '_unknown';

/** The longest rendered segment, in bytes of UTF-8. */
export const MAX_SEGMENT_BYTES = 128;

/** A compiled template. */
export interface PathTemplate {
  /** The template as written. */
  readonly template: string;
  /** The variables it uses, in order of appearance. */
  readonly variables: readonly TemplateVariable[];
  /** True when `render` depends on `rec.sender` alone (no app, facility, severity, uid, date). */
  readonly senderOnly: boolean;
  /** The sanitised path segments for `rec`: a new array each call. Never throws. */
  render(rec: LogRecord): string[];
}

// Variable codes, indexes into TEMPLATE_VARIABLES.
const V_RUNTIME = 0;
const V_NAME = 1;
const V_ID = 2;
const V_SHORT_ID = 3;
const V_POD_NAMESPACE = 4;
const V_POD_NAME = 5;
const V_POD_CONTAINER = 6;
const V_POD_UID = 7;
const V_UNIT = 8;
const V_SLICE = 9;
const V_KIND = 10;
const V_APP = 11;
const V_FACILITY = 12;
const V_SEVERITY = 13;
const V_UID = 14;
const V_DATE = 15;

const NO_ID = 4294967295;

/**
 * One segment: `lits[0] + value(vars[0]) + lits[1] + … + lits[k]`. `fixed` is the whole segment
 * when it has no variables.
 */
interface CompiledSegment {
  lits: string[];
  vars: number[];
  fixed: string | null;
}

class CompiledPathTemplate implements PathTemplate {
  readonly template: string;
  readonly variables: readonly TemplateVariable[];
  readonly senderOnly: boolean;
  private readonly segments: CompiledSegment[];

  constructor(template: string, segments: CompiledSegment[]) {
    this.template = template;
    const vars: TemplateVariable[] = [];
    let senderOnly = true;
    for (const seg of segments) {
      for (const v of seg.vars) {
        vars.push(TEMPLATE_VARIABLES[v]);
        if (v >= V_APP) senderOnly = false;
      }
    }
    this.variables = Object.freeze(vars);
    this.senderOnly = senderOnly;
    this.segments = segments;
  }

  render(rec: LogRecord): string[] {
    const segs = this.segments;
    const out = new Array<string>(segs.length);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (seg.fixed !== null) {
        out[i] = seg.fixed;
        continue;
      }
      const lits = seg.lits;
      const vars = seg.vars;
      let s = lits[0];
      for (let j = 0; j < vars.length; j++) s += variableValue(rec, vars[j]) + lits[j + 1];
      out[i] = sanitizeSegment(s);
    }
    return out;
  }
}

/**
 * Compiles `template` (e.g. `{runtime}/{name}/syslog.log`). Throws an Error naming the template
 * and the problem when it is not valid; see the top of this file for the rules.
 */
export function compilePathTemplate(template: string): PathTemplate {
  if (typeof template !== 'string' || template.length === 0) {
    throw new Error(`Empty path template; write one like '{runtime}/{name}/syslog.log'`);
  }
  const parts = template.split('/');
  const segments: CompiledSegment[] = [];
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    if (part.length === 0) {
      throw new Error(
        `Path template '${template}' has an empty segment (a leading, trailing or doubled '/'); ` +
          `templates are relative to the base directory, one name per level`,
      );
    }
    segments.push(compileSegment(template, part));
  }
  return new CompiledPathTemplate(template, segments);
}

function compileSegment(template: string, part: string): CompiledSegment {
  const lits: string[] = [];
  const vars: number[] = [];
  let lit = '';
  let i = 0;
  while (i < part.length) {
    const ch = part[i];
    if (ch === '}') {
      throw new Error(`Path template '${template}' has an unbalanced '}' in '${part}'; variables are written {name}`);
    }
    if (ch !== '{') {
      lit += ch;
      i++;
      continue;
    }
    const close = part.indexOf('}', i + 1);
    const open = part.indexOf('{', i + 1);
    if (close === -1 || (open !== -1 && open < close)) {
      throw new Error(
        `Path template '${template}' has an unbalanced '{' in '${part}' (a variable cannot contain '/', '{' ` +
          `or span segments); variables are written {name}`,
      );
    }
    const name = part.substring(i + 1, close);
    const code = (TEMPLATE_VARIABLES as readonly string[]).indexOf(name);
    if (code === -1) {
      const near = nearestVariable(name);
      throw new Error(
        `Unknown variable '{${name}}' in path template '${template}'` + (near === null ? '' : ` (did you mean '{${near}}'?)`) +
          `; valid variables: ${TEMPLATE_VARIABLES.join(', ')}`,
      );
    }
    checkLiteral(template, part, lit, lits.length === 0);
    lits.push(lit);
    vars.push(code);
    lit = '';
    i = close + 1;
  }
  checkLiteral(template, part, lit, lits.length === 0);
  lits.push(lit);
  if (vars.length === 0 && Buffer.byteLength(lit) > MAX_SEGMENT_BYTES) {
    throw new Error(`Path template '${template}' has a segment longer than ${MAX_SEGMENT_BYTES} bytes: '${part}'`);
  }
  return { lits, vars, fixed: vars.length === 0 ? lit : null };
}

/** Literal text must survive sanitising unchanged: mistakes in config are reported, not mended. */
function checkLiteral(template: string, part: string, lit: string, first: boolean): void {
  if (lit.length === 0) return;
  if (first && lit.charCodeAt(0) === 0x2e) {
    throw new Error(
      `Path template '${template}': the segment '${part}' starts with '.'; '.', '..' and hidden names are not allowed`,
    );
  }
  for (let i = 0; i < lit.length; i++) {
    const c = lit.charCodeAt(i);
    if (replacedInSegment(c) || (c >= 0xd800 && c <= 0xdfff)) {
      throw new Error(
        `Path template '${template}': the segment '${part}' contains a backslash, NUL or control character ` +
          `(code ${c}); segments are plain file names`,
      );
    }
  }
}

function nearestVariable(name: string): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const v of TEMPLATE_VARIABLES) {
    const d = editDistance(name, v);
    if (d < bestDistance) {
      best = v;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------------------------
// Rendering

function variableValue(rec: LogRecord, v: number): string {
  const sender = rec.sender;
  const container = sender.container;
  let s: string | null = null;
  switch (v) {
    case V_RUNTIME:
      s = container === null ? null : container.runtime;
      break;
    case V_NAME:
      s = container === null ? null : container.name;
      break;
    case V_ID:
      s = container === null ? null : container.id;
      break;
    case V_SHORT_ID:
      s = container === null ? null : container.shortId;
      break;
    case V_POD_NAMESPACE:
    case V_POD_NAME:
    case V_POD_CONTAINER:
    case V_POD_UID: {
      const pod = sender.pod ?? (container === null ? null : container.pod);
      if (pod !== null) {
        s = v === V_POD_NAMESPACE ? pod.namespace : v === V_POD_NAME ? pod.name : v === V_POD_CONTAINER ? pod.container : pod.uid;
      }
      break;
    }
    case V_UNIT:
      s = sender.unit;
      break;
    case V_SLICE:
      s = sender.slice;
      break;
    case V_KIND:
      s = sender.kind;
      break;
    case V_APP:
      s = rec.syslog.app ?? rec.comm;
      break;
    case V_FACILITY:
      s = FACILITY_NAMES[rec.syslog.facility] ?? null;
      break;
    case V_SEVERITY:
      s = SEVERITY_NAMES[rec.syslog.severity] ?? null;
      break;
    case V_UID:
      s = rec.uid >= 0 && rec.uid !== NO_ID ? String(rec.uid) : null;
      break;
    case V_DATE:
      s = localDate(rec.receivedUs / 1000);
      break;
    default:
      s = null;
  }
  return typeof s === 'string' ? s : MISSING_VALUE;
}

// The local day last rendered by {date}: [start, end) in ms and its text.
let dateStartMs = 0;
let dateEndMs = -1;
let dateText = '';

/** Local `YYYY-MM-DD` of `ms`, cached per day; null when `ms` is not a date. */
function localDate(ms: number): string | null {
  if (ms >= dateStartMs && ms < dateEndMs) return dateText;
  const d = new Date(ms);
  const y = d.getFullYear();
  if (y !== y) return null;
  const m = d.getMonth();
  const day = d.getDate();
  dateStartMs = new Date(y, m, day).getTime();
  dateEndMs = new Date(y, m, day + 1).getTime();
  dateText = String(y).padStart(4, '0') + '-' + String(m + 1).padStart(2, '0') + '-' + String(day).padStart(2, '0');
  return dateText;
}

/** C0 controls, '/', '\', DEL, C1 controls, U+2028, U+2029 (surrogates are checked apart). */
function replacedInSegment(c: number): boolean {
  return c < 0x20 || c === 0x2f || c === 0x5c || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
}

/**
 * One path segment made safe: '/', '\', NUL, control characters (C0, DEL, C1, U+2028/2029) and
 * unpaired surrogates become '_'; a leading '.' becomes '_'; empty becomes '_'; cut to
 * `MAX_SEGMENT_BYTES` bytes of UTF-8 on a character boundary. Idempotent; never throws.
 */
export function sanitizeSegment(s: string): string {
  const n = s.length;
  if (n === 0) return '_';
  let out = '';
  let from = 0;
  let bytes = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    let width: number;
    let bad: boolean;
    if (c < 0x80) {
      width = 1;
      bad = replacedInSegment(c) || (i === 0 && c === 0x2e);
    } else if (c < 0x800) {
      width = 2;
      bad = c <= 0x9f;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        if (bytes + 4 > MAX_SEGMENT_BYTES) break;
        bytes += 4;
        i++;
        continue;
      }
      width = 3;
      bad = true;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      width = 3;
      bad = true;
    } else {
      width = 3;
      bad = c === 0x2028 || c === 0x2029;
    }
    if (bad) width = 1;
    if (bytes + width > MAX_SEGMENT_BYTES) break;
    bytes += width;
    if (bad) {
      out += s.substring(from, i) + '_';
      from = i + 1;
    }
  }
  if (from === 0 && i === n) return s;
  return out + s.substring(from, i);
}
