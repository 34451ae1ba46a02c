// Start-up probe of the kernel ladder (KERNEL.md §10): every feature is detected by trying it,
// never by reading the kernel version.
#include "probe.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel.h"

namespace cs {

namespace {

bool SetInt(int fd, int name, int value) {
  return setsockopt(fd, SOL_SOCKET, name, &value, sizeof(value)) == 0;
}

// A child sends one datagram and exits; we reap it, then read: on 6.17+ an SCM_PIDFD arrives
// even though the sender is gone. Returns the pidfd (>= 0), or -1.
int ReapedSenderPidfd(int rx, int tx) {
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    send(tx, "probe", 5, 0);
    _exit(7);
  }
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  char data[16];
  alignas(cmsghdr) char control[256];
  iovec iov = {data, sizeof(data)};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = sizeof(control);
  if (recvmsg(rx, &h, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0) return -1;
  int pidfd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == kScmPidfd) {
      int v;
      std::memcpy(&v, CMSG_DATA(c), sizeof(v));
      if (v >= 0) pidfd = v;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int v;
      std::memcpy(&v, CMSG_DATA(c), sizeof(v));
      close(v);
    }
  }
  return pidfd;
}

// Exit info after reap (6.15): take a pidfd of a child before reaping it, then ask.
bool InfoAfterReap() {
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) _exit(7);
  int pidfd = PidfdOpen(child);  // not reaped yet: at worst a zombie
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (pidfd < 0) return false;
  PidfdInfo info;
  bool ok = PidfdGetInfo(pidfd, kInfoCgroupId | kInfoExit, &info) == 0 &&
            (info.mask & (kInfoExit | kInfoCgroupId)) == (kInfoExit | kInfoCgroupId) &&
            info.exit_code == (7 << 8);
  close(pidfd);
  return ok;
}

}  // namespace

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  bool pass_cred = false, pass_pidfd = false, pass_rights = false, get_info = false, info_exit = false,
       reaped_at_recv = false, pidfs = false;
  double self_cgroup = 0;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0) {
    pass_cred = SetInt(sv[0], SO_PASSCRED, 1);
    pass_pidfd = SetInt(sv[0], kSoPassPidfd, 1);
    int v = -1;
    socklen_t len = sizeof(v);
    // 83 is SO_PASSRIGHTS since 6.16 (the SO_PEERCGROUPID proposal for 83 was never merged).
    pass_rights = getsockopt(sv[0], SOL_SOCKET, kSoPassRights, &v, &len) == 0 && v == 1;
    if (pass_pidfd) {
      int pidfd = ReapedSenderPidfd(sv[0], sv[1]);
      if (pidfd >= 0) {
        PidfdInfo pi;
        reaped_at_recv = PidfdGetInfo(pidfd, kInfoCgroupId | kInfoExit, &pi) == 0 &&
                         (pi.mask & kInfoExit) != 0;
        close(pidfd);
      }
    }
    close(sv[0]);
    close(sv[1]);
  }
  int self = PidfdOpen(getpid());
  if (self >= 0) {
    struct statfs sf;
    pidfs = fstatfs(self, &sf) == 0 && static_cast<long>(sf.f_type) == kPidfsMagic;
    PidfdInfo pi;
    if (PidfdGetInfo(self, kInfoCgroupId, &pi) == 0 && (pi.mask & kInfoCgroupId) != 0) {
      get_info = true;
      self_cgroup = static_cast<double>(pi.cgroupid);
    }
    close(self);
  }
  if (get_info) info_exit = InfoAfterReap();

  r.Set("passCred", Napi::Boolean::New(env, pass_cred));
  r.Set("passPidfd", Napi::Boolean::New(env, pass_pidfd));
  r.Set("passRights", Napi::Boolean::New(env, pass_rights));
  r.Set("pidfsInodes", Napi::Boolean::New(env, pidfs));
  r.Set("pidfdGetInfo", Napi::Boolean::New(env, get_info));
  r.Set("pidfdInfoExit", Napi::Boolean::New(env, info_exit));
  r.Set("pidfdReapedAtRecv", Napi::Boolean::New(env, reaped_at_recv));
  r.Set("selfCgroupId", Napi::Number::New(env, self_cgroup));
  return r;
}

}  // namespace cs
