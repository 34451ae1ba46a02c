// Per-process facts that cost a /proc read (comm, the pid inside the sender's own pid namespace),
// cached by process key: the pidfs inode of the sender's pidfd, which the kernel never reuses
// within a boot (KERNEL.md §5). A pid number is never a key: it is recycled.
//
// What is cached and why it can be stale: comm changes on exec and prctl(PR_SET_NAME), so an entry
// is "fresh" only for ttl_ms after it was verified; a fresh hit is reported as `cached`. An expired
// entry is replaced by a new verified read when the sender is still alive; when it has been reaped,
// the expired entry is still the best (and only) answer for that very process, and is reported as
// `cached` too. The proc-verified method also keeps the verified cgroup id here, with the same
// freshness rule. The pid namespace of a process never changes, so nspid/nsdepth never go stale.
//
// Pinned pidfds: an entry may keep the first pidfd it was verified with open. While one pidfd to a
// process is open, the kernel reuses its pidfs dentry for every further SCM_PIDFD, which makes
// each datagram from a known sender about 1 µs cheaper (KERNEL.md §9: 2.6 → 1.6 µs). A pinned
// fd is closed when its entry is evicted, and a sweep on the receive path closes those of reaped
// processes; at most max_pinned are open at once, so the fd table stays bounded.
//
// Bounds: a fixed table of `capacity` entries (a power of two, 56 bytes each), open addressing with
// a probe window of 8; a full window evicts its entry closest to expiry. No allocation after
// construction, so a fork-per-message flood costs a bounded amount of memory and fds.
#pragma once

#include <cstdint>
#include <vector>

namespace cs {

struct SenderEntry {
  uint64_t key;         // pidfs inode; 0 = empty slot
  uint64_t expires_ms;  // monotonic ms after which the comm is no longer fresh
  char comm[16];        // NUL-padded, TASK_COMM_LEN
  uint64_t cgroup_id;   // proc-verified method only: the verified cgroup, 0 unknown
  int32_t nspid;        // pid in the innermost pid namespace, -1 unknown
  uint32_t nsdepth;     // number of pid namespace levels (1 = host), 0 unknown
  int32_t pinned_fd;    // a pidfd of this process kept open, -1 none
  uint32_t pad;
};

class SenderCache {
 public:
  SenderCache(uint32_t capacity, uint32_t ttl_ms, uint32_t max_pinned);
  ~SenderCache();
  SenderCache(const SenderCache&) = delete;
  SenderCache& operator=(const SenderCache&) = delete;
  SenderEntry* Find(uint64_t key);
  SenderEntry* Put(uint64_t key, uint64_t now_ms);
  // Keeps pidfd open in e if the pin budget allows; true if the cache now owns the fd.
  bool Pin(SenderEntry* e, int pidfd);
  // Checks up to `count` entries (round robin) and closes the pinned fds of reaped processes.
  void Sweep(uint32_t count);
  // Closes every pinned fd (the receiver is closing).
  void UnpinAll();
  uint32_t pinned() const { return pinned_; }
  bool Fresh(const SenderEntry* e, uint64_t now_ms) const { return e->expires_ms > now_ms; }
  uint32_t ttl_ms() const { return ttl_ms_; }
  uint32_t capacity() const { return mask_ + 1; }

 private:
  uint32_t Slot(uint64_t key) const;
  std::vector<SenderEntry> table_;
  void Unpin(SenderEntry* e);
  uint32_t mask_;
  uint32_t ttl_ms_;
  uint32_t max_pinned_;
  uint32_t pinned_ = 0;
  uint32_t sweep_cursor_ = 0;
};

}  // namespace cs
