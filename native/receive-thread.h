// A receive thread: recvmmsg, credentials, pidfds and attribution (the kernel-heavy two thirds of
// the per-message cost) run here, in parallel with the JS pipeline on the main thread.
//
// Two sets of batch slots alternate: while JS processes one, this thread fills the other. A set
// is published when it is full, or when the socket is empty and JS is idle; while JS is busy the
// thread keeps filling, so batches grow with load. When both sets are taken the thread waits,
// the kernel queue fills and senders block: back-pressure stays where it belongs. In flight at
// any moment: the set JS is processing and the set being filled, so a SIGKILL loses at most two
// batches.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "batch-filler.h"

namespace cs {

struct ReadySet {
  uint32_t set;
  uint32_t count;
  int err;
};

class ReceiveThread {
 public:
  // notify is called (from the thread) after a set is published; it must be async-signal-cheap
  // (uv_async_send).
  ReceiveThread(BatchFiller* filler, uv_async_t* notify);
  ~ReceiveThread();
  ReceiveThread(const ReceiveThread&) = delete;
  ReceiveThread& operator=(const ReceiveThread&) = delete;

  bool Start();
  // Stops and joins the thread. Sets already published stay published (TakeReady them).
  void Stop();
  bool running() const { return thread_.joinable(); }

  // Main thread: the oldest published set, if any; it is the caller's until Release.
  bool TakeReady(ReadySet* out);
  void Release(uint32_t set);
  // The filler's counters as of the last published set (safe while the thread runs).
  void Snapshot(ReceiveCounters* rc, AttributionCounters* ac, uint32_t* pinned);

 private:
  void Run();
  void Publish(uint32_t set, uint32_t count, int err);
  void Wake();
  bool JsBusy();

  BatchFiller* filler_;
  uv_async_t* notify_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReadySet> ready_;
  std::vector<bool> free_;
  uint32_t taken_ = 0;  // sets published or being processed by JS
  bool stop_ = false;
  int wake_fd_ = -1;
  ReceiveCounters snap_rc_;
  AttributionCounters snap_ac_;
  uint32_t snap_pinned_ = 0;
};

}  // namespace cs
