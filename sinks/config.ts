/**
 * container-syslog's configuration: one YAML file, snake_case keys with units in their names,
 * validated at start-up against the schema below (which also generates the README's reference).
 * Command-line options override single keys. Defaults live here, one section per stage.
 */
import fs from 'node:fs';
import os from 'node:os';
import YAML from 'yaml';
import { type RateLimitConfig, type RouteConfig, type RouteMatch } from '../routing';
import { checkKeys, ConfigError, type SectionSpec, type Spec, suggest, validate } from './config-schema';
import { checkSdId, DEFAULT_SD_ID } from './format';
import { compileFieldTemplate } from './forward-format';
import { parseListen } from './metrics';
import { loadTransportClass } from './winston-sink';

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

export interface ForwardTlsConfig {
  ca_file: string | null;
  cert_file: string | null;
  key_file: string | null;
  server_name: string | null;
  verify_server_name: boolean;
}

export interface ForwardSinkConfig {
  protocol: 'tcp' | 'tls' | 'udp';
  host: string;
  port: number;
  format: 'rfc5424' | 'rfc3164';
  framing: 'auto' | 'octet-counting' | 'newline';
  tls: ForwardTlsConfig;
  queue_max_messages: number;
  queue_max_bytes: number;
  reconnect_base_ms: number;
  reconnect_max_ms: number;
  connect_timeout_ms: number;
  disk_buffer_dir: string | null;
  disk_buffer_max_bytes: number;
  close_timeout_ms: number;
  app_name: string | null;
  hostname: string | null;
  sd_id: string;
  max_datagram_bytes: number;
}

export interface WinstonSinkConfig {
  module: string;
  transport: string | null;
  options: Record<string, unknown>;
  format: FileFormat;
  queue_max_messages: number;
  close_timeout_ms: number;
}

export type NamedSinkConfig =
  | ({ type: 'file' } & FileSinkConfig)
  | ({ type: 'forward' } & ForwardSinkConfig)
  | ({ type: 'winston' } & WinstonSinkConfig);

/** The types a named sink may have. */
export const SINK_TYPES = ['file', 'forward', 'winston'] as const;

