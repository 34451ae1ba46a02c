/**
 * The /dev/log parsers: one table row per shape of datagram (each checks the whole result), then
 * properties over random bytes and over random text after real prefixes. The `glibc:` and
 * `logger` rows are byte-for-byte what glibc 2.36 `syslog()` (through Python's syslog module)
 * and util-linux 2.38.1 `logger -u` sent to a datagram socket on the development machine.
 *
 * 3164 times are expected in local time, computed with `Date` here, so the rows hold in any
 * time zone.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fc from 'fast-check';
import {
  FACILITY_NAMES,
  ParseNote as N,
  parseRfc3164,
  parseRfc5424,
  parseSyslog,
  parseSyslogRange,
  SEVERITY_NAMES,
  type SyslogMessage,
} from '../../collector/syslog-parse';

/** Local time, month 1..12. */
function local(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}

const NOW = local(2026, 11, 28, 15, 20, 0);

const BASE: SyslogMessage = {
  format: 'rfc3164',
  facility: 1,
  severity: 5,
  priValid: true,
  timestamp: null,
  time: null,
  hostname: null,
  app: null,
  pid: null,
  msgid: null,
  structuredData: null,
  message: '',
  notes: 0,
};

/** A raw result: the whole text, nothing trusted. */
function raw(message: string, notes: number): Partial<SyslogMessage> {
  return { format: 'raw', priValid: false, message, notes: notes | N.NoTimestamp | N.NoTag };
}

interface Row {
  name: string;
  input: string | Buffer;
  now?: number;
  expect: Partial<SyslogMessage>;
}

const LOGGER_5424_SD =
  '<13>1 2026-11-28T15:15:48.495718+00:00 vm myapp 4350 ID47 [timeQuality tzKnown="1" isSynced="0"]' +
  '[exampleSDID@32473 iut="3" eventSource="Appl\\"ica\\]tion"] sd msg';

