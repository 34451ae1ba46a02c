/**
 * Container names, images and labels, read from the container runtimes' own files.
 *
 * The cgroup path tells which container sent a message (cgroup-identity.ts) but only by id. The
 * per-container directories (`<dir>/<runtime>/<name>/syslog.log`) and the routing rules want the
 * name people gave it, its image and its labels. Those live in files the runtimes keep:
 *
 *   docker    `<dockerRoot>/containers/<id>/config.v2.json`, one JSON object per container:
 *             `.Name` ('/web-1'; the leading '/' is dropped), `.Config.Image` (as the user wrote
 *             it: 'nginx:1.27'), `.Config.Labels` (only string values kept; compose puts
 *             `com.docker.compose.project`/`.service` there). When the file has an `.ID`, it must
 *             be the id asked for. Rootless docker keeps the same tree in
 *             `<home>/.local/share/docker`; `$XDG_DATA_HOME` or a custom `data-root` of a user's
 *             daemon cannot be known from here and are not looked for.
 *   podman    `<root>/overlay-containers/containers.json` (containers/storage), ONE JSON array for
 *             every container of that store: `id`, `names` (the first is the name), and
 *             `metadata`, a JSON object encoded as a string, whose `image-name` is the image as the
 *             user gave it. Rootful root: podmanRoot; a container below a user manager
 *             (`ref.rootlessUid`) is looked up only in podmanRootlessRoot(uid), by default the
 *             uid's home from /etc/passwd + '/.local/share/containers/storage'. Only the overlay
 *             driver's file is read (vfs/btrfs stores are not). Podman's labels are not in this
 *             file (they live in libpod's own database, bolt or sqlite, which is not read here):
 *             podman containers always get `labels: {}`.
 *   kubelet   a container with a pod (any runtime): the pod is the directory
 *             `<podsLogRoot>/<namespace>_<pod>_<uid>` (found by listing podsLogRoot; namespace and
 *             pod names cannot hold '_', so the entry must end in exactly `_<uid>` and the rest
 *             split into two non-empty parts). Its subdirectories are the pod's containers: when
 *             there is exactly one entry, that is the name. Otherwise (init containers, sidecars)
 *             the name comes from kubelet's `<containersLogRoot>/<pod>_<namespace>_<container>-<id>.log`
 *             links, of which only the names are read. Image and labels are not known there
 *             (null and {}). A single-entry pod names every container of the pod after that entry,
 *             including a sandbox (pause) container, which does not log.
 *   both      docker and a pod (cri-dockerd): image and labels come from docker's config, the
 *             name from kubelet when it is found (docker's own name there is the generated
 *             'k8s_<container>_<pod>_<ns>_<uid>_<attempt>'), else docker's name. `source` says
 *             where the NAME came from. cgroup-identity labels a bare id under a pod (cgroupfs
 *             driver) 'containerd'; a caller that knows the node runs cri-dockerd can pass the
 *             ref with runtime 'docker' to get docker's config read as well.
 *   others    containerd and cri-o outside a pod have no file read here; lxc and nspawn ids are
 *             already names. They get all-null metadata without touching the filesystem.
 *
 * What is trusted: nothing. Every string from these files is kept exactly as written (a container
 * can be named '../../etc', 'a/b', or hold newlines and NULs): this module does not sanitise,
 * because the file sink confines rendered paths and names must stay exact for routing. It only
 * makes sure such strings never break parsing and never throw. A file that is not JSON of the
 * expected shape (wrong top-level type, the entry's required fields missing or of the wrong type,
 * podman's metadata string not a JSON object, present optional fields of the wrong type) gives null
 * fields and counts once in `parseErrors`; absent optional fields (an image, labels) are just null
 * or {}. Ids are 64-hex when cgroup-identity made them, but an id that could step out of a
 * directory ('', '.', '..', '/', NUL) is refused before any path is built. Rootless roots are in
 * the user's own home: the real fs opens the final component with O_NOFOLLOW|O_NONBLOCK and reads
 * only regular files up to a size cap, so a symlink, FIFO or device planted there is not followed,
 * cannot block and cannot make a read unbounded; a symlinked directory on the way can still point
 * the reader at another JSON file, and what that yields is at most strings kept as a name, an
 * image or labels.
 *
 * Why read once: the caller calls container() once per new container and caches the result for
 * the container's lifetime; nothing here is cached, so there is no staleness to manage and no
 * memory held per container. Each call is bounded: docker reads one file (two for rootless, with
 * /etc/passwd); podman reads and parses containers.json once (it can hold hundreds of containers;
 * it is parsed, searched by exact id, and dropped); a pod lookup lists podsLogRoot once, the pod's
 * directory once and, only when needed, containersLogRoot once. At most five filesystem calls per
 * container() (rootless docker in a pod). Files above 4 MiB are not read.
 */
