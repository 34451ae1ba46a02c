/**
 * Routing as data (test/fixtures/routing/behavior.yaml), compile-time errors, and the
 * per-container rate limiter with a fake clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { RateLimiter, type RouteConfig, RouteError, Router, type SuppressionNotice } from '../../routing';
import { recordFrom, type SenderSpec } from '../helpers/records';

interface Behavior {
  sinks: string[];
  routes: RouteConfig[];
  cases: { name: string; sender: SenderSpec; message: string; expect: string[] }[];
}

const behavior = YAML.parse(fs.readFileSync(path.join(__dirname, '../fixtures/routing/behavior.yaml'), 'utf8')) as Behavior;
const NO_LIMIT = { interval_secs: 30, burst: 0 };

describe('routing behaviour (fixture)', () => {
  const router = new Router(behavior.routes, { sinkNames: behavior.sinks, defaultSinks: ['files'], defaultRateLimit: NO_LIMIT });
  test.each(behavior.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const d = router.route(recordFrom(c.sender, c.message));
    expect([...d.sinks]).toEqual(c.expect);
    expect(d.filtered).toBe(c.expect.length === 0);
  });

  test('the fixture exercises every rule', () => {
    expect(behavior.cases.length).toBeGreaterThanOrEqual(behavior.routes.length);
  });
});

describe('routing rules are checked when compiled', () => {
  const compile = (routes: RouteConfig[]) => () => new Router(routes, { sinkNames: ['files'], defaultSinks: ['files'], defaultRateLimit: NO_LIMIT });
  test.each([
    ['an unknown sink', [{ sinks: ['nowhere'] }], /routes\[0\]\.sinks: no sink named 'nowhere'/],
    ['an unknown runtime', [{ match: { runtime: ['dockr'] }, sinks: [] }], /'dockr' is not one of docker/],
    ['an unknown facility', [{ match: { facility: ['authx'] }, sinks: [] }], /'authx' is not one of/],
    ['a bad severity range', [{ match: { severity: ['<=loud'] }, sinks: [] }], /'<=loud' is not a severity/],
    ['an unknown provenance', [{ match: { provenance: ['pidfd-ish'] }, sinks: [] }], /'pidfd-ish' is not one of pidfd/],
    ['a zero rate-limit interval', [{ sinks: [], rate_limit: { interval_secs: 0, burst: 1 } }], /interval_secs must be > 0/],
  ] as const)('%s', (_n, routes, msg) => {
    expect(compile(routes as unknown as RouteConfig[])).toThrow(RouteError);
    expect(compile(routes as unknown as RouteConfig[])).toThrow(msg);
  });

  test('glob metacharacters other than * and ? are literal', () => {
    const r = new Router([{ match: { name: ['a.c'] }, sinks: [] }], { sinkNames: ['files'], defaultSinks: ['files'], defaultRateLimit: NO_LIMIT });
    expect(r.route(recordFrom({ name: 'abc' }, '<14>x: y')).filtered).toBe(false);
    expect(r.route(recordFrom({ name: 'a.c' }, '<14>x: y')).filtered).toBe(true);
  });
});

describe('per-container rate limits', () => {
  function setup(burst: number, interval = 10) {
    let now = 0;
    const notices: SuppressionNotice[] = [];
    const limiter = new RateLimiter({ now: () => now, onNotice: (n) => notices.push(n), maxKeys: 3 });
    const router = new Router([], { sinkNames: ['files'], defaultSinks: ['files'], defaultRateLimit: { interval_secs: interval, burst } });
    const send = (spec: SenderSpec) => {
      const rec = recordFrom(spec, '<14>app: m');
      return limiter.allow(rec, router.route(rec));
    };
    return { limiter, notices, send, advance: (ms: number) => (now += ms) };
  }

  test('a flood from one container is limited while another container passes', () => {
    const { send, limiter } = setup(5);
    let a = 0;
    let b = 0;
    for (let i = 0; i < 100; i++) {
      if (send({ name: 'flood' })) a++;
      if (i % 20 === 0 && send({ name: 'quiet' })) b++;
    }
    expect(a).toBe(5);
    expect(b).toBe(5); // all of the quiet container's messages
    expect(limiter.stats().suppressed).toBe(95);
  });

  test('many processes of one container share its budget (fork-per-message floods)', () => {
    const { send } = setup(3);
    // Same container object, different pids: the key is the container, not the pid.
    const passed = Array.from({ length: 50 }, () => send({ name: 'forky' })).filter(Boolean).length;
    expect(passed).toBe(3);
  });

  test('when the window ends, one notice says how many were suppressed', () => {
    const { send, notices, advance, limiter } = setup(2, 10);
    for (let i = 0; i < 7; i++) send({ name: 'noisy' });
    expect(notices).toHaveLength(0);
    advance(10_000);
    expect(send({ name: 'noisy' })).toBe(true); // a new window
    expect(notices).toHaveLength(1);
    expect(notices[0].suppressed).toBe(5);
    expect(notices[0].sender.container?.name).toBe('noisy');
    // A flood that stops dead still gets its notice from the sweep: 1 + 9 sent, 2 allowed.
    for (let i = 0; i < 9; i++) send({ name: 'noisy' });
    advance(10_000);
    limiter.sweep();
    expect(notices.map((n) => n.suppressed)).toEqual([5, 8]);
  });

  test('evicting a tracked sender first reports what it suppressed', () => {
    const { send, notices } = setup(1);
    send({ name: 'a' });
    send({ name: 'a' });
    send({ name: 'b' });
    send({ name: 'c' });
    send({ name: 'd' }); // maxKeys 3: 'a' goes, with its notice
    expect(notices.map((n) => [n.sender.container?.name, n.suppressed])).toEqual([['a', 1]]);
  });

  test('burst 0 disables limiting; a rule can set its own limit', () => {
    const { send } = setup(0);
    expect(Array.from({ length: 100 }, () => send({ name: 'x' })).every(Boolean)).toBe(true);
    let now = 0;
    const limiter = new RateLimiter({ now: () => now, onNotice: () => undefined });
    const router = new Router([{ match: { name: ['strict'] }, sinks: ['files'], rate_limit: { interval_secs: 1, burst: 1 } }], {
      sinkNames: ['files'],
      defaultSinks: ['files'],
      defaultRateLimit: { interval_secs: 1, burst: 100 },
    });
    const ok = (name: string) => {
      const rec = recordFrom({ name }, '<14>a: b');
      return limiter.allow(rec, router.route(rec));
    };
    expect([ok('strict'), ok('strict'), ok('lax'), ok('lax')]).toEqual([true, false, true, true]);
    now += 1000;
    expect(ok('strict')).toBe(true);
  });
});