const ROWS: Row[] = [
  // --- what real senders write -------------------------------------------------------------
  {
    name: 'glibc: tag[pid]: msg',
    input: '<28>Nov 28 15:16:03 myprog[4483]: glibc says hi',
    expect: { facility: 3, severity: 4, timestamp: 'Nov 28 15:16:03', time: local(2026, 11, 28, 15, 16, 3), app: 'myprog', pid: '4483', message: 'glibc says hi' },
  },
  {
    name: 'glibc: day padded with a space',
    input: '<13>Nov  8 13:40:51 app[1]: msg',
    expect: { timestamp: 'Nov  8 13:40:51', time: local(2026, 11, 8, 13, 40, 51), app: 'app', pid: '1', message: 'msg' },
  },
  {
    name: 'glibc: empty ident gives ": msg"',
    input: '<14>Nov 28 15:16:03 : no ident',
    expect: { severity: 6, timestamp: 'Nov 28 15:16:03', time: local(2026, 11, 28, 15, 16, 3), message: 'no ident', notes: N.NoTag },
  },
  {
    name: 'glibc: empty ident with LOG_PID',
    input: '<14>Nov 28 15:16:03 [77]: x',
    expect: { severity: 6, timestamp: 'Nov 28 15:16:03', time: local(2026, 11, 28, 15, 16, 3), pid: '77', message: 'x', notes: N.NoTag },
  },
  {
    name: 'glibc: message ending in a newline',
    input: '<14>Nov 28 15:16:03 : trailing nl\n',
    expect: { severity: 6, timestamp: 'Nov 28 15:16:03', time: local(2026, 11, 28, 15, 16, 3), message: 'trailing nl', notes: N.NoTag | N.TrailingNewline },
  },
  {
    name: 'logger -u (default): no hostname',
    input: '<13>Nov 28 15:15:48 root: hello',
    expect: { timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'root', message: 'hello' },
  },
  {
    name: 'logger --rfc3164: hostname before the tag',
    input: '<13>Nov 28 15:15:48 vm root: hello',
    expect: { timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), hostname: 'vm', app: 'root', message: 'hello' },
  },
  {
    name: 'logger -t myapp -i',
    input: '<13>Nov 28 15:15:48 myapp[4349]: with pid',
    expect: { timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'myapp', pid: '4349', message: 'with pid' },
  },
  {
    name: 'logger -p local3.err',
    input: '<155>Nov 28 15:15:48 root: prio',
    expect: { facility: 19, severity: 3, timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'root', message: 'prio' },
  },
  {
    name: 'logger with an inner newline keeps it',
    input: '<13>Nov 28 15:15:48 root: multi\nline',
    expect: { timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'root', message: 'multi\nline' },
  },
  {
    name: 'logger --rfc5424',
    input: '<13>1 2026-11-28T15:15:48.489893+00:00 vm root - - [timeQuality tzKnown="1" isSynced="0"] hello',
    expect: {
      format: 'rfc5424', timestamp: '2026-11-28T15:15:48.489893+00:00', time: Date.UTC(2026, 10, 28, 15, 15, 48, 489),
      hostname: 'vm', app: 'root', structuredData: [{ id: 'timeQuality', params: [['tzKnown', '1'], ['isSynced', '0']] }], message: 'hello',
    },
  },
  {
    name: 'logger --rfc5424 with msgid, pid and escaped SD values',
    input: LOGGER_5424_SD,
    expect: {
      format: 'rfc5424', timestamp: '2026-11-28T15:15:48.495718+00:00', time: Date.UTC(2026, 10, 28, 15, 15, 48, 495),
      hostname: 'vm', app: 'myapp', pid: '4350', msgid: 'ID47',
      structuredData: [
        { id: 'timeQuality', params: [['tzKnown', '1'], ['isSynced', '0']] },
        { id: 'exampleSDID@32473', params: [['iut', '3'], ['eventSource', 'Appl"ica]tion']] },
      ],
      message: 'sd msg',
    },
  },
  {
    name: 'logger --rfc5424=notq,notime: nil timestamp and SD',
    input: '<13>1 - vm root - - - notime',
    expect: { format: 'rfc5424', hostname: 'vm', app: 'root', message: 'notime', notes: N.NoTimestamp },
  },

  // --- PRI --------------------------------------------------------------------------------
  {
    name: 'pri 0 is kern.emerg',
    input: '<0>Nov 28 15:15:48 kernel: boom',
    expect: { facility: 0, severity: 0, timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'kernel', message: 'boom' },
  },
  {
    name: 'pri 191 is local7.debug',
    input: '<191>Nov 28 15:15:48 app: x',
    expect: { facility: 23, severity: 7, timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'app', message: 'x' },
  },
  { name: 'pri 192 is out of range: raw', input: '<192>Nov 28 15:15:48 app: x', expect: raw('<192>Nov 28 15:15:48 app: x', N.BadPri) },
  { name: 'pri with leading zeros: raw', input: '<0013>Nov 28 15:15:48 app: x', expect: raw('<0013>Nov 28 15:15:48 app: x', N.BadPri) },
  { name: 'pri <00>: raw', input: '<00>x', expect: raw('<00>x', N.BadPri) },
  { name: 'pri of letters: raw', input: '<abc>app: x', expect: raw('<abc>app: x', N.BadPri) },
  { name: 'pri empty <>: raw', input: '<>app: x', expect: raw('<>app: x', N.BadPri) },
  { name: 'pri never closed: raw', input: '<13', expect: raw('<13', N.BadPri) },
  {
    name: 'no pri, BSD timestamp: user.notice',
    input: 'Nov 28 15:15:48 app[9]: x',
    expect: { priValid: false, timestamp: 'Nov 28 15:15:48', time: local(2026, 11, 28, 15, 15, 48), app: 'app', pid: '9', message: 'x', notes: N.NoPri },
  },
  { name: 'no pri, no timestamp: raw, even if tag-shaped', input: 'app: hello', expect: raw('app: hello', N.NoPri) },
  { name: 'pri only', input: '<13>', expect: { notes: N.NoTimestamp | N.NoTag | N.Empty } },

  // --- timestamps -------------------------------------------------------------------------
  { name: 'no timestamp, tag right after pri', input: '<13>app[5]: hi', expect: { app: 'app', pid: '5', message: 'hi', notes: N.NoTimestamp } },
  {
    name: 'day padded with a zero',
    input: '<13>Nov 08 13:40:51 app: x',
    expect: { timestamp: 'Nov 08 13:40:51', time: local(2026, 11, 8, 13, 40, 51), app: 'app', message: 'x' },
  },
  {
    name: 'one-digit day after one space',
    input: '<13>Nov 8 13:40:51 app: x',
    expect: { timestamp: 'Nov 8 13:40:51', time: local(2026, 11, 8, 13, 40, 51), app: 'app', message: 'x' },
  },
  { name: 'hour 25 is not a timestamp', input: '<13>Nov 28 25:00:00 app: x', expect: { message: 'Nov 28 25:00:00 app: x', notes: N.NoTimestamp | N.NoTag } },
  { name: 'lowercase month is not a timestamp', input: '<13>nov 28 13:40:51 app: x', expect: { message: 'nov 28 13:40:51 app: x', notes: N.NoTimestamp | N.NoTag } },
  { name: 'timestamp glued to text is not a timestamp', input: '<13>Nov 28 13:40:51app: x', expect: { message: 'Nov 28 13:40:51app: x', notes: N.NoTimestamp | N.NoTag } },
  {
    name: 'timestamp and nothing after it',
    input: '<13>Nov 28 13:40:51',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), notes: N.NoTag | N.Empty },
  },
  {
    name: 'RFC 3339 timestamp in a 3164 line',
    input: '<13>2026-11-28T13:40:51.123456+00:00 app[1]: msg',
    expect: { timestamp: '2026-11-28T13:40:51.123456+00:00', time: Date.UTC(2026, 10, 28, 13, 40, 51, 123), app: 'app', pid: '1', message: 'msg' },
  },
  {
    name: 'RFC 3339 timestamp (Z) then hostname in a 3164 line',
    input: '<13>2026-11-28T13:40:51Z host1 app: msg',
    expect: { timestamp: '2026-11-28T13:40:51Z', time: Date.UTC(2026, 10, 28, 13, 40, 51), hostname: 'host1', app: 'app', message: 'msg' },
  },
  { name: 'RFC 3339 date that does not exist is not a timestamp', input: '<13>2026-02-30T00:00:00Z app: x', expect: { message: '2026-02-30T00:00:00Z app: x', notes: N.NoTimestamp | N.NoTag } },
  {
    name: 'Feb 30 has the shape but no time',
    input: '<13>Feb 30 10:00:00 app: x',
    expect: { timestamp: 'Feb 30 10:00:00', app: 'app', message: 'x' },
  },
  {
    name: 'Feb 29 read in a non-leap year is the last leap year',
    input: '<13>Feb 29 10:00:00 app: x',
    expect: { timestamp: 'Feb 29 10:00:00', time: local(2024, 2, 29, 10, 0, 0), app: 'app', message: 'x' },
  },

  // --- the year of a 3164 timestamp ---------------------------------------------------------
  {
    name: 'year: Dec 31 read on Jan 1 is last year',
    input: '<13>Dec 31 23:59:59 app: x',
    now: local(2027, 1, 1, 0, 0, 5),
    expect: { timestamp: 'Dec 31 23:59:59', time: local(2026, 12, 31, 23, 59, 59), app: 'app', message: 'x' },
  },
  {
    name: 'year: Jan 1 read on Dec 31 (sender clock ahead) is next year',
    input: '<13>Jan  1 00:00:01 app: x',
    now: local(2026, 12, 31, 23, 59, 58),
    expect: { timestamp: 'Jan  1 00:00:01', time: local(2027, 1, 1, 0, 0, 1), app: 'app', message: 'x' },
  },
  {
    name: 'year: a few hours ahead is still this year',
    input: '<13>Nov 28 20:00:00 app: x',
    expect: { timestamp: 'Nov 28 20:00:00', time: local(2026, 11, 28, 20, 0, 0), app: 'app', message: 'x' },
  },
  {
    name: 'year: more than a day ahead is last year',
    input: '<13>Nov 30 15:20:00 app: x',
    expect: { timestamp: 'Nov 30 15:20:00', time: local(2025, 11, 30, 15, 20, 0), app: 'app', message: 'x' },
  },

  // --- tags -------------------------------------------------------------------------------
  { name: 'tag without pid', input: '<13>Nov 28 13:40:51 CRON: x', expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'CRON', message: 'x' } },
  {
    name: 'tag with a slash',
    input: '<22>Nov 28 13:40:51 postfix/smtpd[123]: connect from x',
    expect: { facility: 2, severity: 6, timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'postfix/smtpd', pid: '123', message: 'connect from x' },
  },
  {
    name: 'tag with dash, dot and underscore',
    input: '<38>Nov 28 13:40:51 systemd-logind.x_y[9]: New session',
    expect: { facility: 4, severity: 6, timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'systemd-logind.x_y', pid: '9', message: 'New session' },
  },
  {
    name: 'tag[pid] then a space, no colon',
    input: '<13>Nov 28 13:40:51 app[123] msg',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', pid: '123', message: 'msg' },
  },
  {
    name: 'bare word then a space is not a tag',
    input: '<13>Nov 28 13:40:51 hello world',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: 'hello world', notes: N.NoTag },
  },
  {
    name: 'colon not followed by a space is not a tag',
    input: '<13>Nov 28 13:40:51 http://example.org is down',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: 'http://example.org is down', notes: N.NoTag },
  },
  {
    name: 'tag of 48 characters',
    input: `<13>Nov 28 13:40:51 ${'a'.repeat(48)}: x`,
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'a'.repeat(48), message: 'x' },
  },
  {
    name: 'first token of 49 characters is not a tag',
    input: `<13>Nov 28 13:40:51 ${'a'.repeat(49)}: x`,
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: `${'a'.repeat(49)}: x`, notes: N.NoTag },
  },
  {
    name: 'tag and colon at the end: empty message',
    input: '<13>Nov 28 13:40:51 app:',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', notes: N.Empty },
  },
  {
    name: 'tag[pid] at the end: empty message',
    input: '<13>Nov 28 13:40:51 app[1]',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', pid: '1', notes: N.Empty },
  },
  {
    name: 'empty brackets are not a pid, so not a tag',
    input: '<13>Nov 28 13:40:51 app[]: x',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: 'app[]: x', notes: N.NoTag },
  },
  {
    name: 'pid is kept as sent, not parsed',
    input: '<13>Nov 28 13:40:51 app[0x1f]: x',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', pid: '0x1f', message: 'x' },
  },
  {
    name: 'non-ASCII tag',
    input: '<13>Nov 28 13:40:51 café[3]: x',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'café', pid: '3', message: 'x' },
  },

  // --- the hostname rule ------------------------------------------------------------------
  {
    name: 'hostname: word then tag[pid]: is host and tag',
    input: '<13>Nov 28 13:40:51 myhost app[1]: msg',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), hostname: 'myhost', app: 'app', pid: '1', message: 'msg' },
  },
  {
    name: 'hostname: FQDN then tag',
    input: '<86>Nov 28 13:40:51 web-01.example.com sshd[22]: Accepted',
    expect: { facility: 10, severity: 6, timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), hostname: 'web-01.example.com', app: 'sshd', pid: '22', message: 'Accepted' },
  },
  {
    name: 'hostname: word then a non-tag is neither',
    input: '<13>Nov 28 13:40:51 myhost hello world',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: 'myhost hello world', notes: N.NoTag },
  },
  {
    name: 'hostname: never without a timestamp',
    input: '<13>myhost app: msg',
    expect: { message: 'myhost app: msg', notes: N.NoTimestamp | N.NoTag },
  },
  {
    name: 'hostname: a tag in first place wins',
    input: '<13>Nov 28 13:40:51 app: other: x',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', message: 'other: x' },
  },
  {
    name: 'hostname: characters outside [A-Za-z0-9._-] make it not one',
    input: '<13>Nov 28 13:40:51 my!host app: x',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: 'my!host app: x', notes: N.NoTag },
  },
  {
    name: 'hostname: two spaces before the tag make it not one',
    input: '<13>Nov 28 13:40:51 myhost  app: x',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), message: 'myhost  app: x', notes: N.NoTag },
  },
  {
    name: 'hostname: the documented ambiguity, a word before a colon word',
    input: '<13>Nov 28 13:40:51 Disk sda: failing',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), hostname: 'Disk', app: 'sda', message: 'failing' },
  },

  // --- framing and encoding ---------------------------------------------------------------
  {
    name: 'trailing NULs stripped',
    input: '<13>Nov 28 13:40:51 app: x\0\0',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', message: 'x', notes: N.TrailingNul },
  },
  {
    name: 'trailing CRLF and NUL stripped',
    input: '<13>Nov 28 13:40:51 app: x\r\n\0',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', message: 'x', notes: N.TrailingNewline | N.TrailingNul },
  },
  {
    name: 'inner NUL and control characters kept',
    input: '<13>Nov 28 13:40:51 app: a\0b\t\x1b[31m',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', message: 'a\0b\t\x1b[31m' },
  },
  {
    name: 'invalid UTF-8 becomes U+FFFD and is noted',
    input: Buffer.concat([Buffer.from('<13>Nov 28 13:40:51 app: a'), Buffer.from([0xff, 0xc3]), Buffer.from('b')]),
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', message: 'a\uFFFD\uFFFDb', notes: N.InvalidUtf8 },
  },
  {
    name: 'a U+FFFD sent as valid UTF-8 is not invalid',
    input: '<13>Nov 28 13:40:51 app: a\uFFFDb',
    expect: { timestamp: 'Nov 28 13:40:51', time: local(2026, 11, 28, 13, 40, 51), app: 'app', message: 'a\uFFFDb' },
  },
  { name: 'empty payload', input: '', expect: raw('', N.NoPri | N.Empty) },
  { name: 'only newlines and NULs', input: '\n\0\n', expect: raw('', N.NoPri | N.Empty | N.TrailingNewline | N.TrailingNul) },
  { name: 'plain text: raw, whole', input: 'just some text: here', expect: raw('just some text: here', N.NoPri) },

  // --- RFC 5424 ---------------------------------------------------------------------------
  {
    name: '5424: BOM before MSG stripped and noted',
    input: Buffer.concat([Buffer.from('<34>1 2026-11-28T22:14:15.003Z host.example su - ID1 - '), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('su failed')]),
    expect: {
      format: 'rfc5424', facility: 4, severity: 2, timestamp: '2026-11-28T22:14:15.003Z', time: Date.UTC(2026, 10, 28, 22, 14, 15, 3),
      hostname: 'host.example', app: 'su', msgid: 'ID1', message: 'su failed', notes: N.Bom,
    },
  },
  {
    name: '5424: BOM inside MSG kept',
    input: '<13>1 - h a p m - x\uFEFFy',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', message: 'x\uFEFFy', notes: N.NoTimestamp },
  },
  {
    name: '5424: several SD elements, every escape, repeated param',
    input: '<13>1 - h a p m [a@1 x="q\\"b\\\\c\\]d"][b@2 y="1" y="2"] msg',
    expect: {
      format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', notes: N.NoTimestamp, message: 'msg',
      structuredData: [{ id: 'a@1', params: [['x', 'q"b\\c]d']] }, { id: 'b@2', params: [['y', '1'], ['y', '2']] }],
    },
  },
  {
    name: '5424: other backslashes kept as written',
    input: '<13>1 - h a p m [a v="x\\ny\\q"] m',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', notes: N.NoTimestamp, message: 'm', structuredData: [{ id: 'a', params: [['v', 'x\\ny\\q']] }] },
  },
  {
    name: '5424: unescaped ] inside a value accepted',
    input: '<13>1 - h a p m [a v="x]y"] m',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', notes: N.NoTimestamp, message: 'm', structuredData: [{ id: 'a', params: [['v', 'x]y']] }] },
  },
  {
    name: '5424: SD element without params, UTF-8 value',
    input: '<13>1 - h a p m [flag][u v="ü€"] m',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', notes: N.NoTimestamp, message: 'm', structuredData: [{ id: 'flag', params: [] }, { id: 'u', params: [['v', 'ü€']] }] },
  },
  {
    name: '5424: SD and no message',
    input: '<13>1 - h a p m [a k="v"]',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', structuredData: [{ id: 'a', params: [['k', 'v']] }], notes: N.NoTimestamp | N.Empty },
  },
  {
    name: '5424: malformed SD (value never closed) kept as message',
    input: '<13>1 - h a p m [a k="v] msg',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', message: '[a k="v] msg', notes: N.NoTimestamp | N.BadStructuredData },
  },
  {
    name: '5424: malformed SD (no closing bracket) kept as message',
    input: '<13>1 - h a p m [a k="v" msg',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', message: '[a k="v" msg', notes: N.NoTimestamp | N.BadStructuredData },
  },
  {
    name: '5424: malformed SD (text right after ]) kept as message',
    input: '<13>1 - h a p m [a]x msg',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', message: '[a]x msg', notes: N.NoTimestamp | N.BadStructuredData },
  },
  {
    name: '5424: malformed SD (SD-ID of 33 characters)',
    input: `<13>1 - h a p m [${'i'.repeat(33)}] msg`,
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', message: `[${'i'.repeat(33)}] msg`, notes: N.NoTimestamp | N.BadStructuredData },
  },
  {
    name: '5424: nil SD glued to text',
    input: '<13>1 - h a p m -x msg',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', message: '-x msg', notes: N.NoTimestamp | N.BadStructuredData },
  },
  {
    name: '5424: header ends before SD',
    input: '<13>1 - h a p m ',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', pid: 'p', msgid: 'm', notes: N.NoTimestamp | N.BadStructuredData | N.Empty },
  },
  {
    name: '5424: every field nil',
    input: '<13>1 - - - - - -',
    expect: { format: 'rfc5424', notes: N.NoTimestamp | N.NoTag | N.Empty },
  },
  {
    name: '5424: offset -05:30',
    input: '<13>1 2026-11-28T15:15:48.5-05:30 h a - - - x',
    expect: { format: 'rfc5424', timestamp: '2026-11-28T15:15:48.5-05:30', time: Date.UTC(2026, 10, 28, 20, 45, 48, 500), hostname: 'h', app: 'a', message: 'x' },
  },
  {
    name: '5424: nine fractional digits',
    input: '<13>1 2026-11-28T15:15:48.123456789Z h a - - - x',
    expect: { format: 'rfc5424', timestamp: '2026-11-28T15:15:48.123456789Z', time: Date.UTC(2026, 10, 28, 15, 15, 48, 123), hostname: 'h', app: 'a', message: 'x' },
  },
  {
    name: '5424: leap day of year 0048',
    input: '<13>1 0048-02-29T00:00:00Z h a - - - x',
    expect: { format: 'rfc5424', timestamp: '0048-02-29T00:00:00Z', time: Date.parse('0048-02-29T00:00:00Z'), hostname: 'h', app: 'a', message: 'x' },
  },
  {
    name: '5424: trailing newline stripped',
    input: '<13>1 - h a - - - x\n',
    expect: { format: 'rfc5424', hostname: 'h', app: 'a', message: 'x', notes: N.NoTimestamp | N.TrailingNewline },
  },
  {
    name: '5424 shape with version 2 is read as 3164',
    input: '<13>2 - - - - - - x',
    expect: { message: '2 - - - - - - x', notes: N.NoTimestamp | N.NoTag },
  },
  {
    name: '5424 shape with a word for timestamp is read as 3164',
    input: '<13>1 yesterday host app - - - x',
    expect: { message: '1 yesterday host app - - - x', notes: N.NoTimestamp | N.NoTag },
  },
  {
    name: '5424 shape with month 13 is read as 3164',
    input: '<13>1 2026-13-01T00:00:00Z h a - - - x',
    expect: { message: '1 2026-13-01T00:00:00Z h a - - - x', notes: N.NoTimestamp | N.NoTag },
  },
  {
    name: '5424 shape with a 49-character APP-NAME is read as 3164',
    input: `<13>1 - h ${'a'.repeat(49)} - - - x`,
    expect: { message: `1 - h ${'a'.repeat(49)} - - - x`, notes: N.NoTimestamp | N.NoTag },
  },
];

function toBuffer(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

describe('parseSyslog: shapes', () => {
  test('the table has at least 40 rows with unique names', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(ROWS.map((r) => r.name)).size).toBe(ROWS.length);
  });

  test.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const got = parseSyslog(toBuffer(row.input), row.now ?? NOW);
    expect(got).toEqual({ ...BASE, ...row.expect });
    // Every result has the same fields in the same order.
    expect(Object.keys(got)).toEqual(Object.keys(BASE));
  });
});

