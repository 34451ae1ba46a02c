#include "kernel.h"

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace cs {

int PidfdOpen(int pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int PidfdGetInfo(int pidfd, uint64_t want, PidfdInfo* out) {
  *out = PidfdInfo{};
  out->mask = want;
  if (ioctl(pidfd, kPidfdGetInfo, out) == 0) return 0;
  return -errno;
}

bool PidfdReaped(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  return r > 0 && (p.revents & POLLHUP) != 0;
}

int ReadSmallFile(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -errno;
  ssize_t n;
  do {
    n = read(fd, buf, size - 1);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n < 0) return -err;
  if (n > 0 && buf[n - 1] == '\n') n--;
  buf[n] = '\0';
  return static_cast<int>(n);
}

}  // namespace cs
