/**
 * container-syslog's configuration: one YAML file, snake_case keys with units in their names,
 * validated at start-up against the schema below (which also generates the README's reference).
 * Command-line options override single keys. Defaults live here, one section per stage.
 */
import fs from 'node:fs';
import os from 'node:os';
import YAML from 'yaml';
import { type RateLimitConfig, type RouteConfig, type RouteMatch } from '../routing';
import { checkKeys, ConfigError, type SectionSpec, type Spec, validate } from './config-schema';
import { parseListen } from './metrics';

export const FORMATS = ['text', 'json', 'rfc5424'] as const;
export type FileFormat = (typeof FORMATS)[number];

export interface FileSinkConfig {
  dir: string;
  format: FileFormat;
  container_path: string;
  host_path: string;
  unknown_path: string;
  file_mode: number;
  dir_mode: number;
  rotate_size_bytes: number;
  rotate_keep: number;
  idle_close_secs: number;
  max_open_files: number;
  chunk_bytes: number;
  flush_interval_ms: number;
}

export type NamedSinkConfig = { type: 'file' } & FileSinkConfig;

export interface CollectorConfig {
  socket: {
    path: string;
    mode: number;
    listen_fd_name: string | null;
    receive_buffer_bytes: number;
    max_message_bytes: number;
    batch_size: number;
  };
  attribution: {
    method: 'auto' | 'pidfd' | 'proc-verified' | 'proc' | 'none';
    comm_cache_entries: number;
    comm_ttl_ms: number;
    pinned_pidfds: number;
    exe_and_cmdline: boolean;
    debug_delay_us: number;
  };
  cgroups: {
    mount: string | null;
    retention_secs: number;
    max_retained: number;
    rescan_min_interval_ms: number;
    max_watches: number;
  };
  metadata: {
    docker_root: string | null;
    podman_root: string | null;
    pods_log_root: string | null;
    containers_log_root: string | null;
  };
  files: FileSinkConfig;
  rate_limit: RateLimitConfig;
  routes: RouteConfig[];
  sinks: Record<string, NamedSinkConfig>;
  stats: { max_containers: number };
  metrics: { listen: string | null };
  diagnostics: { level: 'error' | 'warn' | 'info' | 'debug'; file: string | null; format: 'text' | 'json' };
  hostname: string;
}

const FILE_FIELDS: Record<string, Spec> = {
  dir: { kind: 'string', default: '/var/log/container-syslog', doc: 'Base directory; nothing is written outside it and no symlink below it is followed.' },
  format: { kind: 'enum', values: FORMATS, default: 'text', doc: 'Line format: `text` (time, container, `app[pid]: message`), `json` (one object per line), `rfc5424` (identity in structured data).' },
  container_path: {
    kind: 'string',
    default: '{runtime}/{name}/syslog.log',
    doc: 'Path template below `dir` for container senders. Variables: runtime, name, id, short_id, pod_namespace, pod_name, pod_container, pod_uid, unit, slice, kind, app, facility, severity, uid, date.',
  },
  host_path: { kind: 'string', default: 'host/syslog.log', doc: 'Path template for host processes.' },
  unknown_path: { kind: 'string', default: 'unknown/syslog.log', doc: 'Path template for senders that could not be attributed.' },
  file_mode: { kind: 'mode', default: 0o640, doc: 'Mode of log files.' },
  dir_mode: { kind: 'mode', default: 0o750, doc: 'Mode of directories created below `dir`.' },
  rotate_size_bytes: { kind: 'integer', default: 100 * 1024 * 1024, min: 0, doc: 'Rotate a file before it grows past this size; 0 never rotates (leave it to logrotate and SIGHUP).' },
  rotate_keep: { kind: 'integer', default: 5, min: 0, max: 1000, doc: 'Rotated files kept: `syslog.log.1` … `syslog.log.N`.' },
  idle_close_secs: { kind: 'integer', default: 300, min: 1, doc: 'Close a file not written to for this long.' },
  max_open_files: { kind: 'integer', default: 1024, min: 1, doc: 'Open files at most; the least recently written is closed first.' },
  chunk_bytes: { kind: 'integer', default: 65536, min: 4096, max: 16 * 1024 * 1024, doc: 'Per-file write buffer; a full buffer is written at once.' },
  flush_interval_ms: { kind: 'integer', default: 100, min: 1, max: 60_000, doc: 'Buffered lines reach the file at most this late.' },
};

