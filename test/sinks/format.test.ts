/**
 * Encoders: every format gives exactly one line per record whatever the datagram held (newlines,
 * CR, NUL, ESC, Unicode line separators, invalid UTF-8, 100 KB), json parses back with its keys
 * in order, rfc5424 escapes its structured data and keeps to the header alphabet, and text
 * escaping is undone exactly by a ten-line unescaper written here.
 */
import fc from 'fast-check';
import { type LogRecord, parseSyslog } from '../../collector';
import {
  checkSdId,
  createEncoder,
  DEFAULT_SD_ID,
  encodeStructuredData,
  escapeText,
  isoTime,
  JSON_KEYS,
  LOG_FORMATS,
  type LogFormat,
} from '../../sinks/format';
import { containerSender, hostSender, makeRecord, RECEIVED_US, UNKNOWN_SENDER } from './sink-fixtures';

/** Reverses `escapeText`: `\\`, `\xNN`, `\u2028`, `\u2029`. */
function unescapeText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const next = s[i + 1];
    if (next === '\\') {
      out += '\\';
      i += 1;
    } else if (next === 'x') {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (next === 'u') {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
      i += 5;
    } else {
      throw new Error(`bad escape at ${i} in ${JSON.stringify(s)}`);
    }
  }
  return out;
}

/** Parses `[id k="v" …][…]` per RFC 5424 §6.3 (escapes `\"`, `\\`, `\]`); returns the rest too. */
function parseSd(sd: string): { elements: [string, [string, string][]][]; rest: string } {
  const elements: [string, [string, string][]][] = [];
  let i = 0;
  while (sd[i] === '[') {
    i++;
    let id = '';
    while (sd[i] !== ' ' && sd[i] !== ']') id += sd[i++];
    const params: [string, string][] = [];
    while (sd[i] === ' ') {
      i++;
      let name = '';
      while (sd[i] !== '=') name += sd[i++];
      expect(sd[i + 1]).toBe('"');
      i += 2;
      let value = '';
      while (sd[i] !== '"') {
        if (sd[i] === '\\' && (sd[i + 1] === '"' || sd[i + 1] === '\\' || sd[i + 1] === ']')) {
          // The SD escapes; a `\\` stays `\\` so that the text escaping under it can be undone.
          value += sd[i + 1] === '\\' ? '\\\\' : sd[i + 1];
          i += 2;
        } else {
          value += sd[i++];
        }
      }
      i++;
      params.push([name, unescapeText(value)]);
    }
    expect(sd[i]).toBe(']');
    i++;
    elements.push([id, params]);
  }
  return { elements, rest: sd.slice(i) };
}

const UTC = { utc: true, hostname: 'node1' };
const text = createEncoder('text', UTC);
const json = createEncoder('json', UTC);
const rfc5424 = createEncoder('rfc5424', UTC);
const ENCODERS: [LogFormat, (r: LogRecord) => string][] = [['text', text], ['json', json], ['rfc5424', rfc5424]];

const WEB = containerSender('web', { labels: { team: 'shop', 'com.example/note': 'line1\nline2' } });
const HOST = hostSender('cron.service');

/** Exactly one line: ends in '\n', no other '\n', no '\r', no NEL, no U+2028/2029. */
function expectOneLine(line: string): void {
  expect(line.endsWith('\n')).toBe(true);
  expect(line.indexOf('\n')).toBe(line.length - 1);
  expect(line).not.toMatch(/[\r\u0085\u2028\u2029]/);
}

const HOSTILE_PAYLOADS: [string, string | Buffer][] = [
  ['newline inside', '<13>Nov 28 15:16:03 app[1]: first\nsecond'],
  ['CR inside', '<13>Nov 28 15:16:03 app[1]: first\rsecond'],
  ['CRLF inside and after', '<13>Nov 28 15:16:03 app[1]: a\r\nb\r\n'],
  ['NUL inside', Buffer.from('<13>Nov 28 15:16:03 app[1]: a\u0000b')],
  ['ESC sequence', '<13>Nov 28 15:16:03 app[1]: \u001b[31mred\u001b[0m'],
  ['U+2028 and U+2029', '<13>Nov 28 15:16:03 app[1]: a\u2028b\u2029c'],
  ['NEL (U+0085)', '<13>Nov 28 15:16:03 app[1]: a\u0085b'],
  ['invalid UTF-8', Buffer.concat([Buffer.from('<13>Nov 28 15:16:03 app[1]: '), Buffer.from([0x66, 0xff, 0xfe, 0xc3, 0x67])])],
  ['only newlines', '\n\n\n'],
  ['empty', ''],
  ['backslashes and quotes', '<13>Nov 28 15:16:03 app[1]: C:\\path "quoted" ]bracket['],
  ['very long', `<13>Nov 28 15:16:03 app[1]: ${'x\n'.repeat(50_000)}`],
  ['raw bytes, no header', Buffer.from([0x0a, 0x0d, 0x00, 0x1b, 0x7f, 0xc2, 0x85, 0xe2, 0x80, 0xa8])],
  ['rfc5424 with a newline in MSG', '<13>1 2026-11-28T15:16:03.5Z h app 1 ID [x@1 a="1"] hi\nthere'],
];

