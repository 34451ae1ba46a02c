/**
 * Container identity from a cgroup v2 path.
 *
 * Input is a path relative to the cgroup2 mount ('/system.slice/cron.service'), as the cgroup
 * index resolves it from a sender's cgroup id. Output says whether that cgroup belongs to a
 * container (and which), to the host (and which systemd unit and slice), or is the root itself.
 * The function is pure: no I/O, no logging, and it never throws; input is untrusted, because
 * anyone with a delegated cgroup subtree (a rootless user, a container) can name cgroups freely.
 *
 * Rules (DESIGN.md, "Container identity from a cgroup path"), applied segment by segment from
 * the root down. The OUTERMOST container wins: once a segment names a container, everything
 * below it (the container's own init.scope, the systemd tree of a system container, a container
 * nested in that container, a kubelet running inside a kind node) belongs to that container and
 * is not inspected. The container's `cgroup` is the path up to and including that segment.
 *
 *   docker      `docker-<id>.scope` in any slice (systemd driver); `<id>` directly below a
 *               segment named `docker` (cgroupfs driver, `/docker/<id>`)
 *   podman      `libpod-<id>.scope` (rootful in machine.slice, rootless below user@UID.service);
 *               `libpod-<id>` (cgroupfs driver, `/libpod_parent/libpod-<id>`).
 *               `libpod-conmon-<id>.scope` is conmon, a host process
 *   containerd  `cri-containerd-<id>.scope`; a bare `<id>` directly below a Kubernetes pod cgroup
 *               (cgroupfs driver). The path cannot tell which runtime made a bare id under a pod
 *               (containerd, cri-dockerd and others all write it so); 'containerd', the common
 *               case, is the label used, and a caller that knows better may relabel it
 *   cri-o       `crio-<id>.scope`, or `crio-<id>` (cgroupfs driver); `crio-conmon-<id>…` is host
 *   lxc         `lxc.payload.<name>` (LXC 4+, LXD, Incus), `<name>` directly below a segment
 *               named `lxc` (legacy). `lxc.monitor.<name>` is the monitor, a host process.
 *               LXC does not escape names, so the name is taken as it stands
 *   nspawn      `machine-<escaped name>.scope` directly in machine.slice; and for a machine started
 *               as a service (`machinectl start`), `systemd-nspawn@<name>.service/payload` in
 *               machine.slice, whose sibling `supervisor` is nspawn itself, a host process.
 *               libvirt registers VMs the same way (`machine-qemu\x2d<n>\x2d<vm>.scope`); that
 *               cgroup holds the qemu process, which runs on the host, so it stays a host unit
 *
 * `<id>` is exactly 64 lowercase hex digits; anything else is not an id, and the segment is then
 * only what its suffix says (`docker-abc.scope` is a host scope).
 *
 * Kubernetes pods are found on the way down to the container, so a pod counts only when it is
 * an ancestor of (or is) the identified cgroup. systemd driver: a slice named
 * `<prefix>-pod<uid>.slice`, where `<prefix>` ends in `kubepods` (guaranteed) or
 * `kubepods-burstable` / `kubepods-besteffort`, optionally after a --cgroup-root prefix such as
 * `kubelet-`; the uid is written there with `_` for `-`. cgroupfs driver: `pod<uid>` directly
 * below `kubepods` (guaranteed) or below `kubepods/burstable` / `kubepods/besteffort`. A uid is
 * accepted in the two forms kubelet makes: a UUID (8-4-4-4-12 lowercase hex), or 32 lowercase
 * hex digits, the hash used for static pods, which has no dashes and is kept as it is.
 *
 * For the host, the innermost systemd unit and the innermost slice are recorded, unescaped
 * (systemd's `\xNN`; the `-` → `/` rule for path-derived names is not applied, names stay
 * names). The unit is the innermost one even inside a user manager: in
 * `user@1000.service/app.slice/app.service` both `unit` and `userUnit` are 'app.service'.
 * `ownerUid` comes from `user-UID.slice` or `user@UID.service`. For a container, `unit` and
 * `userUnit` are null, while `slice` and `ownerUid` describe where the host placed it (the
 * innermost slice above the container, e.g. machine.slice or the pod's slice), and
 * `rootlessUid` is set for any container below a user manager (rootless podman, also rootless
 * docker).
 *
 * Malformed input (empty, not starting with '/', holding NUL, or a '.' or '..' segment) is not a
 * cgroup path: it yields kind 'host' with every field null. Repeated and trailing slashes are
 * tolerated. Every step is linear in the length of the path: plain string tests and anchored
 * regexes without nested quantifiers.
 */

