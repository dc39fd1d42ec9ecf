// DirAttrCache: the attrs of directories as this client's own commits last wrote them, for a
// short time (issue 10). The kernel drops a directory's attributes after every create, unlink
// and rename in it and asks for them again (GETATTR) at the next path walk through it (the
// mount uses default_permissions): an agent writing files in its directory paid two engine
// round trips per file for attrs its own commits had just written. Meta answers them from here
// (Meta::CachedDirAttr; the FUSE GETATTR is the only caller, through Volume::GetAttr).
//
// Exact for this client's own changes: it is a kv::CommitObserver on Meta's engine, so every
// transaction this client commits through RunTxn that writes an attr record is seen, whatever
// operation wrote it. Committing() drops the entry and marks the inode in flux; Committed()
// stores the written attr only when the commit succeeded, the transaction had read the attr
// before writing it (the engine then checked it wrote on the newest value), and no other
// commit of this client touching that attr started meanwhile (its ticket is the inode's last);
// otherwise the entry stays empty and the next GETATTR asks the engine. Successful
// read-then-write commits of one key apply in the order of their tickets (a later one read
// after the earlier one's ticket was taken, so had it applied first the earlier one would
// have conflicted), so the last ticket holds the newest value.
//
// Changes by other mounts are seen at most `ttl` late (MetaOptions::dir_attr_cache_ms,
// default 1 s, at most the kernel's attribute timeout): what the kernel's own attribute cache
// allows (DESIGN.md §7), and the FUSE reply shortens the kernel's timeout by the entry's age,
// so a directory's attrs are never older than the kernel's attr timeout. Only directories are
// kept: a file's attrs (its length) stay fresh from the engine, as close-to-open needs.
//
// Thread-safety: all methods may be called from any thread (one mutex, never held across a
// transaction).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/clock.h"
#include "meta/kv/commit_observer.h"
#include "meta/types.h"

namespace strata::meta {

class DirAttrCache : public kv::CommitObserver {
 public:
  // ttl <= 0 keeps nothing.
  DirAttrCache(Clock* clock, std::chrono::milliseconds ttl) : clock_(clock), ttl_(ttl) {}

  struct Hit {
    Attr attr;
    std::chrono::nanoseconds age{0};  // since the commit that wrote it answered
  };
  // The attr of directory `ino` if held and younger than both the ttl and `max_age`.
  std::optional<Hit> Get(Ino ino, std::chrono::nanoseconds max_age);

  bool Watches(std::string_view key) const override;
  uint64_t Committing(const std::vector<Write>& writes) override;
  void Committed(uint64_t ticket, const Status& result, const std::vector<Write>& writes) override;

 private:
  static constexpr size_t kMaxEntries = 65536;
  struct Slot {
    int in_flight = 0;         // commits of this client writing the attr, not yet answered
    uint64_t last_ticket = 0;  // the newest of them
    bool held = false;
    Attr attr;
    int64_t at_ns = 0;  // monotonic time it was stored
  };
  // REQUIRES: mu_ held. Drops expired idle entries, or every idle entry when none expired.
  void PruneLocked(int64_t now);

  Clock* const clock_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  uint64_t next_ticket_ = 0;             // GUARDED_BY(mu_)
  std::unordered_map<Ino, Slot> slots_;  // GUARDED_BY(mu_)
};

}  // namespace strata::meta
