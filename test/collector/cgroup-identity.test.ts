/**
 * identifyCgroupPath: one row per real-world cgroup path shape, then properties (random input
 * never throws and keeps the result consistent) and long paths.
 *
 * A row's `expect` lists only what is not null: the runner fills in the rest (kind 'container'
 * when a container is expected, else 'host'; every other field null) and compares the whole
 * identity, so a field set by mistake fails the row too.
 */
import fc from 'fast-check';
import {
  identifyCgroupPath,
  unescapeUnitName,
  type CgroupIdentity,
  type ContainerRef,
  type PodRef,
  type Runtime,
} from '../../collector/cgroup-identity';

const ID1 = '87e5c0027d81822c8b8318f3e14c963c834b5125cc7266d9ab9e1fdd0f0373b7';
const ID2 = 'd4cab2969fb2465a2f2338a78b46b6d8e670d5552fdc1ef515eb826b168275e5';
const ID3 = '18b60a7f36dd5eaf85dbfe7080b1c2ea9b07bd2e283ddb37489dc514d3c8ee3f';
const PAUSE = '85c16ba8853483777c14b95e3393ed00e9f2bd0723a0f62022d3bc12b38a3d64';
const PODMAN_POD = 'a747c1e8964665a940792db6e4c20a61623a9108546a2854bea320f0b31d558d';
const UID1 = 'df12b77b-ac6a-4183-80cb-f3ef6ce044e4';
const UID1_ = UID1.split('-').join('_');
const UID2 = 'c82260a8-a6d8-4ead-962d-1073050e77f8';
const UID2_ = UID2.split('-').join('_');
const STATIC_UID = '995a91015de17e523f3d417e4e8d68c3';

const USER_MANAGER = '/user.slice/user-1000.slice/user@1000.service';
const BURSTABLE_POD_SLICE = `kubepods-burstable-pod${UID1_}.slice`;
const BURSTABLE_POD = `/kubepods.slice/kubepods-burstable.slice/${BURSTABLE_POD_SLICE}`;
const BESTEFFORT_POD_SLICE = `kubepods-besteffort-pod${UID2_}.slice`;
const BESTEFFORT_POD = `/kubepods.slice/kubepods-besteffort.slice/${BESTEFFORT_POD_SLICE}`;

interface Row {
  name: string;
  path: string;
  expect: Partial<CgroupIdentity>;
}

function ctr(runtime: Runtime, id: string, cgroup: string, rootlessUid: number | null = null): ContainerRef {
  return { runtime, id, cgroup, rootlessUid };
}

const burstable = (uid = UID1): PodRef => ({ uid, qos: 'burstable' });
const besteffort = (uid = UID2): PodRef => ({ uid, qos: 'besteffort' });
const guaranteed = (uid = UID1): PodRef => ({ uid, qos: 'guaranteed' });

function fullIdentity(partial: Partial<CgroupIdentity>): CgroupIdentity {
  return {
    kind: partial.container ? 'container' : 'host',
    container: null,
    pod: null,
    unit: null,
    slice: null,
    userUnit: null,
    ownerUid: null,
    ...partial,
  };
}

