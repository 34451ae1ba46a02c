// Who sent one datagram: credentials, pidfd, cgroup id, exit state, comm, pid namespace.
// Everything here runs once per datagram on the receive thread, so it does no allocation and at
// most one /proc read per *new* process (the sender cache absorbs the rest).
#pragma once

#include <cstdint>
#include <string>

#include "process-extras.h"
#include "sender-cache.h"

namespace cs {

// The per-message index shared with JS (collector/addon.ts mirrors it; the addon exports
// kRecordBytes and the offsets so the TS side checks them at load time).
struct Record {
  double cgroup_id;      // 0: cgroup v2 id (inode of the cgroup directory), 0 = unknown
  double process_key;    // 8: pidfs inode of the sender, 0 = unknown
  double recv_time_us;   // 16: kernel receive time, µs since the epoch
  uint32_t offset;       // 24: payload offset in the payload buffer
  uint32_t length;       // 28: payload bytes captured (≤ slot size)
  uint32_t orig_length;  // 32: datagram length as sent
  int32_t pid;           // 36: SCM_CREDENTIALS pid (receiver's pid namespace), -1 none
  uint32_t uid;          // 40
  uint32_t gid;          // 44
  int32_t exit_status;   // 48: wait(2) status when the sender had been reaped
  uint32_t flags;        // 52: kFlag*
  uint32_t fds_closed;   // 56: SCM_RIGHTS fds that arrived with this datagram (all closed)
  int32_t pidfd_errno;   // 60: errno of the pidfd step that failed, 0 if none
  char comm[16];         // 64: NUL-padded
  int32_t ns_pid;        // 80: pid inside the sender's innermost pid namespace, -1 unknown
  uint32_t ns_depth;     // 84: pid namespace levels (1 = the receiver's), 0 unknown
  uint32_t reserved[2];  // 88
};
static_assert(sizeof(Record) == 96, "record layout is shared with collector/addon.ts");

enum : uint32_t {
  kFlagCreds = 1u << 0,         // SCM_CREDENTIALS arrived
  kFlagPidfd = 1u << 1,         // a usable SCM_PIDFD arrived
  kFlagExited = 1u << 2,        // the sender had been reaped when we asked (exit status valid)
  kFlagTruncated = 1u << 3,     // payload longer than the slot
  kFlagCtrunc = 1u << 4,        // control data truncated: pidfd/fds may be missing
  kFlagFds = 1u << 5,           // SCM_RIGHTS fds arrived (and were closed)
  kFlagCgroup = 1u << 6,        // cgroup_id is set
  kFlagCgroupProc = 1u << 7,    // ... learnt from /proc/<pid>/cgroup
  kFlagCgroupVerified = 1u << 8,  // ... and the pidfd showed the sender was not reaped after the read
  kFlagCommVerified = 1u << 9,  // comm read from /proc, then pidfd not reaped
  kFlagCommCached = 1u << 10,   // comm from the per-process cache
  kFlagCommProc = 1u << 11,     // comm read from /proc without verification (racy method)
  kFlagPidfdStale = 1u << 12,   // the kernel could not give a pidfd: sender reaped before recv (<6.17)
  kFlagTimestamp = 1u << 13,    // recv_time_us is the kernel's receive timestamp
  kFlagNsPid = 1u << 14,        // ns_pid/ns_depth are set
  kFlagGetInfoRetried = 1u << 15,
  kFlagExtras = 1u << 16,       // verified exe/cmdline are available for process_key
};

enum class Method : int { kNone = 0, kPidfd = 1, kProcVerified = 2, kProc = 3 };

struct AttributionConfig {
  Method method = Method::kPidfd;
  bool pidfs_keys = true;  // fstat(pidfd).st_ino is a per-process key (pidfs, 6.9+)
  bool ns_pid = true;      // read NSpid from the pidfd's fdinfo for new live senders
  bool extras = false;     // read exe and cmdline for new live senders (verified)
  std::string cgroup_root; // cgroup2 mount, for the /proc methods
};

struct AttributionCounters {
  uint64_t pidfd_errors = 0;    // GET_INFO failed, after the exit-race retries
  uint64_t getinfo_retries = 0;
  uint64_t comm_verified = 0;
  uint64_t comm_cached = 0;
  uint64_t comm_missing = 0;
  uint64_t proc_reads = 0;      // /proc files opened (comm, cgroup, fdinfo)
};

// Fills cgroup/comm/exit/key fields of rec from the credentials pid and the pidfd (-1 if none).
// Returns true if the sender cache kept the pidfd (pinned); otherwise the caller closes it.
bool Attribute(const AttributionConfig& config, SenderCache& cache, ProcessExtras& extras,
               AttributionCounters& counters, int pidfd, Record* rec, uint64_t now_ms);

}  // namespace cs
