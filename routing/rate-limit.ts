/**
 * Per-container rate limits: at most `burst` messages per `interval_secs` from one container (or,
 * for a host or unknown sender, one cgroup), counted by the kernel-derived identity, never by pid
 * or tag, so a fork-per-message flood is one sender, not thousands of new ones.
 *
 * When a window in which messages were suppressed ends, the limiter emits one notice for that
 * sender ("N suppressed"), which the pipeline writes into that sender's own file. Windows end
 * when the sender's next message arrives or when sweep() (called on a timer) finds them over, so
 * a flood that stops dead still gets its notice.
 *
 * Bounds: at most `maxKeys` senders are tracked per rule scope; the least recently seen is
 * dropped first, after its pending notice is emitted, so no suppression goes unreported.
 */
import { type LogRecord, type SenderCgroup } from '../collector';
import { type RateLimitConfig, type RouteDecision } from './rules';

export interface SuppressionNotice {
  sender: SenderCgroup;
  suppressed: number;
  config: RateLimitConfig;
  /** Where the suppressed messages would have gone. */
  sinks: readonly string[];
  windowStartMs: number;
  windowEndMs: number;
}

interface Window {
  startMs: number;
  lastMs: number;
  count: number;
  suppressed: number;
  sender: SenderCgroup;
  sinks: readonly string[];
  config: RateLimitConfig;
}

export interface RateLimiterOptions {
  now?: () => number;
  maxKeys?: number;
  onNotice: (notice: SuppressionNotice) => void;
}

export class RateLimiter {
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly onNotice: (notice: SuppressionNotice) => void;
  /** scope (rule index, -1 default) → sender key (container object or cgroup id) → window. */
  private readonly scopes = new Map<number, Map<object | number, Window>>();
  private suppressedTotal = 0;

  constructor(options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.onNotice = options.onNotice;
  }

  /** True if the record may pass; false if it is suppressed (and counted for the notice). */
  allow(rec: LogRecord, decision: RouteDecision): boolean {
    const cfg = decision.rateLimit;
    if (cfg.burst <= 0) return true;
    let scope = this.scopes.get(decision.limitScope);
    if (scope === undefined) {
      scope = new Map();
      this.scopes.set(decision.limitScope, scope);
    }
    const key: object | number = rec.sender.container ?? rec.sender.id;
    const now = this.now();
    let w = scope.get(key);
    if (w === undefined) {
      if (scope.size >= this.maxKeys) this.evictOldest(scope);
      w = { startMs: now, lastMs: now, count: 0, suppressed: 0, sender: rec.sender, sinks: decision.sinks, config: cfg };
      scope.set(key, w);
    } else {
      // Keep recency order for eviction: re-insert on use.
      scope.delete(key);
      scope.set(key, w);
      if (now - w.startMs >= cfg.interval_secs * 1000) this.endWindow(w, now);
    }
    w.lastMs = now;
    w.count++;
    if (w.count <= cfg.burst) return true;
    w.suppressed++;
    w.sinks = decision.sinks;
    this.suppressedTotal++;
    return false;
  }

  /** Emits notices for windows that are over, and forgets senders idle for two intervals. */
  sweep(): void {
    const now = this.now();
    for (const scope of this.scopes.values()) {
      for (const [key, w] of scope) {
        const intervalMs = w.config.interval_secs * 1000;
        if (now - w.startMs >= intervalMs) {
          if (w.suppressed > 0) this.endWindow(w, now);
          else if (now - w.lastMs >= 2 * intervalMs) scope.delete(key);
        }
      }
    }
  }

  /** Emits every pending notice now (shutdown). */
  flush(): void {
    const now = this.now();
    for (const scope of this.scopes.values()) {
      for (const w of scope.values()) if (w.suppressed > 0) this.endWindow(w, now);
    }
  }

  stats(): { suppressed: number; tracked: number } {
    let tracked = 0;
    for (const s of this.scopes.values()) tracked += s.size;
    return { suppressed: this.suppressedTotal, tracked };
  }

  private endWindow(w: Window, now: number): void {
    if (w.suppressed > 0) {
      this.onNotice({ sender: w.sender, suppressed: w.suppressed, config: w.config, sinks: w.sinks, windowStartMs: w.startMs, windowEndMs: now });
    }
    w.startMs = now;
    w.count = 0;
    w.suppressed = 0;
  }

  private evictOldest(scope: Map<object | number, Window>): void {
    const first = scope.entries().next();
    if (first.done === true) return;
    const [key, w] = first.value;
    if (w.suppressed > 0) this.endWindow(w, this.now());
    scope.delete(key);
  }
}
