/** The routing stage: rules that choose sinks, and per-container rate limits. */
export { RateLimiter, type RateLimiterOptions, type SuppressionNotice } from './rate-limit';
export {
  KINDS,
  PROVENANCES,
  type RateLimitConfig,
  type RouteConfig,
  type RouteDecision,
  RouteError,
  type RouteMatch,
  Router,
  RUNTIMES,
} from './rules';
