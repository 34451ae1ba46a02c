#include "process-extras.h"

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace cs {

ProcessExtras::ProcessExtras(uint32_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

bool ProcessExtras::Get(uint64_t key, ExtrasEntry* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  *out = ring_[it->second];
  return true;
}

void ProcessExtras::Put(uint64_t key, std::string exe, std::string cmdline) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  uint32_t slot;
  if (it != index_.end()) {
    slot = it->second;
  } else {
    slot = next_;
    next_ = (next_ + 1) % static_cast<uint32_t>(ring_.size());
    if (ring_[slot].key != 0) index_.erase(ring_[slot].key);
    index_[key] = slot;
  }
  ring_[slot].key = key;
  ring_[slot].exe = std::move(exe);
  ring_[slot].cmdline = std::move(cmdline);
}

void ReadProcExtras(int pid, std::string* exe, std::string* cmdline) {
  char path[64];
  char buf[4096];
  std::snprintf(path, sizeof(path), "/proc/%d/exe", pid);
  ssize_t n = readlink(path, buf, sizeof(buf));
  exe->assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
  std::snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  cmdline->clear();
  if (fd < 0) return;
  n = read(fd, buf, sizeof(buf));
  close(fd);
  if (n <= 0) return;
  while (n > 0 && buf[n - 1] == '\0') n--;
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\0') buf[i] = ' ';
  }
  cmdline->assign(buf, static_cast<size_t>(n));
}

}  // namespace cs