function stringList(v: unknown, where: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== 'string' || x === '')) {
    throw new ConfigError(`${where} must be a string or a non-empty list of strings (got ${JSON.stringify(v)})`);
  }
  return list as string[];
}

const MATCH_KEYS = ['kind', 'runtime', 'name', 'id', 'labels', 'pod_namespace', 'pod_name', 'unit', 'facility', 'severity', 'app', 'provenance'] as const;

function validateRateLimit(v: unknown, where: string): RateLimitConfig {
  const o = checkKeys(v, where, ['interval_secs', 'burst']);
  return {
    interval_secs: validate({ kind: 'integer', default: 30, min: 1, doc: '' }, o.interval_secs, `${where}.interval_secs`) as number,
    burst: validate({ kind: 'integer', default: 10_000, min: 0, doc: '' }, o.burst, `${where}.burst`) as number,
  };
}

function validateRoutes(v: unknown, where: string): RouteConfig[] {
  if (!Array.isArray(v)) throw new ConfigError(`${where} must be a list of rules`);
  return v.map((r, i) => {
    const w = `${where}[${i}]`;
    const o = checkKeys(r, w, ['name', 'match', 'sinks', 'continue', 'rate_limit']);
    const route: RouteConfig = { sinks: o.sinks === undefined ? [] : Array.isArray(o.sinks) && o.sinks.length === 0 ? [] : stringList(o.sinks, `${w}.sinks`) };
    if (o.name !== undefined) route.name = validate({ kind: 'string', default: null, doc: '' }, o.name, `${w}.name`) as string;
    if (o.continue !== undefined) route.continue = validate({ kind: 'boolean', default: false, doc: '' }, o.continue, `${w}.continue`) as boolean;
    if (o.rate_limit !== undefined) route.rate_limit = validateRateLimit(o.rate_limit, `${w}.rate_limit`);
    if (o.match !== undefined) {
      const m = checkKeys(o.match, `${w}.match`, MATCH_KEYS);
      const match: RouteMatch = {};
      for (const key of MATCH_KEYS) {
        if (m[key] === undefined) continue;
        if (key === 'labels') {
          const labels = checkKeys(m.labels, `${w}.match.labels`, Object.keys(m.labels as object));
          for (const [lk, lv] of Object.entries(labels)) {
            if (typeof lv !== 'string') throw new ConfigError(`${w}.match.labels.${lk} must be a string (a glob)`);
          }
          match.labels = labels as Record<string, string>;
        } else {
          match[key] = stringList(m[key], `${w}.match.${key}`);
        }
      }
      route.match = match;
    }
    return route;
  });
}

function validateSinks(v: unknown, where: string): Record<string, NamedSinkConfig> {
  const o = checkKeys(v, where, Object.keys((v ?? {}) as object));
  const out: Record<string, NamedSinkConfig> = {};
  for (const [name, def] of Object.entries(o)) {
    const w = `${where}.${name}`;
    if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new ConfigError(`${w}: sink names are lower-case letters, digits, '_' and '-'`);
    if (name === 'files') throw new ConfigError(`${w}: 'files' is the built-in per-container file sink; configure it under the top-level 'files' key`);
    const d = checkKeys(def, w, ['type', ...Object.keys(FILE_FIELDS)]);
    if (d.type !== 'file') throw new ConfigError(`${w}.type must be 'file' (got ${JSON.stringify(d.type)})`);
    const { type: _type, ...rest } = d;
    out[name] = { type: 'file', ...(validate({ kind: 'section', fields: FILE_FIELDS, doc: '' }, rest, w) as FileSinkConfig) };
  }
  return out;
}

