#include "sender-cache.h"

#include <cstring>
#include <unistd.h>

#include "kernel.h"

namespace cs {

namespace {
constexpr uint32_t kWindow = 8;

uint32_t RoundUpPow2(uint32_t v) {
  uint32_t p = 16;
  while (p < v && p < (1u << 24)) p <<= 1;
  return p;
}
}  // namespace

SenderCache::SenderCache(uint32_t capacity, uint32_t ttl_ms, uint32_t max_pinned)
    : table_(RoundUpPow2(capacity)), mask_(RoundUpPow2(capacity) - 1), ttl_ms_(ttl_ms), max_pinned_(max_pinned) {
  for (SenderEntry& e : table_) e.pinned_fd = -1;
}

SenderCache::~SenderCache() { UnpinAll(); }

void SenderCache::UnpinAll() {
  if (pinned_ == 0) return;
  for (SenderEntry& e : table_) Unpin(&e);
}

void SenderCache::Unpin(SenderEntry* e) {
  if (e->pinned_fd >= 0) {
    close(e->pinned_fd);
    e->pinned_fd = -1;
    pinned_--;
  }
}

bool SenderCache::Pin(SenderEntry* e, int pidfd) {
  if (e->pinned_fd >= 0 || pinned_ >= max_pinned_) return false;
  e->pinned_fd = pidfd;
  pinned_++;
  return true;
}

void SenderCache::Sweep(uint32_t count) {
  if (pinned_ == 0) return;
  for (uint32_t i = 0; i < count; i++) {
    SenderEntry* e = &table_[sweep_cursor_];
    sweep_cursor_ = (sweep_cursor_ + 1) & mask_;
    if (e->pinned_fd >= 0 && PidfdReaped(e->pinned_fd)) Unpin(e);
  }
}

uint32_t SenderCache::Slot(uint64_t key) const {
  // pidfs inodes are sequential: a multiplicative hash spreads neighbours across the table.
  return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask_;
}

SenderEntry* SenderCache::Find(uint64_t key) {
  uint32_t s = Slot(key);
  for (uint32_t i = 0; i < kWindow; i++) {
    SenderEntry* e = &table_[(s + i) & mask_];
    if (e->key == key) return e;
  }
  return nullptr;
}

SenderEntry* SenderCache::Put(uint64_t key, uint64_t now_ms) {
  uint32_t s = Slot(key);
  SenderEntry* victim = nullptr;
  for (uint32_t i = 0; i < kWindow; i++) {
    SenderEntry* e = &table_[(s + i) & mask_];
    if (e->key == key || e->key == 0) {
      victim = e;
      break;
    }
    if (victim == nullptr || e->expires_ms < victim->expires_ms) victim = e;
  }
  Unpin(victim);
  std::memset(victim, 0, sizeof(*victim));
  victim->pinned_fd = -1;
  victim->key = key;
  victim->expires_ms = now_ms + ttl_ms_;
  victim->nspid = -1;
  return victim;
}

}  // namespace cs