/** The container runtimes recognised from cgroup paths. */
export type Runtime = 'docker' | 'podman' | 'containerd' | 'cri-o' | 'lxc' | 'nspawn';

/** Kubernetes pod QoS class, as encoded in the pod's cgroup parent. */
export type PodQos = 'guaranteed' | 'burstable' | 'besteffort';

/** The container a cgroup belongs to. */
export interface ContainerRef {
  runtime: Runtime;
  /** 64-hex id for docker/podman/containerd/cri-o; the container/machine name for lxc and nspawn (unescaped). */
  id: string;
  /** The cgroup path of the container's own (outermost) cgroup, e.g. '/system.slice/docker-<id>.scope'. */
  cgroup: string;
  /** For rootless podman (under user@UID.service): the owning uid; otherwise null. Also set for any other runtime found below a user manager. */
  rootlessUid: number | null;
}

/** The Kubernetes pod a cgroup belongs to. */
export interface PodRef {
  /** The pod uid, canonical: with dashes for a UUID, or the 32-hex static-pod hash as it is. */
  uid: string;
  qos: PodQos;
}

/** What a cgroup path says about the processes in it. */
export interface CgroupIdentity {
  /** 'root' for '/' (the cgroup2 root itself); 'host' also for malformed input. */
  kind: 'container' | 'host' | 'root';
  container: ContainerRef | null;
  /** Set when an ancestor (or the cgroup itself) is a kubepods pod cgroup, outside any container. */
  pod: PodRef | null;
  /** host: the innermost systemd unit (.service/.scope/.socket/.mount/.swap/.timer...) unescaped; inside a container: null. */
  unit: string | null;
  /** The innermost .slice on the host side (above the container, if any), unescaped; null if none. */
  slice: string | null;
  /** host: the unit inside user@UID.service (e.g. 'app.service' in /user.slice/user-1000.slice/user@1000.service/app.slice/app.service). */
  userUnit: string | null;
  /** From user-UID.slice or user@UID.service, on the host side. */
  ownerUid: number | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const DECIMAL_UID = /^(?:0|[1-9][0-9]{0,9})$/;
/** A run of systemd escapes; each repetition starts with a backslash, so matching is linear. */
const ESCAPE_RUN = /(?:\\x[0-9a-fA-F]{2})+/g;
/** libvirt's machine name for a qemu VM: `qemu-<domain id>-<name>`. */
const LIBVIRT_QEMU = /^qemu-[0-9]+-/;
/** Unit types; only some ever own a cgroup, but a name is a name. `.slice` is handled apart. */
const UNIT_SUFFIXES: readonly string[] = [
  '.service', '.scope', '.socket', '.mount', '.swap', '.timer', '.path', '.target', '.device', '.automount',
];
/** The largest valid uid: (uid_t)-1 is "no uid". */
const UID_MAX = 4294967294;
/** Bytes whose `\xNN` escape is left as it is, so an unescaped name never holds a NUL or a '/'. */
const KEPT_ESCAPED_BYTES: ReadonlySet<number> = new Set([0x00, 0x2f]);

/** A container segment found during the walk: `last` is the index of its outermost cgroup segment. */
interface ContainerMatch {
  runtime: Runtime;
  id: string;
  last: number;
}

/**
 * systemd unit-name unescaping: `\xNN` hex escapes; and the `-` -> `/` rule is NOT applied (names stay names).
 *
 * Consecutive escapes are decoded together as UTF-8 (systemd escapes each byte of a non-ASCII
 * character). A run that is not valid UTF-8, and the escapes of NUL and '/', are left as written.
 * Never throws.
 */
export function unescapeUnitName(s: string): string {
  if (typeof s !== 'string') return '';
  if (!s.includes('\\x')) return s;
  return s.replace(ESCAPE_RUN, decodeEscapeRun);
}

/** Decodes one run of `\xNN` escapes (4 characters each), keeping what must not be decoded. */
function decodeEscapeRun(run: string): string {
  let out = '';
  let chunk: number[] = [];
  let chunkStart = 0;
  const flush = (end: number): void => {
    if (chunk.length > 0) out += decodeUtf8OrKeep(chunk, run.slice(chunkStart, end));
    chunk = [];
  };
  for (let at = 0; at < run.length; at += 4) {
    const byte = parseInt(run.slice(at + 2, at + 4), 16);
    if (KEPT_ESCAPED_BYTES.has(byte)) {
      flush(at);
      out += run.slice(at, at + 4);
      chunkStart = at + 4;
    } else {
      if (chunk.length === 0) chunkStart = at;
      chunk.push(byte);
    }
  }
  flush(run.length);
  return out;
}

function decodeUtf8OrKeep(bytes: number[], original: string): string {
  const buf = Buffer.from(bytes);
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : original;
}

/**
 * Identifies the container, pod, or host unit that a cgroup v2 path belongs to.
 *
 * @param path a path relative to the cgroup2 mount, starting with '/'.
 * @returns always a complete identity; never throws. See the module comment for the rules.
 */
export function identifyCgroupPath(path: string): CgroupIdentity {
  if (typeof path !== 'string' || path.length === 0 || path[0] !== '/' || path.includes('\0')) {
    return identity('host', null, null, null, null, null, null);
  }
  const segs = path.split('/').filter((seg) => seg.length > 0);
  if (segs.length === 0) return identity('root', null, null, null, null, null, null);
  if (segs.some((seg) => seg === '.' || seg === '..')) {
    return identity('host', null, null, null, null, null, null);
  }

  let pod: PodRef | null = null;
  let podIndex = -1;
  let unit: string | null = null;
  let slice: string | null = null;
  let userUnit: string | null = null;
  let ownerUid: number | null = null;
  let userManagerUid: number | null = null;

  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];