describe('every format gives one line per record', () => {
  for (const [format, encode] of ENCODERS) {
    test.each(HOSTILE_PAYLOADS)(`${format}: %s`, (_name, payload) => {
      const rec = makeRecord(WEB, payload);
      const line = encode(rec);
      expectOneLine(line);
      if (format === 'json') expect(JSON.parse(line).message).toBe(rec.syslog.message);
      if (format === 'text') expect(unescapeText(line.slice(line.indexOf(': ') + 2, -1))).toBe(rec.syslog.message);
    });

    test(`${format}: hostile container name, comm and label stay in one line`, () => {
      const evil = containerSender('we\nb\r\u2028\u0085x', { labels: { 'a\nb': 'c\u2029d' }, image: 'img\n' });
      expectOneLine(encode(makeRecord(evil, 'no header at all', { comm: 'co\nmm\u001b' })));
    });

    test(`${format}: random datagrams always give one line (property)`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
          expectOneLine(encode(makeRecord(WEB, Buffer.from(bytes))));
        }),
        { numRuns: 500 },
      );
    });
  }
});

describe('text', () => {
  test('the documented shape, with the kernel receive time even when the message claims another', () => {
    const rec = makeRecord(WEB, '<30>1 2026-11-28T15:16:03.250+01:00 h myapp 77 - - hello world');
    expect(text(rec)).toBe('2026-11-28T14:16:03.042+00:00 web myapp[77]: hello world\n');
  });

  test('the receive time, comm when no tag, host and unknown', () => {
    expect(text(makeRecord(HOST, 'no header'))).toBe('2026-11-28T14:16:03.042+00:00 host myprog: no header\n');
    expect(text(makeRecord(UNKNOWN_SENDER, 'x', { comm: null }))).toBe('2026-11-28T14:16:03.042+00:00 unknown -: x\n');
    expect(text(makeRecord(hostSender(null), '<13>Nov 28 09:16:03 cron: y'))).toBe('2026-11-28T14:16:03.042+00:00 host cron: y\n');
  });

  test('escapes controls, DEL, C1, U+2028/2029 and backslash', () => {
    expect(escapeText('a\tb')).toBe('a\tb');
    expect(escapeText('a\nb\rc\u0000d\u001be\u007ff\u0085g\u009fh')).toBe('a\\x0ab\\x0dc\\x00d\\x1be\\x7ff\\x85g\\x9fh');
    expect(escapeText('x\u2028y\u2029z')).toBe('x\\u2028y\\u2029z');
    expect(escapeText('C:\\dir')).toBe('C:\\\\dir');
    expect(escapeText('plain é 😀')).toBe('plain é 😀');
  });

  test('escaping is reversible (property, any UTF-16 string)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const e = escapeText(s);
        expect(e).not.toMatch(/[\n\r\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
        expect(unescapeText(e)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  test('the fast path skips exactly the strings that need no escaping (every UTF-16 code unit)', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      const escaped = escapeText(s);
      const needs = (c < 0x20 && c !== 0x09) || c === 0x5c || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
      if (needs !== (escaped !== s)) throw new Error(`U+${c.toString(16)}: needs ${needs}, got ${JSON.stringify(escaped)}`);
    }
  });

  test('a text that looks escaped stays distinguishable', () => {
    expect(unescapeText(escapeText('\\x0a'))).toBe('\\x0a');
    expect(escapeText('\\x0a')).not.toBe(escapeText('\n'));
  });
});

describe('json', () => {
  test('keys in the documented order, values as documented', () => {
    const pod = { uid: '1234-5678', qos: 'burstable' as const, namespace: 'shop', name: 'cart-7d9', container: 'api' };
    const sender = containerSender('shop_cart-7d9_api', { runtime: 'containerd', pod, labels: { a: '1' } });
    const rec = makeRecord(sender, '<30>Nov 28 14:16:03 myapp[77]: hello', { pid: 4321, uid: 1000, gid: 100 });
    const line = json(rec);
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(JSON_KEYS);
    expect(o).toEqual({
      time: '2026-11-28T14:16:03.000+00:00',
      received: '2026-11-28T14:16:03.042+00:00',
      facility: 'daemon',
      severity: 'info',
      app: 'myapp',
      syslog_pid: '77',
      pid: 4321,
      uid: 1000,
      gid: 100,
      comm: 'myprog',
      cgroup: sender.path,
      container: { runtime: 'containerd', id: 'ab'.repeat(32), name: 'shop_cart-7d9_api', image: 'nginx:1.27', labels: { a: '1' } },
      pod: { uid: '1234-5678', namespace: 'shop', name: 'cart-7d9', container: 'api' },
      attribution: { cgroup: 'pidfd', comm: 'verified' },
      message: 'hello',
    });
  });

  test('no credentials, no pid, no container: nulls', () => {
    const rec = makeRecord(UNKNOWN_SENDER, 'bare', { pid: -1, uid: 4294967295, gid: 4294967295, comm: null,
      attribution: { cgroup: 'none', comm: 'none' } });
    const o = JSON.parse(json(rec)) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(JSON_KEYS);
    expect(o).toMatchObject({ app: null, syslog_pid: null, pid: null, uid: null, gid: null, comm: null, cgroup: null,
      container: null, pod: null, attribution: { cgroup: 'none', comm: 'none' }, message: 'bare' });
    expect(JSON.parse(json(makeRecord(HOST, 'x', { pid: 0 }))).pid).toBeNull();
  });

  test('line separators and C1 are \\u-escaped and parse back exactly', () => {
    const rec = makeRecord(WEB, 'a\u2028b\u2029c\u0085d\u009be');
    const line = json(rec);
    expect(line).toContain('a\\u2028b\\u2029c\\u0085d\\u009be');
    expect(JSON.parse(line).message).toBe('a\u2028b\u2029c\u0085d\u009be');
    expect(JSON.parse(line).container.labels).toEqual(WEB.container?.labels);
  });
});

describe('rfc5424', () => {
  test('the documented shape for a container sender', () => {
    const rec = makeRecord(WEB, '<30>1 2026-11-28T15:16:03.250+01:00 h myapp 77 ID47 - hello', { pid: 4321, uid: 1000, gid: 100 });
    expect(rfc5424(rec)).toBe(
      '<30>1 2026-11-28T14:16:03.250+00:00 node1 myapp 4321 ID47 ' +
        `[${DEFAULT_SD_ID} runtime="docker" id="${'ab'.repeat(32)}" name="web" cgroup="${WEB.path}" pid="4321" ` +
        'uid="1000" gid="100" comm="myprog" attr_cgroup="pidfd" attr_comm="verified"] hello\n',
    );
  });

  test('only known params: a host sender without credentials', () => {
    const rec = makeRecord(HOST, 'no header', { pid: -1, uid: 4294967295, gid: 4294967295, comm: null,
      attribution: { cgroup: 'none', comm: 'none' } });
    expect(rfc5424(rec)).toBe(
      `<13>1 2026-11-28T14:16:03.042+00:00 node1 - - - [${DEFAULT_SD_ID} unit="cron.service" cgroup="/system.slice/cron.service" ` +
        'attr_cgroup="none" attr_comm="none"] no header\n',
    );
  });

  test('pod params when known', () => {
    const pod = { uid: 'u-1', qos: 'besteffort' as const, namespace: 'ns', name: null, container: 'c' };
    const sd = encodeStructuredData(makeRecord(containerSender('x', { pod }), 'm'));
    expect(sd).toContain(' pod_uid="u-1" pod_namespace="ns" pod_container="c"');
    expect(sd).not.toContain(' pod_name=');
  });

  test('SD-PARAM values escape ", \\ and ] and controls; they parse back exactly', () => {
    const name = 'we"b\\x]y\n\u2028';
    const rec = makeRecord(containerSender(name), 'm', { comm: 'c]"\\' });
    const line = rfc5424(rec);
    expectOneLine(line);
    const sdStart = line.indexOf('[');
    const { elements, rest } = parseSd(line.slice(sdStart));
    expect(rest).toBe(' m\n');
    const params = new Map(elements[0][1]);
    expect(elements[0][0]).toBe(DEFAULT_SD_ID);
    expect(params.get('name')).toBe(name);
    expect(params.get('comm')).toBe('c]"\\');
  });

  test('header fields keep to printable US-ASCII and the RFC lengths', () => {
    const enc = createEncoder('rfc5424', { utc: true, hostname: 'my host\u00e9' });
    const rec = makeRecord(WEB, 'no tag here', { comm: 'a'.repeat(60) });
    const line = enc(rec);
    const fields = line.split(' ');
    expect(fields[2]).toBe('my_host_');
    expect(fields[3]).toBe('a'.repeat(48));
    const tagged = enc(makeRecord(WEB, '<13>Nov 28 14:16:03 m', { comm: 'bad comm\u00e9' })).split(' ');
    expect(tagged[3]).toBe('bad_comm_');
    expect(createEncoder('rfc5424', { hostname: '' })(makeRecord(WEB, 'm')).split(' ')[2]).toBe('-');
  });

  test('the sender cannot forge our SD element; its own elements are kept', () => {
    const payload = `<13>1 2026-11-28T14:16:03Z h app 1 - [${DEFAULT_SD_ID} runtime="docker" name="admin"][mine@1 k="v\\]"] msg`;
    const line = rfc5424(makeRecord(WEB, payload));
    const { elements } = parseSd(line.slice(line.indexOf('[')));
    expect(elements.map((e) => e[0])).toEqual([DEFAULT_SD_ID, 'mine@1']);
    expect(new Map(elements[0][1]).get('name')).toBe('web');
    expect(elements[1][1]).toEqual([['k', 'v]']]);
  });

  test('sdId is an option, checked at construction', () => {
    const enc = createEncoder('rfc5424', { sdId: 'acme@12345' });
    expect(enc(makeRecord(WEB, 'm'))).toContain('[acme@12345 runtime="docker"');
    for (const bad of ['noat', 'a b@1', 'a@x', '@1', 'a@', `${'a'.repeat(30)}@123`, 'a"b@1', 'a@1@2']) {
      expect(() => createEncoder('rfc5424', { sdId: bad })).toThrow(/Invalid sd_id/);
    }
    expect(() => checkSdId('container-syslog@32473')).not.toThrow();
  });

  test('an empty message leaves MSG out', () => {
    expect(rfc5424(makeRecord(WEB, '<13>Nov 28 14:16:03 app: '))).toMatch(/attr_comm="verified"\]\n$/);
  });
});

describe('times', () => {
  test('ISO 8601 with ms and offset, clamped to four-digit years', () => {
    expect(isoTime(0, true)).toBe('1970-01-01T00:00:00.000+00:00');
    expect(isoTime(RECEIVED_US / 1000 + 0.9, true)).toBe('2026-11-28T14:16:03.042+00:00');
    expect(isoTime(-1, true)).toBe('1969-12-31T23:59:59.999+00:00');
    expect(isoTime(Date.UTC(2024, 1, 29, 23, 59, 59, 999), true)).toBe('2024-02-29T23:59:59.999+00:00');
    expect(isoTime(1e18, true)).toBe('9999-12-31T23:59:59.999+00:00');
    expect(isoTime(-1e18, true)).toBe('0000-01-01T00:00:00.000+00:00');
    expect(isoTime(NaN, true)).toBe('1970-01-01T00:00:00.000+00:00');
    expect(isoTime(Date.UTC(999, 0, 1), true)).toBe('0999-01-01T00:00:00.000+00:00');
  });

  const SHAPE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

  test('local time: the same instant, with the zone offset, across DST changes', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ['America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham']) {
        process.env.TZ = tz;
        // Each zone gets its own year so the per-hour offset cache starts cold for it.
        const year = 2030 + ['America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham'].indexOf(tz);
        const start = Date.UTC(year, 0, 1);
        const wrong: string[] = [];
        for (let t = start; t < start + 366 * 86_400_000; t += 15 * 60_000 + 7) {
          const s = isoTime(t);
          const off = -new Date(t).getTimezoneOffset();
          const a = Math.abs(off);
          const offText = `${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
          if (!SHAPE.test(s) || Date.parse(s) !== t || s.slice(-6) !== offText) wrong.push(`${tz} ${t} ${s}`);
        }
        expect(wrong).toEqual([]);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('construction', () => {
  test('unknown format throws listing the formats', () => {
    expect(() => createEncoder('xml' as LogFormat)).toThrow(/Unknown log format 'xml'; expected one of: text, json, rfc5424/);
    expect(LOG_FORMATS).toEqual(['text', 'json', 'rfc5424']);
  });

  test('the parser and the encoders agree on a glibc line', () => {
    const rec = makeRecord(WEB, parseSyslog(Buffer.from('x')).message);
    expect(text(rec)).toBe('2026-11-28T14:16:03.042+00:00 web myprog: x\n');
  });
});
