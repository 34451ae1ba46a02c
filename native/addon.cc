// Module entry: the only symbols JS sees. collector/addon.ts is the one file that loads this.
#include <napi.h>

#include "attribution.h"
#include "cgroup.h"
#include "errors.h"
#include "log-files.h"
#include "notify.h"
#include "probe.h"
#include "receiver.h"

namespace cs {
namespace {

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  AddonData* data = info.Env().GetInstanceData<AddonData>();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass(ctor)");
  data->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
  set("recordBytes", sizeof(Record));
  set("cgroupId", offsetof(Record, cgroup_id));
  set("processKey", offsetof(Record, process_key));
  set("recvTimeUs", offsetof(Record, recv_time_us));
  set("offset", offsetof(Record, offset));
  set("length", offsetof(Record, length));
  set("origLength", offsetof(Record, orig_length));
  set("pid", offsetof(Record, pid));
  set("uid", offsetof(Record, uid));
  set("gid", offsetof(Record, gid));
  set("exitStatus", offsetof(Record, exit_status));
  set("flags", offsetof(Record, flags));
  set("fdsClosed", offsetof(Record, fds_closed));
  set("pidfdErrno", offsetof(Record, pidfd_errno));
  set("comm", offsetof(Record, comm));
  set("nsPid", offsetof(Record, ns_pid));
  set("nsDepth", offsetof(Record, ns_depth));
  return o;
}

Napi::Object Flags(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint32_t v) { o.Set(k, Napi::Number::New(env, v)); };
  set("creds", kFlagCreds);
  set("pidfd", kFlagPidfd);
  set("exited", kFlagExited);
  set("truncated", kFlagTruncated);
  set("ctrunc", kFlagCtrunc);
  set("fds", kFlagFds);
  set("cgroup", kFlagCgroup);
  set("cgroupProc", kFlagCgroupProc);
  set("cgroupVerified", kFlagCgroupVerified);
  set("commVerified", kFlagCommVerified);
  set("commCached", kFlagCommCached);
  set("commProc", kFlagCommProc);
  set("pidfdStale", kFlagPidfdStale);
  set("timestamp", kFlagTimestamp);
  set("nsPid", kFlagNsPid);
  set("getInfoRetried", kFlagGetInfoRetried);
  set("extras", kFlagExtras);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("cgroupPathById", Napi::Function::New(env, CgroupPathById, "cgroupPathById"));
  exports.Set("openLogFile", Napi::Function::New(env, OpenLogFile, "openLogFile"));
  exports.Set("rotateLogFile", Napi::Function::New(env, RotateLogFile, "rotateLogFile"));
  exports.Set("notify", Napi::Function::New(env, Notify, "notify"));
  exports.Set("Receiver", Receiver::Init(env));
  exports.Set("layout", Layout(env));
  exports.Set("flags", Flags(env));
  return exports;
}

}  // namespace
}  // namespace cs

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return cs::Init(env, exports);
}

NODE_API_MODULE(container_syslog, InitModule)
