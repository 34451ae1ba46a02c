#include "receiver.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "errors.h"

namespace cs {

namespace {

constexpr int kMaxBatchesPerWakeup = 16;
constexpr uint32_t kMaxBatch = 256;

uint32_t GetU32(const Napi::Object& o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

bool GetBool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

std::string GetString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

Method ParseMethod(Napi::Env env, const std::string& s) {
  if (s.empty() || s == "pidfd") return Method::kPidfd;
  if (s == "proc-verified") return Method::kProcVerified;
  if (s == "proc") return Method::kProc;
  if (s == "none") return Method::kNone;
  throw MakeError(env, "Unknown attribution method '" + s + "' (pidfd, proc-verified, proc, none)",
                  "EINVAL", EINVAL, nullptr, "");
}

}  // namespace

Napi::Function Receiver::Init(Napi::Env env) {
  return DefineClass(env, "Receiver",
                     {
                         InstanceMethod("start", &Receiver::Start),
                         InstanceMethod("pause", &Receiver::Pause),
                         InstanceMethod("drain", &Receiver::Drain),
                         InstanceMethod("shutdownRead", &Receiver::ShutdownRead),
                         InstanceMethod("close", &Receiver::Close),
                         InstanceMethod("counters", &Receiver::Counters),
                         InstanceMethod("processExtras", &Receiver::ProcessExtrasOf),
                     });
}

Receiver::Receiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Receiver>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
    throw MakeError(env, "Receiver(options, onBatch, onError): bad arguments", "EINVAL", EINVAL, nullptr, "");
  }
  Napi::Object o = info[0].As<Napi::Object>();
  FillerOptions fo;
  fo.batch_size = batch_size_ = std::clamp<uint32_t>(GetU32(o, "batchSize", kMaxBatch), 1, kMaxBatch);
  fo.slot_bytes = slot_bytes_ = std::clamp<uint32_t>(GetU32(o, "slotBytes", 65536), 64, 1u << 20);
  use_thread_ = GetBool(o, "thread", true);
  fo.sets = use_thread_ ? 2 : 1;
  fo.cache_entries = GetU32(o, "commCacheSize", 4096);
  fo.cache_ttl_ms = GetU32(o, "commTtlMs", 1000);
  fo.max_pinned = GetU32(o, "maxPinnedPidfds", 1024);
  fo.delay_us = GetU32(o, "debugDelayUs", 0);
  fo.attribution.method = ParseMethod(env, GetString(o, "method"));
  fo.attribution.pidfs_keys = GetBool(o, "pidfsKeys", true);
  fo.attribution.ns_pid = GetBool(o, "nsPid", true);
  fo.attribution.extras = GetBool(o, "extras", false);
  fo.attribution.cgroup_root = GetString(o, "cgroupRoot");

  SocketOptions so;
  so.path = GetString(o, "path");
  Napi::Value fd = o.Get("fd");
  so.adopt_fd = fd.IsNumber() ? fd.As<Napi::Number>().Int32Value() : -1;
  so.mode = GetU32(o, "mode", 0666) & 07777;
  so.rcvbuf_bytes = static_cast<int>(GetU32(o, "rcvbufBytes", 0));
  so.pass_pidfd = GetBool(o, "passPidfd", true);
  so.refuse_fds = GetBool(o, "refuseFds", true);
  sock_ = OpenLogSocket(env, so);

  size_t slots = static_cast<size_t>(fo.sets) * batch_size_;
  Napi::ArrayBuffer payload = Napi::ArrayBuffer::New(env, slots * slot_bytes_);
  Napi::ArrayBuffer index = Napi::ArrayBuffer::New(env, slots * sizeof(Record));
  payload_ref_ = Napi::Persistent(payload);
  index_ref_ = Napi::Persistent(index);
  filler_ = std::make_unique<BatchFiller>(sock_, fo, static_cast<uint8_t*>(payload.Data()), static_cast<Record*>(index.Data()));
  on_batch_ = Napi::Persistent(info[1].As<Napi::Function>());
  on_error_ = Napi::Persistent(info[2].As<Napi::Function>());

  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("payload", payload);
  self.Set("index", index);
  self.Set("fd", Napi::Number::New(env, sock_.fd));
  self.Set("path", Napi::String::New(env, sock_.path));
  self.Set("boundByUs", Napi::Boolean::New(env, sock_.bound_by_us));
  self.Set("passPidfd", Napi::Boolean::New(env, sock_.pass_pidfd));
  self.Set("refusesFds", Napi::Boolean::New(env, sock_.refuses_fds));
  self.Set("timestamps", Napi::Boolean::New(env, sock_.timestamps));
  self.Set("rcvbufBytes", Napi::Number::New(env, sock_.rcvbuf_bytes));
  self.Set("rcvbufForced", Napi::Boolean::New(env, sock_.rcvbuf_forced));
  self.Set("batchSize", Napi::Number::New(env, batch_size_));
  self.Set("slotBytes", Napi::Number::New(env, slot_bytes_));
  self.Set("threaded", Napi::Boolean::New(env, use_thread_));
}

