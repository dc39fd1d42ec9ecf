// DirNamesCache: the complete set of names of directories this client keeps changing itself,
// so a lookup of a name that is not there is answered without a round trip (issue 10). An agent
// writing `.tmpN` and renaming it to `outN` in its own directory makes the kernel look both
// names up first (FUSE sends LOOKUP before CREATE and before RENAME): two negative lookups, two
// engine round trips per file at a distance, for names this client alone has been creating.
//
// When a set is known. A set is established when this client creates the directory (Mkdir: the
// new inode's attr is written on a key hinted absent, Transaction::HintAbsent, so it is empty
// and nobody else wrote it before) and is carried through each later commit of this client
// that writes the directory's attr after reading it, provided the value read is byte for byte
// the value this client's previous commit wrote (no other client changed the directory in
// between: every entry change writes the parent's attr, whose ctime moves each time) and the
// commit succeeded (the engine checked the read). The commit's own entry writes in the
// directory are then applied to the set. Anything else drops the set: a failed or unknown
// commit, a read value that differs, entry writes without the attr's read-then-write, two
// commits of this client in one directory at once (in flight or out of ticket order), a set
// over kMaxNames. Other clients' changes are not seen: a set is used for at most `ttl` after
// the commit that last confirmed it (MetaOptions::dir_names_cache_ms: the FUSE mount sets it to
// 1 s or its --attr-timeout if shorter; off elsewhere), the bound of the directory attrs of
// dir_attr_cache.h and of the kernel's attribute cache. A name
// another mount created in that window is reported absent for at most that long; nothing
// wrong is written because of it: create, mkdir, link and rename read the entry again in
// their own transaction (a non-exclusive create then opens the existing file, vfs Create).
//
// Only absence is answered; a name in the set is looked up in the engine as before (its attr
// may have changed elsewhere).
//
// Thread-safety: all methods may be called from any thread (one mutex, never held across a
// transaction). Memory: at most kMaxDirs sets of at most kMaxNames names.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "meta/kv/commit_observer.h"
#include "meta/types.h"

namespace strata::meta {

class DirNamesCache : public kv::CommitObserver {
 public:
  static constexpr size_t kMaxNames = 4096;
  static constexpr size_t kMaxDirs = 4096;

  // ttl <= 0 keeps nothing.
  DirNamesCache(Clock* clock, std::chrono::milliseconds ttl) : clock_(clock), ttl_(ttl) {}

  // If `name` is known not to be an entry of directory `dir`: the directory's attr record as
  // this client last wrote it (encoded, for the caller's permission check). nullopt: not known,
  // ask the engine.
  std::optional<std::string> KnownAbsent(Ino dir, const std::string& name);

  // The number of directories whose set is held (tests, metrics).
  size_t HeldForTest();

  bool Watches(std::string_view key) const override;
  uint64_t Committing(const std::vector<Write>& writes) override;
  void Committed(uint64_t ticket, const Status& result, const std::vector<Write>& writes) override;

 private:
  struct Slot {
    int in_flight = 0;         // commits of this client touching the directory, not answered
    uint64_t last_ticket = 0;  // the newest of them
    bool held = false;
    std::string attr;  // the directory's attr record as the last confirming commit wrote it
    std::unordered_set<std::string> names;
    int64_t at_ns = 0;  // monotonic time of that commit's answer
  };
  // What one commit did to one directory.
  struct DirChange {
    const Write* attr = nullptr;  // the directory's attr write (nullptr: none)
    std::vector<const Write*> entries;
  };
  // The directories a commit touches: attr writes of directories (or deletions of an attr)
  // and the parents of entry writes.
  static std::unordered_map<Ino, DirChange> Changes(const std::vector<Write>& writes);
  // REQUIRES: mu_ held. Applies a successful commit's change to `s`; false drops the set.
  static bool Apply(Slot& s, const DirChange& c);
  // REQUIRES: mu_ held. Drops expired idle sets, or every idle set when none expired.
  void PruneLocked(int64_t now);

  Clock* const clock_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  uint64_t next_ticket_ = 0;             // GUARDED_BY(mu_)
  std::unordered_map<Ino, Slot> slots_;  // GUARDED_BY(mu_)
};

}  // namespace strata::meta
