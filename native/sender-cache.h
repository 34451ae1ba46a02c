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
// Bounds: a fixed table of `capacity` entries (a power of two, 48 bytes each), open addressing with
// a probe window of 8; a full window evicts its entry closest to expiry. No allocation after
// construction, so a fork-per-message flood costs a bounded amount of memory.
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
};

class SenderCache {
 public:
  SenderCache(uint32_t capacity, uint32_t ttl_ms);
  SenderEntry* Find(uint64_t key);
  SenderEntry* Put(uint64_t key, uint64_t now_ms);
  bool Fresh(const SenderEntry* e, uint64_t now_ms) const { return e->expires_ms > now_ms; }
  uint32_t ttl_ms() const { return ttl_ms_; }
  uint32_t capacity() const { return mask_ + 1; }

 private:
  uint32_t Slot(uint64_t key) const;
  std::vector<SenderEntry> table_;
  uint32_t mask_;
  uint32_t ttl_ms_;
};

}  // namespace cs
