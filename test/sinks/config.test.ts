/**
 * The config: defaults, the annotated example in deploy/, errors that name the key and suggest
 * the nearest valid one, command-line overrides.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, parseConfig, SCHEMA } from '../../sinks/config';
import { ConfigError, referenceTable } from '../../sinks/config-schema';

const EXAMPLE = path.join(__dirname, '../../deploy/container-syslog.yaml');

describe('config', () => {
  test('the annotated example in deploy/ is valid and equals the defaults', () => {
    expect(loadConfig(EXAMPLE)).toEqual(parseConfig(''));
  });

  test('defaults', () => {
    const c = parseConfig('');
    expect(c.socket.path).toBe('/dev/log');
    expect(c.socket.mode).toBe(0o666);
    expect(c.files.dir).toBe('/var/log/container-syslog');
    expect(c.files.file_mode).toBe(0o640);
    expect(c.files.dir_mode).toBe(0o750);
    expect(c.files.container_path).toBe('{runtime}/{name}/syslog.log');
    expect(c.attribution.method).toBe('auto');
    expect(c.cgroups.retention_secs).toBe(600);
    expect(c.routes).toEqual([]);
  });

  test.each([
    ['a misspelt key suggests the nearest one', 'files:\n  rotate_keeep: 3\n', /unknown key 'files\.rotate_keeep'; did you mean 'rotate_keep'\?/],
    ['a misspelt section', 'sockets:\n  path: /x\n', /unknown key 'sockets'; did you mean 'socket'\?/],
    ['a far-off key lists the valid ones', 'files:\n  zzzzzzzzzz: 1\n', /valid keys: dir, format/],
    ['a wrong type names the key', 'files:\n  rotate_keep: five\n', /files\.rotate_keep must be an integer from 0 to 1000 \(got "five"\)/],
    ['an enum value', 'files:\n  format: jsno\n', /files\.format must be one of text, json, rfc5424 \(got "jsno"\); did you mean 'json'\?/],
    ['a mode', 'files:\n  file_mode: "0999"\n', /files\.file_mode must be an octal file mode/],
    ['a route key', 'routes:\n  - matc: {}\n    sinks: []\n', /unknown key 'routes\[0\]\.matc'; did you mean 'match'\?/],
    ['a match key', 'routes:\n  - match: { runtme: docker }\n    sinks: []\n', /unknown key 'routes\[0\]\.match\.runtme'; did you mean 'runtime'\?/],
    ['a sink type', 'sinks:\n  audit: { type: fil }\n', /sinks\.audit\.type must be 'file'/],
    ['not YAML', 'socket: [\n', /is not valid YAML/],
    ['not a mapping', '- a\n- b\n', /must be a YAML mapping/],
    ['a duplicated key', 'socket:\n  path: /a\n  path: /b\n', /not valid YAML/],
  ])('%s', (_name, text, message) => {
    expect(() => parseConfig(text)).toThrow(ConfigError);
    expect(() => parseConfig(text)).toThrow(message);
  });

  test('command-line options override the file', () => {
    const dir = fs.mkdtempSync('/tmp/cs-config-');
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, 'socket:\n  path: /run/a\nfiles:\n  dir: /var/a\n  format: json\n');
    const c = loadConfig(file, { socket: '/run/b', dir: '/var/b', podsLogRoot: '/pods' });
    expect([c.socket.path, c.files.dir, c.files.format, c.metadata.pods_log_root]).toEqual(['/run/b', '/var/b', 'json', '/pods']);
    expect(() => loadConfig(file, { format: 'xml' })).toThrow(`${file}: files.format must be one of text, json, rfc5424`);
    expect(() => loadConfig(path.join(dir, 'missing.yaml'))).toThrow(/Cannot read config file .*ENOENT/);
    fs.rmSync(dir, { recursive: true });
  });

  test('the reference table documents every key', () => {
    const table = referenceTable(SCHEMA);
    for (const key of ['socket.path', 'files.rotate_keep', 'attribution.method', 'cgroups.retention_secs', 'routes', 'diagnostics.file']) {
      expect(table).toContain(`\`${key}\``);
    }
  });
});
