/**
 * ContainerMetadataReader: realistic runtime files under test/fixtures/metadata (docker, rootful
 * and rootless podman, a kubelet log tree, an /etc/passwd), table rows for each source; hostile
 * and malformed files from an in-memory fs; a counting fs that bounds the reads per call; and the
 * node:fs implementation against real files, symlinks, FIFOs and the size cap.
 *
 * Fixture layout (paths as the reader sees them, through fixtureFs):
 *   <F>/docker/containers/<id>/config.v2.json          dockerRoot
 *   <F>/podman/overlay-containers/containers.json      podmanRoot (3 entries, one metadata cut short)
 *   /etc/passwd            -> <F>/etc/passwd           alice is uid 1000, home /home/alice
 *   /home/...              -> <F>/home/...             alice's rootless docker and podman stores
 *   <F>/pods/<ns>_<pod>_<uid>/<container>/0.log        podsLogRoot (coredns: 1 container; checkout: 2; etcd: static)
 *   <F>/containers/<pod>_<ns>_<container>-<id>.log     containersLogRoot (empty files; links in reality)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { ContainerRef, PodRef, Runtime } from '../../collector/cgroup-identity';
import {
  ContainerMetadataReader,
  createRealMetadataFs,
  DEFAULT_ROOTS,
  PASSWD_PATH,
  realMetadataFs,
  type ContainerMetadata,
  type MetadataFs,
  type MetadataRoots,
} from '../../collector/container-metadata';

const F = path.join(__dirname, '..', 'fixtures', 'metadata');

const DOCKER_WEB = 'd49fe9306aebc06d6aefe2e81a876324ee2e49e722eeb7b5d43b25f22fc7319f';
const DOCKER_TRUNCATED = 'e7dd36487930912b58d305fe55d99c392542617735670a4c545c781de9633f0d';
const DOCKER_CHECKOUT = 'b5eff76bda1885bb95529f2f388a23fa576df14fd19b4bc504bca993a99ef5da';
const DOCKER_ALICE = '33bd9710663db3ba09afa0c0472ecf036acddbc91917f4de188ede7bb34e2501';
const PODMAN_WEB = '9b745c867af2f709ff00fbdeee844e60c21da7ffa8e4cd006e7fad428dcfceb1';
const PODMAN_INFRA = '8dce4098424931c3dc5faec280f0afa77aae29a65ebabbd85a85585ed5ec69db';
const PODMAN_CACHE = 'b58a3540cfe918fdc25635e4d426878afe5f8e3838e64215480ebafcdfc392d1';
const PODMAN_ALICE = '9ec05839a1ab10b826fb4f771eb52c81dfa0a5a1c6a3a7bbe23ce770cbba7110';
const K8S_COREDNS = 'b9cff690346cb3ab0ff8bb9b48a820afa82e3446ff531ee4522edaad9c4a3faf';
const K8S_ISTIO = '716b28f4ae132e87821cb1bf15035acf5b63359ef9f2d93f274cf9597dd0118e';
const K8S_ETCD = '5b12925e77f37138bb8c9086d250bafb377f4a85cc77e1e3b90bca7db463acf1';
const UNKNOWN = '0000000000000000000000000000000000000000000000000000000000000000';
const POD_COREDNS = '1a6f617f-4b18-4ec2-9798-1809d654d8ca';
const POD_CHECKOUT = 'a5e57de6-c311-4b48-8c69-1a8f977b7672';
const POD_ETCD_STATIC = '54fc55734c83c9a0f21babac23745077';
const POD_UNKNOWN = 'ffffffff-ffff-4fff-8fff-ffffffffffff';

const COMPOSE_LABELS: Record<string, string> = {
  'com.docker.compose.config-hash': '8a1f0b9d2c6e4f7a3b5d9e1c0f2a4b6d8e0c2a4f6b8d0e2c4a6f8b0d2e4c6a8f',
  'com.docker.compose.container-number': '1',
  'com.docker.compose.depends_on': '',
  'com.docker.compose.image': 'sha256:c8a7c53afebe19d98b6ef078fb4f57990cec8a0783e9f7c0d65f18aa2d19317f',
  'com.docker.compose.oneoff': 'False',
  'com.docker.compose.project': 'shop',
  'com.docker.compose.project.config_files': '/srv/shop/compose.yaml',
  'com.docker.compose.project.working_dir': '/srv/shop',
  'com.docker.compose.service': 'web',
  'com.docker.compose.version': '2.32.1',
  maintainer: 'NGINX Docker Maintainers <docker-maint@nginx.com>',
};
const CHECKOUT_IMAGE =
  'registry.example.com/shop/checkout@sha256:4b1e0c9a7d3f5e2b8c6a0d4f1e3b5c7a9d2f4e6b8a0c1d3e5f7a9b2c4d6e8f0a';

/** The real fs, with /etc/passwd and /home mapped into the fixture tree. */
const fixtureFs: MetadataFs = {
  readFile: (p) => realMetadataFs.readFile(mapFixturePath(p)),
  readdir: (p) => realMetadataFs.readdir(mapFixturePath(p)),
};

