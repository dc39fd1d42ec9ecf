// NoXattrCache: inodes this client knows to have no xattrs at all, for a short time (issue
// 10). The kernel asks for security.capability before the first write to every file; for a
// file this client just created the answer is known (a new inode has no xattrs), so
// Meta::GetXattr answers kNoData locally instead of asking the engine. An entry lives
// `ttl` (MetaOptions::no_xattr_cache_ms, default 1 s, the order of the kernel's own attribute
// cache), so an xattr set through another mount is seen at most that late; one set or
// removed through this client drops the entry at once.
//
// Thread-safety: all methods may be called from any thread (one mutex, never held across a
// metadata transaction).
#pragma once

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "common/clock.h"
#include "meta/types.h"

namespace strata::meta {

class NoXattrCache {
 public:
  NoXattrCache(Clock* clock, std::chrono::milliseconds ttl) : clock_(clock), ttl_(ttl) {}

  void Add(Ino ino) {
    if (ttl_.count() <= 0) return;
    const int64_t now = clock_->MonotonicNanos();
    std::lock_guard lock(mu_);
    if (known_.size() >= kMaxEntries) Prune(now);
    known_[ino] = now + std::chrono::nanoseconds(ttl_).count();
  }
  void Drop(Ino ino) {
    std::lock_guard lock(mu_);
    known_.erase(ino);
  }
  bool HasNone(Ino ino) {
    const int64_t now = clock_->MonotonicNanos();
    std::lock_guard lock(mu_);
    auto it = known_.find(ino);
    if (it == known_.end()) return false;
    if (it->second > now) return true;
    known_.erase(it);
    return false;
  }

 private:
  static constexpr size_t kMaxEntries = 65536;
  // REQUIRES: mu_ held. Drops expired entries, or everything when none expired.
  void Prune(int64_t now) {
    for (auto it = known_.begin(); it != known_.end();) {
      it = it->second <= now ? known_.erase(it) : std::next(it);
    }
    if (known_.size() >= kMaxEntries) known_.clear();
  }

  Clock* const clock_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<Ino, int64_t> known_;  // GUARDED_BY(mu_): ino -> expiry (monotonic ns)
};

}  // namespace strata::meta