const ROWS: Row[] = [
  // docker
  {
    name: 'docker systemd driver',
    path: `/system.slice/docker-${ID1}.scope`,
    expect: { container: ctr('docker', ID1, `/system.slice/docker-${ID1}.scope`), slice: 'system.slice' },
  },
  {
    name: 'docker systemd driver with a custom cgroup parent slice',
    path: `/containers.slice/containers-web.slice/docker-${ID1}.scope`,
    expect: {
      container: ctr('docker', ID1, `/containers.slice/containers-web.slice/docker-${ID1}.scope`),
      slice: 'containers-web.slice',
    },
  },
  {
    name: 'docker cgroupfs driver',
    path: `/docker/${ID1}`,
    expect: { container: ctr('docker', ID1, `/docker/${ID1}`) },
  },
  {
    name: 'docker cgroupfs driver with a cgroup inside the container',
    path: `/docker/${ID1}/init.scope`,
    expect: { container: ctr('docker', ID1, `/docker/${ID1}`) },
  },
  {
    name: 'docker nested cgroup inside container',
    path: `/system.slice/docker-${ID1}.scope/init.scope`,
    expect: { container: ctr('docker', ID1, `/system.slice/docker-${ID1}.scope`), slice: 'system.slice' },
  },
  {
    name: 'docker running systemd: service inside the container',
    path: `/system.slice/docker-${ID1}.scope/system.slice/nginx.service`,
    expect: { container: ctr('docker', ID1, `/system.slice/docker-${ID1}.scope`), slice: 'system.slice' },
  },
  {
    name: 'docker trailing slash',
    path: `/system.slice/docker-${ID1}.scope/`,
    expect: { container: ctr('docker', ID1, `/system.slice/docker-${ID1}.scope`), slice: 'system.slice' },
  },
  {
    name: 'docker doubled slash is normalised in the container cgroup',
    path: `/system.slice//docker-${ID1}.scope`,
    expect: { container: ctr('docker', ID1, `/system.slice/docker-${ID1}.scope`), slice: 'system.slice' },
  },
  {
    name: 'outermost wins: docker in docker (cgroupfs)',
    path: `/docker/${ID1}/docker/${ID2}`,
    expect: { container: ctr('docker', ID1, `/docker/${ID1}`) },
  },
  {
    name: 'outermost wins: kind node (docker) running a kubernetes pod',
    path:
      `/system.slice/docker-${ID1}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/` +
      `kubelet-kubepods-besteffort-pod${UID2_}.slice/cri-containerd-${ID2}.scope`,
    expect: { container: ctr('docker', ID1, `/system.slice/docker-${ID1}.scope`), slice: 'system.slice' },
  },
  {
    name: 'docker rootless (systemd driver under the user manager)',
    path: `${USER_MANAGER}/user.slice/docker-${ID1}.scope`,
    expect: {
      container: ctr('docker', ID1, `${USER_MANAGER}/user.slice/docker-${ID1}.scope`, 1000),
      slice: 'user.slice',
      ownerUid: 1000,
    },
  },
  {
    name: 'dockerd itself is a host service',
    path: '/system.slice/docker.service',
    expect: { unit: 'docker.service', slice: 'system.slice' },
  },
  {
    name: 'short id: docker-abc.scope is just a host scope',
    path: '/system.slice/docker-abc.scope',
    expect: { unit: 'docker-abc.scope', slice: 'system.slice' },
  },
  {
    name: 'malformed: 63 hex',
    path: `/system.slice/docker-${ID1.slice(1)}.scope`,
    expect: { unit: `docker-${ID1.slice(1)}.scope`, slice: 'system.slice' },
  },
  {
    name: 'malformed: 65 hex',
    path: `/docker/${ID1}0`,
    expect: {},
  },
  {
    name: 'uppercase hex is not an id',
    path: `/system.slice/docker-${ID1.toUpperCase()}.scope`,
    expect: { unit: `docker-${ID1.toUpperCase()}.scope`, slice: 'system.slice' },
  },
  {
    name: 'bare hex under an unknown parent is not a container',
    path: `/custom/${ID1}`,
    expect: {},
  },

  // podman
  {
    name: 'podman rootful (machine.slice)',
    path: `/machine.slice/libpod-${ID2}.scope`,
    expect: { container: ctr('podman', ID2, `/machine.slice/libpod-${ID2}.scope`), slice: 'machine.slice' },
  },
  {
    name: 'podman rootless',
    path: `${USER_MANAGER}/user.slice/libpod-${ID2}.scope`,
    expect: {
      container: ctr('podman', ID2, `${USER_MANAGER}/user.slice/libpod-${ID2}.scope`, 1000),
      slice: 'user.slice',
      ownerUid: 1000,
    },
  },
  {
    name: 'podman rootless --cgroups=split',
    path: `${USER_MANAGER}/user.slice/libpod-${ID2}.scope/container`,
    expect: {
      container: ctr('podman', ID2, `${USER_MANAGER}/user.slice/libpod-${ID2}.scope`, 1000),
      slice: 'user.slice',
      ownerUid: 1000,
    },
  },
  {
    name: 'podman rootful --cgroups=split',
    path: `/machine.slice/libpod-${ID2}.scope/container`,
    expect: { container: ctr('podman', ID2, `/machine.slice/libpod-${ID2}.scope`), slice: 'machine.slice' },
  },
  {
    name: 'podman running systemd: service inside the container',
    path: `/machine.slice/libpod-${ID2}.scope/container/system.slice/foo.service`,
    expect: { container: ctr('podman', ID2, `/machine.slice/libpod-${ID2}.scope`), slice: 'machine.slice' },
  },
  {
    name: 'podman cgroupfs driver',
    path: `/libpod_parent/libpod-${ID2}`,
    expect: { container: ctr('podman', ID2, `/libpod_parent/libpod-${ID2}`) },
  },
  {
    name: 'podman container in a podman pod slice',
    path: `/machine.slice/machine-libpod_pod_${PODMAN_POD}.slice/libpod-${ID3}.scope`,
    expect: {
      container: ctr('podman', ID3, `/machine.slice/machine-libpod_pod_${PODMAN_POD}.slice/libpod-${ID3}.scope`),
      slice: `machine-libpod_pod_${PODMAN_POD}.slice`,
    },
  },
  {
    name: 'libpod-conmon is host',
    path: `/machine.slice/libpod-conmon-${ID2}.scope`,
    expect: { unit: `libpod-conmon-${ID2}.scope`, slice: 'machine.slice' },
  },
  {
    name: 'libpod-conmon rootless is a host user unit',
    path: `${USER_MANAGER}/user.slice/libpod-conmon-${ID2}.scope`,
    expect: {
      unit: `libpod-conmon-${ID2}.scope`,
      userUnit: `libpod-conmon-${ID2}.scope`,
      slice: 'user.slice',
      ownerUid: 1000,
    },
  },

  // Kubernetes, containerd and CRI-O
  {
    name: 'k8s systemd burstable containerd',
    path: `${BURSTABLE_POD}/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr('containerd', ID3, `${BURSTABLE_POD}/cri-containerd-${ID3}.scope`),
      pod: burstable(),
      slice: BURSTABLE_POD_SLICE,
    },
  },
  {
    name: 'k8s systemd besteffort containerd',
    path: `${BESTEFFORT_POD}/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr('containerd', ID3, `${BESTEFFORT_POD}/cri-containerd-${ID3}.scope`),
      pod: besteffort(),
      slice: BESTEFFORT_POD_SLICE,
    },
  },
  {
    name: 'k8s guaranteed systemd',
    path: `/kubepods.slice/kubepods-pod${UID1_}.slice/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr('containerd', ID3, `/kubepods.slice/kubepods-pod${UID1_}.slice/cri-containerd-${ID3}.scope`),
      pod: guaranteed(),
      slice: `kubepods-pod${UID1_}.slice`,
    },
  },
  {
    name: 'k8s sandbox (pause) container is a container',
    path: `${BURSTABLE_POD}/cri-containerd-${PAUSE}.scope`,
    expect: {
      container: ctr('containerd', PAUSE, `${BURSTABLE_POD}/cri-containerd-${PAUSE}.scope`),
      pod: burstable(),
      slice: BURSTABLE_POD_SLICE,
    },
  },
  {
    name: 'k8s nested cgroup inside a containerd container',
    path: `${BURSTABLE_POD}/cri-containerd-${ID3}.scope/init.scope`,
    expect: {
      container: ctr('containerd', ID3, `${BURSTABLE_POD}/cri-containerd-${ID3}.scope`),
      pod: burstable(),
      slice: BURSTABLE_POD_SLICE,
    },
  },
  {
    name: 'k8s pod-level cgroup without container (systemd)',
    path: BURSTABLE_POD,
    expect: { pod: burstable(), slice: BURSTABLE_POD_SLICE },
  },
  {
    name: 'k8s pod-level cgroup without container (cgroupfs)',
    path: `/kubepods/burstable/pod${UID1}`,
    expect: { pod: burstable() },
  },
  {
    name: 'k8s static pod: 32-hex uid is kept as it is',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr(
        'containerd',
        ID3,
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC_UID}.slice/cri-containerd-${ID3}.scope`,
      ),
      pod: burstable(STATIC_UID),
      slice: `kubepods-burstable-pod${STATIC_UID}.slice`,
    },
  },
  {
    name: 'k8s systemd with kubelet --cgroup-root (burstable)',
    path:
      `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/` +
      `kubelet-kubepods-burstable-pod${UID1_}.slice/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr(
        'containerd',
        ID3,
        `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/` +
          `kubelet-kubepods-burstable-pod${UID1_}.slice/cri-containerd-${ID3}.scope`,
      ),
      pod: burstable(),
      slice: `kubelet-kubepods-burstable-pod${UID1_}.slice`,
    },
  },
  {
    name: 'k8s systemd with kubelet --cgroup-root (guaranteed)',
    path: `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${UID1_}.slice/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr(
        'containerd',
        ID3,
        `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod${UID1_}.slice/cri-containerd-${ID3}.scope`,
      ),
      pod: guaranteed(),
      slice: `kubelet-kubepods-pod${UID1_}.slice`,
    },
  },
  {
    name: 'k8s cgroupfs besteffort',
    path: `/kubepods/besteffort/pod${UID2}/${ID3}`,
    expect: { container: ctr('containerd', ID3, `/kubepods/besteffort/pod${UID2}/${ID3}`), pod: besteffort() },
  },
  {
    name: 'k8s cgroupfs burstable',
    path: `/kubepods/burstable/pod${UID1}/${ID3}`,
    expect: { container: ctr('containerd', ID3, `/kubepods/burstable/pod${UID1}/${ID3}`), pod: burstable() },
  },
  {
    name: 'k8s cgroupfs guaranteed',
    path: `/kubepods/pod${UID1}/${ID3}`,
    expect: { container: ctr('containerd', ID3, `/kubepods/pod${UID1}/${ID3}`), pod: guaranteed() },
  },
  {
    name: 'k8s cgroupfs with kubelet --cgroup-root',
    path: `/kubelet/kubepods/burstable/pod${UID1}/${ID3}`,
    expect: {
      container: ctr('containerd', ID3, `/kubelet/kubepods/burstable/pod${UID1}/${ID3}`),
      pod: burstable(),
    },
  },
  {
    name: 'k8s cgroupfs nested cgroup inside the container',
    path: `/kubepods/burstable/pod${UID1}/${ID3}/sub/leaf`,
    expect: { container: ctr('containerd', ID3, `/kubepods/burstable/pod${UID1}/${ID3}`), pod: burstable() },
  },
  {
    name: 'k8s systemd CRI-O',
    path: `${BESTEFFORT_POD}/crio-${ID3}.scope`,
    expect: {
      container: ctr('cri-o', ID3, `${BESTEFFORT_POD}/crio-${ID3}.scope`),
      pod: besteffort(),
      slice: BESTEFFORT_POD_SLICE,
    },
  },
  {
    name: 'crio-conmon is host',
    path: `${BESTEFFORT_POD}/crio-conmon-${ID3}.scope`,
    expect: { pod: besteffort(), unit: `crio-conmon-${ID3}.scope`, slice: BESTEFFORT_POD_SLICE },
  },
  {
    name: 'k8s cgroupfs CRI-O',
    path: `/kubepods/burstable/pod${UID1}/crio-${ID3}`,
    expect: { container: ctr('cri-o', ID3, `/kubepods/burstable/pod${UID1}/crio-${ID3}`), pod: burstable() },
  },
  {
    name: 'k8s cgroupfs crio-conmon is host',
    path: `/kubepods/burstable/pod${UID1}/crio-conmon-${ID3}`,
    expect: { pod: burstable() },
  },
  {
    name: 'k8s systemd docker (cri-dockerd)',
    path: `${BURSTABLE_POD}/docker-${ID1}.scope`,
    expect: {
      container: ctr('docker', ID1, `${BURSTABLE_POD}/docker-${ID1}.scope`),
      pod: burstable(),
      slice: BURSTABLE_POD_SLICE,
    },
  },
  {
    name: 'k8s qos slice alone is host',
    path: '/kubepods.slice/kubepods-burstable.slice',
    expect: { slice: 'kubepods-burstable.slice' },
  },
  {
    name: 'k8s cgroupfs bare hex not under a pod is not a container',
    path: `/kubepods/burstable/${ID3}`,
    expect: {},
  },
  {
    name: 'k8s malformed pod uid: container kept, no pod',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnot_a_uid.slice/cri-containerd-${ID3}.scope`,
    expect: {
      container: ctr(
        'containerd',
        ID3,
        `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnot_a_uid.slice/cri-containerd-${ID3}.scope`,
      ),
      slice: 'kubepods-burstable-podnot_a_uid.slice',
    },
  },
  {
    name: 'k8s cgroupfs pod under an unknown qos is not a pod',
    path: `/kubepods/fast/pod${UID1}/${ID3}`,
    expect: {},
  },
  {
    name: 'containerd daemon is a host service',
    path: '/system.slice/containerd.service',
    expect: { unit: 'containerd.service', slice: 'system.slice' },
  },

  // LXC, LXD, Incus
  {
    name: 'lxc payload',
    path: '/lxc.payload.web01',
    expect: { container: ctr('lxc', 'web01', '/lxc.payload.web01') },
  },
  {
    name: 'lxc payload with systemd inside',
    path: '/lxc.payload.web01/system.slice/cron.service',
    expect: { container: ctr('lxc', 'web01', '/lxc.payload.web01') },
  },
  {
    name: 'incus project-prefixed payload name',
    path: '/lxc.payload.staging_web01/init.scope',
    expect: { container: ctr('lxc', 'staging_web01', '/lxc.payload.staging_web01') },
  },
  {
    name: 'lxc monitor is host',
    path: '/lxc.monitor.web01',
    expect: {},
  },
  {
    name: 'lxc payload with an empty name is not a container',
    path: '/lxc.payload.',
    expect: {},
  },
  {
    name: 'lxc legacy /lxc/<name>',
    path: '/lxc/web01',
    expect: { container: ctr('lxc', 'web01', '/lxc/web01') },
  },
  {
    name: 'lxc legacy nested cgroup',
    path: '/lxc/web01/system.slice/sshd.service',
    expect: { container: ctr('lxc', 'web01', '/lxc/web01') },
  },
  {
    name: 'outermost wins: docker inside lxc',
    path: `/lxc.payload.web01/system.slice/docker-${ID1}.scope`,
    expect: { container: ctr('lxc', 'web01', '/lxc.payload.web01') },
  },
  {
    name: 'outermost wins: kubernetes node inside lxc',
    path: `/lxc.payload.node1${BURSTABLE_POD}/cri-containerd-${ID3}.scope`,
    expect: { container: ctr('lxc', 'node1', '/lxc.payload.node1') },
  },

  // systemd-nspawn
  {
    name: 'nspawn machine scope',
    path: '/machine.slice/machine-debian.scope',
    expect: { container: ctr('nspawn', 'debian', '/machine.slice/machine-debian.scope'), slice: 'machine.slice' },
  },
  {
    name: 'nspawn escaped name',
    path: '/machine.slice/machine-fedora\\x2d39.scope',
    expect: {
      container: ctr('nspawn', 'fedora-39', '/machine.slice/machine-fedora\\x2d39.scope'),
      slice: 'machine.slice',
    },
  },
  {
    name: 'nspawn UTF-8 escaped name',
    path: '/machine.slice/machine-caf\\xc3\\xa9.scope',
    expect: { container: ctr('nspawn', 'café', '/machine.slice/machine-caf\\xc3\\xa9.scope'), slice: 'machine.slice' },
  },
  {
    name: 'nspawn payload with systemd inside',
    path: '/machine.slice/machine-fedora\\x2d39.scope/payload/system.slice/sshd.service',
    expect: {
      container: ctr('nspawn', 'fedora-39', '/machine.slice/machine-fedora\\x2d39.scope'),
      slice: 'machine.slice',
    },
  },
  {
    name: 'nspawn as a service (machinectl start): payload',
    path: '/machine.slice/systemd-nspawn@arch.service/payload/init.scope',
    expect: {
      container: ctr('nspawn', 'arch', '/machine.slice/systemd-nspawn@arch.service/payload'),
      slice: 'machine.slice',
    },
  },
  {
    name: 'nspawn as a service: supervisor is host',
    path: '/machine.slice/systemd-nspawn@arch.service/supervisor',
    expect: { unit: 'systemd-nspawn@arch.service', slice: 'machine.slice' },
  },
  {
    name: 'machine scope outside machine.slice is a host scope',
    path: '/system.slice/machine-debian.scope',
    expect: { unit: 'machine-debian.scope', slice: 'system.slice' },
  },
  {
    name: 'libvirt qemu VM in machine.slice is host',
    path: '/machine.slice/machine-qemu\\x2d1\\x2dwin11.scope/libvirt/emulator',
    expect: { unit: 'machine-qemu-1-win11.scope', slice: 'machine.slice' },
  },

  // host
  { name: 'root', path: '/', expect: { kind: 'root' } },
  { name: 'root with repeated slashes', path: '///', expect: { kind: 'root' } },
  { name: 'init scope', path: '/init.scope', expect: { unit: 'init.scope' } },
  {
    name: 'system service',
    path: '/system.slice/cron.service',
    expect: { unit: 'cron.service', slice: 'system.slice' },
  },
  {
    name: 'getty escaped unit',
    path: '/system.slice/system-getty.slice/getty@tty1.service',
    expect: { unit: 'getty@tty1.service', slice: 'system-getty.slice' },
  },
  {
    name: 'fsck escaped template unit and slice',
    path: '/system.slice/system-systemd\\x2dfsck.slice/systemd-fsck@dev-disk-by\\x2duuid-1234\\x2dABCD.service',
    expect: { unit: 'systemd-fsck@dev-disk-by-uuid-1234-ABCD.service', slice: 'system-systemd-fsck.slice' },
  },
  {
    name: 'swap unit with escapes',
    path: '/system.slice/dev-disk-by\\x2dlabel-swap.swap',
    expect: { unit: 'dev-disk-by-label-swap.swap', slice: 'system.slice' },
  },
  {
    name: 'mount unit',
    path: '/system.slice/home.mount',
    expect: { unit: 'home.mount', slice: 'system.slice' },
  },
  {
    name: 'socket unit',
    path: '/system.slice/syslog.socket',
    expect: { unit: 'syslog.socket', slice: 'system.slice' },
  },
  {
    name: 'per-connection socket-activated service',
    path: '/system.slice/system-sshd.slice/sshd@0-10.0.0.1:22-10.0.0.2:51234.service',
    expect: { unit: 'sshd@0-10.0.0.1:22-10.0.0.2:51234.service', slice: 'system-sshd.slice' },
  },
  {
    name: 'non-unit cgroup below a service keeps the service',
    path: '/system.slice/containerd.service/extra/leaf',
    expect: { unit: 'containerd.service', slice: 'system.slice' },
  },
  {
    name: 'user session scope',
    path: '/user.slice/user-1000.slice/session-3.scope',
    expect: { unit: 'session-3.scope', slice: 'user-1000.slice', ownerUid: 1000 },
  },
  {
    name: 'user session of root',
    path: '/user.slice/user-0.slice/session-c1.scope',
    expect: { unit: 'session-c1.scope', slice: 'user-0.slice', ownerUid: 0 },
  },
  {
    name: 'user uid out of range is not a uid',
    path: '/user.slice/user-4294967295.slice/session-1.scope',
    expect: { unit: 'session-1.scope', slice: 'user-4294967295.slice' },
  },
  {
    name: 'user slice alone',
    path: '/user.slice',
    expect: { slice: 'user.slice' },
  },
  {
    name: 'user manager itself',
    path: USER_MANAGER,
    expect: { unit: 'user@1000.service', slice: 'user-1000.slice', ownerUid: 1000 },
  },
  {
    name: 'user manager init scope',
    path: `${USER_MANAGER}/init.scope`,
    expect: { unit: 'init.scope', userUnit: 'init.scope', slice: 'user-1000.slice', ownerUid: 1000 },
  },
  {
    name: 'user service',
    path: `${USER_MANAGER}/app.slice/app.service`,
    expect: { unit: 'app.service', userUnit: 'app.service', slice: 'app.slice', ownerUid: 1000 },
  },
  {
    name: 'user escaped app scope',
    path: `${USER_MANAGER}/app.slice/app-gnome-code\\x2durl\\x2dhandler-4321.scope`,
    expect: {
      unit: 'app-gnome-code-url-handler-4321.scope',
      userUnit: 'app-gnome-code-url-handler-4321.scope',
      slice: 'app.slice',
      ownerUid: 1000,
    },
  },
  {
    name: 'escaped slash stays escaped in a unit name',
    path: '/system.slice/foo\\x2fbar.service',
    expect: { unit: 'foo\\x2fbar.service', slice: 'system.slice' },
  },
  {
    name: 'unknown host cgroup',
    path: '/custom/group',
    expect: {},
  },

  // malformed input
  { name: 'malformed: empty string', path: '', expect: {} },
  { name: 'malformed: no leading slash', path: `system.slice/docker-${ID1}.scope`, expect: {} },
  { name: 'malformed: dot-dot segment', path: `/system.slice/../docker-${ID1}.scope`, expect: {} },
  { name: 'malformed: dot segment', path: '/./system.slice/cron.service', expect: {} },
  { name: 'malformed: NUL byte', path: '/system.slice/cron.service\0', expect: {} },
];

describe('identifyCgroupPath: path shapes', () => {
  test('the table covers enough shapes', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(45);
    expect(new Set(ROWS.map((row) => row.name)).size).toBe(ROWS.length);
    const runtimes = new Set(ROWS.map((row) => row.expect.container?.runtime));
    for (const runtime of ['docker', 'podman', 'containerd', 'cri-o', 'lxc', 'nspawn'] as const) {
      expect(runtimes).toContain(runtime);
    }
  });

  test.each(ROWS)('$name', (row) => {
    expect(identifyCgroupPath(row.path)).toEqual(fullIdentity(row.expect));
  });
});

describe('unescapeUnitName', () => {
  test.each([
    ['no escapes, dashes stay dashes', 'system-getty.slice', 'system-getty.slice'],
    ['dash escape', 'fedora\\x2d39', 'fedora-39'],
    ['uppercase hex digits', 'fedora\\x2D39', 'fedora-39'],
    ['multi-byte UTF-8 run', 'caf\\xc3\\xa9', 'café'],
    ['invalid UTF-8 is kept as written', 'a\\xffb', 'a\\xffb'],
    ['truncated UTF-8 is kept as written', 'a\\xc3', 'a\\xc3'],
    ['slash is kept escaped', 'a\\x2fb', 'a\\x2fb'],
    ['NUL is kept escaped', 'a\\x00b', 'a\\x00b'],
    ['slash inside a run splits it', '\\x41\\x2f\\x42', 'A\\x2fB'],
    ['incomplete escape', 'a\\x4', 'a\\x4'],
    ['non-hex escape', 'a\\x4g', 'a\\x4g'],
    ['capital X is not an escape', 'a\\X41', 'a\\X41'],
    ['empty', '', ''],
  ])('%s', (_name, input, want) => {
    expect(unescapeUnitName(input)).toBe(want);
  });
});

/** A description of what is wrong with `result` for `input`, or null when it is consistent. */
function inconsistency(input: string, result: CgroupIdentity): string | null {
  if (result.kind !== 'container' && result.kind !== 'host' && result.kind !== 'root') return 'bad kind';
  if ((result.kind === 'container') !== (result.container !== null)) return 'kind and container disagree';
  if (result.kind === 'root') {
    const { kind: _kind, ...rest } = result;
    if (Object.values(rest).some((value) => value !== null)) return 'root with fields';
  }
  for (const name of [result.unit, result.slice, result.userUnit]) {
    if (name !== null && (name.includes('/') || name.includes('\0'))) return `bad name ${JSON.stringify(name)}`;
  }
  const c = result.container;
  if (c !== null) {
    if (result.unit !== null || result.userUnit !== null) return 'container with a unit';
    if (c.id.length === 0 || c.id.includes('/') || c.id.includes('\0')) return 'bad id';
    const normalised = '/' + input.split('/').filter((seg) => seg.length > 0).join('/');
    if (!(normalised + '/').startsWith(c.cgroup + '/')) return 'container cgroup is not a prefix of the path';
  }
  return null;
}

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces of real paths and of attacks on them, to build path-like noise from. */
const FRAGMENTS = [
  '/', '/', '/', 'system.slice', 'machine.slice', 'user.slice', 'user-1000.slice', 'user@1000.service',
  'docker', 'docker-', 'libpod-', 'conmon-', 'cri-containerd-', 'crio-', ID1, ID1.toUpperCase(), ID1.slice(3),
  '.scope', '.slice', '.service', 'kubepods', 'kubepods-', 'burstable', 'besteffort', '-pod', 'pod', UID1, UID1_,
  'lxc', 'lxc.payload.', 'lxc.monitor.', 'machine-', 'systemd-nspawn@', 'payload', 'qemu-1-',
  '\\x2d', '\\x', '\\xc3', '\\x2f', '\\x00', '\\xff', '..', '.', '\0', '-', '_', '@', 'a', 'é', '\uD800', '\n',
];

describe('identifyCgroupPath: properties', () => {
  test('seeded path-like noise never throws and stays consistent', () => {
    const random = prng(0x5eed);
    for (let n = 0; n < 5000; n++) {
      const count = 1 + Math.floor(random() * 24);
      let path = random() < 0.9 ? '/' : '';
      for (let k = 0; k < count; k++) path += FRAGMENTS[Math.floor(random() * FRAGMENTS.length)];
      const result = identifyCgroupPath(path);
      const problem = inconsistency(path, result);
      if (problem !== null) throw new Error(`${problem} for ${JSON.stringify(path)}`);
    }
  });

  test('arbitrary strings never throw and stay consistent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        return inconsistency(s, identifyCgroupPath(s)) === null && typeof unescapeUnitName(s) === 'string';
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  test('arbitrary fragment sequences never throw and stay consistent', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }), (parts) => {
        const path = '/' + parts.join('');
        return inconsistency(path, identifyCgroupPath(path)) === null;
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  test('unescaping never introduces a slash or NUL', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('\\x2f', '\\x00', '\\x2d', '\\xc3', '\\xa9', '\\x', 'a', '-'), { maxLength: 30 }), (parts) => {
        const s = parts.join('');
        const out = unescapeUnitName(s);
        return !out.includes('/') && !out.includes('\0');
      }),
      { numRuns: 2000, seed: 3 },
    );
  });
});

describe('identifyCgroupPath: long paths', () => {
  const pad = (prefix: string, unit: string): string => prefix + unit.repeat(Math.ceil((10_000 - prefix.length) / unit.length));
  const LONG: Array<[string, string, CgroupIdentity['kind']]> = [
    ['one long segment', '/' + 'a'.repeat(9_999), 'host'],
    ['many short segments', pad('', '/a'), 'host'],
    ['container with a deep internal tree', pad(`/system.slice/docker-${ID1}.scope`, '/x'), 'container'],
    ['only slashes', '/'.repeat(10_000), 'root'],
    ['a unit made of escapes', pad('/', '\\x2d') + '.service', 'host'],
    ['broken escapes', pad('/', '\\x'), 'host'],
    ['repeated -pod in a slice name', pad('/kubepods.slice/kubepods', '-pod') + '.slice', 'host'],
    ['repeated hex without a parent', pad('/', ID1), 'host'],
    ['a huge uid', '/user.slice/user-' + '9'.repeat(9_990) + '.slice', 'host'],
  ];

  test.each(LONG)('%s returns', (_name, path, kind) => {
    expect(path.length).toBeGreaterThanOrEqual(10_000);
    const result = identifyCgroupPath(path);
    expect(result.kind).toBe(kind);
    expect(inconsistency(path, result)).toBeNull();
  });
});
