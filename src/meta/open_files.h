// OpenFiles: how many times each inode is open in this client (Meta::OpenFile/CloseFile), so
// that the namespace layer can tell whether an inode losing its last link is still open here
// (it is then sustained: its data stays until the last close, DESIGN.md §5).
//
// Thread-safety: all methods may be called from many threads; one mutex guards the counts
// and is never held across a metadata transaction.
#pragma once

#include <map>
#include <mutex>

#include "common/status.h"
#include "meta/types.h"

namespace strata::meta {

class OpenFiles {
 public:
  void Add(Ino ino);
  // Drops one open of `ino`: true when it was the last. kBadHandle when `ino` is not open.
  // *may_be_sustained (when given) tells, at the last close, whether MarkIfOpen was called
  // for it while open: only then can it have a sustained record to release.
  Result<bool> Remove(Ino ino, bool* may_be_sustained = nullptr);
  bool IsOpen(Ino ino) const;
  // IsOpen, and when open remembers that the inode may become sustained (an unlink or a
  // replacing rename is about to drop a link of it), so that its last close looks.
  bool MarkIfOpen(Ino ino);
  // Forgets every open (the session that held them is closed).
  void Clear();

 private:
  mutable std::mutex mu_;
  std::map<Ino, int> counts_;  // GUARDED_BY(mu_); only inodes open at least once
  std::map<Ino, bool> marked_;  // GUARDED_BY(mu_); MarkIfOpen'ed inodes still open
};

}  // namespace strata::meta
