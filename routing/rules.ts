/**
 * Routing rules: which sinks a record goes to.
 *
 * Rules are tried in order. A rule matches when every condition it lists holds (lists mean "any
 * of"; names, units and apps are globs with `*` and `?`). A matching rule sends the record to its
 * sinks and stops the evaluation, unless it says `continue: true`. When no rule stopped it, the
 * default route applies (per-container files), so a rule that forwards auth messages with
 * `continue: true` does not take them out of the files. A stopping rule with no sinks drops the
 * record on purpose (counted as `filtered`).
 *
 * Only kernel-derived identity is matched for "who": runtime, container name/id/labels, pod,
 * host unit, cgroup provenance. What the sender wrote about itself (app tag, facility, severity)
 * can be matched too, but it is a claim and should route, not authorise.
 *
 * Decided at construction: globs become anchored regexes, names become Sets, severity ranges
 * become bit masks. Conditions about the sender are evaluated once per sender cgroup and cached
 * by object identity (the resolver shares one object per cgroup), so per message only the
 * message conditions run.
 */
import { type LogRecord, type SenderCgroup, FACILITY_NAMES, SEVERITY_NAMES } from '../collector';

export interface RateLimitConfig {
  interval_secs: number;
  /** Messages allowed per interval and container; 0 disables limiting. */
  burst: number;
}

/** Each condition is one value or a list meaning "any of". */
export interface RouteMatch {
  kind?: string | string[];
  runtime?: string | string[];
  name?: string | string[];
  id?: string | string[];
  labels?: Record<string, string>;
  pod_namespace?: string | string[];
  pod_name?: string | string[];
  unit?: string | string[];
  facility?: string | string[];
  /** Severity names; an entry may be a range: '<=warning', '>=info'. */
  severity?: string | string[];
  app?: string | string[];
  provenance?: string | string[];
}

function list(v: string | string[]): string[] {
  return typeof v === 'string' ? [v] : v;
}

export interface RouteConfig {
  name?: string;
  match?: RouteMatch;
  sinks: string[];
  continue?: boolean;
  rate_limit?: RateLimitConfig;
}

export interface RouteDecision {
  /** Sink names, without duplicates, in the order rules named them. */
  sinks: readonly string[];
  /** The rate limit that applies (first matching rule that sets one, else the default). */
  rateLimit: RateLimitConfig;
  /** Index of the rule that set the limit, -1 for the default: limits are kept per rule. */
  limitScope: number;
  /** True when a stopping rule named no sinks. */
  filtered: boolean;
}

type SenderTest = (s: SenderCgroup) => boolean;
type MessageTest = (r: LogRecord) => boolean;

interface CompiledRule {
  sender: SenderTest[];
  message: MessageTest[];
  sinks: string[];
  stop: boolean;
  rateLimit: RateLimitConfig | null;
}

export const PROVENANCES = ['pidfd', 'pidfd-exited', 'proc-verified', 'proc', 'none'] as const;
export const KINDS = ['container', 'host', 'root', 'unknown'] as const;
export const RUNTIMES = ['docker', 'podman', 'containerd', 'cri-o', 'lxc', 'nspawn'] as const;

export class RouteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteError';
  }
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

function anyGlob(globs: string[]): (v: string | null) => boolean {
  const exact = new Set(globs.filter((g) => !/[*?]/.test(g)));
  const patterns = globs.filter((g) => /[*?]/.test(g)).map(globToRegExp);
  return (v) => v !== null && (exact.has(v) || patterns.some((p) => p.test(v)));
}

function oneOf(where: string, values: string[], allowed: readonly string[]): Set<string> {
  for (const v of values) {
    if (!allowed.includes(v)) throw new RouteError(`${where}: '${v}' is not one of ${allowed.join(', ')}`);
  }
  return new Set(values);
}

/** Severity names or ranges ('<=warning' = emerg..warning) → a bit mask over 0..7. */
function severityMask(where: string, specs: string[]): number {
  let mask = 0;
  for (const spec of specs) {
    const m = /^(<=|>=|<|>)?\s*([a-z]+)$/.exec(spec.trim());
    const idx = m === null ? -1 : SEVERITY_NAMES.indexOf(m[2]);
    if (m === null || idx < 0) throw new RouteError(`${where}: '${spec}' is not a severity (${SEVERITY_NAMES.join(', ')}, optionally with <=, >=, <, >)`);
    for (let s = 0; s < 8; s++) {
      // Lower numbers are more severe: '<=warning' means at least as severe as warning.
      const ok = m[1] === '<=' ? s <= idx : m[1] === '>=' ? s >= idx : m[1] === '<' ? s < idx : m[1] === '>' ? s > idx : s === idx;
      if (ok) mask |= 1 << s;
    }
  }
  return mask;
}

