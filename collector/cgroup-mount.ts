/**
 * Where the cgroup2 hierarchy is mounted: `/sys/fs/cgroup` on unified hosts, often
 * `/sys/fs/cgroup/unified` on hybrid ones. Read from mountinfo, never assumed.
 */
import fs from 'node:fs';

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The mount point of the first cgroup2 file system in a mountinfo text, or null. Pure. */
export function parseCgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const fields = line.slice(0, sep).split(' ');
    if (fields.length >= 5) return unescapeMountField(fields[4]);
  }
  return null;
}

export function findCgroup2Mount(mountinfoPath = '/proc/self/mountinfo'): string | null {
  try {
    return parseCgroup2Mount(fs.readFileSync(mountinfoPath, 'utf8'));
  } catch {
    return null;
  }
}
