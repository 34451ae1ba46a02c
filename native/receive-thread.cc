#include "receive-thread.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace cs {

ReceiveThread::ReceiveThread(BatchFiller* filler, uv_async_t* notify)
    : filler_(filler), notify_(notify), free_(filler->sets(), true) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

ReceiveThread::~ReceiveThread() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

bool ReceiveThread::Start() {
  if (thread_.joinable()) return true;
  if (wake_fd_ < 0) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    std::fill(free_.begin(), free_.end(), true);
    taken_ = 0;
    ready_.clear();
  }
  thread_ = std::thread(&ReceiveThread::Run, this);
  return true;
}

void ReceiveThread::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  Wake();
  thread_.join();
}

void ReceiveThread::Wake() {
  uint64_t one = 1;
  ssize_t r = write(wake_fd_, &one, sizeof(one));
  (void)r;  // EAGAIN: a wake-up is already pending
}

bool ReceiveThread::JsBusy() {
  std::lock_guard<std::mutex> lock(mu_);
  return taken_ > 0;
}

bool ReceiveThread::TakeReady(ReadySet* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ready_.empty()) return false;
  *out = ready_.front();
  ready_.pop_front();
  return true;
}

void ReceiveThread::Release(uint32_t set) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_[set] = true;
    if (taken_ > 0) taken_--;
  }
  cv_.notify_one();
  Wake();  // a partly filled set may now be published at once
}

void ReceiveThread::Snapshot(ReceiveCounters* rc, AttributionCounters* ac, uint32_t* pinned) {
  std::lock_guard<std::mutex> lock(mu_);
  *rc = snap_rc_;
  *ac = snap_ac_;
  *pinned = snap_pinned_;
}

void ReceiveThread::Publish(uint32_t set, uint32_t count, int err) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back({set, count, err});
    taken_++;
    snap_rc_ = filler_->counters;
    snap_ac_ = filler_->attribution_counters;
    snap_pinned_ = filler_->cache.pinned();
  }
  uv_async_send(notify_);
}

void ReceiveThread::Run() {
  const uint32_t batch = filler_->batch_size();
  for (;;) {
    uint32_t set = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        if (stop_) return true;
        for (bool f : free_) {
          if (f) return true;
        }
        return false;
      });
      if (stop_) return;
      while (!free_[set]) set++;
      free_[set] = false;
    }
    uint32_t filled = 0;
    int err = 0;
    bool stopping = false;
    for (;;) {
      filled = filler_->FillFrom(set, filled, &err);
      if (err != 0 || filled == batch) break;
      if (filled > 0 && !JsBusy()) break;  // the queue is empty and JS is waiting: publish
      pollfd p[2] = {{filler_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 && errno != EINTR) {
        err = errno;
        break;
      }
      if ((p[1].revents & POLLIN) != 0) {
        uint64_t v;
        ssize_t r = read(wake_fd_, &v, sizeof(v));
        (void)r;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping = stop_;
      }
      if (stopping) break;
    }
    if (filled > 0) filler_->FinishBatch(filled);
    if (filled > 0 || err != 0) {
      Publish(set, filled, err);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      free_[set] = true;
    }
    if (stopping) return;
    if (err != 0) {
      // A receive error (not EAGAIN): reported through the published set; do not spin on it.
      pollfd p = {wake_fd_, POLLIN, 0};
      poll(&p, 1, 100);
    }
  }
}

}  // namespace cs
