/**
 * deploy/ is checked with the tools the files are for: systemd-analyze verify for the units,
 * logrotate -d for the rotation snippet, dockerfile-utils (npm) for the Containerfile,
 * kubernetes-models (npm, the Kubernetes OpenAPI schemas) for the DaemonSet, and our own config
 * schema for every config the deploy files carry.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ConfigMap } from 'kubernetes-models/v1';
import YAML from 'yaml';
import { parseConfig } from '../../sinks/config';
import { hasCommand } from '../helpers/fixtures';

const DEPLOY = path.resolve(__dirname, '../../deploy');
const ROOT = path.resolve(__dirname, '../..');

describe('systemd units', () => {
  const verify = hasCommand('systemd-analyze') ? test : test.skip;
  if (!hasCommand('systemd-analyze')) console.log('skipping unit verification: systemd-analyze is not installed');

  verify('pass systemd-analyze verify without a single warning', () => {
    const units = ['container-syslog.socket', 'container-syslog.service'].map((u) => path.join(DEPLOY, 'systemd', u));
    const res = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
  });

  verify('the takeover drop-in verifies as part of the socket unit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-units-'));
    try {
      fs.copyFileSync(path.join(DEPLOY, 'systemd/container-syslog.socket'), path.join(dir, 'container-syslog.socket'));
      fs.copyFileSync(path.join(DEPLOY, 'systemd/container-syslog.service'), path.join(dir, 'container-syslog.service'));
      fs.mkdirSync(path.join(dir, 'container-syslog.socket.d'));
      fs.copyFileSync(path.join(DEPLOY, 'systemd/takeover-dev-log.conf'), path.join(dir, 'container-syslog.socket.d/takeover-dev-log.conf'));
      const res = spawnSync('systemd-analyze', ['verify', path.join(dir, 'container-syslog.socket')], {
        encoding: 'utf8',
        env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
      });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the socket passes credentials before anything queues, and the service is notify-typed', () => {
    const socket = fs.readFileSync(path.join(DEPLOY, 'systemd/container-syslog.socket'), 'utf8');
    expect(socket).toMatch(/^PassCredentials=yes$/m);
    expect(socket).toMatch(/^ListenDatagram=/m);
    const service = fs.readFileSync(path.join(DEPLOY, 'systemd/container-syslog.service'), 'utf8');
    expect(service).toMatch(/^Type=notify$/m);
    expect(service).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(service).toMatch(/^AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_NET_ADMIN$/m);
  });
});

describe('logrotate snippet', () => {
  const run = hasCommand('logrotate') ? test : test.skip;
  if (!hasCommand('logrotate')) console.log('skipping logrotate check: logrotate is not installed');
  run('parses with logrotate -d (debug: nothing is rotated)', () => {
    const state = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-lr-')), 'state');
    const res = spawnSync('logrotate', ['-d', '-s', state, path.join(DEPLOY, 'logrotate.conf')], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(res.stderr).not.toMatch(/error/i);
    fs.rmSync(path.dirname(state), { recursive: true, force: true });
  });
});

describe('sysctl snippet', () => {
  test('names settings this kernel has (they are not applied here)', () => {
    const lines = fs.readFileSync(path.join(DEPLOY, '99-container-syslog.conf'), 'utf8').split('\n').filter((l) => /^\s*[a-z]/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      const m = /^([\w.]+)\s*=\s*(\d+)$/.exec(l.trim());
      expect(m).not.toBeNull();
      expect(fs.existsSync(`/proc/sys/${m![1].replace(/\./g, '/')}`)).toBe(true);
    }
  });
});

describe('container image file', () => {
  const text = fs.readFileSync(path.join(DEPLOY, 'Containerfile'), 'utf8');
  test('is a valid Dockerfile (dockerfile-utils finds no problem)', () => {
    expect(validateDockerfile(text)).toEqual([]);
  });
  test('is multi-stage, runs as non-root, and copies only what exists', () => {
    const stages = [...text.matchAll(/^FROM\s+\S+(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1] ?? null);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const m of text.matchAll(/^COPY --from=(\S+)/gm)) expect(stages).toContain(m[1]);
    expect(text).toMatch(/^USER 65532:65532$/m);
    for (const m of text.matchAll(/^COPY (?!--from)(.+)$/gm)) {
      const parts = m[1].trim().split(/\s+/);
      for (const src of parts.slice(0, -1)) expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
    }
  });
});

describe('Kubernetes manifest', () => {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(DEPLOY, 'kubernetes/daemonset.yaml'), 'utf8')).map((d) => d.toJS());
  test('validates against the Kubernetes schemas', () => {
    const ds = docs.find((d) => d.kind === 'DaemonSet');
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    expect(() => new DaemonSet(ds).validate()).not.toThrow();
    expect(() => new ConfigMap(cm).validate()).not.toThrow();
  });
  test('runs in the host pid namespace with the mounts the collector needs, metadata read-only', () => {
    const ds = docs.find((d) => d.kind === 'DaemonSet');
    const spec = ds.spec.template.spec;
    expect(spec.hostPID).toBe(true);
    const c = spec.containers[0];
    const mounts = Object.fromEntries(c.volumeMounts.map((m: { mountPath: string; readOnly?: boolean }) => [m.mountPath, m.readOnly === true]));
    expect(mounts).toMatchObject({
      '/run/container-syslog': false,
      '/var/log/container-syslog': false,
      '/host/sys/fs/cgroup': true,
      '/var/lib/docker/containers': true,
      '/var/lib/containers/storage': true,
      '/var/log/pods': true,
      '/var/log/containers': true,
    });
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_READ_SEARCH', 'NET_ADMIN'] });
  });
  test('its config is valid for the collector', () => {
    const cm = docs.find((d) => d.kind === 'ConfigMap');
    const config = parseConfig(cm.data['container-syslog.yaml']);
    expect(config.socket.path).toBe('/run/container-syslog/dev-log');
    expect(config.cgroups.mount).toBe('/host/sys/fs/cgroup');
  });
});