export const SCHEMA: SectionSpec = {
  kind: 'section',
  doc: '',
  fields: {
    socket: {
      kind: 'section',
      doc: 'The log socket.',
      fields: {
        path: { kind: 'string', default: '/dev/log', doc: 'Where to bind. A stale socket is replaced; a live one, or anything that is not a socket, is refused.' },
        mode: { kind: 'mode', default: 0o666, doc: 'Socket file mode: who may log.' },
        listen_fd_name: { kind: 'string', default: null, nullable: true, doc: 'With socket activation, the `FileDescriptorName=` to adopt; null takes the first passed socket.' },
        receive_buffer_bytes: { kind: 'integer', default: 8 * 1024 * 1024, min: 0, doc: 'SO_RCVBUF(FORCE) for the socket; 0 keeps the kernel default.' },
        max_message_bytes: { kind: 'integer', default: 65536, min: 64, max: 1024 * 1024, doc: 'Longer datagrams are truncated and flagged.' },
        batch_size: { kind: 'integer', default: 256, min: 1, max: 256, doc: 'Datagrams per recvmmsg call.' },
      },
    },
    attribution: {
      kind: 'section',
      doc: 'How senders are identified.',
      fields: {
        method: {
          kind: 'enum',
          values: ['auto', 'pidfd', 'proc-verified', 'proc', 'none'],
          default: 'auto',
          doc: '`auto` takes the best the kernel offers; the others force a method (for comparisons); `none` keeps credentials only.',
        },
        comm_cache_entries: { kind: 'integer', default: 4096, min: 16, max: 1 << 22, doc: 'Per-process cache of comm, keyed by pidfs inode.' },
        comm_ttl_ms: { kind: 'integer', default: 1000, min: 0, doc: 'How long a verified comm counts as fresh.' },
        pinned_pidfds: { kind: 'integer', default: 1024, min: 0, doc: 'pidfds kept open to known senders (makes their messages cheaper); 0 disables.' },
        exe_and_cmdline: { kind: 'boolean', default: false, doc: 'Also record each sender\'s exe and cmdline (verified like comm; two more /proc reads per new process).' },
        debug_delay_us: { kind: 'integer', default: 0, min: 0, max: 1_000_000, doc: 'Benchmarks only: busy-wait this long per message before attributing it, to model a loaded collector.' },
      },
    },
    cgroups: {
      kind: 'section',
      doc: 'The cgroup id → path index.',
      fields: {
        mount: { kind: 'string', default: null, nullable: true, doc: 'The cgroup2 mount; null finds it in /proc/self/mountinfo.' },
        retention_secs: { kind: 'integer', default: 600, min: 0, doc: 'How long a removed cgroup\'s path is kept, so late messages from exited containers still resolve.' },
        max_retained: { kind: 'integer', default: 10_000, min: 0, doc: 'Removed cgroups kept at most.' },
        rescan_min_interval_ms: { kind: 'integer', default: 1000, min: 10, doc: 'A full rescan on an unknown id happens at most this often.' },
        max_watches: { kind: 'integer', default: 4096, min: 0, doc: 'cgroup directories watched with inotify for new cgroups.' },
      },
    },
    metadata: {
      kind: 'section',
      doc: 'Where container runtimes keep names and labels (null turns a source off).',
      fields: {
        docker_root: { kind: 'string', default: '/var/lib/docker', nullable: true, doc: 'Docker\'s data root (`containers/<id>/config.v2.json`).' },
        podman_root: { kind: 'string', default: '/var/lib/containers/storage', nullable: true, doc: 'Podman\'s rootful storage (`overlay-containers/containers.json`).' },
        pods_log_root: { kind: 'string', default: '/var/log/pods', nullable: true, doc: 'kubelet\'s pod log directories (`<namespace>_<pod>_<uid>/<container>/`).' },
        containers_log_root: { kind: 'string', default: '/var/log/containers', nullable: true, doc: 'kubelet\'s container log links (`<pod>_<namespace>_<container>-<id>.log`).' },
      },
    },
    files: { kind: 'section', doc: 'The built-in sink `files`: one file per container.', fields: FILE_FIELDS },
    rate_limit: {
      kind: 'section',
      doc: 'Default per-container rate limit (routes may set their own).',
      fields: {
        interval_secs: { kind: 'integer', default: 30, min: 1, doc: 'Window length.' },
        burst: { kind: 'integer', default: 10_000, min: 0, doc: 'Messages allowed per window and container; 0 disables limiting.' },
      },
    },
    routes: {
      kind: 'custom',
      type: 'list of rules',
      default: [],
      validate: validateRoutes,
      doc: 'Ordered rules `{name, match, sinks, continue, rate_limit}`; first match wins unless it continues; unmatched messages go to `files`.',
    },
    sinks: {
      kind: 'custom',
      type: 'mapping',
      default: {},
      validate: validateSinks,
      doc: 'More sinks by name (`type: file` with the keys of `files`), for routes to name.',
    },
    stats: {
      kind: 'section',
      doc: 'Counters.',
      fields: { max_containers: { kind: 'integer', default: 1000, min: 1, doc: 'Containers counted one by one; the rest share one bucket.' } },
    },
    metrics: {
      kind: 'section',
      doc: 'The Prometheus endpoint (off by default).',
      fields: {
        listen: {
          kind: 'custom',
          type: 'host:port or null',
          default: null,
          validate: (v, where) => {
            if (v === null) return null;
            if (typeof v !== 'string') throw new ConfigError(`${where} must be host:port or null`);
            parseListen(v, where);
            return v;
          },
          doc: 'Serve `GET /metrics` here, a loopback address only (e.g. `127.0.0.1:9465`); null turns it off.',
        },
      },
    },
    diagnostics: {
      kind: 'section',
      doc: 'The collector\'s own log.',
      fields: {
        level: { kind: 'enum', values: ['error', 'warn', 'info', 'debug'], default: 'info', doc: 'Least severe level written.' },
        file: { kind: 'string', default: null, nullable: true, doc: 'Append to this file; null writes to stderr.' },
        format: { kind: 'enum', values: ['text', 'json'], default: 'text', doc: 'Line format.' },
      },
    },
    hostname: { kind: 'string', default: os.hostname(), doc: 'This host\'s name in rfc5424 output (default: the system hostname).' },
  },
};

