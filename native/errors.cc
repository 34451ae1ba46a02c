#include "errors.h"

#include <cstring>

namespace cs {

const char* ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "EUNKNOWN";
}

Napi::Error MakeError(Napi::Env env, const std::string& message, const char* code, int err,
                      const char* syscall, const std::string& path) {
  AddonData* data = env.GetInstanceData<AddonData>();
  Napi::Object obj;
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    obj = data->errorClass.New({Napi::String::New(env, message)});
  } else {
    obj = Napi::Error::New(env, message).Value();
  }
  obj.Set("code", Napi::String::New(env, code));
  if (err != 0) obj.Set("errno", Napi::Number::New(env, -err));
  if (syscall != nullptr) obj.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) obj.Set("path", Napi::String::New(env, path));
  return Napi::Error(env, obj);
}

Napi::Error MakeErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path,
                           const std::string& what) {
  std::string message = what;
  if (!path.empty()) message += " '" + path + "'";
  message += ": ";
  message += ErrnoName(err);
  message += " (";
  message += std::strerror(err);
  message += ")";
  return MakeError(env, message, ErrnoName(err), err, syscall, path);
}

}  // namespace cs