    const found = matchContainer(segs, i, podIndex);
    if (found !== null) {
      const container: ContainerRef = {
        runtime: found.runtime,
        id: found.id,
        cgroup: '/' + segs.slice(0, found.last + 1).join('/'),
        rootlessUid: userManagerUid,
      };
      return identity('container', container, pod, null, slice, null, ownerUid);
    }

    const podHere = matchPod(segs, i);
    if (podHere !== null) {
      pod = podHere;
      podIndex = i;
    }

    if (seg.endsWith('.slice')) {
      slice = unescapeUnitName(seg);
      const uid = uidBetween(seg, 'user-', '.slice');
      if (uid !== null) ownerUid = uid;
    } else if (isUnitName(seg)) {
      unit = unescapeUnitName(seg);
      const uid = uidBetween(seg, 'user@', '.service');
      if (uid !== null) {
        ownerUid = uid;
        userManagerUid = uid;
      } else if (userManagerUid !== null) {
        userUnit = unit;
      }
    }
  }
  return identity('host', null, pod, unit, slice, userUnit, ownerUid);
}

/** Builds an identity with every field assigned, in one order (one object shape). */
function identity(
  kind: CgroupIdentity['kind'],
  container: ContainerRef | null,
  pod: PodRef | null,
  unit: string | null,
  slice: string | null,
  userUnit: string | null,
  ownerUid: number | null,
): CgroupIdentity {
  return { kind, container, pod, unit, slice, userUnit, ownerUid };
}

