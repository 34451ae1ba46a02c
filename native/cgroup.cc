// cgroup id → path without walking the tree: the id is the kernfs inode number, and a file
// handle of type FILEID_KERNFS (0xfe) carrying it opens the directory while it exists
// (KERNEL.md §4). Needs CAP_DAC_READ_SEARCH; after removal the kernel answers ESTALE.
#include "cgroup.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "errors.h"

namespace cs {

namespace {
constexpr int kFileidKernfs = 0xfe;

struct KernfsHandle {
  unsigned int handle_bytes;
  int handle_type;
  uint64_t id;
};
}  // namespace

// cgroupPathById(mountPath, id): the absolute path of the cgroup directory, or the errno name
// ('ESTALE' when the cgroup is gone, 'EPERM' without CAP_DAC_READ_SEARCH).
Napi::Value CgroupPathById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "cgroupPathById(mountPath: string, id: number)");
  }
  std::string mount = info[0].As<Napi::String>().Utf8Value();
  uint64_t id = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
  int mfd = open(mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0) return Napi::String::New(env, ErrnoName(errno));
  KernfsHandle h{sizeof(uint64_t), kFileidKernfs, id};
  int fd = open_by_handle_at(mfd, reinterpret_cast<file_handle*>(&h), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err = errno;
  close(mfd);
  if (fd < 0) return Napi::String::New(env, ErrnoName(err));
  char link[64];
  char target[4096];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  err = errno;
  close(fd);
  if (n < 0) return Napi::String::New(env, ErrnoName(err));
  return Napi::String::New(env, target, static_cast<size_t>(n));
}

}  // namespace cs