function mapFixturePath(p: string): string {
  if (p === PASSWD_PATH) return path.join(F, 'etc', 'passwd');
  if (p.startsWith('/home/')) return path.join(F, p);
  return p;
}

const FIXTURE_ROOTS: Partial<MetadataRoots> = {
  dockerRoot: path.join(F, 'docker'),
  podmanRoot: path.join(F, 'podman'),
  podsLogRoot: path.join(F, 'pods'),
  containersLogRoot: path.join(F, 'containers'),
};

/** Records every call, so tests can bound and inspect what one lookup read. */
class CountingFs implements MetadataFs {
  readonly calls: Array<{ op: 'readFile' | 'readdir'; path: string }> = [];
  constructor(private readonly inner: MetadataFs) {}
  readFile(p: string): string | null {
    this.calls.push({ op: 'readFile', path: p });
    return this.inner.readFile(p);
  }
  readdir(p: string): string[] | null {
    this.calls.push({ op: 'readdir', path: p });
    return this.inner.readdir(p);
  }
}

/** An in-memory fs: files by path, directories as lists of names. */
function memFs(files: Record<string, string>, dirs: Record<string, string[]> = {}): MetadataFs {
  return {
    readFile: (p) => (Object.prototype.hasOwnProperty.call(files, p) ? files[p] : null),
    readdir: (p) => (Object.prototype.hasOwnProperty.call(dirs, p) ? [...dirs[p]] : null),
  };
}

const MEM_ROOTS: Partial<MetadataRoots> = {
  dockerRoot: '/d',
  podmanRoot: '/p',
  podsLogRoot: '/pods',
  containersLogRoot: '/ctrs',
};

function ref(runtime: Runtime, id: string, rootlessUid: number | null = null): ContainerRef {
  return { runtime, id, cgroup: `/test/${runtime}`, rootlessUid };
}

function pod(uid: string): PodRef {
  return { uid, qos: 'burstable' };
}

function meta(partial: Partial<ContainerMetadata>): ContainerMetadata {
  return { name: null, image: null, labels: {}, source: null, ...partial };
}

