/**
 * Who sent it, in words an operator can use: "container web (docker, 3f2a…)", "pod shop/cart-7d9
 * container api", "host, unit cron.service", from the cgroup id the kernel gave.
 *
 * cgroup id → path (cgroup-index.ts) → identity (cgroup-identity.ts) → names and labels from the
 * runtime's own files (container-metadata.ts). Everything is decided once per cgroup id and once
 * per container, then shared by reference: for a cgroup seen before, the per-message cost is one
 * Map lookup, and no file is read. A container's name is decided on first sight and kept for as
 * long as it is cached, so all its messages land in one directory: the runtime's name when its
 * files say so at that moment, else the 12-character short id, never one and then the other.
 *
 * A rootless container's cgroup sits in its user's delegated subtree, where that user may name
 * cgroups freely, `docker-<someone else's id>.scope` included. So its name carries the uid
 * (`toolbox@uid1000`): a user can never write into a rootful container's directory, or another
 * user's, by naming a cgroup after it.
 *
 * Bounds: at most `maxCgroups` resolved cgroups and `maxContainers` containers are cached; the
 * oldest entries are dropped first (a dropped container is looked up again when it next logs,
 * which is the one case where its name could change, e.g. from short id to name).
 */
import { cgroupPathById } from './addon';
import { CgroupIndex, type CgroupIndexOptions } from './cgroup-index';
import { identifyCgroupPath, type PodQos, type Runtime } from './cgroup-identity';
import { findCgroup2Mount } from './cgroup-mount';
import { ContainerMetadataReader, type MetadataFs, type MetadataRoots } from './container-metadata';

export interface PodInfo {
  uid: string;
  qos: PodQos;
  namespace: string | null;
  name: string | null;
  /** The container's name in the pod spec, when known. */
  container: string | null;
}

export type NameSource = 'docker' | 'podman' | 'kubelet' | 'cgroup' | 'short-id';

export interface ContainerInfo {
  runtime: Runtime;
  /** Full id: 64 hex digits, or the machine/container name for lxc and nspawn. */
  id: string;
  shortId: string;
  /**
   * The one name used for this container everywhere (directories, records): the runtime's name,
   * `<namespace>_<pod>_<container>` for a Kubernetes container, the lxc/nspawn name, or the short
   * id when nothing better was known at first sight; a rootless container's name ends in
   * `@uid<uid>`.
   */
  name: string;
  nameSource: NameSource;
  image: string | null;
  labels: Readonly<Record<string, string>>;
  /** The container's own cgroup path (outermost, when it nests cgroups). */
  cgroup: string;
  rootlessUid: number | null;
  pod: PodInfo | null;
}

export interface SenderCgroup {
  /** cgroup id; 0 when the kernel gave none. */
  id: number;
  /** Relative to the cgroup2 mount, or null when it could not be learnt. */
  path: string | null;
  kind: 'container' | 'host' | 'root' | 'unknown';
  container: ContainerInfo | null;
  pod: PodInfo | null;
  unit: string | null;
  slice: string | null;
  userUnit: string | null;
  ownerUid: number | null;
}

/** The sender of a datagram without a cgroup id (no credentials, or attribution impossible). */
export const NO_CGROUP: SenderCgroup = Object.freeze({
  id: 0,
  path: null,
  kind: 'unknown',
  container: null,
  pod: null,
  unit: null,
  slice: null,
  userUnit: null,
  ownerUid: null,
}) as SenderCgroup;

export interface SenderResolverOptions {
  index: CgroupIndex;
  metadata: ContainerMetadataReader;
  maxCgroups?: number;
  maxContainers?: number;
}

export class SenderResolver {
  private readonly index: CgroupIndex;
  private readonly metadata: ContainerMetadataReader;
  private readonly maxCgroups: number;
  private readonly maxContainers: number;
  private readonly cgroups = new Map<number, SenderCgroup>();
  private readonly containers = new Map<string, ContainerInfo>();
  private readonly pods = new Map<string, PodInfo>();
  /** One shared object per unresolved id, so per-sender caches downstream keep working. */
  private readonly unresolvedById = new Map<number, SenderCgroup>();
  private unresolved = 0;

  constructor(options: SenderResolverOptions) {
    this.index = options.index;
    this.metadata = options.metadata;
    this.maxCgroups = options.maxCgroups ?? 10_000;
    this.maxContainers = options.maxContainers ?? 10_000;
  }

