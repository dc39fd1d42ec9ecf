// CommitObserver: sees, around each commit RunTxn makes on an engine, the writes of the keys
// it watches, so a client can keep values its own commits wrote and serve them later without
// a round trip (meta/dir_attr_cache.h: the attrs of directories this client changed, for the
// kernel's GETATTRs; issue 10). Observers are registered on the engine object
// (KvEngine::AddCommitObserver); only RunTxn calls them, so raw Begin/Commit users (offline
// tools) are not seen.
//
// The two calls bracket one commit attempt that wrote at least one watched key:
// Committing() before the commit is sent (the observer forgets what it held for those keys:
// their value is in flux) and Committed() with the commit's result once it answered. Calls of
// different threads interleave freely; an observer that keeps values must order them itself
// (a ticket per Committing, as DirAttrCache does). A write carries `read` = the attempt read
// the key from the engine before writing it: a commit that succeeds then wrote on the current
// value (the engine checked the read), so its value is the newest at the commit; a blind
// write has no such guarantee against a concurrent local commit. A key the transaction hinted
// absent (Transaction::HintAbsent: a new inode's records, which no one else can have written)
// counts as read, absent. `before` is the value read, so an observer can tell whether anyone
// else changed the key since this client last wrote it (meta/dir_names_cache.h).
//
// Thread-safety: implementations are called from any thread at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::kv {

class CommitObserver {
 public:
  struct Write {
    std::string key;
    std::optional<std::string> value;  // nullopt: deleted
    bool read = false;                 // the attempt read the key from the engine first
    // When `read`: the value the attempt read before its first write of the key (nullopt: the
    // key was absent, or hinted absent by a caller that knows no one wrote it: a new inode's).
    std::optional<std::string> before;
  };

  virtual ~CommitObserver() = default;
  // Whether writes of `key` interest this observer. Cheap; called for every Put/Delete.
  virtual bool Watches(std::string_view key) const = 0;
  // Before the commit of `writes` (the watched keys only) is sent. Returns a ticket that is
  // handed back to Committed for the same commit.
  virtual uint64_t Committing(const std::vector<Write>& writes) = 0;
  // After that commit answered with `result` (OK: applied; anything else: not applied, or not
  // known to be).
  virtual void Committed(uint64_t ticket, const Status& result,
                         const std::vector<Write>& writes) = 0;
};

}  // namespace strata::kv
