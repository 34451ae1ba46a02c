#include "attribution.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/stat.h>

#include "kernel.h"

namespace cs {

namespace {

// The ESRCH exit race: how long to wait for the sender's POLLHUP before each retry.
constexpr int kExitWaits = 3;
constexpr int kExitWaitMs = 10;

// "0::/system.slice/docker-….scope" → cgroup id (st_ino of the directory under the cgroup2 mount).
uint64_t ProcCgroupId(const AttributionConfig& cfg, int pid, AttributionCounters& counters) {
  char path[64];
  char buf[4096];
  std::snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
  counters.proc_reads++;
  if (ReadSmallFile(path, buf, sizeof(buf)) < 0) return 0;
  const char* line = buf;
  while (line != nullptr && *line != '\0') {
    if (std::strncmp(line, "0::", 3) == 0) {
      const char* rel = line + 3;
      const char* end = std::strchr(rel, '\n');
      size_t n = end != nullptr ? static_cast<size_t>(end - rel) : std::strlen(rel);
      std::string full = cfg.cgroup_root;
      full.append(rel, n);
      struct stat st;
      if (stat(full.c_str(), &st) != 0) return 0;  // removed since: unknown, never guessed
      return st.st_ino;
    }
    line = std::strchr(line, '\n');
    if (line != nullptr) line++;
  }
  return 0;
}

// NSpid of a live pidfd: one field per pid namespace level, the last is the innermost pid.
void ReadNsPid(int pidfd, SenderEntry* e, AttributionCounters& counters) {
  char path[64];
  char buf[1024];
  std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
  counters.proc_reads++;
  if (ReadSmallFile(path, buf, sizeof(buf)) < 0) return;
  const char* p = std::strstr(buf, "NSpid:");
  if (p == nullptr) return;
  p += 6;
  uint32_t depth = 0;
  long last = -1;
  while (*p != '\0' && *p != '\n') {
    char* end;
    long v = std::strtol(p, &end, 10);
    if (end == p) break;
    last = v;
    depth++;
    p = end;
  }
  if (depth == 0 || last < 0) return;  // "-1": reaped
  e->nspid = static_cast<int32_t>(last);
  e->nsdepth = depth;
}

// comm is at most 15 bytes (TASK_COMM_LEN 16); the destination is NUL-padded.
void StoreComm(char (&dst)[16], const char* src, int n) {
  std::memset(dst, 0, sizeof(dst));
  std::memcpy(dst, src, static_cast<size_t>(n < 15 ? n : 15));
}

void CopyComm(Record* rec, const SenderEntry* e) {
  std::memcpy(rec->comm, e->comm, sizeof(rec->comm));
  if (e->nsdepth != 0) {
    rec->ns_pid = e->nspid;
    rec->ns_depth = e->nsdepth;
    rec->flags |= kFlagNsPid;
  }
}

}  // namespace

bool Attribute(const AttributionConfig& cfg, SenderCache& cache, ProcessExtras& extras,
               AttributionCounters& counters, int pidfd, Record* rec, uint64_t now_ms) {
  if (cfg.method == Method::kNone) return false;
  uint64_t key = 0;
  if (pidfd >= 0 && cfg.pidfs_keys) {
    struct stat st;
    if (fstat(pidfd, &st) == 0) key = st.st_ino;
  }
  rec->process_key = static_cast<double>(key);
  bool reaped = false;

  if (cfg.method == Method::kPidfd && pidfd >= 0) {
    PidfdInfo info;
    int r = PidfdGetInfo(pidfd, kInfoCgroupId | kInfoExit, &info);
    if (r == -ESRCH) {
      // Exit race (KERNEL.md §3): the task is mid-release. Its exit information is recorded
      // before it is unhashed, and POLLHUP shows only once it is unhashed, so wait for POLLHUP
      // itself: events 0, because POLLIN is already set for an exited task and would end the
      // wait at once, and a retry then can land in the same window (seen: 1 in 4,000 senders
      // under PID reuse with a busy host). After POLLHUP one more try is final (a kernel before
      // 6.15 keeps no exit information). Bounded: at most kExitWaits × kExitWaitMs.
      counters.getinfo_retries++;
      rec->flags |= kFlagGetInfoRetried;
      for (int w = 0; w < kExitWaits && r == -ESRCH; w++) {
        struct pollfd p = {pidfd, 0, 0};
        int ready = poll(&p, 1, kExitWaitMs);
        r = PidfdGetInfo(pidfd, kInfoCgroupId | kInfoExit, &info);
        if (ready > 0 && (p.revents & POLLHUP) != 0) break;
      }
    }
    if (r == 0) {
      if ((info.mask & kInfoCgroupId) != 0) {
        rec->cgroup_id = static_cast<double>(info.cgroupid);
        rec->flags |= kFlagCgroup;
      }
      if ((info.mask & kInfoExit) != 0) {
        reaped = true;
        rec->exit_status = info.exit_code;
        rec->flags |= kFlagExited;
      }
    } else {
      counters.pidfd_errors++;
      rec->pidfd_errno = -r;
    }
  }

  if (cfg.extras && key != 0 && extras.Has(key)) rec->flags |= kFlagExtras;
  SenderEntry* e = key != 0 ? cache.Find(key) : nullptr;
  if (e != nullptr && cache.Fresh(e, now_ms)) {
    CopyComm(rec, e);
    rec->flags |= kFlagCommCached;
    counters.comm_cached++;
    if (cfg.method == Method::kProcVerified && e->cgroup_id != 0) {
      rec->cgroup_id = static_cast<double>(e->cgroup_id);
      rec->flags |= kFlagCgroup | kFlagCgroupProc | kFlagCgroupVerified;
    }
    return !reaped && pidfd >= 0 && cache.Pin(e, pidfd);
  }

  bool verifiable = pidfd >= 0;
  bool can_read = rec->pid > 0 && !reaped && (verifiable || cfg.method == Method::kProc);
  if (can_read) {
    uint64_t cgroup_id = 0;
    if (cfg.method != Method::kPidfd) cgroup_id = ProcCgroupId(cfg, rec->pid, counters);
    char path[64];
    char comm[64];
    std::snprintf(path, sizeof(path), "/proc/%d/comm", rec->pid);
    counters.proc_reads++;
    int n = ReadSmallFile(path, comm, sizeof(comm));
    SenderEntry fresh{};
    fresh.nspid = -1;
    if (cfg.ns_pid && verifiable) ReadNsPid(pidfd, &fresh, counters);
    std::string exe, cmdline;
    bool want_extras = cfg.extras && verifiable && key != 0 && (rec->flags & kFlagExtras) == 0;
    if (want_extras) {
      ReadProcExtras(rec->pid, &exe, &cmdline);
      counters.proc_reads += 2;
    }

    if (cfg.method == Method::kProc) {
      // The classic racy route: whatever /proc says now, labelled as such.
      if (cgroup_id != 0) {
        rec->cgroup_id = static_cast<double>(cgroup_id);
        rec->flags |= kFlagCgroup | kFlagCgroupProc;
      }
      if (n > 0) {
        StoreComm(rec->comm, comm, n);
        rec->flags |= kFlagCommProc;
      } else {
        counters.comm_missing++;
      }
      return false;
    }
    // Verified: the reads count only if the pidfd shows the sender was still not reaped after
    // them, so the pid could not have been recycled in between (KERNEL.md §6).
    if (!PidfdReaped(pidfd)) {
      if (want_extras && !exe.empty()) {
        extras.Put(key, std::move(exe), std::move(cmdline));
        rec->flags |= kFlagExtras;
      }
      if (cgroup_id != 0) {
        rec->cgroup_id = static_cast<double>(cgroup_id);
        rec->flags |= kFlagCgroup | kFlagCgroupProc | kFlagCgroupVerified;
      }
      if (n > 0 && key != 0) {
        e = cache.Put(key, now_ms);
        StoreComm(e->comm, comm, n);
        e->cgroup_id = cgroup_id;
        e->nspid = fresh.nspid;
        e->nsdepth = fresh.nsdepth;
        CopyComm(rec, e);
        rec->flags |= kFlagCommVerified;
        counters.comm_verified++;
        return cache.Pin(e, pidfd);
      }
      if (n > 0) {  // no pidfs key (kernel < 6.9): verified but not cacheable
        StoreComm(rec->comm, comm, n);
        rec->flags |= kFlagCommVerified;
        counters.comm_verified++;
        return false;
      }
    }
  }
  if (e != nullptr) {
    // Expired, but it is this very process (the key is never reused): better than nothing, and
    // labelled cached so nobody mistakes it for a fresh read.
    CopyComm(rec, e);
    rec->flags |= kFlagCommCached;
    counters.comm_cached++;
    return false;
  }
  counters.comm_missing++;
  return false;
}

}  // namespace cs