describe('the format-specific parsers', () => {
  test('parseRfc5424 returns null for what is not 5424', () => {
    expect(parseRfc5424(Buffer.from('<13>Nov 28 15:15:48 root: hello'))).toBeNull();
    expect(parseRfc5424(Buffer.from('1 - h a - - - x'))).toBeNull();
    expect(parseRfc5424(Buffer.from('<13>1 yesterday h a - - - x'))).toBeNull();
    expect(parseRfc5424(Buffer.alloc(0))).toBeNull();
  });

  test('parseRfc5424 reads 5424 as parseSyslog does', () => {
    const b = Buffer.from(LOGGER_5424_SD);
    expect(parseRfc5424(b)).toEqual(parseSyslog(b));
  });

  test('parseRfc3164 reads a 5424 line as 3164 text without losing it', () => {
    const m = parseRfc3164(Buffer.from('<13>1 - vm root - - - notime'), NOW);
    expect(m).toEqual({ ...BASE, message: '1 - vm root - - - notime', notes: N.NoTimestamp | N.NoTag });
  });

  test('a view into a larger buffer is read within its bounds', () => {
    const big = Buffer.from('XXXX<13>Nov 28 13:40:51 app: hello\nYYYY');
    const view = big.subarray(4, big.length - 4);
    expect(parseSyslog(view, NOW)).toEqual(parseSyslog(Buffer.from(view), NOW));
    expect(parseSyslog(view, NOW).message).toBe('hello');
  });

  test('the default nowMs is the current time', () => {
    const d = new Date();
    const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
    const two = (n: number): string => String(n).padStart(2, '0');
    const line = `<13>${month} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} app: x`;
    d.setMilliseconds(0);
    expect(parseSyslog(Buffer.from(line)).time).toBe(d.getTime());
  });
});