import nodeFs from 'node:fs';
import type { ContainerRef, PodRef, Runtime } from './cgroup-identity';

/** Files larger than this are not read by realMetadataFs (config.v2.json is a few KiB; containers.json ~1 KiB per container). */
export const MAX_METADATA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * File access, injectable so tests count reads and use fixtures. Both methods return null on any
 * error (ENOENT, EACCES, not a directory, ...) and never throw.
 */
export interface MetadataFs {
  /** The whole file as UTF-8; files larger than the implementation's cap (4 MiB by default) return null. */
  readFile(path: string): string | null;
  /** Entry names of a directory (not '.' or '..'), in the order the filesystem gives them. */
  readdir(path: string): string[] | null;
}

/**
 * A node:fs (synchronous) MetadataFs. readFile opens with O_NOFOLLOW|O_NONBLOCK, checks with
 * fstat that it is a regular file no larger than `maxBytes`, and reads at most `maxBytes` + 1
 * bytes (a file that grows past the cap while read, or a /proc-like file of size 0 that is longer,
 * also returns null).
 */
export function createRealMetadataFs(maxBytes: number = MAX_METADATA_FILE_BYTES): MetadataFs {
  const cap = Number.isSafeInteger(maxBytes) && maxBytes >= 0 ? maxBytes : MAX_METADATA_FILE_BYTES;
  const flags = nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOFOLLOW | nodeFs.constants.O_NONBLOCK;
  return {
    readFile(path: string): string | null {
      let fd = -1;
      try {
        fd = nodeFs.openSync(path, flags);
        const st = nodeFs.fstatSync(fd);
        if (!st.isFile() || st.size > cap) return null;
        return readCapped(fd, st.size, cap);
      } catch {
        return null;
      } finally {
        if (fd >= 0) {
          try {
            nodeFs.closeSync(fd);
          } catch {
            // closing a read-only fd cannot lose data; nothing to do
          }
        }
      }
    },
    readdir(path: string): string[] | null {
      try {
        return nodeFs.readdirSync(path, { encoding: 'utf8' });
      } catch {
        return null;
      }
    },
  };
}

/** Reads fd to EOF into a buffer that grows from the stat size up to cap + 1 bytes; null past the cap. */
function readCapped(fd: number, statSize: number, cap: number): string | null {
  let buf = Buffer.allocUnsafe(Math.min(statSize, cap) + 1);
  let filled = 0;
  for (;;) {
    if (filled === buf.length) {
      if (buf.length > cap) return null;
      const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, cap + 1));
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
    }
    const n = nodeFs.readSync(fd, buf, filled, buf.length - filled, null);
    if (n === 0) break;
    filled += n;
  }
  return buf.toString('utf8', 0, filled);
}

/** The node:fs implementation with the default 4 MiB cap. */
export const realMetadataFs: MetadataFs = createRealMetadataFs();

