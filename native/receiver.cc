#include "receiver.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include "errors.h"
#include "kernel.h"

namespace cs {

namespace {

constexpr int kMaxBatchesPerWakeup = 16;
constexpr uint32_t kMaxBatch = 256;
// creds (32) + pidfd (24) + timestamp (32), with room left over.
constexpr uint32_t kControlSmall = 256;
// ... plus SCM_RIGHTS at its maximum (SCM_MAX_FD = 253 fds): the kernel writes RIGHTS *before*
// SCM_PIDFD, so a tight buffer would lose the pidfd to a sender's fds (KERNEL.md §2.4).
constexpr uint32_t kControlWithFds = 256 + 1024 + 64;

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

uint64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Models a loaded collector for the race benchmark: time passes between the receive and the
// attribution, as it does when the receiver falls behind.
void BusyWaitUs(uint32_t us) {
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000 < static_cast<long>(us));
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

Receiver::Receiver(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Receiver>(info),
      cache_(info[0].IsObject() ? GetU32(info[0].As<Napi::Object>(), "commCacheSize", 4096) : 4096,
             info[0].IsObject() ? GetU32(info[0].As<Napi::Object>(), "commTtlMs", 1000) : 1000,
             info[0].IsObject() ? GetU32(info[0].As<Napi::Object>(), "maxPinnedPidfds", 1024) : 1024),
      extras_(info[0].IsObject() && GetBool(info[0].As<Napi::Object>(), "extras", false) ? 1024 : 1),
      max_pinned_(info[0].IsObject() ? GetU32(info[0].As<Napi::Object>(), "maxPinnedPidfds", 1024) : 1024) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
    throw MakeError(env, "Receiver(options, onBatch, onError): bad arguments", "EINVAL", EINVAL, nullptr, "");
  }
  Napi::Object o = info[0].As<Napi::Object>();
  batch_size_ = std::clamp<uint32_t>(GetU32(o, "batchSize", kMaxBatch), 1, kMaxBatch);
  slot_bytes_ = std::clamp<uint32_t>(GetU32(o, "slotBytes", 65536), 64, 1u << 20);
  attribution_.method = ParseMethod(env, GetString(o, "method"));
  attribution_.pidfs_keys = GetBool(o, "pidfsKeys", true);
  attribution_.ns_pid = GetBool(o, "nsPid", true);
  attribution_.extras = GetBool(o, "extras", false);
  delay_us_ = GetU32(o, "debugDelayUs", 0);
  attribution_.cgroup_root = GetString(o, "cgroupRoot");

  SocketOptions so;
  so.path = GetString(o, "path");
  Napi::Value fd = o.Get("fd");
  so.adopt_fd = fd.IsNumber() ? fd.As<Napi::Number>().Int32Value() : -1;
  so.mode = GetU32(o, "mode", 0666) & 07777;
  so.rcvbuf_bytes = static_cast<int>(GetU32(o, "rcvbufBytes", 0));
  so.pass_pidfd = GetBool(o, "passPidfd", true);
  so.refuse_fds = GetBool(o, "refuseFds", true);
  sock_ = OpenLogSocket(env, so);

