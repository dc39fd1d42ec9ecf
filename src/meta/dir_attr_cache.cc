#include "meta/dir_attr_cache.h"

#include "meta/schema.h"

namespace strata::meta {

std::optional<DirAttrCache::Hit> DirAttrCache::Get(Ino ino, std::chrono::nanoseconds max_age) {
  if (ttl_.count() <= 0 || max_age.count() <= 0) return std::nullopt;
  const int64_t now = clock_->MonotonicNanos();
  std::lock_guard lock(mu_);
  auto it = slots_.find(ino);
  if (it == slots_.end() || !it->second.held || it->second.in_flight > 0) return std::nullopt;
  const std::chrono::nanoseconds age(now - it->second.at_ns);
  if (age >= ttl_ || age >= max_age) return std::nullopt;
  return Hit{it->second.attr, age};
}

bool DirAttrCache::Watches(std::string_view key) const {
  Ino ino;
  return ttl_.count() > 0 && schema::ParseAttrKey(key, &ino);
}

uint64_t DirAttrCache::Committing(const std::vector<Write>& writes) {
  std::lock_guard lock(mu_);
  const uint64_t ticket = ++next_ticket_;
  for (const Write& w : writes) {
    Ino ino;
    if (!schema::ParseAttrKey(w.key, &ino)) continue;
    Slot& s = slots_[ino];
    s.in_flight++;
    s.last_ticket = ticket;
    s.held = false;
  }
  return ticket;
}

void DirAttrCache::Committed(uint64_t ticket, const Status& result,
                             const std::vector<Write>& writes) {
  const int64_t now = clock_->MonotonicNanos();
  std::lock_guard lock(mu_);
  for (const Write& w : writes) {
    Ino ino;
    if (!schema::ParseAttrKey(w.key, &ino)) continue;
    auto it = slots_.find(ino);
    if (it == slots_.end()) continue;  // not ours (cannot happen: Committing made it)
    Slot& s = it->second;
    s.in_flight--;
    if (s.in_flight > 0) continue;  // another commit of it is under way: leave it empty
    std::optional<Attr> attr;
    if (result.ok() && w.read && w.value && s.last_ticket == ticket) {
      auto a = schema::DecodeAttr(*w.value);
      if (a.ok() && a->type == FileType::kDirectory) attr = *a;
    }
    if (!attr) {
      slots_.erase(it);
      continue;
    }
    if (slots_.size() > kMaxEntries) PruneLocked(now);
    auto again = slots_.find(ino);  // pruning may have dropped it
    if (again == slots_.end()) continue;
    again->second.held = true;
    again->second.attr = *attr;
    again->second.at_ns = now;
  }
}

void DirAttrCache::PruneLocked(int64_t now) {
  const int64_t ttl_ns = std::chrono::nanoseconds(ttl_).count();
  for (auto it = slots_.begin(); it != slots_.end();) {
    const bool idle = it->second.in_flight == 0;
    it = idle && now - it->second.at_ns >= ttl_ns ? slots_.erase(it) : std::next(it);
  }
  if (slots_.size() <= kMaxEntries) return;
  for (auto it = slots_.begin(); it != slots_.end();) {
    it = it->second.in_flight == 0 ? slots_.erase(it) : std::next(it);
  }
}

}  // namespace strata::meta
