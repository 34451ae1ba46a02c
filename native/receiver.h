// The receive loop: recvmmsg batches off the log socket, one call into JS per batch over buffers
// allocated once (payload slots + a fixed-size record per datagram, see attribution.h).
//
// JS contract: onBatch(count) must consume records [0, count) synchronously; the next batch
// overwrites them. The loop runs on the Node main thread from a libuv poll handle, at most
// kMaxBatchesPerWakeup batches before it yields back to the event loop, so timers and file writes
// keep going under a flood and back-pressure stays in the kernel queue.
#pragma once

#include <napi.h>
#include <sys/socket.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "attribution.h"
#include "sender-cache.h"
#include "socket.h"

namespace cs {

class Receiver : public Napi::ObjectWrap<Receiver> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Receiver(const Napi::CallbackInfo& info);
  ~Receiver() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value ShutdownRead(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value ProcessExtrasOf(const Napi::CallbackInfo& info);

  static void OnReadable(uv_poll_t* handle, int status, int events);
  // Receives and processes one batch; returns the count, 0 when the queue is empty, -errno on error.
  int ReceiveBatch();
  void ProcessMessage(int i, uint64_t now_ms);
  void StopPolling();
  void CloseSocket();

  SocketState sock_;
  AttributionConfig attribution_;
  AttributionCounters attribution_counters_;
  SenderCache cache_;
  ProcessExtras extras_;
  uint32_t max_pinned_;

  uint32_t delay_us_ = 0;  // benchmarks only: busy-wait per message before attribution
  uint32_t batch_size_;
  uint32_t slot_bytes_;
  uint32_t control_bytes_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<char> control_;
  uint8_t* payload_ = nullptr;  // owned by the JS ArrayBuffer below
  Record* records_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> payload_ref_;
  Napi::Reference<Napi::ArrayBuffer> index_ref_;
  Napi::FunctionReference on_batch_;
  Napi::FunctionReference on_error_;

  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  bool in_callback_ = false;

  struct {
    uint64_t received, batches, truncated, ctrunc, fds_closed, datagrams_with_fds, no_creds, no_pid,
        no_pidfd, pidfd_stale, recv_errors;
  } counters_{};
};

}  // namespace cs