describe('container(): runtime files (fixtures)', () => {
  interface Row {
    name: string;
    ref: ContainerRef;
    pod?: PodRef;
    expect: ContainerMetadata;
    stats: { reads: number; parseErrors: number; misses: number };
  }
  const ROWS: Row[] = [
    {
      name: 'docker compose container: name without the slash, image as given, every label',
      ref: ref('docker', DOCKER_WEB),
      expect: meta({ name: 'shop-web-1', image: 'nginx:1.27', labels: COMPOSE_LABELS, source: 'docker' }),
      stats: { reads: 1, parseErrors: 0, misses: 0 },
    },
    {
      name: 'docker config missing: all null, a miss',
      ref: ref('docker', UNKNOWN),
      expect: meta({}),
      stats: { reads: 1, parseErrors: 0, misses: 1 },
    },
    {
      name: 'docker config cut short: all null, a parse error',
      ref: ref('docker', DOCKER_TRUNCATED),
      expect: meta({}),
      stats: { reads: 1, parseErrors: 1, misses: 1 },
    },
    {
      name: 'rootless docker: home from passwd, then ~/.local/share/docker',
      ref: ref('docker', DOCKER_ALICE, 1000),
      expect: meta({ name: 'notes-db', image: 'postgres:16-alpine', source: 'docker' }),
      stats: { reads: 2, parseErrors: 0, misses: 0 },
    },
    {
      name: 'rootless docker does not look in the rootful root',
      ref: ref('docker', DOCKER_WEB, 1000),
      expect: meta({}),
      stats: { reads: 2, parseErrors: 0, misses: 1 },
    },
    {
      name: 'rootless docker of a uid not in passwd',
      ref: ref('docker', DOCKER_ALICE, 4242),
      expect: meta({}),
      stats: { reads: 1, parseErrors: 0, misses: 1 },
    },
    {
      name: 'rootless docker of a uid whose home is relative: nothing read but passwd',
      ref: ref('docker', DOCKER_ALICE, 1001),
      expect: meta({}),
      stats: { reads: 1, parseErrors: 0, misses: 1 },
    },
    {
      name: 'podman rootful: names[0] and the image-name of the metadata string',
      ref: ref('podman', PODMAN_WEB),
      expect: meta({ name: 'web', image: 'docker.io/library/nginx:latest', source: 'podman' }),
      stats: { reads: 1, parseErrors: 0, misses: 0 },
    },
    {
      name: 'podman rootful: a pod infra container',
      ref: ref('podman', PODMAN_INFRA),
      expect: meta({ name: 'a747c1e89646-infra', image: 'localhost/podman-pause:5.2.2-1724198400', source: 'podman' }),
      stats: { reads: 1, parseErrors: 0, misses: 0 },
    },
    {
      name: 'podman metadata string cut short: named, image unknown, a parse error',
      ref: ref('podman', PODMAN_CACHE),
      expect: meta({ name: 'cache', source: 'podman' }),
      stats: { reads: 1, parseErrors: 1, misses: 0 },
    },
    {
      name: 'podman id not in containers.json',
      ref: ref('podman', UNKNOWN),
      expect: meta({}),
      stats: { reads: 1, parseErrors: 0, misses: 1 },
    },
    {
      name: 'podman rootless: home from passwd, then ~/.local/share/containers/storage',
      ref: ref('podman', PODMAN_ALICE, 1000),
      expect: meta({ name: 'fedora-toolbox-41', image: 'registry.fedoraproject.org/fedora-toolbox:41', source: 'podman' }),
      stats: { reads: 2, parseErrors: 0, misses: 0 },
    },
    {
      name: 'podman rootless does not fall back to the rootful store',
      ref: ref('podman', PODMAN_WEB, 1000),
      expect: meta({}),
      stats: { reads: 2, parseErrors: 0, misses: 1 },
    },
    {
      name: 'kubelet: a pod with one container names it from its only directory',
      ref: ref('containerd', K8S_COREDNS),
      pod: pod(POD_COREDNS),
      expect: meta({ name: 'coredns', source: 'kubelet' }),
      stats: { reads: 2, parseErrors: 0, misses: 0 },
    },
    {
      name: 'kubelet: a static pod (32-hex uid)',
      ref: ref('cri-o', K8S_ETCD),
      pod: pod(POD_ETCD_STATIC),
      expect: meta({ name: 'etcd', source: 'kubelet' }),
      stats: { reads: 2, parseErrors: 0, misses: 0 },
    },
    {
      name: 'kubelet: a pod with two containers, resolved by id in containersLogRoot',
      ref: ref('containerd', K8S_ISTIO),
      pod: pod(POD_CHECKOUT),
      expect: meta({ name: 'istio-proxy', source: 'kubelet' }),
      stats: { reads: 3, parseErrors: 0, misses: 0 },
    },
    {
      name: 'kubelet: an id with no link in a two-container pod',
      ref: ref('containerd', UNKNOWN),
      pod: pod(POD_CHECKOUT),
      expect: meta({}),
      stats: { reads: 3, parseErrors: 0, misses: 1 },
    },
    {
      name: 'kubelet: unknown pod uid',
      ref: ref('containerd', K8S_COREDNS),
      pod: pod(POD_UNKNOWN),
      expect: meta({}),
      stats: { reads: 1, parseErrors: 0, misses: 1 },
    },
    {
      name: 'cri-dockerd: image and labels from docker, the name from kubelet',
      ref: ref('docker', DOCKER_CHECKOUT),
      pod: pod(POD_CHECKOUT),
      expect: meta({
        name: 'checkout',
        image: CHECKOUT_IMAGE,
        labels: expect.objectContaining({
          'io.kubernetes.container.name': 'checkout',
          'io.kubernetes.pod.namespace': 'shop',
        }) as Record<string, string>,
        source: 'kubelet',
      }),
      stats: { reads: 4, parseErrors: 0, misses: 0 },
    },
    {
      name: 'cri-dockerd with the pod not (yet) in podsLogRoot: docker name',
      ref: ref('docker', DOCKER_CHECKOUT),
      pod: pod(POD_UNKNOWN),
      expect: meta({
        name: `k8s_checkout_checkout-6f9c7b8d4-q2w8r_shop_${POD_CHECKOUT}_1`,
        image: CHECKOUT_IMAGE,
        labels: expect.objectContaining({ 'io.kubernetes.docker.type': 'container' }) as Record<string, string>,
        source: 'docker',
      }),
      stats: { reads: 2, parseErrors: 0, misses: 0 },
    },
  ];

  it.each(ROWS)('$name', (row) => {
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, fixtureFs);
    expect(reader.container(row.ref, row.pod ?? null)).toEqual(row.expect);
    expect(reader.stats()).toEqual(row.stats);
  });
});

