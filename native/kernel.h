// Kernel interfaces the receiver needs, defined here because the build host's UAPI headers may
// predate them (Debian 12 ships 6.1 headers). Values and layouts: ../shared/reference/KERNEL.md §1.
// asm-generic numbering (x86_64, arm64, riscv, ...); alpha, mips, parisc and sparc differ and are
// refused at compile time rather than silently misnumbered.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__alpha__) || defined(__mips__) || defined(__hppa__) || defined(__sparc__)
#error "container-syslog: socket option numbers differ on this architecture; not supported"
#endif

namespace cs {

constexpr int kSoPassPidfd = 76;   // 6.5
constexpr int kScmPidfd = 4;       // 6.5
constexpr int kSoPassRights = 83;  // 6.16
constexpr unsigned long kPidfdGetInfo = 0xC040FF0BUL;  // _IOWR(0xFF, 11, struct pidfd_info), 6.13
constexpr long kPidfsMagic = 0x50494446;               // "PIDF": pidfd inodes live on pidfs (6.9)

constexpr uint64_t kInfoPid = 1u << 0;
constexpr uint64_t kInfoCreds = 1u << 1;
constexpr uint64_t kInfoCgroupId = 1u << 2;
constexpr uint64_t kInfoExit = 1u << 3;

// struct pidfd_info, VER0 (64 bytes): every field the collector needs is inside it.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid;
  uint32_t ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64, "struct pidfd_info VER0 is 64 bytes");

int PidfdOpen(int pid);
// PIDFD_GET_INFO; returns 0 or -errno.
int PidfdGetInfo(int pidfd, uint64_t want, PidfdInfo* out);
// POLLHUP on a pidfd means the process has been reaped (a zombie shows POLLIN only).
bool PidfdReaped(int pidfd);
// Reads a small /proc file into buf (NUL-terminated, trailing newline stripped).
// Returns the length, or -errno.
int ReadSmallFile(const char* path, char* buf, size_t size);

}  // namespace cs