  /** The sender's cgroup, container and pod by cgroup id. Cheap for ids seen before. */
  cgroup(id: number): SenderCgroup {
    const hit = this.cgroups.get(id);
    if (hit !== undefined) return hit;
    if (id <= 0) return NO_CGROUP;
    const entry = this.index.lookup(id);
    if (entry === null) {
      // Not cached as resolved: the index remembers the miss, and a later lookup may succeed.
      this.unresolved++;
      let u = this.unresolvedById.get(id);
      if (u === undefined) {
        u = unresolvedCgroup(id);
        remember(this.unresolvedById, id, u, 1000);
      }
      return u;
    }
    const ident = identifyCgroupPath(entry.path);
    const container = ident.container === null ? null : this.container(ident.container, ident.pod);
    const info: SenderCgroup = {
      id,
      path: entry.path,
      kind: ident.kind,
      container,
      pod: container?.pod ?? (ident.pod === null ? null : this.pod(ident.pod.uid, ident.pod.qos, null)),
      unit: ident.unit,
      slice: ident.slice,
      userUnit: ident.userUnit,
      ownerUid: ident.ownerUid,
    };
    remember(this.cgroups, id, info, this.maxCgroups);
    return info;
  }

  stats(): { cgroups: number; containers: number; pods: number; unresolvedLookups: number } {
    return { cgroups: this.cgroups.size, containers: this.containers.size, pods: this.pods.size, unresolvedLookups: this.unresolved };
  }

  private container(
    ref: NonNullable<ReturnType<typeof identifyCgroupPath>['container']>,
    podRef: ReturnType<typeof identifyCgroupPath>['pod'],
  ): ContainerInfo {
    const key = `${ref.runtime}/${ref.id}`;
    const hit = this.containers.get(key);
    if (hit !== undefined) return hit;
    const isHex = /^[0-9a-f]{64}$/.test(ref.id);
    const shortId = isHex ? ref.id.slice(0, 12) : ref.id;
    const meta = isHex ? this.metadata.container(ref, podRef) : null;
    const pod = podRef === null ? null : this.pod(podRef.uid, podRef.qos, meta?.source === 'kubelet' ? meta.name : null);
    let name = shortId;
    let nameSource: NameSource = isHex ? 'short-id' : 'cgroup';
    if (pod !== null && pod.namespace !== null && pod.name !== null && pod.container !== null) {
      name = `${pod.namespace}_${pod.name}_${pod.container}`;
      nameSource = 'kubelet';
    } else if (meta !== null && meta.name !== null && meta.source !== null && meta.source !== 'kubelet') {
      name = meta.name;
      nameSource = meta.source;
    }
    if (ref.rootlessUid !== null) name = `${name}@uid${ref.rootlessUid}`;
    const info: ContainerInfo = {
      runtime: ref.runtime,
      id: ref.id,
      shortId,
      name,
      nameSource,
      image: meta?.image ?? null,
      labels: Object.freeze({ ...(meta?.labels ?? {}) }),
      cgroup: ref.cgroup,
      rootlessUid: ref.rootlessUid,
      pod,
    };
    remember(this.containers, key, info, this.maxContainers);
    return info;
  }

  private pod(uid: string, qos: PodQos, container: string | null): PodInfo {
    const cached = this.pods.get(uid);
    let base: PodInfo;
    if (cached !== undefined) {
      base = cached;
    } else {
      const meta = this.metadata.pod(uid);
      base = { uid, qos, namespace: meta?.namespace ?? null, name: meta?.name ?? null, container: null };
      remember(this.pods, uid, base, this.maxContainers);
    }
    return container === null ? base : { ...base, container };
  }
}

function unresolvedCgroup(id: number): SenderCgroup {
  return { ...NO_CGROUP, id };
}

function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

export interface IdentityOptions {
  /** cgroup2 mount; found from mountinfo when absent. */
  cgroupMount?: string;
  roots?: Partial<MetadataRoots>;
  metadataFs?: MetadataFs;
  index?: Omit<CgroupIndexOptions, 'mount'>;
  maxCgroups?: number;
  maxContainers?: number;
}

/**
 * The resolver with its real parts: the cgroup2 mount from mountinfo, the index walking and
 * watching it (kernel lookups by handle on a miss), and metadata from the runtimes' files.
 * Throws when there is no cgroup2 mount. Call `index.start()` before use, `index.stop()` after.
 */
export function createSenderResolver(options: IdentityOptions = {}): { resolver: SenderResolver; index: CgroupIndex } {
  const mount = options.cgroupMount ?? findCgroup2Mount();
  if (mount === null) throw new Error('No cgroup2 mount found in /proc/self/mountinfo: container attribution needs the host cgroup2 hierarchy');
  const index = new CgroupIndex({
    resolveById: (id) => cgroupPathById(mount, id),
    ...options.index,
    mount,
  });
  const metadata = new ContainerMetadataReader(options.roots, options.metadataFs);
  const resolver = new SenderResolver({ index, metadata, maxCgroups: options.maxCgroups, maxContainers: options.maxContainers });
  return { resolver, index };
}