describe('pod()', () => {
  const ROWS: Array<{ uid: string; expect: ReturnType<ContainerMetadataReader['pod']> }> = [
    { uid: POD_COREDNS, expect: { namespace: 'kube-system', name: 'coredns-5d78c9869d-x7k2p', uid: POD_COREDNS } },
    { uid: POD_CHECKOUT, expect: { namespace: 'shop', name: 'checkout-6f9c7b8d4-q2w8r', uid: POD_CHECKOUT } },
    { uid: POD_ETCD_STATIC, expect: { namespace: 'kube-system', name: 'etcd-node1', uid: POD_ETCD_STATIC } },
    { uid: POD_UNKNOWN, expect: null },
  ];

  it.each(ROWS)('finds $uid by the exact _<uid> suffix', ({ uid, expect: want }) => {
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, fixtureFs);
    expect(reader.pod(uid)).toEqual(want);
    expect(reader.stats()).toEqual({ reads: 1, parseErrors: 0, misses: want === null ? 1 : 0 });
  });

  it('lists podsLogRoot exactly once per call', () => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, counting);
    reader.pod(POD_COREDNS);
    reader.pod(POD_CHECKOUT);
    reader.pod(POD_UNKNOWN);
    expect(counting.calls).toEqual(Array(3).fill({ op: 'readdir', path: path.join(F, 'pods') }));
  });

  it.each([
    ['a uid that is a suffix of the static hash', POD_ETCD_STATIC.slice(1)],
    ['uppercase', POD_COREDNS.toUpperCase()],
    ['the systemd slice form with underscores', POD_COREDNS.split('-').join('_')],
    ['a path', `../${POD_COREDNS}`],
    ['empty', ''],
  ])('refuses a non-canonical uid (%s) without reading', (_what, uid) => {
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, fixtureFs);
    expect(reader.pod(uid)).toBeNull();
    expect(reader.stats()).toEqual({ reads: 0, parseErrors: 0, misses: 1 });
  });

  it('skips entries that are not <ns>_<name>_<uid>', () => {
    const fsm = memFs({}, {
      '/pods': [
        POD_COREDNS,
        `_coredns_${POD_COREDNS}`,
        `kube-system__${POD_COREDNS}`,
        `a_b_c_${POD_COREDNS}`,
        `x${POD_COREDNS}`,
        `kube-system_coredns_${POD_COREDNS}x`,
        `kube-system_coredns_${POD_COREDNS}`,
      ],
    });
    const reader = new ContainerMetadataReader(MEM_ROOTS, fsm);
    expect(reader.pod(POD_COREDNS)).toEqual({ namespace: 'kube-system', name: 'coredns', uid: POD_COREDNS });
  });
});

describe('bounded reads', () => {
  it.each([
    ['docker', ref('docker', DOCKER_WEB), null, 3],
    ['docker, missing', ref('docker', UNKNOWN), null, 3],
    ['rootless docker', ref('docker', DOCKER_ALICE, 1000), null, 3],
    ['podman', ref('podman', PODMAN_WEB), null, 1],
    ['rootless podman', ref('podman', PODMAN_ALICE, 1000), null, 2],
    ['kubelet, two containers', ref('containerd', K8S_ISTIO), pod(POD_CHECKOUT), 3],
    ['cri-dockerd', ref('docker', DOCKER_CHECKOUT), pod(POD_CHECKOUT), 4],
  ] as Array<[string, ContainerRef, PodRef | null, number]>)('%s: at most %i reads', (_what, r, p, max) => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, counting);
    reader.container(r, p);
    expect(counting.calls.length).toBeLessThanOrEqual(max);
    expect(reader.stats().reads).toBe(counting.calls.length);
  });

  it('docker reads exactly <root>/containers/<id>/config.v2.json', () => {
    const counting = new CountingFs(fixtureFs);
    new ContainerMetadataReader(FIXTURE_ROOTS, counting).container(ref('docker', DOCKER_WEB), null);
    expect(counting.calls).toEqual([
      { op: 'readFile', path: path.join(F, 'docker', 'containers', DOCKER_WEB, 'config.v2.json') },
    ]);
  });

  it('rootless lookups read /etc/passwd through the injected fs', () => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, counting);
    reader.container(ref('podman', PODMAN_ALICE, 1000), null);
    reader.container(ref('docker', DOCKER_ALICE, 1000), null);
    expect(counting.calls.map((c) => c.path)).toEqual([
      '/etc/passwd',
      '/home/alice/.local/share/containers/storage/overlay-containers/containers.json',
      '/etc/passwd',
      `/home/alice/.local/share/docker/containers/${DOCKER_ALICE}/config.v2.json`,
    ]);
  });

  it('a home with a trailing slash gives no doubled slash', () => {
    const counting = new CountingFs(fixtureFs);
    new ContainerMetadataReader(FIXTURE_ROOTS, counting).container(ref('podman', PODMAN_ALICE, 1002), null);
    expect(counting.calls[1].path).toBe('/home/carol/.local/share/containers/storage/overlay-containers/containers.json');
  });

  it.each([
    ['lxc', ref('lxc', 'web01'), null],
    ['nspawn', ref('nspawn', 'fedora-41'), null],
    ['containerd outside a pod', ref('containerd', K8S_COREDNS), null],
    ['cri-o outside a pod', ref('cri-o', K8S_COREDNS), null],
  ] as Array<[string, ContainerRef, PodRef | null]>)('%s: no source, nothing read, not a miss', (_what, r, p) => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, counting);
    expect(reader.container(r, p)).toEqual(meta({}));
    expect(counting.calls).toEqual([]);
    expect(reader.stats()).toEqual({ reads: 0, parseErrors: 0, misses: 0 });
  });

  it('null roots disable their source', () => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader(
      { dockerRoot: null, podmanRoot: null, podmanRootlessRoot: null, podsLogRoot: null, containersLogRoot: null },
      counting,
    );
    expect(reader.container(ref('docker', DOCKER_WEB), null)).toEqual(meta({}));
    expect(reader.container(ref('docker', DOCKER_ALICE, 1000), null)).toEqual(meta({}));
    expect(reader.container(ref('podman', PODMAN_WEB), null)).toEqual(meta({}));
    expect(reader.container(ref('podman', PODMAN_ALICE, 1000), null)).toEqual(meta({}));
    expect(reader.container(ref('containerd', K8S_COREDNS), pod(POD_COREDNS))).toEqual(meta({}));
    expect(reader.pod(POD_COREDNS)).toBeNull();
    expect(counting.calls).toEqual([]);
  });

  it('containersLogRoot null: a two-container pod leaves the name unknown', () => {
    const reader = new ContainerMetadataReader({ ...FIXTURE_ROOTS, containersLogRoot: null }, fixtureFs);
    expect(reader.container(ref('containerd', K8S_ISTIO), pod(POD_CHECKOUT))).toEqual(meta({}));
    expect(reader.stats()).toEqual({ reads: 2, parseErrors: 0, misses: 1 });
  });
});

