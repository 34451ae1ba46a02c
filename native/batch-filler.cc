#include "batch-filler.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel.h"

namespace cs {

namespace {

// creds (32) + pidfd (24) + timestamp (32), with room left over.
constexpr uint32_t kControlSmall = 256;
// ... plus SCM_RIGHTS at its maximum (SCM_MAX_FD = 253 fds): the kernel writes RIGHTS *before*
// SCM_PIDFD, so a tight buffer would lose the pidfd to a sender's fds (KERNEL.md §2.4).
constexpr uint32_t kControlWithFds = 256 + 1024 + 64;

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

}  // namespace

BatchFiller::BatchFiller(const SocketState& sock, const FillerOptions& options, uint8_t* payload, Record* records)
    : cache(options.cache_entries, options.cache_ttl_ms, options.max_pinned),
      extras(options.attribution.extras ? 1024 : 1),
      sock_(sock),
      opt_(options),
      control_bytes_(sock.refuses_fds ? kControlSmall : kControlWithFds),
      payload_(payload),
      records_(records) {
  size_t slots = static_cast<size_t>(opt_.sets) * opt_.batch_size;
  msgs_.resize(slots);
  iovs_.resize(slots);
  control_.resize(slots * control_bytes_);
  deferred_close_.reserve(opt_.batch_size);
  for (size_t i = 0; i < slots; i++) {
    iovs_[i].iov_base = payload_ + i * opt_.slot_bytes;
    iovs_[i].iov_len = opt_.slot_bytes;
    msghdr& h = msgs_[i].msg_hdr;
    h.msg_name = nullptr;
    h.msg_namelen = 0;
    h.msg_iov = &iovs_[i];
    h.msg_iovlen = 1;
    h.msg_control = control_.data() + i * control_bytes_;
  }
}

// Attribution runs after each recvmmsg, which gives blocked senders time to refill the queue, so
// under load a batch grows towards batch_size even when the kernel queue holds only
// net.unix.max_dgram_qlen (often 10) datagrams: JS, and the file writes after each batch, run
// once per batch rather than once per queue-full.
uint32_t BatchFiller::FillFrom(uint32_t set, uint32_t filled, int* err) {
  const uint32_t base = set * opt_.batch_size;
  while (filled < opt_.batch_size) {
    mmsghdr* m = msgs_.data() + base + filled;
    uint32_t room = opt_.batch_size - filled;
    for (uint32_t i = 0; i < room; i++) {
      m[i].msg_hdr.msg_controllen = control_bytes_;
      m[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(sock_.fd, m, room, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        *err = errno;
        counters.recv_errors++;
      }
      break;
    }
    uint64_t now_ms = MonotonicMs();
    for (int i = 0; i < n; i++) ProcessMessage(base + filled + static_cast<uint32_t>(i), now_ms);
    filled += static_cast<uint32_t>(n);
  }
  CloseDeferred();
  return filled;
}

// The kernel installs each received pidfd at the lowest free number, and nothing of ours is closed
// while a fill runs, so one fill's pidfds are mostly consecutive: a close_range per run replaces a
// close per datagram (perf: close was ~7% of the receiver's time, half of it syscall overhead).
// Safe against other threads: every number in a run is an fd this thread holds, so none can be
// anyone else's.
void BatchFiller::CloseDeferred() {
  size_t n = deferred_close_.size();
  size_t i = 0;
  while (i < n) {
    int first = deferred_close_[i];
    int last = first;
    size_t j = i + 1;
    while (j < n && deferred_close_[j] == last + 1) last = deferred_close_[j++];
    if (last == first || !close_range_ok_ ||
        syscall(SYS_close_range, static_cast<unsigned>(first), static_cast<unsigned>(last), 0u) != 0) {
      if (last != first) close_range_ok_ = false;  // < 5.9 (ENOSYS), or a seccomp filter refused it
      for (size_t k = i; k < j; k++) close(deferred_close_[k]);
    }
    i = j;
  }
  deferred_close_.clear();
}

void BatchFiller::FinishBatch(uint32_t count) {
  // Release pinned pidfds of reaped senders; harder when the pin budget is spent.
  cache.Sweep(cache.pinned() >= opt_.max_pinned ? 256 : 16);
  counters.received += count;
  counters.batches++;
}

void BatchFiller::ProcessMessage(uint32_t i, uint64_t now_ms) {
  Record* rec = &records_[i];
  std::memset(rec, 0, sizeof(*rec));
  rec->pid = -1;
  rec->uid = 0xFFFFFFFFu;
  rec->gid = 0xFFFFFFFFu;
  rec->ns_pid = -1;
  const msghdr& h = msgs_[i].msg_hdr;
  uint32_t len = msgs_[i].msg_len;  // the datagram's real length (MSG_TRUNC in flags)
  rec->offset = i * opt_.slot_bytes;
  rec->orig_length = len;
  rec->length = std::min(len, opt_.slot_bytes);
  if (len > opt_.slot_bytes || (h.msg_flags & MSG_TRUNC) != 0) {
    rec->flags |= kFlagTruncated;
    counters.truncated++;
  }
  if ((h.msg_flags & MSG_CTRUNC) != 0) {
    rec->flags |= kFlagCtrunc;
    counters.ctrunc++;
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
        counters.pidfd_stale++;
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
    counters.no_creds++;
  } else if (rec->pid == 0) {
    // Queued before SO_PASSCRED was on, or sent from outside our pid namespace: no usable pid.
    counters.no_pid++;
  }
  if (rec->fds_closed != 0) {
    counters.fds_closed += rec->fds_closed;
    counters.datagrams_with_fds++;
  }
  if (sock_.pass_pidfd && pidfd < 0 && (rec->flags & kFlagPidfdStale) == 0) counters.no_pidfd++;
  if (opt_.delay_us > 0) BusyWaitUs(opt_.delay_us);
  bool kept = Attribute(opt_.attribution, cache, extras, attribution_counters, pidfd, rec, now_ms);
  if (pidfd >= 0 && !kept) deferred_close_.push_back(pidfd);
}

}  // namespace cs
