// Non-Linux builds: the module loads and says plainly why it cannot run, instead of crashing.
#include <napi.h>

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("unsupported", Napi::String::New(env,
      "container-syslog needs Linux: it reads sender credentials (SCM_CREDENTIALS, SCM_PIDFD) "
      "from AF_UNIX datagram sockets, which this platform does not have"));
  return exports;
}
}  // namespace

NODE_API_MODULE(container_syslog, Init)