describe('roots', () => {
  it('has the usual host locations by default', () => {
    expect(DEFAULT_ROOTS).toMatchObject({
      dockerRoot: '/var/lib/docker',
      podmanRoot: '/var/lib/containers/storage',
      podsLogRoot: '/var/log/pods',
      containersLogRoot: '/var/log/containers',
    });
    expect(typeof DEFAULT_ROOTS.podmanRootlessRoot).toBe('function');
    expect(Object.isFrozen(DEFAULT_ROOTS)).toBe(true);
  });

  it('a custom podmanRootlessRoot is called with the uid', () => {
    const seen: number[] = [];
    const reader = new ContainerMetadataReader(
      {
        ...FIXTURE_ROOTS,
        podmanRootlessRoot: (uid) => {
          seen.push(uid);
          return path.join(F, 'home', 'alice', '.local', 'share', 'containers', 'storage');
        },
      },
      fixtureFs,
    );
    expect(reader.container(ref('podman', PODMAN_ALICE, 1000), null).name).toBe('fedora-toolbox-41');
    expect(seen).toEqual([1000]);
    expect(reader.stats().reads).toBe(1);
  });

  it('DEFAULT_ROOTS.podmanRootlessRoot passed explicitly still reads passwd through the injected fs', () => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader({ ...DEFAULT_ROOTS, ...FIXTURE_ROOTS }, counting);
    expect(reader.container(ref('podman', PODMAN_ALICE, 1000), null).name).toBe('fedora-toolbox-41');
    expect(counting.calls[0].path).toBe('/etc/passwd');
  });

  it('a podmanRootlessRoot that throws or returns junk is a miss, not a throw', () => {
    for (const fn of [
      (): string | null => {
        throw new Error('boom');
      },
      (): string | null => null,
      (): string | null => '',
    ]) {
      const reader = new ContainerMetadataReader({ ...FIXTURE_ROOTS, podmanRootlessRoot: fn }, fixtureFs);
      expect(reader.container(ref('podman', PODMAN_ALICE, 1000), null)).toEqual(meta({}));
      expect(reader.stats()).toEqual({ reads: 0, parseErrors: 0, misses: 1 });
    }
  });
});

