/**
 * The Prometheus endpoint: what the collector received, wrote and dropped (by reason), per
 * container (a bounded label set: the busiest `stats.max_containers` by first sight, the rest in
 * `_other`), how senders were attributed, queue depths and forwarder state.
 *
 * Off by default. When on, it listens only on a loopback address: the counters name containers
 * and units, which is information about the host. Every value is read from the collector's own
 * counters at scrape time (prom-client collect callbacks), so nothing here is on the message path.
 */
import http from 'node:http';
import net from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { ConfigError } from './config-schema';
import { type CollectorStats } from './pipeline';

const PREFIX = 'container_syslog_';

/** Parses `host:port` and insists on a loopback host. */
export function parseListen(listen: string, where = 'metrics.listen'): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(listen);
  const host = m?.[1] ?? '';
  const port = Number(m?.[2]);
  if (m === null || !(port >= 0 && port <= 65535)) throw new ConfigError(`${where} must be host:port, e.g. 127.0.0.1:9465 (got '${listen}')`);
  const loopback = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
  if (!loopback) throw new ConfigError(`${where} must be a loopback address (127.0.0.0/8, ::1 or localhost): the metrics name containers and units (got '${host}')`);
  return { host, port };
}

/** A numeric field some sinks report (forwarders: queue depth, disk buffer, reconnects). */
function sinkField(st: unknown, key: string): number | null {
  const v = (st as Record<string, unknown>)[key];
  return typeof v === 'number' ? v : null;
}

/** A registry whose metrics are computed from `stats()` at every scrape. */
export function createRegistry(stats: () => CollectorStats): Registry {
  const registry = new Registry();
  let snapshot: CollectorStats | null = null;
  const take = (): CollectorStats => {
    snapshot = stats();
    return snapshot;
  };
  const mk = <T extends string>(name: string, help: string, labelNames: T[], fill: (c: Counter<T>, s: CollectorStats) => void): void => {
    new Counter<T>({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const s = snapshot ?? take();
        this.reset();
        fill(this, s);
      },
    });
  };
  const gauge = <T extends string>(name: string, help: string, labelNames: T[], fill: (g: Gauge<T>, s: CollectorStats) => void): void => {
    new Gauge<T>({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const s = snapshot ?? take();
        this.reset();
        fill(this, s);
      },
    });
  };
  // The first collector of a scrape takes the snapshot; the rest reuse it.
  new Gauge({
    name: `${PREFIX}up`,
    help: 'Always 1 while the collector answers; scraping it refreshes the other metrics.',
    registers: [registry],
    collect() {
      take();
      this.set(1);
    },
  });
  mk('received_total', 'Datagrams received from the log socket.', [], (c, s) => c.inc(s.received));
  mk('routed_total', 'Messages that passed routing and rate limits and were handed to sinks.', [], (c, s) => c.inc(s.routed));
  mk('dropped_total', 'Messages dropped before any sink, by reason (filtered, rate_limited, handler_error).', ['reason'], (c, s) => {
    for (const [reason, n] of Object.entries(s.dropped)) c.inc({ reason }, n);
    if (s.receiver.handlerErrors > 0) c.inc({ reason: 'handler_error' }, s.receiver.handlerErrors);
  });
  mk('container_received_total', 'Messages received per container (runtime/name), host or unknown; the rest under _other.', ['container'], (c, s) => {
    for (const [container, v] of Object.entries(s.perContainer)) c.inc({ container }, v.received);
  });
  mk('container_dropped_total', 'Messages dropped per container before any sink.', ['container'], (c, s) => {
    for (const [container, v] of Object.entries(s.perContainer)) c.inc({ container }, v.dropped);
  });
  mk('attribution_total', 'How each message\'s sender was learnt: field cgroup or comm, and the provenance.', ['field', 'provenance'], (c, s) => {
    for (const [p, n] of Object.entries(s.attribution.cgroup)) c.inc({ field: 'cgroup', provenance: p }, n);
    for (const [p, n] of Object.entries(s.attribution.comm)) c.inc({ field: 'comm', provenance: p }, n);
  });
  mk('sink_written_total', 'Messages written (or sent) per sink.', ['sink'], (c, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) c.inc({ sink }, st.written);
  });
  mk('sink_bytes_total', 'Bytes written (or sent) per sink.', ['sink'], (c, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) c.inc({ sink }, st.bytes);
  });
  mk('sink_dropped_total', 'Messages a sink dropped, by reason (errno of a failed write, queue_full, …).', ['sink', 'reason'], (c, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) for (const [reason, n] of Object.entries(st.dropped)) c.inc({ sink, reason }, n);
  });
  const receiverCounters: [string, keyof CollectorStats['receiver'], string][] = [
    ['receiver_truncated_total', 'truncated', 'Datagrams longer than max_message_bytes (kept truncated).'],
    ['receiver_fds_closed_total', 'fdsClosed', 'File descriptors senders passed with SCM_RIGHTS, all closed.'],
    ['receiver_no_credentials_total', 'noCredentials', 'Datagrams without SCM_CREDENTIALS.'],
    ['receiver_pidfd_errors_total', 'pidfdErrors', 'PIDFD_GET_INFO failures, after the exit-race retries.'],
    ['receiver_getinfo_retries_total', 'getInfoRetries', 'PIDFD_GET_INFO calls that met a sender mid-exit (ESRCH) and were retried once it was reaped.'],
    ['receiver_batches_total', 'batches', 'recvmmsg batches handed to JavaScript.'],
  ];
  for (const [name, key, help] of receiverCounters) mk(name, help, [], (c, s) => c.inc(Number(s.receiver[key] ?? 0)));
  gauge('receiver_pinned_pidfds', 'pidfds kept open to known senders.', [], (g, s) => g.set(Number(s.receiver.pinnedPidfds ?? 0)));
  gauge('cgroups_indexed', 'cgroup paths known: live, or retained after removal.', ['state'], (g, s) => {
    g.set({ state: 'live' }, s.cgroups.live ?? 0);
    g.set({ state: 'retained' }, s.cgroups.retained ?? 0);
  });
  gauge('sink_queue_messages', 'Messages waiting in a sink\'s queue (forwarders; files buffer at most one chunk per file).', ['sink'], (g, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) {
      const q = sinkField(st, 'queueMessages') ?? sinkField(st, 'buffered');
      if (q !== null) g.set({ sink }, q);
    }
  });
  gauge('forwarder_disk_buffer_bytes', 'Bytes a forwarder holds in its disk buffer.', ['sink'], (g, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) {
      const v = sinkField(st, 'diskBufferBytes');
      if (v !== null) g.set({ sink }, v);
    }
  });
  mk('forwarder_reconnects_total', 'Connections a forwarder has had to make again.', ['sink'], (c, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) {
      const v = sinkField(st, 'reconnects');
      if (v !== null) c.inc({ sink }, v);
    }
  });
  gauge('forwarder_state', 'Forwarder connection state: 1 for the current state.', ['sink', 'state'], (g, s) => {
    for (const [sink, st] of Object.entries(s.sinks)) {
      const state = (st as unknown as Record<string, unknown>).state;
      if (typeof state === 'string') g.set({ sink, state }, 1);
    }
  });
  // Each scrape starts from a fresh snapshot (counters report the collector's running totals).
  const clear = registry.metrics.bind(registry);
  registry.metrics = async () => {
    snapshot = null;
    return clear();
  };
  return registry;
}

/** Serves /metrics on a loopback address; resolves once listening. */
export function serveMetrics(registry: Registry, listen: string): Promise<http.Server> {
  const { host, port } = parseListen(listen);
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics' || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body))
      .catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