/** Where the runtimes keep their files. null disables that source. */
export interface MetadataRoots {
  /** Default '/var/lib/docker' (reads `<root>/containers/<id>/config.v2.json`). null disables docker, rootless too. */
  dockerRoot: string | null;
  /** Default '/var/lib/containers/storage' (rootful; reads `<root>/overlay-containers/containers.json`). */
  podmanRoot: string | null;
  /**
   * The storage root of a rootless user's podman. Default: the uid's home from /etc/passwd (read
   * through the reader's injected fs) + '/.local/share/containers/storage'. May return null.
   */
  podmanRootlessRoot: ((uid: number) => string | null) | null;
  /** Default '/var/log/pods' (kubelet: `<ns>_<pod>_<uid>/<container>/`). */
  podsLogRoot: string | null;
  /** Default '/var/log/containers' (kubelet links `<pod>_<ns>_<container>-<containerid>.log`). */
  containersLogRoot: string | null;
}

/** The path of the passwd file read (through the injected fs) to find a rootless user's home. */
export const PASSWD_PATH = '/etc/passwd';

const ROOTLESS_PODMAN_SUFFIX = '/.local/share/containers/storage';
const ROOTLESS_DOCKER_SUFFIX = '/.local/share/docker';

/** The default rootless podman root, through the real fs; a reader replaces it by one using its own fs. */
function defaultPodmanRootlessRoot(uid: number): string | null {
  return homeBased(realMetadataFs, uid, ROOTLESS_PODMAN_SUFFIX);
}

/** The usual locations on a Linux host. */
export const DEFAULT_ROOTS: MetadataRoots = Object.freeze({
  dockerRoot: '/var/lib/docker',
  podmanRoot: '/var/lib/containers/storage',
  podmanRootlessRoot: defaultPodmanRootlessRoot,
  podsLogRoot: '/var/log/pods',
  containersLogRoot: '/var/log/containers',
});

/** Where a ContainerMetadata's name came from. */
export type MetadataSource = 'docker' | 'podman' | 'kubelet';

/** What the runtimes' files say about one container. Unknown fields are null. */
export interface ContainerMetadata {
  /** The runtime's name (docker 'Name' without the leading '/', podman names[0]); for a pod's container, its name in the pod spec. Exact, unsanitised. */
  name: string | null;
  /** The image reference as the user gave it (docker Config.Image, podman metadata image-name), else null. */
  image: string | null;
  /** docker Config.Labels (string values only); podman and kubelet: {} (not in the files read). */
  labels: Record<string, string>;
  /** Where `name` came from; null when nothing was found. */
  source: MetadataSource | null;
}

/** A Kubernetes pod as kubelet names its log directory. */
export interface PodMetadata {
  namespace: string;
  name: string;
  uid: string;
}

/** Counters for operators. */
export interface MetadataStats {
  /** Filesystem calls made (readFile and readdir, failed ones included). */
  reads: number;
  /** Files read that were not of the expected shape (at most one per container() call). */
  parseErrors: number;
  /**
   * container() results without a name (for a ref that has a source to look in, or whose id was
   * refused) and pod() results of null. A malformed file counts here and in parseErrors.
   */
  misses: number;
}

/** What one runtime file said about a container. */
interface Found {
  name: string | null;
  image: string | null;
  labels: Record<string, string>;
}

const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;

/**
 * Reads container and pod metadata from the runtimes' files. Holds no per-container state; each
 * call reads what it needs and keeps nothing (the caller caches per container). Never throws.
 */
export class ContainerMetadataReader {
  /** The injected fs, wrapped: every call counted in `reads`, a throw or a wrong type turned into null. */
  private readonly fs: MetadataFs;
  private readonly dockerRoot: string | null;
  private readonly podmanRoot: string | null;
  private readonly podmanRootlessRoot: ((uid: number) => string | null) | null;
  private readonly podsLogRoot: string | null;
  private readonly containersLogRoot: string | null;
  private reads: number;
  private parseErrors: number;
  private misses: number;

