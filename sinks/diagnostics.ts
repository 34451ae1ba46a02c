/**
 * The collector's own diagnostics: sentences an operator can act on ("Cannot open '…': EACCES,
 * dropping messages for this file."), each with structured fields, through winston to stderr or a
 * file. Never on the message path: per-message problems are counters; only state changes and
 * operational failures are logged, and each kind of line is rate-limited by a key so a failing
 * disk produces one line a minute with a count, not one per message.
 */
import winston from 'winston';

export type DiagnosticLevel = 'error' | 'warn' | 'info' | 'debug';
export type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Diagnostics {
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /**
   * Logs at most once per `intervalMs` per key; the next line for that key says how many were
   * held back. For operational failures that can repeat per message (a sink that cannot write).
   */
  limited(level: DiagnosticLevel, key: string, message: string, fields?: Fields): void;
  close(): Promise<void>;
}

export interface DiagnosticsOptions {
  level: DiagnosticLevel;
  /** A file to append to; null for stderr. */
  file: string | null;
  format: 'text' | 'json';
  intervalMs?: number;
  now?: () => number;
  /** A transport to use instead (tests). */
  transport?: winston.transport;
}

function textLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, ...rest } = info as Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([k, v]) => typeof k === 'string' && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${String(timestamp)} ${String(level)} ${String(message)}${fields.length > 0 ? ` ${fields}` : ''}`;
}

export function createDiagnostics(options: DiagnosticsOptions): Diagnostics {
  const format =
    options.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(winston.format.timestamp(), winston.format.printf(textLine));
  const transport =
    options.transport ??
    (options.file !== null
      ? new winston.transports.File({ filename: options.file })
      : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
  const logger = winston.createLogger({ level: options.level, format, transports: [transport] });
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  const held = new Map<string, { nextMs: number; suppressed: number }>();

  const log = (level: DiagnosticLevel, message: string, fields?: Fields): void => {
    logger.log({ level, message, ...(fields ?? {}) });
  };
  return {
    error: (m, f) => log('error', m, f),
    warn: (m, f) => log('warn', m, f),
    info: (m, f) => log('info', m, f),
    debug: (m, f) => log('debug', m, f),
    limited(level, key, message, fields) {
      const t = now();
      const h = held.get(key);
      if (h !== undefined && t < h.nextMs) {
        h.suppressed++;
        return;
      }
      const suppressed = h?.suppressed ?? 0;
      if (held.size > 10_000) held.clear();
      held.set(key, { nextMs: t + intervalMs, suppressed: 0 });
      log(level, suppressed > 0 ? `${message} (${suppressed} more like this since the last report)` : message, fields);
    },
    close() {
      return new Promise((resolve) => {
        let done = false;
        const finish = (): void => {
          if (!done) {
            done = true;
            resolve();
          }
        };
        logger.on('finish', finish);
        logger.end();
        setTimeout(finish, 1000).unref();
      });
    },
  };
}

/** Diagnostics that go nowhere (library use, tests that do not look at them). */
export const silentDiagnostics: Diagnostics = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  limited: () => undefined,
  close: () => Promise.resolve(),
};
