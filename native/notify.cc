// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET ("READY=1", "STOPPING=1", ...).
// A leading '@' names an abstract socket.
#include "notify.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"

namespace cs {

Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string text = info[1].As<Napi::String>().Utf8Value();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw MakeError(env, "NOTIFY_SOCKET '" + path + "' is not a usable socket path", "EINVAL", EINVAL, "sendto", path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw MakeErrnoError(env, errno, "socket", path, "Cannot notify");
  ssize_t r = sendto(fd, text.data(), text.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  int err = errno;
  close(fd);
  if (r < 0) throw MakeErrnoError(env, err, "sendto", path, "Cannot notify the service manager at");
  return env.Undefined();
}

}  // namespace cs
