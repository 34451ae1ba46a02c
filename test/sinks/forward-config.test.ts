/**
 * Config for the forward and winston sinks: defaults, every key documented for the reference,
 * the commented example in deploy/ valid when uncommented, and errors that name the key (and
 * suggest the nearest one) for every mistake that would otherwise show up only at run time.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig, SINK_TYPE_SCHEMAS } from '../../sinks/config';
import { ConfigError, referenceTable } from '../../sinks/config-schema';

const EXAMPLE = path.join(__dirname, '../../deploy/container-syslog.yaml');

describe('forward and winston sink config', () => {
  test('a forward sink takes the defaults for what it does not say', () => {
    const c = parseConfig('sinks:\n  central: { type: forward, host: logs.example.net }\n');
    expect(c.sinks.central).toEqual({
      type: 'forward',
      protocol: 'tcp',
      host: 'logs.example.net',
      port: 0,
      format: 'rfc5424',
      framing: 'auto',
      tls: { ca_file: null, cert_file: null, key_file: null, server_name: null, verify_server_name: true },
      queue_max_messages: 100_000,
      queue_max_bytes: 64 * 1024 * 1024,
      reconnect_base_ms: 500,
      reconnect_max_ms: 30_000,
      connect_timeout_ms: 10_000,
      disk_buffer_dir: null,
      disk_buffer_max_bytes: 256 * 1024 * 1024,
      close_timeout_ms: 5000,
      app_name: null,
      hostname: null,
      sd_id: 'container-syslog@32473',
      max_datagram_bytes: 2048,
    });
    expect(parseConfig('sinks:\n  audit: { type: winston, module: winston, transport: File, options: { filename: /tmp/a.log } }\n').sinks.audit).toEqual({
      type: 'winston',
      module: 'winston',
      transport: 'File',
      options: { filename: '/tmp/a.log' },
      format: 'text',
      queue_max_messages: 10_000,
      close_timeout_ms: 5000,
    });
  });

  test('the commented examples in deploy/ are valid as written', () => {
    const text = fs.readFileSync(EXAMPLE, 'utf8');
    const start = text.indexOf('# Forwarding to a central syslog tier');
    const block = text
      .slice(start)
      .split('\n')
      .filter((l) => l.startsWith('#   '))
      .map((l) => l.slice(4))
      .join('\n');
    const doc = YAML.parse(block) as { routes: unknown; sinks: Record<string, unknown>; audit: unknown };
    const c = parseConfig(YAML.stringify({ routes: doc.routes, sinks: { ...doc.sinks, audit: doc.audit } }));
    expect(c.sinks.central).toMatchObject({ type: 'forward', protocol: 'tls', host: 'logs.example.net', disk_buffer_dir: '/var/lib/container-syslog/central' });
    expect(c.sinks.audit).toMatchObject({ type: 'winston', transport: 'File', format: 'json' });
    expect(c.routes).toEqual([{ name: 'everything also to the central tier', sinks: ['central'], continue: true }]);
  });

  test('every key of each sink type is documented in the reference', () => {
    for (const [type, spec] of Object.entries(SINK_TYPE_SCHEMAS)) {
      const table = referenceTable(spec);
      for (const [key, field] of Object.entries(spec.fields)) {
        expect(field.doc.length).toBeGreaterThan(10);
        expect(table).toContain(`\`${key}\``);
      }
      expect(type).toMatch(/^(file|forward|winston)$/);
    }
    expect(referenceTable(SINK_TYPE_SCHEMAS.forward)).toContain('`tls.ca_file`');
  });

  const central = (extra: string): string => `sinks:\n  central:\n    type: forward\n    host: 127.0.0.1\n${extra}`;
  test.each([
    ['a sink type, with a suggestion', 'sinks:\n  central: { type: forwrd, host: x }\n', /sinks\.central\.type must be 'file', 'forward' or 'winston' \(got "forwrd"\); did you mean 'forward'\?/],
    ['a missing host', 'sinks:\n  central: { type: forward }\n', /sinks\.central\.host is required/],
    ['a misspelt key', central('    queue_max_mesages: 5\n'), /unknown key 'sinks\.central\.queue_max_mesages'; did you mean 'queue_max_messages'\?/],
    ['a misspelt tls key', central('    protocol: tls\n    tls: { ca_fil: /x }\n'), /unknown key 'sinks\.central\.tls\.ca_fil'; did you mean 'ca_file'\?/],
    ['a protocol', central('    protocol: tpc\n'), /sinks\.central\.protocol must be one of tcp, tls, udp \(got "tpc"\); did you mean 'tcp'\?/],
    ['tls settings without tls', central('    tls: { ca_file: /x }\n'), /sinks\.central\.tls is only used with protocol: tls \(protocol is tcp\)/],
    ['a certificate without its key', central('    protocol: tls\n    tls: { cert_file: /c.pem }\n'), /sinks\.central\.tls\.key_file is needed too/],
    ['a disk buffer for udp', central('    protocol: udp\n    disk_buffer_dir: /var/lib/x\n'), /sinks\.central\.disk_buffer_dir needs protocol tcp or tls/],
    ['framing for udp', central('    protocol: udp\n    framing: newline\n'), /sinks\.central\.framing is for tcp and tls/],
    ['a datagram limit below 480', central('    protocol: udp\n    max_datagram_bytes: 100\n'), /sinks\.central\.max_datagram_bytes must be an integer from 480 to 65507 \(got 100\)/],
    ['a backoff maximum below its base', central('    reconnect_base_ms: 1000\n    reconnect_max_ms: 10\n'), /sinks\.central\.reconnect_max_ms must be at least reconnect_base_ms \(1000\)/],
    ['a template variable', central('    app_name: "{nmae}"\n'), /sinks\.central\.app_name: Unknown variable '\{nmae\}'/],
    ['an SD-ID without an enterprise number', central('    sd_id: container\n'), /sinks\.central\.sd_id: Invalid sd_id 'container'/],
    ['a port', central('    port: 70000\n'), /sinks\.central\.port must be an integer from 0 to 65535/],
    ['a winston sink without a module', 'sinks:\n  audit: { type: winston }\n', /sinks\.audit\.module is required/],
    ['a winston module that is not there', 'sinks:\n  audit: { type: winston, module: no-such-winston-transport }\n', /sinks\.audit\.module: cannot load the module 'no-such-winston-transport' \(MODULE_NOT_FOUND\)/],
    ['a winston transport that is not there', 'sinks:\n  audit: { type: winston, module: winston, transport: Fiel }\n', /sinks\.audit\.transport: the module 'winston' has no transport 'Fiel' \(found: .*File/],
    ['winston options that are not a mapping', 'sinks:\n  audit: { type: winston, module: winston, transport: File, options: [a] }\n', /sinks\.audit\.options must be a mapping/],
  ])('refused: %s', (_name, text, message) => {
    expect(() => parseConfig(text)).toThrow(ConfigError);
    expect(() => parseConfig(text)).toThrow(message);
  });
});