describe('hostile names are returned exactly', () => {
  const dockerConfig = (id: string, name: string, labels: Record<string, unknown> = {}): string =>
    JSON.stringify({ ID: id, Name: name, Config: { Image: 'busybox', Labels: labels } });
  const podmanStore = (id: string, names: unknown[]): string =>
    JSON.stringify([{ id, names, image: UNKNOWN, metadata: JSON.stringify({ 'image-name': 'x/../../y' }) }]);

  it.each([
    ['dot-dot', '/../../etc', '../../etc'],
    ['a slash', '/a/b', 'a/b'],
    ['a newline', '/web\nfake: line', 'web\nfake: line'],
    ['a NUL', '/nul\u0000name', 'nul\u0000name'],
    ['only one leading slash is dropped', '//x', '/x'],
    ['no leading slash', 'plain', 'plain'],
    ['unicode and escapes', '/\u202eevil\u2028\\x2f', '\u202eevil\u2028\\x2f'],
  ])('docker name with %s', (_what, raw, want) => {
    const fsm = memFs({ [`/d/containers/${DOCKER_WEB}/config.v2.json`]: dockerConfig(DOCKER_WEB, raw) });
    const reader = new ContainerMetadataReader(MEM_ROOTS, fsm);
    expect(reader.container(ref('docker', DOCKER_WEB), null)).toEqual(
      meta({ name: want, image: 'busybox', source: 'docker' }),
    );
    expect(reader.stats()).toEqual({ reads: 1, parseErrors: 0, misses: 0 });
  });

  it('docker labels: string values kept exactly, others ignored, __proto__ stays a label', () => {
    const labels = JSON.parse(
      '{"a/b":"../../etc","nl\\nkey":"v\\nw","__proto__":"p","num":1,"bool":true,"nul":null,"obj":{"x":"y"},"arr":["z"]}',
    ) as Record<string, unknown>;
    const fsm = memFs({ [`/d/containers/${DOCKER_WEB}/config.v2.json`]: dockerConfig(DOCKER_WEB, '/x', labels) });
    const got = new ContainerMetadataReader(MEM_ROOTS, fsm).container(ref('docker', DOCKER_WEB), null);
    expect(Object.keys(got.labels).sort()).toEqual(['__proto__', 'a/b', 'nl\nkey']);
    expect(got.labels['a/b']).toBe('../../etc');
    expect(got.labels['nl\nkey']).toBe('v\nw');
    expect(Object.getOwnPropertyDescriptor(got.labels, '__proto__')?.value).toBe('p');
    expect(Object.getPrototypeOf(got.labels)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });

  it.each([
    ['dot-dot', '../../etc'],
    ['a slash', 'a/b'],
    ['a newline', 'x\ny'],
  ])('podman name with %s', (_what, name) => {
    const fsm = memFs({ '/p/overlay-containers/containers.json': podmanStore(PODMAN_WEB, [name, 'second']) });
    expect(new ContainerMetadataReader(MEM_ROOTS, fsm).container(ref('podman', PODMAN_WEB), null)).toEqual(
      meta({ name, image: 'x/../../y', source: 'podman' }),
    );
  });

  it('kubelet names with a newline, from the only directory and from a link', () => {
    const podDir = `/pods/ns_p_${POD_CHECKOUT}`;
    const single = memFs({}, { '/pods': [`ns_p_${POD_CHECKOUT}`], [podDir]: ['evil\nname'] });
    expect(new ContainerMetadataReader(MEM_ROOTS, single).container(ref('containerd', K8S_ISTIO), pod(POD_CHECKOUT)))
      .toEqual(meta({ name: 'evil\nname', source: 'kubelet' }));

    const two = memFs({}, {
      '/pods': [`ns_p_${POD_CHECKOUT}`],
      [podDir]: ['a', 'b'],
      '/ctrs': [`p_ns_evil\n..-${K8S_COREDNS}.log`, `p_ns_bad\nname-${K8S_ISTIO}.log`],
    });
    expect(new ContainerMetadataReader(MEM_ROOTS, two).container(ref('containerd', K8S_ISTIO), pod(POD_CHECKOUT)))
      .toEqual(meta({ name: 'bad\nname', source: 'kubelet' }));
  });

  it('a link must match pod, namespace and the whole id', () => {
    const fsm = memFs({}, {
      '/pods': [`ns_p_${POD_CHECKOUT}`],
      [`/pods/ns_p_${POD_CHECKOUT}`]: ['a', 'b'],
      '/ctrs': [
        `p_other_a-${K8S_ISTIO}.log`,
        `other_ns_a-${K8S_ISTIO}.log`,
        `p_ns_a-${K8S_ISTIO.slice(1)}.log`,
        `p_ns_a-x${K8S_ISTIO}.log.1`,
        `p_ns_-${K8S_ISTIO}.log`,
        `p_ns_right-${K8S_ISTIO}.log`,
      ],
    });
    expect(new ContainerMetadataReader(MEM_ROOTS, fsm).container(ref('containerd', K8S_ISTIO), pod(POD_CHECKOUT)).name)
      .toBe('right');
  });

  it.each([
    ['a slash', 'ab/cd'],
    ['dot-dot', '..'],
    ['a dot-dot path', '../../etc/shadow'],
    ['dot-dot inside', `${UNKNOWN}..`],
    ['a single dot', '.'],
    ['empty', ''],
    ['a NUL', `${UNKNOWN}\u0000`],
  ])('refuses an id with %s: all null, nothing read', (_what, id) => {
    const counting = new CountingFs(fixtureFs);
    const reader = new ContainerMetadataReader(FIXTURE_ROOTS, counting);
    for (const runtime of ['docker', 'podman', 'containerd'] as Runtime[]) {
      expect(reader.container(ref(runtime, id), pod(POD_COREDNS))).toEqual(meta({}));
    }
    expect(counting.calls).toEqual([]);
    expect(reader.stats()).toEqual({ reads: 0, parseErrors: 0, misses: 3 });
  });
});

describe('malformed files: null fields and one parse error', () => {
  const DOCKER_PATH = `/d/containers/${DOCKER_WEB}/config.v2.json`;
  const PODMAN_PATH = '/p/overlay-containers/containers.json';
  const podmanEntry = (fields: Record<string, unknown>): string =>
    JSON.stringify([{ id: UNKNOWN, names: ['other'] }, { id: PODMAN_WEB, ...fields }]);

  interface Row {
    name: string;
    runtime: Runtime;
    text: string;
    expect: ContainerMetadata;
    parseErrors: number;
  }
  const ROWS: Row[] = [
    { name: 'docker: not JSON', runtime: 'docker', text: '{"Name":"/x",', expect: meta({}), parseErrors: 1 },
    { name: 'docker: empty file', runtime: 'docker', text: '', expect: meta({}), parseErrors: 1 },
    { name: 'docker: an array', runtime: 'docker', text: '[{"Name":"/x"}]', expect: meta({}), parseErrors: 1 },
    { name: 'docker: a string', runtime: 'docker', text: '"/x"', expect: meta({}), parseErrors: 1 },
    { name: 'docker: null', runtime: 'docker', text: 'null', expect: meta({}), parseErrors: 1 },
    { name: 'docker: no Name', runtime: 'docker', text: '{"Config":{"Image":"i"}}', expect: meta({}), parseErrors: 1 },
    { name: 'docker: Name a number', runtime: 'docker', text: '{"Name":7}', expect: meta({}), parseErrors: 1 },
    { name: 'docker: Config a string', runtime: 'docker', text: '{"Name":"/x","Config":"c"}', expect: meta({}), parseErrors: 1 },
    {
      name: 'docker: Config.Image an object',
      runtime: 'docker',
      text: '{"Name":"/x","Config":{"Image":{}}}',
      expect: meta({}),
      parseErrors: 1,
    },
    {
      name: 'docker: Config.Labels an array',
      runtime: 'docker',
      text: '{"Name":"/x","Config":{"Labels":["a=b"]}}',
      expect: meta({}),
      parseErrors: 1,
    },
    {
      name: 'docker: the file of another container',
      runtime: 'docker',
      text: JSON.stringify({ ID: UNKNOWN, Name: '/other' }),
      expect: meta({}),
      parseErrors: 1,
    },
    {
      name: 'docker: no Config, no ID (fine)',
      runtime: 'docker',
      text: '{"Name":"/x"}',
      expect: meta({ name: 'x', source: 'docker' }),
      parseErrors: 0,
    },
    {
      name: 'docker: null Labels and Image (fine)',
      runtime: 'docker',
      text: '{"Name":"/x","Config":{"Image":null,"Labels":null}}',
      expect: meta({ name: 'x', source: 'docker' }),
      parseErrors: 0,
    },
    {
      name: 'docker: empty Name is no name',
      runtime: 'docker',
      text: '{"Name":"/","Config":{"Image":"i"}}',
      expect: meta({ image: 'i' }),
      parseErrors: 0,
    },
    { name: 'podman: not JSON', runtime: 'podman', text: '[{"id":', expect: meta({}), parseErrors: 1 },
    { name: 'podman: an object', runtime: 'podman', text: `{"id":"${PODMAN_WEB}"}`, expect: meta({}), parseErrors: 1 },
    {
      name: 'podman: junk entries before the match are skipped',
      runtime: 'podman',
      text: JSON.stringify([null, 3, 'x', [PODMAN_WEB], { id: 5 }, { id: PODMAN_WEB, names: ['w'], metadata: '{}' }]),
      expect: meta({ name: 'w', source: 'podman' }),
      parseErrors: 0,
    },
    {
      name: 'podman: names not an array, metadata name used',
      runtime: 'podman',
      text: podmanEntry({ names: 'web', metadata: '{"name":"web2","image-name":"i"}' }),
      expect: meta({ name: 'web2', image: 'i', source: 'podman' }),
      parseErrors: 1,
    },
    {
      name: 'podman: names[0] a number',
      runtime: 'podman',
      text: podmanEntry({ names: [1], metadata: '{"image-name":"i"}' }),
      expect: meta({ image: 'i' }),
      parseErrors: 1,
    },
    {
      name: 'podman: metadata an object, not a string',
      runtime: 'podman',
      text: podmanEntry({ names: ['w'], metadata: { 'image-name': 'i' } }),
      expect: meta({ name: 'w', source: 'podman' }),
      parseErrors: 1,
    },
    {
      name: 'podman: metadata string holding an array',
      runtime: 'podman',
      text: podmanEntry({ names: ['w'], metadata: '["i"]' }),
      expect: meta({ name: 'w', source: 'podman' }),
      parseErrors: 1,
    },
    {
      name: 'podman: image-name a number',
      runtime: 'podman',
      text: podmanEntry({ names: ['w'], metadata: '{"image-name":5}' }),
      expect: meta({ name: 'w', source: 'podman' }),
      parseErrors: 1,
    },
    {
      name: 'podman: no metadata',
      runtime: 'podman',
      text: podmanEntry({ names: ['w'] }),
      expect: meta({ name: 'w', source: 'podman' }),
      parseErrors: 1,
    },
    {
      name: 'podman: metadata without image-name (a --rootfs container, fine)',
      runtime: 'podman',
      text: podmanEntry({ names: ['w'], metadata: '{"name":"w"}' }),
      expect: meta({ name: 'w', source: 'podman' }),
      parseErrors: 0,
    },
  ];

  it.each(ROWS)('$name', (row) => {
    const fsm = memFs({ [row.runtime === 'docker' ? DOCKER_PATH : PODMAN_PATH]: row.text });
    const reader = new ContainerMetadataReader(MEM_ROOTS, fsm);
    const id = row.runtime === 'docker' ? DOCKER_WEB : PODMAN_WEB;
    expect(reader.container(ref(row.runtime, id), null)).toEqual(row.expect);
    expect(reader.stats().parseErrors).toBe(row.parseErrors);
    expect(reader.stats().misses).toBe(row.expect.source === null ? 1 : 0);
  });

  it('a huge file from an fs without a cap is a parse error, not parsed', () => {
    const huge = `{"Name":"/x","Pad":"${'a'.repeat(4 * 1024 * 1024)}"}`;
    const reader = new ContainerMetadataReader(MEM_ROOTS, memFs({ [DOCKER_PATH]: huge }));
    expect(reader.container(ref('docker', DOCKER_WEB), null)).toEqual(meta({}));
    expect(reader.stats()).toEqual({ reads: 1, parseErrors: 1, misses: 1 });
  });

  it('an fs that throws or returns the wrong types never makes container() throw', () => {
    const throwing: MetadataFs = {
      readFile: () => {
        throw new Error('EIO');
      },
      readdir: () => {
        throw new Error('EIO');
      },
    };
    const wrong = {
      readFile: (): unknown => 42,
      readdir: (): unknown => ['ok', 7, null],
    } as unknown as MetadataFs;
    for (const bad of [throwing, wrong]) {
      const reader = new ContainerMetadataReader(MEM_ROOTS, bad);
      expect(reader.container(ref('docker', DOCKER_WEB, 1000), pod(POD_COREDNS))).toEqual(meta({}));
      expect(reader.container(ref('podman', PODMAN_WEB), null)).toEqual(meta({}));
      expect(reader.pod(POD_COREDNS)).toBeNull();
    }
  });

  it('random file contents never throw, and always give a well-formed result', () => {
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      fc.json().map((j) => `[{"id":"${PODMAN_WEB}","names":${j},"metadata":${JSON.stringify(j)}}]`),
      fc.json().map((j) => `{"Name":${j},"Config":{"Image":${j},"Labels":${j}}}`),
    );
    fc.assert(
      fc.property(text, (t) => {
        const reader = new ContainerMetadataReader(MEM_ROOTS, memFs({ [DOCKER_PATH]: t, [PODMAN_PATH]: t }));
        for (const r of [ref('docker', DOCKER_WEB), ref('podman', PODMAN_WEB)]) {
          const got = reader.container(r, null);
          expect(got.name === null || typeof got.name === 'string').toBe(true);
          expect(got.image === null || typeof got.image === 'string').toBe(true);
          expect(Object.values(got.labels).every((v) => typeof v === 'string')).toBe(true);
          expect(got.source === null || got.name !== null).toBe(true);
        }
        expect(reader.stats().parseErrors).toBeLessThanOrEqual(2);
      }),
      { numRuns: 300 },
    );
  });
});