  control_bytes_ = sock_.refuses_fds ? kControlSmall : kControlWithFds;
  msgs_.resize(batch_size_);
  iovs_.resize(batch_size_);
  control_.resize(static_cast<size_t>(batch_size_) * control_bytes_);
  Napi::ArrayBuffer payload = Napi::ArrayBuffer::New(env, static_cast<size_t>(batch_size_) * slot_bytes_);
  Napi::ArrayBuffer index = Napi::ArrayBuffer::New(env, static_cast<size_t>(batch_size_) * sizeof(Record));
  payload_ = static_cast<uint8_t*>(payload.Data());
  records_ = static_cast<Record*>(index.Data());
  payload_ref_ = Napi::Persistent(payload);
  index_ref_ = Napi::Persistent(index);
  for (uint32_t i = 0; i < batch_size_; i++) {
    iovs_[i].iov_base = payload_ + static_cast<size_t>(i) * slot_bytes_;
    iovs_[i].iov_len = slot_bytes_;
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_name = nullptr;
    h.msg_namelen = 0;
    h.msg_iov = &iovs_[i];
    h.msg_iovlen = 1;
    h.msg_control = control_.data() + static_cast<size_t>(i) * control_bytes_;
  }
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
}

Receiver::~Receiver() {
  StopPolling();
  if (sock_.fd >= 0) close(sock_.fd);
}

int Receiver::ReceiveBatch() {
  for (uint32_t i = 0; i < batch_size_; i++) {
    msgs_[i].msg_hdr.msg_controllen = control_bytes_;
    msgs_[i].msg_hdr.msg_flags = 0;
  }
  int n;
  do {
    n = recvmmsg(sock_.fd, msgs_.data(), batch_size_, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  uint64_t now_ms = MonotonicMs();
  for (int i = 0; i < n; i++) ProcessMessage(i, now_ms);
  // Release pinned pidfds of reaped senders; harder when the pin budget is spent.
  cache_.Sweep(cache_.pinned() >= max_pinned_ ? 256 : 16);
  counters_.received += static_cast<uint64_t>(n);
  counters_.batches++;
  return n;
}

void Receiver::ProcessMessage(int i, uint64_t now_ms) {
  Record* rec = &records_[i];
  std::memset(rec, 0, sizeof(*rec));
  rec->pid = -1;
  rec->uid = 0xFFFFFFFFu;
  rec->gid = 0xFFFFFFFFu;
  rec->ns_pid = -1;
  const msghdr& h = msgs_[i].msg_hdr;
  uint32_t len = msgs_[i].msg_len;  // the datagram's real length (MSG_TRUNC in flags)
  rec->offset = static_cast<uint32_t>(i) * slot_bytes_;
  rec->orig_length = len;
  rec->length = std::min(len, slot_bytes_);
  if (len > slot_bytes_ || (h.msg_flags & MSG_TRUNC) != 0) {
    rec->flags |= kFlagTruncated;
    counters_.truncated++;
  }
  if ((h.msg_flags & MSG_CTRUNC) != 0) {
    rec->flags |= kFlagCtrunc;
    counters_.ctrunc++;
  }
  int pidfd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    size_t data_len = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_type == SCM_CREDENTIALS && data_len >= sizeof(ucred)) {
      ucred cr;
      std::memcpy(&cr, CMSG_DATA(c), sizeof(cr));
      rec->pid = cr.pid;
      rec->uid = cr.uid;
      rec->gid = cr.gid;
      rec->flags |= kFlagCreds;
    } else if (c->cmsg_type == kScmPidfd && data_len >= sizeof(int)) {
      int v;
      std::memcpy(&v, CMSG_DATA(c), sizeof(v));
      if (v >= 0) {
        if (pidfd >= 0) close(pidfd);
        pidfd = v;
        rec->flags |= kFlagPidfd;
      } else {  // < 6.17: the sender was reaped before recvmsg, the kernel passes -errno
        rec->flags |= kFlagPidfdStale;
        rec->pidfd_errno = -v;
        counters_.pidfd_stale++;
      }
    } else if (c->cmsg_type == SCM_RIGHTS) {
      size_t nfds = data_len / sizeof(int);
      for (size_t k = 0; k < nfds; k++) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(fd));
        if (fd >= 0) close(fd);
      }
      rec->fds_closed += static_cast<uint32_t>(nfds);
      rec->flags |= kFlagFds;
    } else if (c->cmsg_type == SCM_TIMESTAMPNS && data_len >= sizeof(timespec)) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      rec->recv_time_us = static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec / 1000);
      rec->flags |= kFlagTimestamp;
    }
  }
  if ((rec->flags & kFlagTimestamp) == 0) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rec->recv_time_us = static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec / 1000);
  }
  if ((rec->flags & kFlagCreds) == 0) {
    counters_.no_creds++;
  } else if (rec->pid == 0) {
    // Queued before SO_PASSCRED was on, or sent from outside our pid namespace: no usable pid.
    counters_.no_pid++;
  }
  if (rec->fds_closed != 0) {
    counters_.fds_closed += rec->fds_closed;
    counters_.datagrams_with_fds++;
  }
  if (sock_.pass_pidfd && pidfd < 0 && (rec->flags & kFlagPidfdStale) == 0) counters_.no_pidfd++;
  if (delay_us_ > 0) BusyWaitUs(delay_us_);
  bool kept = Attribute(attribution_, cache_, extras_, attribution_counters_, pidfd, rec, now_ms);
  if (pidfd >= 0 && !kept) close(pidfd);
}

