// The log socket: bound at a path, or adopted from systemd socket activation, with every option
// that must be on before the first sender sends (KERNEL.md §2.1: a datagram queued before
// SO_PASSCRED/SO_PASSPIDFD arrives without credentials).
#pragma once

#include <napi.h>

#include <string>

namespace cs {

struct SocketOptions {
  std::string path;     // bind here, unless adopt_fd >= 0
  int adopt_fd = -1;    // a socket passed by the service manager; never unlinked by us
  uint32_t mode = 0666;
  int rcvbuf_bytes = 0;  // 0 = leave the kernel default
  bool pass_pidfd = true;
  bool refuse_fds = true;  // SO_PASSRIGHTS=0 where the kernel has it
};

struct SocketState {
  int fd = -1;
  bool bound_by_us = false;
  std::string path;          // the bound path (for adopted sockets: from getsockname)
  bool pass_pidfd = false;   // SO_PASSPIDFD is on
  bool refuses_fds = false;  // SO_PASSRIGHTS is 0: senders get EPERM for SCM_RIGHTS
  bool timestamps = false;   // SO_TIMESTAMPNS is on
  int rcvbuf_bytes = 0;      // what the kernel reports after our request
  bool rcvbuf_forced = false;
};

// Throws the addon's error class on failure; never leaves a half-set-up fd behind.
SocketState OpenLogSocket(Napi::Env env, const SocketOptions& options);

}  // namespace cs