export interface CollectorConfig {
  socket: {
    path: string;
    mode: number;
    listen_fd_name: string | null;
    receive_buffer_bytes: number;
    max_message_bytes: number;
    batch_size: number;
    receive_thread: boolean;
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

const TLS_FIELDS: Record<string, Spec> = {
  ca_file: {
    kind: 'string',
    default: null,
    nullable: true,
    doc: 'CA certificates (PEM) that must have signed the server\'s certificate; null uses Node\'s built-in CA list. Read again at every connection attempt.',
  },
  cert_file: { kind: 'string', default: null, nullable: true, doc: 'Our client certificate (PEM), for servers that ask for one; needs `key_file`.' },
  key_file: { kind: 'string', default: null, nullable: true, doc: 'The private key (PEM, unencrypted) of `cert_file`.' },
  server_name: {
    kind: 'string',
    default: null,
    nullable: true,
    doc: 'The name the server\'s certificate must carry (also sent as SNI unless it is an IP address); null: `host`.',
  },
  verify_server_name: {
    kind: 'boolean',
    default: true,
    doc: 'Check the certificate\'s name; false checks only that a CA of `ca_file` signed it. The chain is always verified, and a failed handshake is retried, never replaced by plaintext.',
  },
};

/** The keys of a `type: forward` sink; their docs feed the reference. */
export const FORWARD_FIELDS: Record<string, Spec> = {
  protocol: {
    kind: 'enum',
    values: ['tcp', 'tls', 'udp'],
    default: 'tcp',
    doc: '`tcp` (RFC 6587), `tls` (RFC 5425), or `udp` (RFC 5426: one message per datagram, no disk buffer).',
  },
  host: { kind: 'string', default: null, nullable: true, doc: 'The receiver\'s name or address (required).' },
  port: { kind: 'integer', default: 0, min: 0, max: 65535, doc: 'The receiver\'s port; 0: 514 for tcp and udp, 6514 for tls.' },
  format: {
    kind: 'enum',
    values: ['rfc5424', 'rfc3164'],
    default: 'rfc5424',
    doc: '`rfc5424` with the container identity in the `sd_id` element, or `rfc3164` (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`) for old receivers, where only `hostname`/`app_name` can carry it.',
  },
  framing: {
    kind: 'enum',
    values: ['auto', 'octet-counting', 'newline'],
    default: 'auto',
    doc: 'TCP/TLS framing: `octet-counting` (RFC 6587 §3.4.1, `LEN SP MSG`) or `newline` (a LF after each message); `auto` is octet-counting for rfc5424 and newline for rfc3164. Not for udp.',
  },
  tls: { kind: 'section', doc: 'Certificates for `protocol: tls`.', fields: TLS_FIELDS },
  queue_max_messages: { kind: 'integer', default: 100_000, min: 1, max: 10_000_000, doc: 'Messages the memory queue holds at most; beyond it (and `queue_max_bytes`) the newest are dropped as `queue_full`, or go to the disk buffer.' },
  queue_max_bytes: { kind: 'integer', default: 64 * 1024 * 1024, min: 1024, doc: 'Bytes the memory queue holds at most.' },
  reconnect_base_ms: { kind: 'integer', default: 500, min: 1, doc: 'Backoff after the first failed attempt: the n-th waits a random time below min(`reconnect_max_ms`, base · 2^n) (full jitter).' },
  reconnect_max_ms: { kind: 'integer', default: 30_000, min: 1, doc: 'The longest wait between attempts.' },
  connect_timeout_ms: { kind: 'integer', default: 10_000, min: 1, doc: 'A TCP connect plus TLS handshake that takes longer fails (and is retried).' },
  disk_buffer_dir: {
    kind: 'string',
    default: null,
    nullable: true,
    doc: 'Keep messages here (append-only segment files, one directory per sink) while the receiver is down or the memory queue is full, and send them first, in order, on reconnect and after a restart; null: memory only.',
  },
  disk_buffer_max_bytes: { kind: 'integer', default: 256 * 1024 * 1024, min: 4096, doc: 'Bytes of messages the disk buffer holds at most; beyond it the newest are dropped as `disk_full`.' },
  close_timeout_ms: {
    kind: 'integer',
    default: 5000,
    min: 0,
    doc: 'At stop, time allowed to send what is queued; what is left then goes to the disk buffer, or is dropped as `shutdown`.',
  },
  app_name: {
    kind: 'string',
    default: null,
    nullable: true,
    doc: 'Template for APP-NAME (the TAG in rfc3164), with the variables of `container_path`, e.g. `{name}`; unknown variables render empty, and an empty result keeps the sender\'s own tag. null: the sender\'s tag, else its comm.',
  },
  hostname: { kind: 'string', default: null, nullable: true, doc: 'Template for HOSTNAME, like `app_name`; null (or an empty result): the top-level `hostname`.' },
  sd_id: { kind: 'string', default: DEFAULT_SD_ID, doc: 'SD-ID of the element that carries the container identity, `name@<private enterprise number>`.' },
  max_datagram_bytes: {
    kind: 'integer',
    default: 2048,
    min: 480,
    max: 65507,
    doc: 'udp: longer messages are cut in MSG to this size (counted as `truncated`, still sent); one whose header alone is longer is dropped as `too_large`.',
  },
};

/** The keys of a `type: winston` sink. */
export const WINSTON_FIELDS: Record<string, Spec> = {
  module: { kind: 'string', default: null, nullable: true, doc: 'The package to load the transport from (required), e.g. `winston`; resolved from the collector\'s node_modules. Its code runs in the collector.' },
  transport: { kind: 'string', default: null, nullable: true, doc: 'The export that is the transport class, e.g. `File` for `module: winston`; null: the module\'s export itself.' },
  options: {
    kind: 'custom',
    type: 'mapping',
    default: {},
    validate: (v, where) => checkKeys(v, where, Object.keys((v ?? {}) as object)),
    doc: 'Passed to the transport\'s constructor as they are, e.g. `{ filename: /var/log/audit.log }`.',
  },
  format: { kind: 'enum', values: FORMATS, default: 'text', doc: 'The line the transport writes (`info[MESSAGE]`), as for files; `message` holds the sender\'s text.' },
  queue_max_messages: { kind: 'integer', default: 10_000, min: 1, max: 10_000_000, doc: 'Messages waiting for the transport at most; beyond it the newest are dropped as `queue_full`.' },
  close_timeout_ms: { kind: 'integer', default: 5000, min: 0, doc: 'At stop, time allowed to hand over what is queued and let the transport finish; the rest is dropped as `shutdown`.' },
};

/** Each named sink type's keys, for validation and the reference. */
export const SINK_TYPE_SCHEMAS: Readonly<Record<(typeof SINK_TYPES)[number], SectionSpec>> = Object.freeze({
  file: { kind: 'section', doc: 'A file sink, with the keys of `files`.', fields: FILE_FIELDS },
  forward: { kind: 'section', doc: 'A forwarder to a central syslog tier.', fields: FORWARD_FIELDS },
  winston: { kind: 'section', doc: 'A winston transport.', fields: WINSTON_FIELDS },
});

function configError(where: string, err: unknown): ConfigError {
  return new ConfigError(`${where}: ${(err as Error).message}`);
}

function validateForward(d: Record<string, unknown>, w: string): ForwardSinkConfig {
  const c = validate(SINK_TYPE_SCHEMAS.forward, d, w) as ForwardSinkConfig;
  if (c.host === null) throw new ConfigError(`${w}.host is required: the receiver's name or address`);
  if (c.protocol !== 'tls' && d.tls !== undefined) throw new ConfigError(`${w}.tls is only used with protocol: tls (protocol is ${c.protocol})`);
  if ((c.tls.cert_file === null) !== (c.tls.key_file === null)) {
    throw new ConfigError(`${w}.tls.${c.tls.cert_file === null ? 'cert_file' : 'key_file'} is needed too: a client certificate goes with its key`);
  }
  if (c.protocol === 'udp') {
    if (c.disk_buffer_dir !== null) throw new ConfigError(`${w}.disk_buffer_dir needs protocol tcp or tls: a UDP receiver gives no sign of an outage`);
    if (d.framing !== undefined && c.framing !== 'auto') throw new ConfigError(`${w}.framing is for tcp and tls; udp sends one message per datagram`);
  }
  if (c.reconnect_max_ms < c.reconnect_base_ms) throw new ConfigError(`${w}.reconnect_max_ms must be at least reconnect_base_ms (${c.reconnect_base_ms})`);
  try {
    checkSdId(c.sd_id);
  } catch (err) {
    throw configError(`${w}.sd_id`, err);
  }
  for (const key of ['app_name', 'hostname'] as const) {
    const t = c[key];
    if (t === null) continue;
    try {
      compileFieldTemplate(t);
    } catch (err) {
      throw configError(`${w}.${key}`, err);
    }
  }
  return c;
}

function validateWinston(d: Record<string, unknown>, w: string): WinstonSinkConfig {
  const c = validate(SINK_TYPE_SCHEMAS.winston, d, w) as WinstonSinkConfig;
  if (c.module === null) throw new ConfigError(`${w}.module is required: the package whose transport to use, e.g. winston`);
  try {
    loadTransportClass(c.module, c.transport);
  } catch (err) {
    throw configError(`${w}.${/has no transport|does not export/.test((err as Error).message) ? 'transport' : 'module'}`, err);
  }
  return c;
}

function validateSinks(v: unknown, where: string): Record<string, NamedSinkConfig> {
  const o = checkKeys(v, where, Object.keys((v ?? {}) as object));
  const out: Record<string, NamedSinkConfig> = {};
  for (const [name, def] of Object.entries(o)) {
    const w = `${where}.${name}`;
    if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new ConfigError(`${w}: sink names are lower-case letters, digits, '_' and '-'`);
    if (name === 'files') throw new ConfigError(`${w}: 'files' is the built-in per-container file sink; configure it under the top-level 'files' key`);
    const raw = checkKeys(def, w, Object.keys((def ?? {}) as object));
    const type = raw.type;
    if (typeof type !== 'string' || !(SINK_TYPES as readonly string[]).includes(type)) {
      const hint = typeof type === 'string' ? suggest(type, SINK_TYPES) : '';
      throw new ConfigError(`${w}.type must be 'file', 'forward' or 'winston' (got ${JSON.stringify(type)})${hint.startsWith('; did') ? hint : ''}`);
    }
    const t = type as (typeof SINK_TYPES)[number];
    const d = checkKeys(def, w, ['type', ...Object.keys(SINK_TYPE_SCHEMAS[t].fields)]);
    const { type: _type, ...rest } = d;
    if (t === 'file') out[name] = { type: 'file', ...(validate(SINK_TYPE_SCHEMAS.file, rest, w) as FileSinkConfig) };
    else if (t === 'forward') out[name] = { type: 'forward', ...validateForward(rest, w) };
    else out[name] = { type: 'winston', ...validateWinston(rest, w) };
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
        batch_size: { kind: 'integer', default: 256, min: 1, max: 256, doc: 'Datagrams handed to the pipeline at most at once (one batch).' },
        receive_thread: {
          kind: 'boolean',
          default: false,
          doc: 'Receive and attribute on a thread of their own, beside the pipeline: for hosts with cores to spare (the kernel-heavy receive then runs in parallel with the pipeline). At most two batches are then in flight (one processed, one received) rather than one.',
        },
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
      doc: 'More sinks by name, for routes to name: `type: file` (the keys of `files`), `type: forward` (to a central syslog tier over tcp, tls or udp, with a memory queue and an optional disk buffer) or `type: winston` (any winston transport); `SINK_TYPE_SCHEMAS` in sinks/config.ts documents each key, deploy/container-syslog.yaml shows them.',
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