function compileRule(route: RouteConfig, i: number, sinkNames: ReadonlySet<string>): CompiledRule {
  const where = `routes[${i}]${route.name !== undefined ? ` (${route.name})` : ''}`;
  const m = route.match ?? {};
  const sender: SenderTest[] = [];
  const message: MessageTest[] = [];
  if (m.kind !== undefined) {
    const set = oneOf(`${where}.match.kind`, list(m.kind), KINDS);
    sender.push((s) => set.has(s.kind));
  }
  if (m.runtime !== undefined) {
    const set = oneOf(`${where}.match.runtime`, list(m.runtime), RUNTIMES);
    sender.push((s) => s.container !== null && set.has(s.container.runtime));
  }
  if (m.name !== undefined) {
    const t = anyGlob(list(m.name));
    sender.push((s) => s.container !== null && t(s.container.name));
  }
  if (m.id !== undefined) {
    const prefixes = list(m.id).map((x) => x.toLowerCase());
    sender.push((s) => s.container !== null && prefixes.some((p) => s.container!.id.startsWith(p)));
  }
  if (m.labels !== undefined) {
    const tests = Object.entries(m.labels).map(([k, v]) => [k, anyGlob([v])] as const);
    sender.push((s) => s.container !== null && tests.every(([k, t]) => Object.prototype.hasOwnProperty.call(s.container!.labels, k) && t(s.container!.labels[k])));
  }
  if (m.pod_namespace !== undefined) {
    const t = anyGlob(list(m.pod_namespace));
    sender.push((s) => s.pod !== null && t(s.pod.namespace));
  }
  if (m.pod_name !== undefined) {
    const t = anyGlob(list(m.pod_name));
    sender.push((s) => s.pod !== null && t(s.pod.name));
  }
  if (m.unit !== undefined) {
    const t = anyGlob(list(m.unit));
    sender.push((s) => t(s.unit) || t(s.userUnit) || t(s.slice));
  }
  if (m.facility !== undefined) {
    const set = oneOf(`${where}.match.facility`, list(m.facility), FACILITY_NAMES);
    const mask = new Set([...set].map((f) => FACILITY_NAMES.indexOf(f)));
    message.push((r) => mask.has(r.syslog.facility));
  }
  if (m.severity !== undefined) {
    const mask = severityMask(`${where}.match.severity`, list(m.severity));
    message.push((r) => (mask & (1 << r.syslog.severity)) !== 0);
  }
  if (m.app !== undefined) {
    const t = anyGlob(list(m.app));
    message.push((r) => t(r.syslog.app));
  }
  if (m.provenance !== undefined) {
    const set = oneOf(`${where}.match.provenance`, list(m.provenance), PROVENANCES);
    message.push((r) => set.has(r.attribution.cgroup));
  }
  for (const s of route.sinks) {
    if (!sinkNames.has(s)) throw new RouteError(`${where}.sinks: no sink named '${s}' (defined: ${[...sinkNames].join(', ')})`);
  }
  const rl = route.rate_limit ?? null;
  if (rl !== null && (!(rl.interval_secs > 0) || !(rl.burst >= 0))) {
    throw new RouteError(`${where}.rate_limit: interval_secs must be > 0 and burst >= 0`);
  }
  return { sender, message, sinks: [...route.sinks], stop: route.continue !== true, rateLimit: rl };
}

export class Router {
  private readonly rules: CompiledRule[];
  private readonly defaultSinks: readonly string[];
  private readonly defaultLimit: RateLimitConfig;
  /** Per sender cgroup object: which rules' sender conditions hold. */
  private readonly senderCache = new WeakMap<SenderCgroup, boolean[]>();

  constructor(routes: RouteConfig[], options: { sinkNames: Iterable<string>; defaultSinks: string[]; defaultRateLimit: RateLimitConfig }) {
    const names = new Set(options.sinkNames);
    for (const s of options.defaultSinks) {
      if (!names.has(s)) throw new RouteError(`default route: no sink named '${s}'`);
    }
    this.rules = routes.map((r, i) => compileRule(r, i, names));
    this.defaultSinks = Object.freeze([...options.defaultSinks]);
    this.defaultLimit = options.defaultRateLimit;
  }

  route(rec: LogRecord): RouteDecision {
    let senderOk = this.senderCache.get(rec.sender);
    if (senderOk === undefined) {
      senderOk = this.rules.map((rule) => rule.sender.every((t) => t(rec.sender)));
      this.senderCache.set(rec.sender, senderOk);
    }
    let sinks: string[] | null = null;
    let limit: RateLimitConfig | null = null;
    let scope = -1;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (!senderOk[i]) continue;
      let ok = true;
      for (let k = 0; k < rule.message.length; k++) {
        if (!rule.message[k](rec)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (limit === null && rule.rateLimit !== null) {
        limit = rule.rateLimit;
        scope = i;
      }
      if (sinks === null) sinks = [];
      for (const s of rule.sinks) if (!sinks.includes(s)) sinks.push(s);
      if (rule.stop) {
        return { sinks, rateLimit: limit ?? this.defaultLimit, limitScope: scope, filtered: sinks.length === 0 };
      }
    }
    if (sinks === null) return { sinks: this.defaultSinks, rateLimit: limit ?? this.defaultLimit, limitScope: scope, filtered: false };
    for (const s of this.defaultSinks) if (!sinks.includes(s)) sinks.push(s);
    return { sinks, rateLimit: limit ?? this.defaultLimit, limitScope: scope, filtered: false };
  }
}
