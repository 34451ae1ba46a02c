/**
 * What the forwarder puts on the wire, table-driven: RFC 5424 with our SD element, RFC 3164 for
 * old receivers, HOSTNAME/APP-NAME templates with their fallbacks, hostile values kept inside
 * their fields, a sender that tries to forge our SD element, and `msgStart`.
 */
import { compileFieldTemplate, WireEncoder, type WireEncoderOptions } from '../../sinks/forward-format';
import { recordFrom } from '../helpers/records';

function encoder(over: Partial<WireEncoderOptions> = {}): WireEncoder {
  return new WireEncoder({ format: 'rfc5424', defaultHostname: 'node-1', hostname: null, appName: null, sdId: 'container-syslog@32473', ...over });
}

const web = { name: 'web' };
const SD_WEB = '[container-syslog@32473 runtime="docker" id="web0000000000000000000000000000000000000000000000000000000000000" name="web" cgroup="/system.slice/docker-web0000000000000000000000000000000000000000000000000000000000000.scope" pid="1234" uid="0" gid="0" comm="test" attr_cgroup="pidfd" attr_comm="verified"]';

describe('RFC 5424', () => {
  test.each([
    ['a glibc line', {}, web, '<13>Nov 28 13:40:51 app[7]: hello', `<13>1 2026-11-28T13:40:51.000+00:00 node-1 app 1234 - ${SD_WEB} hello`],
    ['no message: no trailing space', {}, web, '<13>Nov 28 13:40:51 app[7]: ', `<13>1 2026-11-28T13:40:51.000+00:00 node-1 app 1234 - ${SD_WEB}`],
    ['app_name from the container name', { appName: '{name}' }, web, '<13>Nov 28 13:40:51 app[7]: hi', `<13>1 2026-11-28T13:40:51.000+00:00 node-1 web 1234 - ${SD_WEB} hi`],
    ['hostname from a template', { hostname: '{runtime}-{short_id}' }, web, '<13>Nov 28 13:40:51 app[7]: hi', `<13>1 2026-11-28T13:40:51.000+00:00 docker-web000000000 app 1234 - ${SD_WEB} hi`],
    ['a sender\'s MSGID and SD are kept, after ours', {}, web, '<14>1 2026-11-28T13:40:51Z h app 7 ID47 [ex@1 k="v"] text', `<14>1 2026-11-28T13:40:51.000+00:00 node-1 app 1234 ID47 ${SD_WEB}[ex@1 k="v"] text`],
    ['a sender cannot forge our element', {}, web, '<14>1 2026-11-28T13:40:51Z h app 7 - [container-syslog@32473 name="admin"] text', `<14>1 2026-11-28T13:40:51.000+00:00 node-1 app 1234 - ${SD_WEB} text`],
    ['line breaks and controls in MSG are escaped', {}, web, '<13>Nov 28 13:40:51 app: a\nb\x01c', `<13>1 2026-11-28T13:40:51.000+00:00 node-1 app 1234 - ${SD_WEB} a\\x0ab\\x01c`],
  ])('%s', (_name, over, sender, payload, expected) => {
    expect(encoder(over).encode(recordFrom(sender, payload))).toBe(expected);
  });

  test('templates fall back when they render empty: host senders keep their tag and this host\'s name', () => {
    const e = encoder({ appName: '{name}', hostname: '{pod_name}' });
    const line = e.encode(recordFrom({ kind: 'host', unit: 'cron.service' }, '<78>Nov 28 13:40:51 CRON[9]: job'));
    expect(line).toMatch(/^<78>1 \S+ node-1 CRON 1234 - \[container-syslog@32473 unit="cron\.service" /);
  });

  test('a hostile container name stays inside its fields', () => {
    const e = encoder({ appName: '{name}', hostname: '{name}' });
    const line = e.encode(recordFrom({ name: 'a b"]\n[x@1 y="z' }, '<13>Nov 28 13:40:51 app: m'));
    expect(line.split(' ').slice(2, 4)).toEqual(['a_b"]_[x@1_y="z', 'a_b"]_[x@1_y="z']);
    expect(line).toContain('name="a b\\"\\]\\x0a[x@1 y=\\"z"');
    expect(line).not.toContain('\n');
  });

  test('msgStart is where MSG begins (its length when there is none)', () => {
    const e = encoder();
    const a = e.encode(recordFrom(web, '<13>Nov 28 13:40:51 app: the message'));
    expect(a.slice(e.msgStart)).toBe('the message');
    const b = e.encode(recordFrom(web, '<13>Nov 28 13:40:51 app: '));
    expect(e.msgStart).toBe(b.length);
  });
});

describe('RFC 3164', () => {
  test.each([
    ['as old receivers expect it', {}, web, '<13>Nov 28 13:40:51 app[7]: hello', '<13>Nov 28 13:40:51 node-1 app[1234]: hello'],
    ['a one-digit day is padded with a space', {}, web, '<13>Nov  2 03:04:05 app: x', '<13>Nov  2 03:04:05 node-1 app[1234]: x'],
    ['the TAG from a template, cut to 32 and without [ ] :', { appName: '{name}' }, { name: 'n[1]:'.padEnd(40, 'z') }, '<13>Nov 28 13:40:51 app: x', `<13>Nov 28 13:40:51 node-1 ${'n_1__'.padEnd(32, 'z')}[1234]: x`],
  ])('%s', (_name, over, sender, payload, expected) => {
    expect(encoder({ format: 'rfc3164', ...over }).encode(recordFrom(sender, payload))).toBe(expected);
  });
});

describe('templates', () => {
  test.each([
    ['{nmae}', /Unknown variable '\{nmae\}' in template '\{nmae\}'; valid variables: runtime, name, id/],
    ['{name', /unbalanced '\{'/],
    ['name}', /unbalanced '\}'/],
    ['', /Empty template/],
  ])('%s is refused', (t, message) => {
    expect(() => compileFieldTemplate(t)).toThrow(message);
  });

  test('sender-only templates are marked so (cached per sender); {app} is not', () => {
    expect(compileFieldTemplate('{runtime}/{name}').senderOnly).toBe(true);
    expect(compileFieldTemplate('{name}-{app}').senderOnly).toBe(false);
  });
});
