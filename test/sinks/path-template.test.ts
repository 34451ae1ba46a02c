/**
 * Path templates: config mistakes throw at compile time naming the variable; every variable
 * renders what it says; hostile values (dot-dot, slashes, NUL, controls, 300-byte names) are
 * sanitised into one plain name per level, as the table below defines exactly; and the native
 * open refuses what a bug here might let through.
 */
import fc from 'fast-check';
import { NativeError, openLogFile } from '../../collector';
import {
  compilePathTemplate,
  MAX_SEGMENT_BYTES,
  MISSING_VALUE,
  sanitizeSegment,
  TEMPLATE_VARIABLES,
} from '../../sinks/path-template';
import { containerSender, hostSender, makeRecord, removeDir, tempDir, UNKNOWN_SENDER } from './sink-fixtures';

describe('compile errors are config errors', () => {
  const ROWS: [string, RegExp][] = [
    ['{runtime}/{nmae}/syslog.log', /Unknown variable '\{nmae\}'.*did you mean '\{name\}'.*valid variables: runtime, name, id, short_id/],
    ['{container}/syslog.log', /Unknown variable '\{container\}' in path template '\{container\}\/syslog.log'; valid variables: runtime, name/],
    ['{runtime/syslog.log', /unbalanced '\{' in '\{runtime'/],
    ['{run/time}.log', /unbalanced '\{'/],
    ['runtime}/syslog.log', /unbalanced '\}'/],
    ['{{name}}.log', /unbalanced '\{'/],
    ['{}.log', /Unknown variable '\{\}'/],
    ['a//b.log', /empty segment/],
    ['/var/log/x.log', /empty segment/],
    ['dir/', /empty segment/],
    ['', /Empty path template/],
    ['../x.log', /starts with '\.'/],
    ['.hidden/{name}.log', /starts with '\.'/],
    ['.{name}', /starts with '\.'/],
    ['a\\b/{name}', /backslash, NUL or control/],
    ['a\u0000b/{name}', /backslash, NUL or control/],
    [`${'x'.repeat(129)}/{name}`, /longer than 128 bytes/],
  ];
  test.each(ROWS)('%j', (template, message) => {
    expect(() => compilePathTemplate(template)).toThrow(message);
  });

  test('every listed variable compiles', () => {
    for (const v of TEMPLATE_VARIABLES) expect(compilePathTemplate(`x/{${v}}.log`).variables).toEqual([v]);
  });
});

describe('rendering', () => {
  const pod = { uid: '11-22', qos: 'burstable' as const, namespace: 'shop', name: 'cart-7d9', container: 'api' };
  const web = containerSender('web', { runtime: 'podman', id: 'cd'.repeat(32), pod });
  const rec = makeRecord(web, '<30>Nov 28 14:16:03 myapp[77]: hi', { uid: 1000 });

  test('the default templates', () => {
    expect(compilePathTemplate('{runtime}/{name}/syslog.log').render(rec)).toEqual(['podman', 'web', 'syslog.log']);
    expect(compilePathTemplate('host/{unit}/syslog.log').render(makeRecord(hostSender('cron.service'), 'x'))).toEqual(['host', 'cron.service', 'syslog.log']);
    expect(compilePathTemplate('{pod_namespace}/{pod_name}_{pod_container}.log').render(rec)).toEqual(['shop', 'cart-7d9_api.log']);
  });

  test('each variable', () => {
    const one = (v: string): string => compilePathTemplate(`{${v}}`).render(rec)[0];
    const d = new Date(rec.receivedUs / 1000);
    const date = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    expect(Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v, one(v)]))).toEqual({
      runtime: 'podman',
      name: 'web',
      id: 'cd'.repeat(32),
      short_id: 'cd'.repeat(6),
      pod_namespace: 'shop',
      pod_name: 'cart-7d9',
      pod_container: 'api',
      pod_uid: '11-22',
      unit: MISSING_VALUE,
      slice: 'system.slice',
      kind: 'container',
      app: 'myapp',
      facility: 'daemon',
      severity: 'info',
      uid: '1000',
      date,
    });
  });

  test('missing values render as _unknown', () => {
    const t = compilePathTemplate('{runtime}/{pod_name}_{name}/{uid}.log');
    expect(t.render(makeRecord(UNKNOWN_SENDER, 'x', { uid: 4294967295 }))).toEqual(['_unknown', '_unknown__unknown', '_unknown.log']);
  });

  test('app is the tag, else comm', () => {
    const t = compilePathTemplate('{app}');
    expect(t.render(makeRecord(web, 'no tag', { comm: 'sshd' }))).toEqual(['sshd']);
    expect(t.render(makeRecord(web, 'no tag', { comm: null }))).toEqual([MISSING_VALUE]);
  });

  test('senderOnly says whether the path depends on the sender alone', () => {
    expect(compilePathTemplate('{runtime}/{name}/{pod_uid}_{unit}_{slice}_{kind}_{id}_{short_id}.log').senderOnly).toBe(true);
    for (const v of ['app', 'facility', 'severity', 'uid', 'date']) expect(compilePathTemplate(`{name}/{${v}}.log`).senderOnly).toBe(false);
    expect(compilePathTemplate('host/syslog.log').senderOnly).toBe(true);
  });

  test('render returns a new array each time', () => {
    const t = compilePathTemplate('host/syslog.log');
    const a = t.render(rec);
    a[0] = 'changed';
    expect(t.render(rec)).toEqual(['host', 'syslog.log']);
  });
});

