// Receiving into batches: recvmmsg into preallocated slots, then, per datagram, its credentials,
// pidfd, fds, timestamp and attribution into the shared record. Used by one thread at a time:
// the receive thread while it runs, the main thread (drain, or the poll-driven mode) otherwise.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "attribution.h"
#include "process-extras.h"
#include "sender-cache.h"
#include "socket.h"

namespace cs {

struct ReceiveCounters {
  uint64_t received = 0, batches = 0, truncated = 0, ctrunc = 0, fds_closed = 0, datagrams_with_fds = 0,
           no_creds = 0, no_pid = 0, no_pidfd = 0, pidfd_stale = 0, recv_errors = 0;
};

struct FillerOptions {
  uint32_t sets = 1;         // batches that can be in use at once (2 with a receive thread)
  uint32_t batch_size = 256; // slots per set
  uint32_t slot_bytes = 65536;
  uint32_t cache_entries = 4096;
  uint32_t cache_ttl_ms = 1000;
  uint32_t max_pinned = 1024;
  uint32_t delay_us = 0;     // benchmarks only: busy-wait per datagram before attribution
  AttributionConfig attribution;
};

class BatchFiller {
 public:
  // payload: sets × batch × slot bytes; records: sets × batch records (both owned by JS buffers).
  BatchFiller(const SocketState& sock, const FillerOptions& options, uint8_t* payload, Record* records);

  // Receives into slots [filled, batch) of `set` until it is full or the queue is empty; returns
  // the new fill. Errors other than EAGAIN/EINTR end the fill and are left in *err.
  uint32_t FillFrom(uint32_t set, uint32_t filled, int* err);
  // Bookkeeping once a batch is complete (counters, releasing pinned pidfds of reaped senders).
  void FinishBatch(uint32_t count);

  uint32_t batch_size() const { return opt_.batch_size; }
  uint32_t sets() const { return opt_.sets; }
  int fd() const { return sock_.fd; }

  ReceiveCounters counters;
  AttributionCounters attribution_counters;
  SenderCache cache;
  ProcessExtras extras;

 private:
  void ProcessMessage(uint32_t slot, uint64_t now_ms);
  // Closes the pidfds this fill did not keep: one close_range per run of consecutive numbers.
  void CloseDeferred();


  SocketState sock_;
  FillerOptions opt_;
  uint32_t control_bytes_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<char> control_;
  std::vector<int> deferred_close_;  // pidfds to close once the fill ends, in arrival order
  bool close_range_ok_ = true;
  uint8_t* payload_;
  Record* records_;
};

}  // namespace cs