void Receiver::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  Receiver* self = static_cast<Receiver*>(handle->data);
  if (self == nullptr || !self->polling_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  int err = status < 0 ? EIO : 0;
  for (int b = 0; err == 0 && b < kMaxBatchesPerWakeup && self->polling_; b++) {
    int n = self->ReceiveBatch();
    if (n == 0) break;
    if (n < 0) {
      err = -n;
      break;
    }
    try {
      self->on_batch_.MakeCallback(self->Value(), {Napi::Number::New(env, n)});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
      return;
    }
    if (static_cast<uint32_t>(n) < self->batch_size_) break;
  }
  if (err != 0) {
    self->counters_.recv_errors++;
    try {
      Napi::Error e = MakeErrnoError(env, err, "recvmmsg", self->sock_.path, "Cannot receive from");
      self->on_error_.MakeCallback(self->Value(), {e.Value()});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }
}

Napi::Value Receiver::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sock_.fd < 0) throw MakeError(env, "Receiver is closed", "EBADF", EBADF, nullptr, sock_.path);
  if (polling_) return env.Undefined();
  if (poll_ == nullptr) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
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
  polling_ = true;
  Ref();  // the JS object must outlive the poll handle
  return env.Undefined();
}

void Receiver::StopPolling() {
  if (poll_ == nullptr) return;
  if (polling_) {
    uv_poll_stop(poll_);
    polling_ = false;
    Unref();
  }
}

Napi::Value Receiver::Pause(const Napi::CallbackInfo& info) {
  StopPolling();
  return info.Env().Undefined();
}

Napi::Value Receiver::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t max_batches = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 4096;
  double total = 0;
  for (uint32_t b = 0; sock_.fd >= 0 && b < max_batches; b++) {
    int n = ReceiveBatch();
    if (n == 0) break;
    if (n < 0) {
      counters_.recv_errors++;
      throw MakeErrnoError(env, -n, "recvmmsg", sock_.path, "Cannot receive from");
    }
    total += n;
    on_batch_.Call(Value(), {Napi::Number::New(env, n)});
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
  StopPolling();
  if (poll_ != nullptr) {
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (sock_.fd >= 0) {
    close(sock_.fd);
    sock_.fd = -1;
  }
  cache_.UnpinAll();
}

Napi::Value Receiver::Close(const Napi::CallbackInfo& info) {
  bool bound = sock_.bound_by_us && sock_.fd >= 0;
  CloseSocket();
  if (bound && !sock_.path.empty()) unlink(sock_.path.c_str());
  return info.Env().Undefined();
}

Napi::Value Receiver::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  set("received", counters_.received);
  set("batches", counters_.batches);
  set("truncated", counters_.truncated);
  set("ctrunc", counters_.ctrunc);
  set("fdsClosed", counters_.fds_closed);
  set("datagramsWithFds", counters_.datagrams_with_fds);
  set("noCredentials", counters_.no_creds);
  set("noPid", counters_.no_pid);
  set("noPidfd", counters_.no_pidfd);
  set("pidfdStale", counters_.pidfd_stale);
  set("pidfdErrors", attribution_counters_.pidfd_errors);
  set("getInfoRetries", attribution_counters_.getinfo_retries);
  set("commVerified", attribution_counters_.comm_verified);
  set("commCached", attribution_counters_.comm_cached);
  set("commMissing", attribution_counters_.comm_missing);
  set("procReads", attribution_counters_.proc_reads);
  set("pinnedPidfds", cache_.pinned());
  set("recvErrors", counters_.recv_errors);
  return o;
}

Napi::Value Receiver::ProcessExtrasOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) return env.Null();
  const ExtrasEntry* e = extras_.Get(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  if (e == nullptr) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("exe", Napi::String::New(env, e->exe));
  o.Set("cmdline", Napi::String::New(env, e->cmdline));
  return o;
}

}  // namespace cs