Receiver::~Receiver() {
  if (thread_) thread_->Stop();  // no JS here: published sets are dropped with the object
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  if (async_ != nullptr) {
    async_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
  }
  if (sock_.fd >= 0) close(sock_.fd);
}

int Receiver::ReceiveOnMain() {
  int err = 0;
  uint32_t n = filler_->FillFrom(0, 0, &err);
  if (n > 0) {
    filler_->FinishBatch(n);
    return static_cast<int>(n);  // an error after some datagrams shows on the next call
  }
  return err != 0 ? -err : 0;
}

void Receiver::CallBatch(Napi::Env env, bool from_loop, uint32_t count, uint32_t base) {
  if (from_loop) {
    try {
      on_batch_.MakeCallback(Value(), {Napi::Number::New(env, count), Napi::Number::New(env, base)});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  } else {
    on_batch_.Call(Value(), {Napi::Number::New(env, count), Napi::Number::New(env, base)});
  }
}

void Receiver::ReportError(Napi::Env env, bool from_loop, int err) {
  Napi::Error e = MakeErrnoError(env, err, "recvmmsg", sock_.path, "Cannot receive from");
  if (!from_loop) {
    on_error_.Call(Value(), {e.Value()});
    return;
  }
  try {
    on_error_.MakeCallback(Value(), {e.Value()});
  } catch (const Napi::Error& ex) {
    napi_fatal_exception(env, ex.Value());
  }
}

void Receiver::DeliverReady(Napi::Env env, bool from_loop) {
  if (!thread_) return;
  ReadySet r;
  while (thread_->TakeReady(&r)) {
    if (r.count > 0) CallBatch(env, from_loop, r.count, r.set * batch_size_);
    if (r.err != 0) ReportError(env, from_loop, r.err);
    thread_->Release(r.set);
  }
}

void Receiver::OnAsync(uv_async_t* handle) {
  Receiver* self = static_cast<Receiver*>(handle->data);
  if (self == nullptr) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  self->DeliverReady(env, true);
}

void Receiver::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  Receiver* self = static_cast<Receiver*>(handle->data);
  if (self == nullptr || !self->running_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  if (status < 0) return self->ReportError(env, true, EIO);
  for (int b = 0; b < kMaxBatchesPerWakeup && self->running_; b++) {
    int n = self->ReceiveOnMain();
    if (n == 0) break;
    if (n < 0) return self->ReportError(env, true, -n);
    self->CallBatch(env, true, static_cast<uint32_t>(n), 0);
    if (static_cast<uint32_t>(n) < self->batch_size_) break;
  }
}

Napi::Value Receiver::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sock_.fd < 0) throw MakeError(env, "Receiver is closed", "EBADF", EBADF, nullptr, sock_.path);
  if (running_) return env.Undefined();
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  if (use_thread_) {
    if (async_ == nullptr) {
      async_ = new uv_async_t;
      int r = uv_async_init(loop, async_, &Receiver::OnAsync);
      if (r != 0) {
        delete async_;
        async_ = nullptr;
        throw MakeErrnoError(env, -r, "uv_async_init", sock_.path, "Cannot start the receive thread for");
      }
      async_->data = this;
      thread_ = std::make_unique<ReceiveThread>(filler_.get(), async_);
    }
    uv_ref(reinterpret_cast<uv_handle_t*>(async_));
    if (!thread_->Start()) throw MakeErrnoError(env, EMFILE, "eventfd", sock_.path, "Cannot start the receive thread for");
  } else {
    if (poll_ == nullptr) {
      poll_ = new uv_poll_t;
      int r = uv_poll_init(loop, poll_, sock_.fd);
      if (r != 0) {
        delete poll_;
        poll_ = nullptr;
        throw MakeErrnoError(env, -r, "uv_poll_init", sock_.path, "Cannot watch");
      }
      poll_->data = this;
    }
    int r = uv_poll_start(poll_, UV_READABLE, &Receiver::OnReadable);
    if (r != 0) throw MakeErrnoError(env, -r, "uv_poll_start", sock_.path, "Cannot watch");
  }
  running_ = true;
  Ref();  // the JS object must outlive the handles
  return env.Undefined();
}