/** Does segment `i` name a container? `podIndex` is the index of the pod cgroup seen so far, or -1. */
function matchContainer(segs: readonly string[], i: number, podIndex: number): ContainerMatch | null {
  const seg = segs[i];
  const parent = i > 0 ? segs[i - 1] : null;
  const at = (runtime: Runtime, id: string, last = i): ContainerMatch => ({ runtime, id, last });

  let id = hexBetween(seg, 'docker-', '.scope');
  if (id !== null) return at('docker', id);
  id = hexBetween(seg, 'libpod-', '.scope') ?? hexBetween(seg, 'libpod-', '');
  if (id !== null) return at('podman', id);
  id = hexBetween(seg, 'cri-containerd-', '.scope');
  if (id !== null) return at('containerd', id);
  id = hexBetween(seg, 'crio-', '.scope') ?? hexBetween(seg, 'crio-', '');
  if (id !== null) return at('cri-o', id);
  if (HEX64.test(seg)) {
    if (parent === 'docker') return at('docker', seg);
    if (podIndex === i - 1 && podIndex >= 0) return at('containerd', seg);
  }

  if (seg.startsWith('lxc.payload.') && seg.length > 'lxc.payload.'.length) {
    return at('lxc', seg.slice('lxc.payload.'.length));
  }
  if (parent === 'lxc') return at('lxc', seg);

  if (parent === 'machine.slice') {
    const scopeName = between(seg, 'machine-', '.scope');
    if (scopeName !== null) {
      const name = unescapeUnitName(scopeName);
      if (!LIBVIRT_QEMU.test(name)) return at('nspawn', name);
    }
    const serviceName = between(seg, 'systemd-nspawn@', '.service');
    if (serviceName !== null && segs[i + 1] === 'payload') {
      return at('nspawn', unescapeUnitName(serviceName), i + 1);
    }
  }
  return null;
}

/** Does segment `i` name a Kubernetes pod cgroup (systemd or cgroupfs driver)? */
function matchPod(segs: readonly string[], i: number): PodRef | null {
  const seg = segs[i];
  if (seg.endsWith('.slice')) {
    const name = seg.slice(0, -'.slice'.length);
    const cut = name.lastIndexOf('-pod');
    if (cut < 0) return null;
    const qos = qosFromSlicePrefix(name.slice(0, cut));
    const uid = canonicalPodUid(name.slice(cut + '-pod'.length).split('_').join('-'));
    return qos !== null && uid !== null ? { uid, qos } : null;
  }
  if (!seg.startsWith('pod') || i === 0) return null;
  const uid = canonicalPodUid(seg.slice('pod'.length));
  if (uid === null) return null;
  const parent = segs[i - 1];
  if (parent === 'kubepods') return { uid, qos: 'guaranteed' };
  if ((parent === 'burstable' || parent === 'besteffort') && i >= 2 && segs[i - 2] === 'kubepods') {
    return { uid, qos: parent };
  }
  return null;
}

/** QoS from the name of a pod slice's parent: `[<root>-]kubepods[-burstable|-besteffort]`. */
function qosFromSlicePrefix(prefix: string): PodQos | null {
  const endsWithWord = (word: string): boolean =>
    prefix === word || prefix.endsWith('-' + word);
  if (endsWithWord('kubepods')) return 'guaranteed';
  if (endsWithWord('kubepods-burstable')) return 'burstable';
  if (endsWithWord('kubepods-besteffort')) return 'besteffort';
  return null;
}

function canonicalPodUid(uid: string): string | null {
  return UUID.test(uid) || HEX32.test(uid) ? uid : null;
}

function isUnitName(seg: string): boolean {
  for (const suffix of UNIT_SUFFIXES) {
    if (seg.length > suffix.length && seg.endsWith(suffix)) return true;
  }
  return false;
}

/** The text between `prefix` and `suffix` when `seg` is exactly prefix + text + suffix, text non-empty. */
function between(seg: string, prefix: string, suffix: string): string | null {
  if (seg.length <= prefix.length + suffix.length) return null;
  if (!seg.startsWith(prefix) || !seg.endsWith(suffix)) return null;
  return seg.slice(prefix.length, seg.length - suffix.length);
}

/** A 64-hex id between `prefix` and `suffix`, or null. */
function hexBetween(seg: string, prefix: string, suffix: string): string | null {
  if (seg.length !== prefix.length + 64 + suffix.length) return null;
  const id = between(seg, prefix, suffix);
  return id !== null && HEX64.test(id) ? id : null;
}

/** A decimal uid between `prefix` and `suffix` (`user-1000.slice`, `user@1000.service`), or null. */
function uidBetween(seg: string, prefix: string, suffix: string): number | null {
  const text = between(seg, prefix, suffix);
  if (text === null || !DECIMAL_UID.test(text)) return null;
  const uid = Number(text);
  return uid <= UID_MAX ? uid : null;
}
