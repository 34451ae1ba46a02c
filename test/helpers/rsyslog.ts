/**
 * A real rsyslog from Debian as the central tier the forwarder sends to, unpacked into
 * `.peers/rsyslog` by `bench/peers/install.sh rsyslog` (which `.ci/run` calls). Each instance runs
 * in the foreground (`-n`) with its own config, pid file and workDirectory in a temp dir, listens
 * on 127.0.0.1 only (imtcp, imtcp with the ossl stream driver for TLS, or imudp), never loads
 * imuxsock and never touches /dev/log, and writes every message it receives to `out.log` with
 * the template `%rawmsg%` (the message exactly as it arrived, without framing), or a template of
 * the test's choice. rsyslog's own messages go to `internal.log`. It is stopped by its pid.
 *
 * Also: test certificates made with the `openssl` CLI (a CA, a server certificate for
 * 127.0.0.1/localhost, a client certificate, and a second CA that signed none of them), and free
 * loopback ports.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { readLines } from './daemon';
import { waitFor } from './fixtures';

const PEER = path.resolve(__dirname, '../../.peers/rsyslog');
export const RSYSLOGD = path.join(PEER, 'usr/sbin/rsyslogd');
export const RSYSLOG_MODULES = path.join(PEER, 'usr/lib/x86_64-linux-gnu/rsyslog');

/** Why rsyslog tests cannot run here, or null when they can. */
export function rsyslogUnavailableReason(): string | null {
  if (!fs.existsSync(RSYSLOGD)) return `rsyslogd is not unpacked at ${RSYSLOGD} (run bench/peers/install.sh rsyslog)`;
  if (!fs.existsSync(path.join(RSYSLOG_MODULES, 'imtcp.so'))) return `rsyslog's modules are missing in ${RSYSLOG_MODULES}`;
  const v = spawnSync(RSYSLOGD, ['-v'], { encoding: 'utf8' });
  if (v.status !== 0) return `rsyslogd does not run here: ${(v.stderr || v.error?.message || '').trim().split('\n')[0]}`;
  if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) return 'the openssl command is missing (needed to make test certificates)';
  return null;
}

/** A free TCP (or UDP) port on 127.0.0.1. */
export async function freePort(kind: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** True when something is bound to 127.0.0.1:port (TCP in LISTEN, or UDP), from /proc/net. */
export function portBound(kind: 'tcp' | 'udp', port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of [`/proc/net/${kind}`, `/proc/net/${kind}6`]) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      if (f[1].endsWith(`:${hex}`) && (kind === 'udp' || f[3] === '0A')) return true;
    }
  }
  return false;
}

export interface RsyslogOptions {
  protocol: 'tcp' | 'tls' | 'udp';
  port: number;
  /** For tls: the files and how rsyslog checks clients (default anon: no client certificate asked). */
  tls?: { ca: string; cert: string; key: string; authMode?: 'anon' | 'x509/certvalid' };
  /** The template for out.log (default the raw message). */
  template?: string;
}

export class Rsyslog {
  readonly out: string;
  readonly internal: string;
  child: ChildProcess | null = null;
  stderr = '';
  private readonly conf: string;

  private constructor(
    readonly dir: string,
    readonly options: RsyslogOptions,
  ) {
    this.out = path.join(dir, 'out.log');
    this.internal = path.join(dir, 'internal.log');
    this.conf = path.join(dir, 'rsyslog.conf');
    fs.mkdirSync(path.join(dir, 'work'), { recursive: true });
    const o = options;
    const q = (s: string): string => JSON.stringify(s);
    const lines: string[] = [];
    const global = [`workDirectory=${q(path.join(dir, 'work'))}`, 'maxMessageSize="256k"'];
    if (o.tls !== undefined) {
      global.push(`defaultNetstreamDriverCAFile=${q(o.tls.ca)}`, `defaultNetstreamDriverCertFile=${q(o.tls.cert)}`, `defaultNetstreamDriverKeyFile=${q(o.tls.key)}`);
    }
    lines.push(`global(${global.join(' ')})`);
    if (o.protocol === 'udp') lines.push('module(load="imudp")');
    else if (o.protocol === 'tls') lines.push(`module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode=${q(o.tls?.authMode ?? 'anon')})`);
    else lines.push('module(load="imtcp")');
    lines.push(`template(name="out" type="string" string=${q(o.template ?? '%rawmsg%\n')})`);
    lines.push(`ruleset(name="fwd") { action(type="omfile" file=${q(this.out)} template="out") }`);
    lines.push(`input(type=${q(o.protocol === 'udp' ? 'imudp' : 'imtcp')} address="127.0.0.1" port=${q(String(o.port))} ruleset="fwd")`);
    lines.push(`action(type="omfile" file=${q(this.internal)})`);
    fs.writeFileSync(this.conf, `${lines.join('\n')}\n`);
  }

  /** Starts rsyslogd in `dir` and waits until its port is bound. */
  static async start(dir: string, options: RsyslogOptions): Promise<Rsyslog> {
    const r = new Rsyslog(dir, options);
    await r.restart();
    return r;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts (again) with the same config and output file. */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('rsyslog is running');
    const child = spawn(RSYSLOGD, ['-M', RSYSLOG_MODULES, '-f', this.conf, '-i', path.join(this.dir, 'rsyslogd.pid'), '-n'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const kind = this.options.protocol === 'udp' ? 'udp' : 'tcp';
    await waitFor(() => portBound(kind, this.options.port) || child.exitCode !== null, 15000, `rsyslog to listen on ${this.options.port}`);
    if (child.exitCode !== null) throw new Error(`rsyslogd exited ${child.exitCode}: ${this.stderr}`);
  }

  /** SIGTERM to its pid, then waits until it has exited and its port is free. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    this.child = null;
  }

  lines(): string[] {
    return readLines(this.out);
  }

  internalLog(): string {
    return fs.existsSync(this.internal) ? fs.readFileSync(this.internal, 'utf8') : '';
  }
}

export interface TestCerts {
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here. */
  otherCa: string;
}

/** Makes the certificates in `dir` with the openssl CLI (EC P-256, valid for two days). */
export function makeCerts(dir: string): TestCerts {
  fs.mkdirSync(dir, { recursive: true });
  const p = (f: string): string => path.join(dir, f);
  const ossl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string): void =>
    ossl(['req', '-x509', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`), '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ca('ca', 'container-syslog test CA');
  ca('other-ca', 'some other CA');
  const leaf = (name: string, cn: string, ext: string): void => {
    ossl(['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`]);
    fs.writeFileSync(p(`${name}.ext`), ext);
    ossl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.pem`), '-days', '2', '-extfile', p(`${name}.ext`)]);
  };
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  leaf('client', 'container-syslog test client', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
  return {
    ca: p('ca.pem'),
    caKey: p('ca.key'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    otherCa: p('other-ca.pem'),
  };
}