  /**
   * @param roots overrides of DEFAULT_ROOTS; an absent or undefined key keeps the default, null disables.
   * @param fs file access; realMetadataFs by default. The default podmanRootlessRoot and the rootless
   *   docker lookup read /etc/passwd through this fs.
   */
  constructor(roots: Partial<MetadataRoots> = {}, fs: MetadataFs = realMetadataFs) {
    this.fs = countingFs(fs, () => {
      this.reads++;
    });
    this.dockerRoot = roots.dockerRoot !== undefined ? roots.dockerRoot : DEFAULT_ROOTS.dockerRoot;
    this.podmanRoot = roots.podmanRoot !== undefined ? roots.podmanRoot : DEFAULT_ROOTS.podmanRoot;
    const rootless = roots.podmanRootlessRoot;
    this.podmanRootlessRoot =
      rootless === undefined || rootless === DEFAULT_ROOTS.podmanRootlessRoot
        ? (uid: number): string | null => homeBased(this.fs, uid, ROOTLESS_PODMAN_SUFFIX)
        : rootless;
    this.podsLogRoot = roots.podsLogRoot !== undefined ? roots.podsLogRoot : DEFAULT_ROOTS.podsLogRoot;
    this.containersLogRoot =
      roots.containersLogRoot !== undefined ? roots.containersLogRoot : DEFAULT_ROOTS.containersLogRoot;
    this.reads = 0;
    this.parseErrors = 0;
    this.misses = 0;
  }

  /**
   * Metadata for a container found in a cgroup path. Never throws; unknown fields are null.
   *
   * @param ref the container, as identifyCgroupPath gave it.
   * @param pod its Kubernetes pod, or null.
   */
  container(ref: ContainerRef, pod: PodRef | null): ContainerMetadata {
    if (ref === null || typeof ref !== 'object' || !isSafeSegment(ref.id)) {
      this.misses++;
      return nothingFound();
    }
    const runtime: Runtime = ref.runtime;
    const rootless = ref.rootlessUid !== null && ref.rootlessUid !== undefined;
    const rootlessUid = validUid(ref.rootlessUid);
    const hasPod = pod !== null && typeof pod === 'object';
    if (runtime !== 'docker' && runtime !== 'podman' && !hasPod) return nothingFound();

    let found: Found | null = null;
    let source: MetadataSource | null = null;
    if (runtime === 'docker') {
      found = this.docker(ref.id, rootlessUid, rootless);
      source = 'docker';
    } else if (runtime === 'podman') {
      found = this.podman(ref.id, rootlessUid, rootless);
      source = 'podman';
    }
    let name = found !== null ? found.name : null;
    if (name === null) source = null;
    if (hasPod) {
      const podName = this.podContainerName(ref.id, pod.uid);
      if (podName !== null) {
        name = podName;
        source = 'kubelet';
      }
    }
    if (source === null) this.misses++;
    return { name, image: found !== null ? found.image : null, labels: found !== null ? found.labels : {}, source };
  }

  /**
   * Namespace and name of a pod by uid, from podsLogRoot directory names '<namespace>_<name>_<uid>'.
   * Lists podsLogRoot once per call. The uid must be canonical (dashed UUID or the 32-hex static
   * pod hash); the first matching entry wins. null when not found.
   */
  pod(uid: string): PodMetadata | null {
    const found = this.findPod(uid);
    if (found === null) this.misses++;
    return found;
  }

  /** Counters for operators: reads done, files that failed to parse, lookups that found nothing. */
  stats(): MetadataStats {
    return { reads: this.reads, parseErrors: this.parseErrors, misses: this.misses };
  }

  /** Reads and parses one JSON file: its value in a box; null when absent, or not JSON (a parse error, counted). */
  private readJson(path: string): { value: unknown } | null {
    const text = this.fs.readFile(path);
    if (text === null) return null;
    if (text.length > MAX_METADATA_FILE_BYTES) {
      this.parseErrors++;
      return null;
    }
    try {
      return { value: JSON.parse(text) as unknown };
    } catch {
      this.parseErrors++;
      return null;
    }
  }

