// Opening and rotating log files under a base directory without following any symlink: every
// path component is opened relative to its parent's fd with O_NOFOLLOW, so a symlink planted
// anywhere below the base (or a container named '..') cannot send a write elsewhere. Segments are
// validated again here: the TS side sanitises them, this is the backstop.
#include "log-files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "errors.h"

namespace cs {

namespace {

bool SafeSegment(const std::string& s) {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  return s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}

std::vector<std::string> Segments(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "segments must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    std::string s = e.IsString() ? e.As<Napi::String>().Utf8Value() : std::string();
    if (!SafeSegment(s)) {
      throw MakeError(env, "Refusing unsafe path segment '" + s + "'", "EINVAL", EINVAL, "openat", s);
    }
    out.push_back(s);
  }
  if (out.empty()) throw MakeError(env, "Empty log file path", "EINVAL", EINVAL, "openat", "");
  return out;
}

std::string Join(const std::string& base, const std::vector<std::string>& segs, size_t n) {
  std::string p = base;
  for (size_t i = 0; i < n; i++) p += "/" + segs[i];
  return p;
}

// Opens (creating with dir_mode) every directory of segs[0..n-1] below base; returns its fd.
int OpenParent(Napi::Env env, const std::string& base, const std::vector<std::string>& segs, uint32_t dir_mode) {
  int dfd = open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw MakeErrnoError(env, errno, "open", base, "Cannot open log directory");
  for (size_t i = 0; i + 1 < segs.size(); i++) {
    if (mkdirat(dfd, segs[i].c_str(), dir_mode) == 0) {
      // mkdir applies the umask; the operator's mode is what they asked for.
      int nfd = openat(dfd, segs[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (nfd >= 0) {
        fchmod(nfd, dir_mode);
        close(dfd);
        dfd = nfd;
        continue;
      }
    } else if (errno != EEXIST) {
      int err = errno;
      close(dfd);
      throw MakeErrnoError(env, err, "mkdirat", Join(base, segs, i + 1), "Cannot create log directory");
    }
    int nfd = openat(dfd, segs[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(dfd);
    if (nfd < 0) {
      // ELOOP or ENOTDIR: a symlink or a file where a directory belongs.
      throw MakeErrnoError(env, err, "openat", Join(base, segs, i + 1),
                           err == ELOOP || err == ENOTDIR ? "Refusing to follow a symlink or non-directory at"
                                                          : "Cannot open log directory");
    }
    dfd = nfd;
  }
  return dfd;
}

}  // namespace

// openLogFile(base, segments, fileMode, dirMode) → fd opened O_WRONLY|O_APPEND|O_CREAT.
Napi::Value OpenLogFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string base = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> segs = Segments(env, info[1]);
  uint32_t file_mode = info[2].As<Napi::Number>().Uint32Value() & 07777;
  uint32_t dir_mode = info[3].As<Napi::Number>().Uint32Value() & 07777;
  int dfd = OpenParent(env, base, segs, dir_mode);
  int fd = openat(dfd, segs.back().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, file_mode);
  int err = errno;
  close(dfd);
  if (fd < 0) {
    throw MakeErrnoError(env, err, "openat", Join(base, segs, segs.size()),
                         err == ELOOP ? "Refusing to follow a symlink at" : "Cannot open log file");
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw MakeError(env, "Log file '" + Join(base, segs, segs.size()) + "' is not a regular file", "EINVAL", EINVAL,
                    "openat", Join(base, segs, segs.size()));
  }
  if ((st.st_mode & 07777) != file_mode) fchmod(fd, file_mode);
  return Napi::Number::New(env, fd);
}

// rotateLogFile(base, segments, keep): name → name.1 → … → name.<keep>; the oldest is removed.
Napi::Value RotateLogFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string base = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> segs = Segments(env, info[1]);
  uint32_t keep = info[2].As<Napi::Number>().Uint32Value();
  int dfd = OpenParent(env, base, segs, 0750);
  const std::string& name = segs.back();
  if (keep == 0) {
    unlinkat(dfd, name.c_str(), 0);
  } else {
    unlinkat(dfd, (name + "." + std::to_string(keep)).c_str(), 0);
    for (uint32_t i = keep; i > 1; i--) {
      renameat(dfd, (name + "." + std::to_string(i - 1)).c_str(), dfd, (name + "." + std::to_string(i)).c_str());
    }
    if (renameat(dfd, name.c_str(), dfd, (name + ".1").c_str()) != 0 && errno != ENOENT) {
      int err = errno;
      close(dfd);
      throw MakeErrnoError(env, err, "renameat", Join(base, segs, segs.size()), "Cannot rotate log file");
    }
  }
  close(dfd);
  return env.Undefined();
}

}  // namespace cs
