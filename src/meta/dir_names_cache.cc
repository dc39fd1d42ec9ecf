#include "meta/dir_names_cache.h"

#include "meta/schema.h"

namespace strata::meta {

std::optional<std::string> DirNamesCache::KnownAbsent(Ino dir, const std::string& name) {
  if (ttl_.count() <= 0) return std::nullopt;
  const int64_t now = clock_->MonotonicNanos();
  std::lock_guard lock(mu_);
  auto it = slots_.find(dir);
  if (it == slots_.end()) return std::nullopt;
  const Slot& s = it->second;
  if (!s.held || s.in_flight > 0) return std::nullopt;
  if (now - s.at_ns >= std::chrono::nanoseconds(ttl_).count()) return std::nullopt;
  if (s.names.count(name)) return std::nullopt;
  return s.attr;
}

size_t DirNamesCache::HeldForTest() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [ino, s] : slots_) n += s.held ? 1 : 0;
  return n;
}

bool DirNamesCache::Watches(std::string_view key) const {
  if (ttl_.count() <= 0) return false;
  Ino ino;
  std::string name;
  return schema::ParseAttrKey(key, &ino) || schema::ParseEntryKey(key, &ino, &name);
}

std::unordered_map<Ino, DirNamesCache::DirChange> DirNamesCache::Changes(
    const std::vector<Write>& writes) {
  std::unordered_map<Ino, DirChange> out;
  for (const Write& w : writes) {
    Ino ino;
    std::string name;
    if (schema::ParseAttrKey(w.key, &ino)) {
      if (w.value) {
        auto a = schema::DecodeAttr(*w.value);
        if (!a.ok() || a->type != FileType::kDirectory) continue;  // a file's attr: not ours
      }
      out[ino].attr = &w;  // a directory's attr, or a deleted inode's
    } else if (schema::ParseEntryKey(w.key, &ino, &name)) {
      out[ino].entries.push_back(&w);
    }
  }
  return out;
}

bool DirNamesCache::Apply(Slot& s, const DirChange& c) {
  const Write* a = c.attr;
  // Only a read-then-write of the attr proves what the directory was at this commit.
  if (!a || !a->value || !a->read) return false;
  if (!a->before) {
    s.names.clear();  // a new directory (its attr key was absent): empty until this commit
  } else if (!s.held || *a->before != s.attr) {
    return false;  // not known before, or another client changed it since our last commit
  }
  for (const Write* e : c.entries) {
    Ino parent;
    std::string name;
    if (!schema::ParseEntryKey(e->key, &parent, &name)) return false;
    if (e->value) {
      s.names.insert(std::move(name));
    } else {
      s.names.erase(name);
    }
  }
  if (s.names.size() > kMaxNames) return false;
  s.attr = *a->value;
  return true;
}

uint64_t DirNamesCache::Committing(const std::vector<Write>& writes) {
  const auto changes = Changes(writes);
  std::lock_guard lock(mu_);
  const uint64_t ticket = ++next_ticket_;
  for (const auto& [ino, c] : changes) {
    Slot& s = slots_[ino];
    s.in_flight++;
    s.last_ticket = ticket;
  }
  return ticket;
}

void DirNamesCache::Committed(uint64_t ticket, const Status& result,
                              const std::vector<Write>& writes) {
  const auto changes = Changes(writes);
  const int64_t now = clock_->MonotonicNanos();
  std::lock_guard lock(mu_);
  for (const auto& [ino, c] : changes) {
    auto it = slots_.find(ino);
    if (it == slots_.end()) continue;  // cannot happen: Committing made it
    Slot& s = it->second;
    s.in_flight--;
    // Two commits of this client in one directory at once: neither proves the other's base.
    const bool alone = s.in_flight == 0 && s.last_ticket == ticket;
    if (result.ok() && alone && Apply(s, c)) {
      s.held = true;
      s.at_ns = now;
      continue;
    }
    if (s.in_flight == 0) {
      slots_.erase(it);
    } else {
      s.held = false;
      s.names.clear();
      s.attr.clear();
    }
  }
  if (slots_.size() > kMaxDirs) PruneLocked(now);
}

void DirNamesCache::PruneLocked(int64_t now) {
  const int64_t ttl_ns = std::chrono::nanoseconds(ttl_).count();
  for (auto it = slots_.begin(); it != slots_.end();) {
    const bool idle = it->second.in_flight == 0;
    it = idle && now - it->second.at_ns >= ttl_ns ? slots_.erase(it) : std::next(it);
  }
  if (slots_.size() <= kMaxDirs) return;
  for (auto it = slots_.begin(); it != slots_.end();) {
    it = it->second.in_flight == 0 ? slots_.erase(it) : std::next(it);
  }
}

}  // namespace strata::meta