describe('realMetadataFs', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-metadata-'));
    fs.writeFileSync(path.join(dir, 'small.json'), '{"Name":"/é"}');
    fs.writeFileSync(path.join(dir, 'exact16.txt'), 'x'.repeat(16));
    fs.writeFileSync(path.join(dir, 'big17.txt'), 'x'.repeat(17));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync(path.join(dir, 'small.json'), path.join(dir, 'link.json'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a regular file whole, as UTF-8', () => {
    expect(realMetadataFs.readFile(path.join(dir, 'small.json'))).toBe('{"Name":"/é"}');
  });

  it('returns null for a missing file, a directory, and a symlink as the last component', () => {
    expect(realMetadataFs.readFile(path.join(dir, 'missing'))).toBeNull();
    expect(realMetadataFs.readFile(path.join(dir, 'sub'))).toBeNull();
    expect(realMetadataFs.readFile(path.join(dir, 'link.json'))).toBeNull();
    expect(realMetadataFs.readFile('bad\u0000path')).toBeNull();
  });

  it('returns null above the size cap, and reads a file of exactly the cap', () => {
    const capped = createRealMetadataFs(16);
    expect(capped.readFile(path.join(dir, 'exact16.txt'))).toBe('x'.repeat(16));
    expect(capped.readFile(path.join(dir, 'big17.txt'))).toBeNull();
  });

  it('a file of stat size 0 that is longer than the cap (a /proc file) is null', () => {
    expect(createRealMetadataFs(8).readFile('/proc/self/status')).toBeNull();
    expect(createRealMetadataFs().readFile('/proc/self/status')).toContain('Name:');
  });

  it('does not block on a FIFO', () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(realMetadataFs.readFile(fifo)).toBeNull();
  });

  it('lists a directory, and returns null for a file or a missing path', () => {
    expect(realMetadataFs.readdir(path.join(F, 'pods'))?.sort()).toEqual([
      `kube-system_coredns-5d78c9869d-x7k2p_${POD_COREDNS}`,
      `kube-system_etcd-node1_${POD_ETCD_STATIC}`,
      `shop_checkout-6f9c7b8d4-q2w8r_${POD_CHECKOUT}`,
    ]);
    expect(realMetadataFs.readdir(path.join(dir, 'small.json'))).toBeNull();
    expect(realMetadataFs.readdir(path.join(dir, 'missing'))).toBeNull();
  });
});