  private docker(id: string, rootlessUid: number | null, rootless: boolean): Found | null {
    if (this.dockerRoot === null) return null;
    let root: string | null = this.dockerRoot;
    if (rootless) {
      root = rootlessUid === null ? null : homeBased(this.fs, rootlessUid, ROOTLESS_DOCKER_SUFFIX);
    }
    if (root === null) return null;
    const doc = this.readJson(`${root}/containers/${id}/config.v2.json`);
    if (doc === null) return null;
    const found = parseDockerConfig(doc.value, id);
    if (found === null) this.parseErrors++;
    return found;
  }

  private podman(id: string, rootlessUid: number | null, rootless: boolean): Found | null {
    let root: string | null = this.podmanRoot;
    if (rootless) {
      root = null;
      if (rootlessUid !== null && this.podmanRootlessRoot !== null) {
        try {
          const r = this.podmanRootlessRoot(rootlessUid);
          root = typeof r === 'string' && r.length > 0 ? r : null;
        } catch {
          root = null;
        }
      }
    }
    if (root === null) return null;
    const doc = this.readJson(`${root}/overlay-containers/containers.json`);
    if (doc === null) return null;
    const list = doc.value;
    if (!Array.isArray(list)) {
      this.parseErrors++;
      return null;
    }
    const entry = list.find((e: unknown) => isObject(e) && e.id === id) as unknown;
    if (entry === undefined) return null;
    const parsed = parsePodmanEntry(entry);
    if (parsed.error) this.parseErrors++;
    return parsed.found;
  }

  private findPod(uid: string): PodMetadata | null {
    if (typeof uid !== 'string' || !POD_UID.test(uid) || this.podsLogRoot === null) return null;
    const entries = this.fs.readdir(this.podsLogRoot);
    if (entries === null) return null;
    const tail = '_' + uid;
    for (const entry of entries) {
      // a real directory entry is always one segment; an injected fs might say otherwise
      if (!entry.endsWith(tail) || !isSafeSegment(entry)) continue;
      const head = entry.slice(0, entry.length - tail.length);
      const cut = head.indexOf('_');
      if (cut <= 0 || cut === head.length - 1 || head.indexOf('_', cut + 1) >= 0) continue;
      return { namespace: head.slice(0, cut), name: head.slice(cut + 1), uid };
    }
    return null;
  }

  /** The container's name in its pod spec, from kubelet's log directories; null when not found. */
  private podContainerName(id: string, podUid: string): string | null {
    const pod = this.findPod(podUid);
    if (pod === null || this.podsLogRoot === null) return null;
    const dirs = this.fs.readdir(`${this.podsLogRoot}/${pod.namespace}_${pod.name}_${pod.uid}`);
    if (dirs !== null && dirs.length === 1) return dirs[0];
    if (this.containersLogRoot === null) return null;
    const links = this.fs.readdir(this.containersLogRoot);
    if (links === null) return null;
    const prefix = `${pod.name}_${pod.namespace}_`;
    const suffix = `-${id}.log`;
    for (const link of links) {
      if (link.length > prefix.length + suffix.length && link.startsWith(prefix) && link.endsWith(suffix)) {
        return link.slice(prefix.length, link.length - suffix.length);
      }
    }
    return null;
  }
}

