#include "socket.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "kernel.h"

namespace cs {

namespace {

class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

bool SetInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0;
}

void SetOptions(Napi::Env env, int fd, const SocketOptions& o, SocketState* s) {
  if (!SetInt(fd, SOL_SOCKET, SO_PASSCRED, 1)) {
    throw MakeErrnoError(env, errno, "setsockopt", s->path, "Cannot enable SO_PASSCRED on");
  }
  if (o.pass_pidfd) {
    if (SetInt(fd, SOL_SOCKET, kSoPassPidfd, 1)) {
      s->pass_pidfd = true;
    } else if (errno != ENOPROTOOPT && errno != EINVAL) {
      throw MakeErrnoError(env, errno, "setsockopt", s->path, "Cannot enable SO_PASSPIDFD on");
    }
  }
  if (o.refuse_fds) s->refuses_fds = SetInt(fd, SOL_SOCKET, kSoPassRights, 0);
  s->timestamps = SetInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
  if (o.rcvbuf_bytes > 0) {
    // SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back quietly.
    s->rcvbuf_forced = SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, o.rcvbuf_bytes);
    if (!s->rcvbuf_forced) SetInt(fd, SOL_SOCKET, SO_RCVBUF, o.rcvbuf_bytes);
  }
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len) == 0) s->rcvbuf_bytes = value;
}

// An existing file at the path: a stale socket is replaced; a socket someone answers on, or
// anything that is not a socket, is refused with a reason the operator can act on.
void ClearStalePath(Napi::Env env, const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw MakeErrnoError(env, errno, "lstat", path, "Cannot inspect socket path");
  }
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    throw MakeError(env,
                    "Socket path '" + path + "' is a symbolic link to '" + target +
                        "', which belongs to another daemon (journald links /dev/log this way); "
                        "refusing to replace it",
                    "ENOTSOCK", 0, "lstat", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw MakeError(env, "Socket path '" + path + "' exists and is not a socket; refusing to replace it",
                    "ENOTSOCK", 0, "lstat", path);
  }
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) throw MakeErrnoError(env, errno, "socket", path, "Cannot create probe socket for");
  int rc = connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(probe);
  if (rc == 0) {
    throw MakeError(env,
                    "Socket path '" + path + "' is in use: another process is receiving on it. "
                    "Stop that daemon or choose another socket path",
                    "EADDRINUSE", EADDRINUSE, "connect", path);
  }
  if (err != ECONNREFUSED) throw MakeErrnoError(env, err, "connect", path, "Cannot probe existing socket");
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw MakeErrnoError(env, errno, "unlink", path, "Cannot remove stale socket");
  }
}

SocketState Bind(Napi::Env env, const SocketOptions& o) {
  SocketState s;
  s.path = o.path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (o.path.empty() || o.path.size() >= sizeof(addr.sun_path)) {
    throw MakeError(env,
                    "Socket path '" + o.path + "' must be 1 to " +
                        std::to_string(sizeof(addr.sun_path) - 1) + " bytes long",
                    "ENAMETOOLONG", ENAMETOOLONG, "bind", o.path);
  }
  std::memcpy(addr.sun_path, o.path.c_str(), o.path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw MakeErrnoError(env, errno, "socket", o.path, "Cannot create socket for");
  FdGuard guard(fd);
  SetOptions(env, fd, o, &s);  // before bind: nothing can be queued without credentials
  ClearStalePath(env, o.path, addr);
  fchmod(fd, o.mode);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw MakeErrnoError(env, errno, "bind", o.path, "Cannot bind socket");
  }
  if (chmod(o.path.c_str(), o.mode) != 0) {
    int err = errno;
    unlink(o.path.c_str());
    throw MakeErrnoError(env, err, "chmod", o.path, "Cannot set the mode of socket");
  }
  s.fd = guard.release();
  s.bound_by_us = true;
  return s;
}

SocketState Adopt(Napi::Env env, const SocketOptions& o) {
  SocketState s;
  int fd = o.adopt_fd;
  int domain = 0, type = 0;
  socklen_t len = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    throw MakeErrnoError(env, errno, "getsockopt", "", "Passed fd " + std::to_string(fd) + " is not a socket");
  }
  len = sizeof(int);
  getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
  if (domain != AF_UNIX || type != SOCK_DGRAM) {
    throw MakeError(env,
                    "Passed fd " + std::to_string(fd) +
                        " is not an AF_UNIX datagram socket (set ListenDatagram= in the .socket unit)",
                    "EPROTOTYPE", EPROTOTYPE, "getsockopt", "");
  }
  sockaddr_un addr{};
  socklen_t alen = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 && alen > sizeof(sa_family_t)) {
    s.path.assign(addr.sun_path, strnlen(addr.sun_path, alen - sizeof(sa_family_t)));
  }
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  SetOptions(env, fd, o, &s);
  s.fd = fd;
  return s;
}

}  // namespace

SocketState OpenLogSocket(Napi::Env env, const SocketOptions& options) {
  return options.adopt_fd >= 0 ? Adopt(env, options) : Bind(env, options);
}

}  // namespace cs
