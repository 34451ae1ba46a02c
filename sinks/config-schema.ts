/**
 * A small schema language for the YAML config: every key has a type, a default and a sentence of
 * documentation, so one description serves validation, defaults and the README's reference
 * (generated, so it cannot drift). Validation happens once at start-up and fails with an error
 * that names the key and, for a misspelt key, suggests the nearest valid one.
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface Base {
  doc: string;
}
export interface StringSpec extends Base {
  kind: 'string';
  default: string | null;
  nullable?: boolean;
}
export interface IntegerSpec extends Base {
  kind: 'integer';
  default: number;
  min?: number;
  max?: number;
}
export interface BooleanSpec extends Base {
  kind: 'boolean';
  default: boolean;
}
export interface EnumSpec extends Base {
  kind: 'enum';
  values: readonly string[];
  default: string;
}
/** A file mode written as an octal string ("0640") or a number. */
export interface ModeSpec extends Base {
  kind: 'mode';
  default: number;
}
export interface SectionSpec extends Base {
  kind: 'section';
  fields: Record<string, Spec>;
}
/** Anything with its own validator (routes, named sinks); `type` names it in the docs. */
export interface CustomSpec extends Base {
  kind: 'custom';
  type: string;
  default: unknown;
  validate: (value: unknown, where: string) => unknown;
}
export type Spec = StringSpec | IntegerSpec | BooleanSpec | EnumSpec | ModeSpec | SectionSpec | CustomSpec;

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

export function suggest(key: string, valid: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(key, v);
    if (d < bestD) {
      best = v;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean '${best}'?` : `; valid keys: ${valid.join(', ')}`;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : JSON.stringify(v);
}

/** Checks that `obj` is a mapping whose keys are all in `valid`; returns it. */
export function checkKeys(obj: unknown, where: string, valid: readonly string[]): Record<string, unknown> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(`${where || 'the config'} must be a mapping (got ${describe(obj)})`);
  }
  for (const key of Object.keys(obj)) {
    if (!valid.includes(key)) throw new ConfigError(`unknown key '${where ? `${where}.` : ''}${key}'${suggest(key, valid)}`);
  }
  return obj as Record<string, unknown>;
}

/** Validates one value against its spec; undefined takes the default. */
export function validate(spec: Spec, value: unknown, where: string): unknown {
  switch (spec.kind) {
    case 'section': {
      const obj = value === undefined || value === null ? {} : checkKeys(value, where, Object.keys(spec.fields));
      const out: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(spec.fields)) out[k] = validate(s, obj[k], where ? `${where}.${k}` : k);
      return out;
    }
    case 'string':
      if (value === undefined) return spec.default;
      if (value === null && spec.nullable === true) return null;
      if (typeof value !== 'string' || value === '') throw new ConfigError(`${where} must be a non-empty string${spec.nullable === true ? ' or null' : ''} (got ${describe(value)})`);
      return value;
    case 'integer': {
      if (value === undefined) return spec.default;
      const min = spec.min ?? -Infinity;
      const max = spec.max ?? Infinity;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        const range = spec.min !== undefined && spec.max !== undefined ? ` from ${min} to ${max}` : spec.min !== undefined ? ` >= ${min}` : '';
        throw new ConfigError(`${where} must be an integer${range} (got ${describe(value)})`);
      }
      return value;
    }
    case 'boolean':
      if (value === undefined) return spec.default;
      if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false (got ${describe(value)})`);
      return value;
    case 'enum':
      if (value === undefined) return spec.default;
      if (typeof value !== 'string' || !spec.values.includes(value)) {
        const hint = typeof value === 'string' ? suggest(value, spec.values).replace('valid keys', 'valid values') : `; one of ${spec.values.join(', ')}`;
        throw new ConfigError(`${where} must be one of ${spec.values.join(', ')} (got ${describe(value)})${hint.startsWith('; did') ? hint : ''}`);
      }
      return value;
    case 'mode': {
      if (value === undefined) return spec.default;
      const n = typeof value === 'string' && /^0?[0-7]{3,4}$/.test(value) ? parseInt(value, 8) : typeof value === 'number' && Number.isInteger(value) ? value : NaN;
      if (!(n >= 0 && n <= 0o7777)) throw new ConfigError(`${where} must be an octal file mode such as "0640" (got ${describe(value)})`);
      return n;
    }
    case 'custom':
      return value === undefined ? spec.default : spec.validate(value, where);
  }
}

function defaultText(spec: Spec): string {
  switch (spec.kind) {
    case 'mode':
      return `"${spec.default.toString(8).padStart(4, '0')}"`;
    case 'string':
      return spec.default === null ? 'null' : `\`${spec.default}\``;
    case 'custom':
      return Array.isArray(spec.default) ? '`[]`' : '`{}`';
    case 'section':
      return '';
    default:
      return `\`${String(spec.default)}\``;
  }
}

function typeText(spec: Spec): string {
  switch (spec.kind) {
    case 'enum':
      return spec.values.map((v) => `\`${v}\``).join(' \\| ');
    case 'integer':
      return spec.min !== undefined ? `integer ≥ ${spec.min}` : 'integer';
    case 'custom':
      return spec.type;
    case 'string':
      return spec.nullable === true ? 'string or null' : 'string';
    default:
      return spec.kind;
  }
}

/** A markdown table of every key: the README's config reference is generated from this. */
export function referenceTable(root: SectionSpec): string {
  const rows: string[] = ['| key | type | default | meaning |', '|---|---|---|---|'];
  const walk = (spec: SectionSpec, prefix: string): void => {
    for (const [k, s] of Object.entries(spec.fields)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (s.kind === 'section') {
        rows.push(`| **\`${key}\`** | section | | ${s.doc} |`);
        walk(s, key);
      } else {
        rows.push(`| \`${key}\` | ${typeText(s)} | ${defaultText(s)} | ${s.doc.replace(/\|/g, '\\|')} |`);
      }
    }
  };
  walk(root, '');
  return rows.join('\n');
}