/** docker config.v2.json → fields; null when it is not of the expected shape (a parse error). */
function parseDockerConfig(doc: unknown, id: string): Found | null {
  if (!isObject(doc)) return null;
  if (doc.ID !== undefined && doc.ID !== id) return null;
  const rawName = doc.Name;
  if (typeof rawName !== 'string') return null;
  const name = rawName.startsWith('/') ? rawName.slice(1) : rawName;
  let image: string | null = null;
  let labels: Record<string, string> = {};
  const config = doc.Config;
  if (config !== undefined && config !== null) {
    if (!isObject(config)) return null;
    if (config.Image !== undefined && config.Image !== null) {
      if (typeof config.Image !== 'string') return null;
      image = config.Image.length > 0 ? config.Image : null;
    }
    if (config.Labels !== undefined && config.Labels !== null) {
      if (!isObject(config.Labels)) return null;
      labels = stringEntries(config.Labels);
    }
  }
  return { name: name.length > 0 ? name : null, image, labels };
}

/** One containers.json entry → fields; `error` when it is not of the expected shape (names and image that parsed are kept). */
function parsePodmanEntry(entry: unknown): { found: Found | null; error: boolean } {
  if (!isObject(entry)) return { found: null, error: true };
  let error = false;
  let name: string | null = null;
  if (Array.isArray(entry.names) && entry.names.length > 0 && typeof entry.names[0] === 'string') {
    name = entry.names[0].length > 0 ? entry.names[0] : null;
  } else {
    error = true;
  }
  let image: string | null = null;
  let metadata: unknown = null;
  if (typeof entry.metadata === 'string') {
    try {
      metadata = JSON.parse(entry.metadata) as unknown;
    } catch {
      metadata = null;
    }
  }
  if (isObject(metadata)) {
    const imageName = metadata['image-name'];
    if (typeof imageName === 'string') {
      image = imageName.length > 0 ? imageName : null;
    } else if (imageName !== undefined && imageName !== null) {
      error = true;
    }
    if (name === null && typeof metadata.name === 'string' && metadata.name.length > 0) name = metadata.name;
  } else {
    error = true;
  }
  return { found: { name, image, labels: {} }, error };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The string-valued entries of an object, as own properties (a key '__proto__' stays a label). */
function stringEntries(obj: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (typeof value === 'string') {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/** `inner` with every call reported to `onCall`, a throw or a result of the wrong type turned into null. */
function countingFs(inner: MetadataFs, onCall: () => void): MetadataFs {
  return {
    readFile(path: string): string | null {
      onCall();
      try {
        const text = inner.readFile(path);
        return typeof text === 'string' ? text : null;
      } catch {
        return null;
      }
    },
    readdir(path: string): string[] | null {
      onCall();
      try {
        const names = inner.readdir(path);
        return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : null;
      } catch {
        return null;
      }
    },
  };
}

/** An id that can be one path segment: not empty, '.', or holding '..', '/' or NUL. */
function isSafeSegment(id: unknown): id is string {
  return (
    typeof id === 'string' && id.length > 0 && id !== '.' && !id.includes('..') && !id.includes('/') && !id.includes('\0')
  );
}

function validUid(uid: unknown): number | null {
  return typeof uid === 'number' && Number.isSafeInteger(uid) && uid >= 0 && uid <= 4294967294 ? uid : null;
}

/** `<home of uid from /etc/passwd><suffix>`, or null when the uid has no absolute home. */
function homeBased(fs: MetadataFs, uid: number, suffix: string): string | null {
  const home = homeOf(fs, uid);
  if (home === null) return null;
  let end = home.length;
  while (end > 0 && home[end - 1] === '/') end--;
  return home.slice(0, end) + suffix;
}

/** The home directory of the first passwd line with this uid ('name:pw:uid:gid:gecos:home:shell'). */
function homeOf(fs: MetadataFs, uid: number): string | null {
  if (validUid(uid) === null) return null;
  let text: string | null;
  try {
    text = fs.readFile(PASSWD_PATH);
  } catch {
    return null;
  }
  if (typeof text !== 'string') return null;
  const want = String(uid);
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7 || fields[2] !== want) continue;
    const home = fields[5];
    return home.startsWith('/') && !home.includes('\0') ? home : null;
  }
  return null;
}

function nothingFound(): ContainerMetadata {
  return { name: null, image: null, labels: {}, source: null };
}