describe('sanitising a segment', () => {
  const TABLE: [string, string, string][] = [
    ['dot-dot path', '../../etc', '_._.._etc'],
    ['dot-dot', '..', '_.'],
    ['dot', '.', '_'],
    ['slash', 'a/b', 'a_b'],
    ['backslash', 'a\\b', 'a_b'],
    ['hidden', '.hidden', '_hidden'],
    ['dot inside', 'a..b.log', 'a..b.log'],
    ['empty', '', '_'],
    ['NUL', 'a\u0000b', 'a_b'],
    ['controls', '\u001b[1m\n\r\t\u007f', '_[1m____'],
    ['C1 and line separators', 'a\u0085b\u009fc\u2028d\u2029e', 'a_b_c_d_e'],
    ['lone surrogates', 'a\ud800b\udc00c', 'a_b_c'],
    ['a surrogate pair is kept', 'a😀b', 'a😀b'],
    ['spaces and unicode are kept', 'my app é', 'my app é'],
    ['300 ASCII bytes', 'a'.repeat(300), 'a'.repeat(128)],
    ['2-byte chars: 150 é is 300 bytes', 'é'.repeat(150), 'é'.repeat(64)],
    ['3-byte chars cut on a boundary', `a${'€'.repeat(100)}`, `a${'€'.repeat(42)}`],
    ['4-byte chars cut on a boundary', `ab${'😀'.repeat(40)}`, `ab${'😀'.repeat(31)}`],
    ['a replaced char counts one byte', `\u0085${'é'.repeat(100)}`, `_${'é'.repeat(63)}`],
  ];
  test.each(TABLE)('%s', (_name, input, expected) => {
    expect(sanitizeSegment(input)).toBe(expected);
    expect(Buffer.byteLength(sanitizeSegment(input))).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
  });

  test('rejects dot-dot in container name', () => {
    const t = compilePathTemplate('{runtime}/{name}/syslog.log');
    expect(t.render(makeRecord(containerSender('..'), 'x'))).toEqual(['docker', '_.', 'syslog.log']);
    expect(t.render(makeRecord(containerSender('.'), 'x'))).toEqual(['docker', '_', 'syslog.log']);
    expect(t.render(makeRecord(containerSender('../../etc'), 'x'))).toEqual(['docker', '_._.._etc', 'syslog.log']);
  });

  test('a value can never add a level: any name gives exactly the template\'s segments, all plain (property)', () => {
    const t = compilePathTemplate('{runtime}/{name}/syslog.log');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (name) => {
        const segs = t.render(makeRecord(containerSender(name), 'x'));
        expect(segs.length).toBe(3);
        for (const s of segs) {
          expect(s.length).toBeGreaterThan(0);
          expect(s === '.' || s === '..' || s.startsWith('.')).toBe(false);
          expect(s).not.toMatch(/[/\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
          expect(Buffer.byteLength(s)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
          expect(Buffer.from(s, 'utf8').toString('utf8')).toBe(s);
          expect(sanitizeSegment(s)).toBe(s);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the native open is the backstop', () => {
  let dir = '';
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  test.each([['..'], ['.'], ['a/b'], ['']])('refuses the segment %j with EINVAL', (seg) => {
    let err: unknown = null;
    try {
      openLogFile(dir, ['docker', seg, 'syslog.log'], 0o640, 0o750);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeError);
    expect((err as NativeError).code).toBe('EINVAL');
  });
});