void Receiver::StopReceiving(Napi::Env env, bool deliver) {
  if (!running_) return;
  running_ = false;
  if (thread_) {
    thread_->Stop();
    if (async_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    if (deliver) DeliverReady(env, false);
  }
  if (poll_ != nullptr) uv_poll_stop(poll_);
  Unref();
}

Napi::Value Receiver::Pause(const Napi::CallbackInfo& info) {
  StopReceiving(info.Env(), true);
  return info.Env().Undefined();
}

Napi::Value Receiver::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StopReceiving(env, true);  // the thread must not receive beside us
  uint32_t max_batches = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 4096;
  double total = 0;
  for (uint32_t b = 0; sock_.fd >= 0 && b < max_batches; b++) {
    int n = ReceiveOnMain();
    if (n == 0) break;
    if (n < 0) throw MakeErrnoError(env, -n, "recvmmsg", sock_.path, "Cannot receive from");
    total += n;
    CallBatch(env, false, static_cast<uint32_t>(n), 0);
  }
  return Napi::Number::New(env, total);
}

Napi::Value Receiver::ShutdownRead(const Napi::CallbackInfo& info) {
  // A socket we bound: remove the name so new senders fail fast, and shut the receive side so
  // connected senders get EPIPE instead of queueing behind a drain that has already ended.
  // An adopted socket belongs to the service manager and keeps its queue for our successor.
  if (sock_.fd >= 0 && sock_.bound_by_us) {
    if (!sock_.path.empty()) unlink(sock_.path.c_str());
    shutdown(sock_.fd, SHUT_RD);
  }
  return info.Env().Undefined();
}

void Receiver::CloseSocket() {
  if (poll_ != nullptr) {
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  thread_.reset();
  if (async_ != nullptr) {
    async_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    async_ = nullptr;
  }
  if (sock_.fd >= 0) {
    close(sock_.fd);
    sock_.fd = -1;
  }
  filler_->cache.UnpinAll();
}

Napi::Value Receiver::Close(const Napi::CallbackInfo& info) {
  StopReceiving(info.Env(), true);
  bool bound = sock_.bound_by_us && sock_.fd >= 0;
  CloseSocket();
  if (bound && !sock_.path.empty()) unlink(sock_.path.c_str());
  return info.Env().Undefined();
}

Napi::Value Receiver::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReceiveCounters rc = filler_->counters;
  AttributionCounters ac = filler_->attribution_counters;
  uint32_t pinned = filler_->cache.pinned();
  if (thread_ && thread_->running()) thread_->Snapshot(&rc, &ac, &pinned);
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  set("received", rc.received);
  set("batches", rc.batches);
  set("truncated", rc.truncated);
  set("ctrunc", rc.ctrunc);
  set("fdsClosed", rc.fds_closed);
  set("datagramsWithFds", rc.datagrams_with_fds);
  set("noCredentials", rc.no_creds);
  set("noPid", rc.no_pid);
  set("noPidfd", rc.no_pidfd);
  set("pidfdStale", rc.pidfd_stale);
  set("pidfdErrors", ac.pidfd_errors);
  set("getInfoRetries", ac.getinfo_retries);
  set("commVerified", ac.comm_verified);
  set("commCached", ac.comm_cached);
  set("commMissing", ac.comm_missing);
  set("procReads", ac.proc_reads);
  set("pinnedPidfds", pinned);
  set("recvErrors", rc.recv_errors);
  return o;
}

Napi::Value Receiver::ProcessExtrasOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return env.Null();
  ExtrasEntry e;
  if (!filler_->extras.Get(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()), &e)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("exe", Napi::String::New(env, e.exe));
  o.Set("cmdline", Napi::String::New(env, e.cmdline));
  return o;
}

}  // namespace cs
