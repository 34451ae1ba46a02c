// exe and cmdline of senders, read from /proc and kept only when the pidfd then shows the process
// was not reaped (the same verified recipe as comm). Off by default: two more /proc reads per new
// process. Keyed by the pidfs inode; a ring of `capacity` entries, so memory stays bounded.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace cs {

struct ExtrasEntry {
  uint64_t key = 0;
  std::string exe;
  std::string cmdline;  // arguments joined by spaces
};

// Put and Has run on the receiving thread; Get on the main thread: Put and Get take the lock.
class ProcessExtras {
 public:
  explicit ProcessExtras(uint32_t capacity);
  bool Has(uint64_t key) const { return index_.count(key) != 0; }
  // A copy, taken under the lock; false if unknown.
  bool Get(uint64_t key, ExtrasEntry* out) const;
  void Put(uint64_t key, std::string exe, std::string cmdline);

 private:
  mutable std::mutex mu_;
  std::vector<ExtrasEntry> ring_;
  std::unordered_map<uint64_t, uint32_t> index_;
  uint32_t next_ = 0;
};

// Reads /proc/<pid>/exe and /proc/<pid>/cmdline (unverified; the caller verifies afterwards).
void ReadProcExtras(int pid, std::string* exe, std::string* cmdline);

}  // namespace cs
