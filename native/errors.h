// One error class for everything the addon throws: JS registers it once (setErrorClass) and every
// failure arrives as an instance carrying .code ('EACCES', 'EADDRINUSE', ...), .errno, .syscall and,
// where there is one, .path. EAGAIN and EINTR never reach JS: the receive loop retries or waits.
#pragma once

#include <napi.h>

#include <string>

namespace cs {

struct AddonData {
  Napi::FunctionReference errorClass;
  Napi::FunctionReference receiverClass;
};

const char* ErrnoName(int err);
// code is usually ErrnoName(err); a non-errno condition passes its own code and err = 0.
Napi::Error MakeError(Napi::Env env, const std::string& message, const char* code, int err,
                      const char* syscall, const std::string& path);
Napi::Error MakeErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path,
                           const std::string& what);

}  // namespace cs