/**
 * Runs in a child with TZ set (a time zone is fixed per process): the parser, its files compiled
 * by swc as jest compiles them, reads every 3164 timestamp of 2026 in steps of 7 minutes; prints
 * how many differ from `new Date(...)` in that zone.
 */
const ZONE_CHECK = `
const swc = require('@swc/core');
require.extensions['.ts'] = (mod, file) => {
  const { code } = swc.transformFileSync(file, { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } });
  mod._compile(code, file);
};
const { parseSyslog } = require(process.argv[1]);
const M = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n) => String(n).padStart(2, '0');
const now = new Date(2026, 11, 30, 12).getTime();
let checked = 0, wrong = 0;
for (let t = new Date(2026, 0, 2).getTime(); t < new Date(2026, 11, 30).getTime(); t += 7 * 60 * 1000 + 13000) {
  const d = new Date(t);
  const line = '<13>' + M[d.getMonth()] + ' ' + String(d.getDate()).padStart(2, ' ') + ' ' + two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds()) + ' a: x';
  const want = new Date(2026, d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()).getTime();
  checked++;
  if (parseSyslog(Buffer.from(line), now).time !== want) wrong++;
}
process.stdout.write(JSON.stringify({ checked, wrong }));
`;

describe('local time', () => {
  test.each(['UTC', 'Europe/Berlin', 'America/St_Johns', 'Australia/Lord_Howe', 'Asia/Kathmandu'])(
    '3164 times equal Date in %s, across its DST changes',
    (zone) => {
      const file = path.join(__dirname, '../../collector/syslog-parse.ts');
      const out = execFileSync(process.execPath, ['-e', ZONE_CHECK, file], {
        cwd: path.join(__dirname, '../..'),
        env: { ...process.env, TZ: zone },
        encoding: 'utf8',
      });
      const result = JSON.parse(out) as { checked: number; wrong: number };
      expect(result.checked).toBeGreaterThan(60_000);
      expect(result.wrong).toBe(0);
    },
  );
});