export interface CliOverrides {
  socket?: string;
  dir?: string;
  format?: string;
  dockerRoot?: string;
  podmanRoot?: string;
  podsLogRoot?: string;
}

/**
 * Parses and validates a config text (YAML), with command-line overrides applied on top; throws
 * ConfigError naming the key (and the file, when given).
 */
export function parseConfig(text: string, overrides: CliOverrides = {}, source: string | null = null): CollectorConfig {
  let parsed: unknown;
  try {
    parsed = YAML.parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`${source ?? 'the config'} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
    throw new ConfigError(`${source ?? 'the config'} must be a YAML mapping of sections (socket, files, routes, ...)`);
  }
  const doc = (parsed ?? {}) as Record<string, Record<string, unknown>>;
  const set = (section: string, key: string, value: string | undefined): void => {
    if (value === undefined) return;
    if (typeof doc[section] !== 'object' || doc[section] === null) doc[section] = {};
    doc[section][key] = value;
  };
  set('socket', 'path', overrides.socket);
  set('files', 'dir', overrides.dir);
  set('files', 'format', overrides.format);
  set('metadata', 'docker_root', overrides.dockerRoot);
  set('metadata', 'podman_root', overrides.podmanRoot);
  set('metadata', 'pods_log_root', overrides.podsLogRoot);
  try {
    return validate(SCHEMA, doc, '') as CollectorConfig;
  } catch (err) {
    if (err instanceof ConfigError && source !== null) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

/** Reads and validates a config file (or only defaults and overrides when file is null). */
export function loadConfig(file: string | null, overrides: CliOverrides = {}): CollectorConfig {
  let text = '';
  if (file !== null) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`Cannot read config file '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return parseConfig(text, overrides, file);
}
