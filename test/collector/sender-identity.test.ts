/**
 * Know the sender, end to end: real cgroups shaped like each runtime under the cgroup2 mount,
 * real short-lived senders (util-linux logger) and long-lived ones (cs-send -H), the real
 * receiver, the cgroup index, and runtime metadata from fixture roots written for this run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Batch, probeKernel, Receiver } from '../../collector';
import { realTreeFs } from '../../collector/cgroup-index';
import { type MetadataFs, realMetadataFs } from '../../collector/container-metadata';
import { type LogRecord, RecordBuilder } from '../../collector/record';
import { createSenderResolver } from '../../collector/sender-identity';
import {
  cgroupUnavailableReason,
  HeldSenders,
  randomHex,
  removeDir,
  tempDir,
  type TestCgroup,
  TestCgroups,
  waitFor,
} from '../helpers/fixtures';

interface Shape {
  name: string;
  rel: (h: string, uid: string) => string;
  runtime: string | null; // null: host
  id: (h: string) => string;
  unit?: string;
  podUid?: boolean;
  rootless?: number;
}

const SHAPES: Shape[] = [
  { name: 'docker, systemd driver', rel: (h) => `system.slice/docker-${h}.scope`, runtime: 'docker', id: (h) => h },
  { name: 'docker, cgroupfs driver', rel: (h) => `docker/${h}`, runtime: 'docker', id: (h) => h },
  { name: 'podman rootful', rel: (h) => `machine.slice/libpod-${h}.scope`, runtime: 'podman', id: (h) => h },
  {
    name: 'podman rootless',
    rel: (h) => `user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${h}.scope`,
    runtime: 'podman',
    id: (h) => h,
    rootless: 1000,
  },
  {
    name: 'containerd CRI, k8s systemd driver, burstable',
    rel: (h, u) => `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u.replace(/-/g, '_')}.slice/cri-containerd-${h}.scope`,
    runtime: 'containerd',
    id: (h) => h,
    podUid: true,
  },
  {
    name: 'CRI-O, k8s systemd driver, besteffort',
    rel: (h, u) => `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u.replace(/-/g, '_')}.slice/crio-${h}.scope`,
    runtime: 'cri-o',
    id: (h) => h,
    podUid: true,
  },
  { name: 'k8s cgroupfs driver, guaranteed', rel: (h, u) => `kubepods/pod${u}/${h}`, runtime: 'containerd', id: (h) => h, podUid: true },
  { name: 'LXC', rel: () => 'lxc.payload.web1', runtime: 'lxc', id: () => 'web1' },
  { name: 'systemd-nspawn', rel: () => 'machine.slice/machine-fedora\\x2d39.scope', runtime: 'nspawn', id: () => 'fedora-39' },
  { name: 'host service', rel: () => 'system.slice/cron.service', runtime: null, id: () => '', unit: 'cron.service' },
];

function podUid(): string {
  const h = randomHex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function countingMetadataFs(): MetadataFs & { reads: number } {
  const fsx = {
    reads: 0,
    readFile(p: string) {
      fsx.reads++;
      return realMetadataFs.readFile(p);
    },
    readdir(p: string) {
      fsx.reads++;
      return realMetadataFs.readdir(p);
    },
  };
  return fsx;
}

const skip = cgroupUnavailableReason();
if (skip !== null) console.log(`skipping sender identity tests: ${skip}`);

(skip === null ? describe : describe.skip)('sender identity with real cgroups and real senders', () => {
  let dir: string;
  let sock: string;
  let cgs: TestCgroups;
  let roots: string;
  const made: { shape: Shape; cg: TestCgroup; hex: string; uid: string }[] = [];

  beforeEach(() => {
    dir = tempDir();
    sock = path.join(dir, 'log.sock');
    roots = path.join(dir, 'roots');
    cgs = new TestCgroups();
    made.length = 0;
  });
  afterEach(async () => {
    await cgs.remove();
    removeDir(dir);
  });

  /** Creates every shape's cgroup and the runtime files that name some of them. */
  function createAll(): void {
    for (const shape of SHAPES) {
      const hex = randomHex(32);
      const uid = podUid();
      made.push({ shape, cg: cgs.create(shape.rel(hex, uid)), hex, uid });
    }
    const find = (n: string) => made.find((m) => m.shape.name === n)!;
    const docker = find('docker, systemd driver');
    const cfgDir = path.join(roots, 'docker/containers', docker.hex);
    fs.mkdirSync(cfgDir, { recursive: true });
    fs.writeFileSync(
      path.join(cfgDir, 'config.v2.json'),
      JSON.stringify({ ID: docker.hex, Name: '/web', Config: { Image: 'nginx:1.27', Labels: { 'com.docker.compose.service': 'web' } } }),
    );
    const podman = find('podman rootful');
    fs.mkdirSync(path.join(roots, 'podman/overlay-containers'), { recursive: true });
    fs.writeFileSync(
      path.join(roots, 'podman/overlay-containers/containers.json'),
      JSON.stringify([{ id: podman.hex, names: ['db'], metadata: JSON.stringify({ 'image-name': 'docker.io/library/postgres:16', name: 'db' }) }]),
    );
    const rootless = find('podman rootless');
    fs.mkdirSync(path.join(roots, 'rootless/overlay-containers'), { recursive: true });
    fs.writeFileSync(
      path.join(roots, 'rootless/overlay-containers/containers.json'),
      JSON.stringify([{ id: rootless.hex, names: ['toolbox'], metadata: '{}' }]),
    );
    const cri = find('containerd CRI, k8s systemd driver, burstable');
    fs.mkdirSync(path.join(roots, `pods/shop_cart-7d9_${cri.uid}/api`), { recursive: true });
  }

  function identity(metadataFs?: MetadataFs) {
    return createSenderResolver({
      metadataFs,
      roots: {
        dockerRoot: path.join(roots, 'docker'),
        podmanRoot: path.join(roots, 'podman'),
        podmanRootlessRoot: (uid) => (uid === 1000 ? path.join(roots, 'rootless') : null),
        podsLogRoot: path.join(roots, 'pods'),
        containersLogRoot: path.join(roots, 'containers'),
      },
    });
  }

  /** logger run inside a cgroup: it joins, sends, exits and is reaped before this returns. */
  function loggerIn(cg: TestCgroup, tag: string, text: string): void {
    execFileSync('sh', ['-c', 'echo 0 > "$1/cgroup.procs" && exec logger -u "$2" -t "$3" "$4"', 'sh', cg.dir, sock, tag, text]);
  }

  function expectShape(rec: LogRecord, m: (typeof made)[number]): void {
    const { shape } = m;
    expect(rec.sender.id).toBe(m.cg.id);
    expect(rec.sender.path).toBe(m.cg.rel);
    if (shape.runtime === null) {
      expect(rec.sender.kind).toBe('host');
      expect(rec.sender.container).toBeNull();
      expect(rec.sender.unit).toBe(shape.unit);
      return;
    }
    expect(rec.sender.kind).toBe('container');
    expect(rec.sender.container?.runtime).toBe(shape.runtime);
    expect(rec.sender.container?.id).toBe(shape.id(m.hex));
    if (shape.podUid) expect(rec.sender.pod?.uid).toBe(m.uid);
    if (shape.rootless !== undefined) expect(rec.sender.container?.rootlessUid).toBe(shape.rootless);
  }

  test('every runtime shape is attributed, for senders alive at the read and for senders already reaped', async () => {
    const { resolver, index } = identity();
    index.start();
    createAll();
    const builder = new RecordBuilder({ resolver });
    const records: LogRecord[] = [];
    const r = new Receiver({ socketPath: sock }, (b: Batch) => {
      for (let i = 0; i < b.count; i++) records.push(builder.build(b, i));
    });
    // Reaped before the read: logger in every cgroup while nobody reads.
    made.forEach((m, i) => loggerIn(m.cg, `gone${i}`, `exited ${i}`));
    r.drain();
    expect(records).toHaveLength(made.length);
    const reapedAttributable = probeKernel().rung === 'pidfd-reaped';
    made.forEach((m, i) => {
      const rec = records[i];
      expect(rec.syslog.message).toBe(`exited ${i}`);
      // The comm is never guessed for a reaped sender: the tag stands in, labelled as such.
      expect(rec.comm).toBe(`gone${i}`);
      expect(rec.attribution.comm).toBe('tag');
      if (reapedAttributable) {
        expect(rec.attribution.cgroup).toBe('pidfd-exited');
        expectShape(rec, m);
      } else {
        expect(['pidfd-exited', 'none']).toContain(rec.attribution.cgroup);
      }
    });
    // Alive at the read: a long-lived sender in every cgroup.
    records.length = 0;
    r.start();
    const held: HeldSenders[] = [];
    for (const [i, m] of made.entries()) {
      held.push((await HeldSenders.start(['-s', sock, '-g', m.cg.dir, '-c', `alive${i}`])).held);
    }
    await waitFor(() => records.length === made.length, 10000, 'one datagram per live sender');
    for (const h of held) await h.release();
    r.stop();
    index.stop();
    for (const rec of records) {
      const i = Number(rec.comm!.slice(5));
      expect(rec.comm).toBe(`alive${i}`);
      expect(rec.attribution).toEqual({ cgroup: 'pidfd', comm: 'verified' });
      expectShape(rec, made[i]);
    }
  });

  test('names and pods come from the runtimes\' files, and the short id stands in without them', () => {
    const { resolver, index } = identity();
    index.start();
    createAll();
    const builder = new RecordBuilder({ resolver });
    const records: LogRecord[] = [];
    const r = new Receiver({ socketPath: sock }, (b) => {
      for (let i = 0; i < b.count; i++) records.push(builder.build(b, i));
    });
    made.forEach((m, i) => loggerIn(m.cg, 'app', `n${i}`));
    r.drain();
    r.stop();
    index.stop();
    if (probeKernel().rung !== 'pidfd-reaped') return void console.log('skipping name checks: needs reaped-sender attribution (6.17+)');
    const by = (n: string) => records[made.findIndex((m) => m.shape.name === n)].sender;
    const docker = by('docker, systemd driver').container!;
    expect([docker.name, docker.nameSource, docker.image, docker.labels]).toEqual(['web', 'docker', 'nginx:1.27', { 'com.docker.compose.service': 'web' }]);
    const cgroupfs = by('docker, cgroupfs driver').container!;
    const hex = made[1].hex;
    expect([cgroupfs.name, cgroupfs.nameSource, cgroupfs.shortId]).toEqual([hex.slice(0, 12), 'short-id', hex.slice(0, 12)]);
    expect(by('podman rootful').container).toMatchObject({ name: 'db', nameSource: 'podman', image: 'docker.io/library/postgres:16' });
    // The uid is part of a rootless container's name: its user names its cgroups.
    expect(by('podman rootless').container).toMatchObject({ name: 'toolbox@uid1000', nameSource: 'podman', rootlessUid: 1000 });
    const cri = by('containerd CRI, k8s systemd driver, burstable');
    expect(cri.container).toMatchObject({ name: 'shop_cart-7d9_api', nameSource: 'kubelet' });
    expect(cri.pod).toMatchObject({ namespace: 'shop', name: 'cart-7d9', container: 'api', qos: 'burstable' });
    const crio = by('CRI-O, k8s systemd driver, besteffort');
    expect(crio.pod).toMatchObject({ namespace: null, name: null, qos: 'besteffort' });
    expect(crio.container?.nameSource).toBe('short-id');
    expect(by('LXC').container).toMatchObject({ name: 'web1', nameSource: 'cgroup' });
    expect(by('systemd-nspawn').container).toMatchObject({ name: 'fedora-39', nameSource: 'cgroup' });
  });

  test('a sender whose cgroup was removed before the read is still resolved from the retention window', async () => {
    if (probeKernel().rung !== 'pidfd-reaped') return void console.log('skipping: needs kernel 6.17+');
    const { resolver, index } = identity();
    index.start();
    const hex = randomHex(32);
    const cg = cgs.create(`system.slice/docker-${hex}.scope`);
    await waitFor(() => index.peek(cg.id) !== null, 5000, 'the index to see the new cgroup');
    const builder = new RecordBuilder({ resolver });
    const records: LogRecord[] = [];
    const r = new Receiver({ socketPath: sock }, (b) => {
      for (let i = 0; i < b.count; i++) records.push(builder.build(b, i));
    });
    loggerIn(cg, 'short', 'last words');
    cgs.removeOne(cg);
    await waitFor(() => index.peek(cg.id)?.removedAtMs != null, 5000, 'the index to see the removal');
    r.drain();
    r.stop();
    index.stop();
    expect(fs.existsSync(cg.dir)).toBe(false);
    expect(records[0].attribution.cgroup).toBe('pidfd-exited');
    expect(records[0].sender.container).toMatchObject({ runtime: 'docker', id: hex, name: hex.slice(0, 12) });
  });

  test('with the method forced to proc, the same senders are reported as proc or none, never as race-free', async () => {
    const { resolver, index } = identity();
    index.start();
    createAll();
    const builder = new RecordBuilder({ resolver });
    const records: LogRecord[] = [];
    const r = new Receiver({ socketPath: sock, method: 'proc' }, (b) => {
      for (let i = 0; i < b.count; i++) records.push(builder.build(b, i));
    });
    made.forEach((m, i) => loggerIn(m.cg, `gone${i}`, `exited ${i}`));
    r.drain();
    for (const rec of records) {
      // Reaped before the read: /proc has nothing, and the record says so.
      expect(rec.attribution.cgroup).toBe('none');
      expect(rec.sender.kind).toBe('unknown');
      expect(rec.attribution.comm).toBe('tag');
    }
    records.length = 0;
    r.start();
    const held: HeldSenders[] = [];
    for (const [i, m] of made.entries()) held.push((await HeldSenders.start(['-s', sock, '-g', m.cg.dir, '-c', `alive${i}`])).held);
    await waitFor(() => records.length === made.length, 10000, 'live senders');
    for (const h of held) await h.release();
    r.stop();
    index.stop();
    for (const rec of records) {
      const i = Number(rec.comm!.slice(5));
      expect(rec.attribution).toEqual({ cgroup: 'proc', comm: 'proc' });
      expectShape(rec, made[i]);
    }
  });

  test('proc-verified: live senders verified by their pidfd, reaped ones unattributed', async () => {
    const { resolver, index } = identity();
    index.start();
    createAll();
    const builder = new RecordBuilder({ resolver });
    const records: LogRecord[] = [];
    const r = new Receiver({ socketPath: sock, method: 'proc-verified' }, (b) => {
      for (let i = 0; i < b.count; i++) records.push(builder.build(b, i));
    });
    loggerIn(made[0].cg, 'gone', 'x');
    r.drain();
    expect(records[0].attribution).toEqual({ cgroup: 'none', comm: 'tag' });
    records.length = 0;
    r.start();
    const { held } = await HeldSenders.start(['-s', sock, '-g', made[0].cg.dir, '-c', 'alive0', '-n', '2']);
    await waitFor(() => records.length === 2, 10000, 'two datagrams');
    await held.release();
    r.stop();
    index.stop();
    expect(records[0].attribution).toEqual({ cgroup: 'proc-verified', comm: 'verified' });
    expect(records[1].attribution).toEqual({ cgroup: 'proc-verified', comm: 'cached' });
    for (const rec of records) expectShape(rec, made[0]);
  });

  test('nothing on the per-message path reads a file for a container seen before', async () => {
    const metadataFs = countingMetadataFs();
    let treeReads = 0;
    const countingTree = {
      subdirs: (d: string) => (treeReads++, realTreeFs.subdirs(d)),
      inode: (d: string) => (treeReads++, realTreeFs.inode(d)),
      watch: realTreeFs.watch,
    };
    const { resolver, index } = createSenderResolver({
      metadataFs,
      index: { treeFs: countingTree },
      roots: { dockerRoot: path.join(roots, 'docker'), podmanRoot: path.join(roots, 'podman'), podsLogRoot: path.join(roots, 'pods'), containersLogRoot: path.join(roots, 'containers') },
    });
    index.start();
    createAll();
    await waitFor(() => made.every((m) => index.peek(m.cg.id) !== null), 5000, 'the index to see every cgroup');
    const builder = new RecordBuilder({ resolver });
    const records: LogRecord[] = [];
    const r = new Receiver({ socketPath: sock }, (b) => {
      for (let i = 0; i < b.count; i++) records.push(builder.build(b, i));
    });
    r.start();
    const first: HeldSenders[] = [];
    for (const m of made) first.push((await HeldSenders.start(['-s', sock, '-g', m.cg.dir, '-n', '2'])).held);
    await waitFor(() => records.length === made.length * 2, 10000, 'the first messages');
    const metaAfterFirst = metadataFs.reads;
    const treeAfterFirst = treeReads;
    expect(metaAfterFirst).toBeGreaterThan(0); // the first sight of each container did read
    // More messages, from new processes, in the same containers: no file is read.
    const more: HeldSenders[] = [];
    for (const m of made) more.push((await HeldSenders.start(['-s', sock, '-g', m.cg.dir, '-k', '3', '-n', '50'])).held);
    await waitFor(() => records.length === made.length * 152, 20000, 'the later messages');
    for (const h of [...first, ...more]) await h.release();
    r.stop();
    index.stop();
    expect(metadataFs.reads).toBe(metaAfterFirst);
    expect(treeReads).toBe(treeAfterFirst);
    expect(resolver.stats().containers).toBe(made.filter((m) => m.shape.runtime !== null).length);
  });
});
