// The receiver's JS surface: one call into JS per batch over buffers allocated once (payload
// slots + a fixed-size record per datagram, see attribution.h).
//
// JS contract: onBatch(count, base) must consume records [base, base + count) synchronously; the
// set is reused once the call returns. Two ways to drive it:
// - a receive thread (default): recvmmsg and attribution on a thread of their own, batches handed
//   to the main thread through a uv_async handle (receive-thread.h);
// - a libuv poll handle on the main thread: at most kMaxBatchesPerWakeup batches per readable
//   event, then back to the event loop.
// Either way back-pressure stays in the kernel queue, and drain() runs on the main thread.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "batch-filler.h"
#include "receive-thread.h"
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
  static void OnAsync(uv_async_t* handle);
  // Fills set 0 on the main thread; the count, 0 when the queue is empty, or -errno.
  int ReceiveOnMain();
  // Hands every published set to JS: from the event loop (MakeCallback) or from a JS call (Call).
  void DeliverReady(Napi::Env env, bool from_loop);
  void CallBatch(Napi::Env env, bool from_loop, uint32_t count, uint32_t base);
  void ReportError(Napi::Env env, bool from_loop, int err);
  // Stops the thread or the poll handle; published sets are delivered (with Call) when deliver.
  void StopReceiving(Napi::Env env, bool deliver);
  void CloseSocket();

  SocketState sock_;
  uint32_t batch_size_;
  uint32_t slot_bytes_;
  bool use_thread_;
  std::unique_ptr<BatchFiller> filler_;
  std::unique_ptr<ReceiveThread> thread_;
  Napi::Reference<Napi::ArrayBuffer> payload_ref_;
  Napi::Reference<Napi::ArrayBuffer> index_ref_;
  Napi::FunctionReference on_batch_;
  Napi::FunctionReference on_error_;

  uv_poll_t* poll_ = nullptr;
  uv_async_t* async_ = nullptr;
  bool running_ = false;
};

}  // namespace cs