describe('names', () => {
  test('facility and severity names by number', () => {
    expect(FACILITY_NAMES).toHaveLength(24);
    expect(SEVERITY_NAMES).toHaveLength(8);
    expect([FACILITY_NAMES[0], FACILITY_NAMES[1], FACILITY_NAMES[10], FACILITY_NAMES[15], FACILITY_NAMES[16], FACILITY_NAMES[23]])
      .toEqual(['kern', 'user', 'authpriv', 'solaris-cron', 'local0', 'local7']);
    expect([SEVERITY_NAMES[0], SEVERITY_NAMES[3], SEVERITY_NAMES[4], SEVERITY_NAMES[7]]).toEqual(['emerg', 'err', 'warning', 'debug']);
    expect(Object.isFrozen(FACILITY_NAMES) && Object.isFrozen(SEVERITY_NAMES)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const ALL_NOTES = Object.values(N).reduce((a, b) => a | b, 0);

/** Valid for any input: types, ranges, defaults, and nothing lost. */
function checkInvariants(payload: Buffer, m: SyslogMessage): void {
  expect(['rfc3164', 'rfc5424', 'raw']).toContain(m.format);
  expect(typeof m.message).toBe('string');
  expect(Number.isInteger(m.facility) && m.facility >= 0 && m.facility <= 23).toBe(true);
  expect(Number.isInteger(m.severity) && m.severity >= 0 && m.severity <= 7).toBe(true);
  expect(Number.isInteger(m.notes) && (m.notes & ~ALL_NOTES) === 0).toBe(true);
  if (!m.priValid) expect([m.facility, m.severity]).toEqual([1, 5]);
  expect(m.time === null || Number.isFinite(m.time)).toBe(true);
  expect(m.time === null || m.timestamp !== null).toBe(true);
  expect((m.notes & N.Empty) !== 0).toBe(m.message === '');
  expect(Object.keys(m)).toEqual(Object.keys(BASE));

  // Nothing silently disappears: the decoded payload is a header, then the message, then only
  // stripped framing, and every field came from the header, in order.
  const text = payload.toString('utf8');
  let end = text.length;
  while (end > 0 && (text[end - 1] === '\n' || text[end - 1] === '\r' || text[end - 1] === '\0')) end--;
  const trailing = text.slice(end);
  expect((m.notes & N.TrailingNewline) !== 0).toBe(/[\n\r]/.test(trailing));
  expect((m.notes & N.TrailingNul) !== 0).toBe(trailing.includes('\0'));
  const body = text.slice(0, end);
  expect(body.endsWith(m.message)).toBe(true);
  const header = body.slice(0, body.length - m.message.length);
  if (m.format === 'raw') expect(header).toBe('');
  if ((m.notes & N.Bom) !== 0) expect(header.endsWith('\uFEFF')).toBe(true);
  let at = 0;
  for (const field of [m.timestamp, m.hostname, m.app, m.pid, m.msgid]) {
    if (field === null) continue;
    const found = header.indexOf(field, at);
    expect(found).toBeGreaterThanOrEqual(at);
    at = found + field.length;
  }
}

/** Text that looks like the start of a real datagram, then anything. */
const PREFIXES = [
  '', '<13>', '<0>', '<191>', '<192>', '<013>', '<', '<>', '<13>1 ', '<13>1 - ', '<13>1 - h a p m ',
  '<13>1 2026-11-28T15:15:48.1Z h a p m [', '<13>Nov 28 15:15:48 ', '<13>Nov  8 15:15:48 app', 'Nov 28 15:15:48 ',
  '<13>2026-11-28T13:40:51Z ', '<13>Nov 28 15:15:48 host app[', '<13>Feb 29 10:00:00 ', '<13>1 - - - - - [a k="',
  '<13>Nov 28 15:15:48 app[1]: ', '<13>Nov 28 15:15:48 host app: ', '<13>1 - h a p m - ', '<13>1 - h a p m [x@1 k="v"]',
];
const SYNTAX = fc.constantFrom('<', '>', '[', ']', ':', ' ', '"', '\\', '=', '-', '1', '3', '\n', '\0', 'a', 'T', 'Z', '.', '+', '\uFEFF', '\uFFFD', 'é');
const AROUND_PREFIXES = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.oneof(fc.string({ unit: SYNTAX, maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 200 })))
  .map(([prefix, rest]) => Buffer.from(prefix + rest, 'utf8'));
const NOW_ANY = fc.oneof(fc.constant(NOW), fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.double());

describe('parseSyslog: properties', () => {
  test('random bytes never throw and keep every invariant', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), NOW_ANY, (bytes, now) => {
        const payload = Buffer.from(bytes);
        checkInvariants(payload, parseSyslog(payload, now));
        checkInvariants(payload, parseRfc3164(payload, now));
        const m5 = parseRfc5424(payload, now);
        if (m5 !== null) checkInvariants(payload, m5);
      }),
      { numRuns: 2000 },
    );
  });

  test('random text after real prefixes never throws and keeps every invariant', () => {
    fc.assert(
      fc.property(AROUND_PREFIXES, NOW_ANY, (payload, now) => {
        checkInvariants(payload, parseSyslog(payload, now));
      }),
      { numRuns: 3000 },
    );
  });

  test('parsing is deterministic and does not depend on the buffer object', () => {
    fc.assert(
      fc.property(fc.oneof(AROUND_PREFIXES, fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b))), (payload) => {
        const first = parseSyslog(payload, NOW);
        expect(parseSyslog(payload, NOW)).toEqual(first);
        expect(parseSyslog(Buffer.from(payload), NOW)).toEqual(first);
      }),
      { numRuns: 1000 },
    );
  });

  test('a range of a shared buffer parses as the same bytes on their own', () => {
    // The receive path parses each datagram in place in the batch's buffer; the bytes around it
    // (other datagrams, invalid UTF-8 among them) must not change the result, nor its notes.
    const around = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from([0xff, ...b, 0xc3]));
    fc.assert(
      fc.property(
        fc.oneof(AROUND_PREFIXES, fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b))),
        around,
        around,
        NOW_ANY,
        (payload, before, after, now) => {
          const shared = Buffer.concat([before, payload, after]);
          const m = parseSyslogRange(shared, before.length, before.length + payload.length, now);
          expect(m).toEqual(parseSyslog(payload, now));
        },
      ),
      { numRuns: 2000 },
    );
    const bad = Buffer.from('<13>Nov 28 15:20:00 app: caf\xe9 \ufffd', 'latin1');
    const m = parseSyslogRange(Buffer.concat([Buffer.from('ok'), bad]), 2, 2 + bad.length, NOW);
    expect(m.notes & N.InvalidUtf8).toBe(N.InvalidUtf8);
    const sent = Buffer.from('<13>Nov 28 15:20:00 app: a real \ufffd sent as such');
    const m2 = parseSyslogRange(Buffer.concat([Buffer.from([0xff]), sent, Buffer.from([0xfe])]), 1, 1 + sent.length, NOW);
    expect(m2.notes & N.InvalidUtf8).toBe(0);
    expect(m2.message).toBe('a real \ufffd sent as such');
  });

  test('parseSyslog is parseRfc5424 when that accepts, else parseRfc3164', () => {
    fc.assert(
      fc.property(AROUND_PREFIXES, (payload) => {
        const m5 = parseRfc5424(payload, NOW);
        expect(parseSyslog(payload, NOW)).toEqual(m5 ?? parseRfc3164(payload, NOW));
      }),
      { numRuns: 1000 },
    );
  });

  test('structured data written with escapes reads back as written', () => {
    const nameChar = fc.constantFrom(...'abcXYZ09@.-_!#$%&\'()*+,/;<>?[\\^`{|}~'.split(''));
    const sdName = fc.string({ unit: nameChar, minLength: 1, maxLength: 32 });
    const value = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', ']', '[', ' ', '='), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 20 });
    const element = fc.record({ id: sdName, params: fc.array(fc.tuple(sdName, value), { maxLength: 4 }) });
    const escape = (v: string): string => v.replace(/["\\\]]/g, (c) => `\\${c}`);
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 40 }), (sd, text) => {
        const wire = sd.map((e) => `[${e.id}${e.params.map(([k, v]) => ` ${k}="${escape(v)}"`).join('')}]`).join('');
        const message = `m${text}.`;
        const m = parseSyslog(Buffer.from(`<13>1 - h a p m ${wire} ${message}`), NOW);
        expect(m.format).toBe('rfc5424');
        expect(m.structuredData).toEqual(sd);
        expect(m.message).toBe(message);
      }),
      { numRuns: 1000 },
    );
  });

  test('text with no structure comes back whole as a raw message', () => {
    const plain = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'x', '.', ',', 'é', '\t'), minLength: 1, maxLength: 200 });
    fc.assert(
      fc.property(plain, (text) => {
        const m = parseSyslog(Buffer.from(text), NOW);
        expect(m.format).toBe('raw');
        expect(m.message).toBe(text);
      }),
    );
  });
});
