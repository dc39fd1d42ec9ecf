// Open files (meta.h "Open files"): the open counts of this client (OpenFiles) and Meta's
// OpenFile/CloseFile over them.
#include "meta/open_files.h"

#include <fcntl.h>

#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/session_util.h"

namespace strata::meta {

void OpenFiles::Add(Ino ino) {
  std::lock_guard lock(mu_);
  counts_[ino]++;
}

Result<bool> OpenFiles::Remove(Ino ino, bool* may_be_sustained) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(ino);
  if (it == counts_.end()) return Status(Code::kBadHandle, "inode is not open");
  if (--it->second > 0) return false;
  counts_.erase(it);
  auto m = marked_.find(ino);
  if (may_be_sustained) *may_be_sustained = m != marked_.end();
  if (m != marked_.end()) marked_.erase(m);
  return true;
}

bool OpenFiles::MarkIfOpen(Ino ino) {
  std::lock_guard lock(mu_);
  if (counts_.count(ino) == 0) return false;
  marked_[ino] = true;
  return true;
}

bool OpenFiles::IsOpen(Ino ino) const {
  std::lock_guard lock(mu_);
  return counts_.count(ino) > 0;
}

void OpenFiles::Clear() {
  std::lock_guard lock(mu_);
  counts_.clear();
  marked_.clear();
}

Result<Attr> Meta::OpenFile(const Context& ctx, Ino ino, int flags) {
  int mask = 0;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      mask = 4;
      break;
    case O_WRONLY:
      mask = 2;
      break;
    case O_RDWR:
      mask = 6;
      break;
    default:
      return Status::InvalidArgument("bad open access mode");
  }
  if (flags & O_TRUNC) mask |= 2;
  if ((mask & 2) && options_.read_only) return internal::ReadOnlyError();
  ASSIGN_OR_RETURN(Attr attr, GetAttr(ino));
  if (attr.type == FileType::kDirectory && (mask & 2)) {
    return Status(Code::kIsDir, "a directory cannot be opened for writing");
  }
  RETURN_IF_ERROR(internal::CheckAccess(ctx, attr, mask));
  open_files_.Add(ino);
  return attr;
}

Status Meta::CloseFile(Ino ino) {
  bool may_be_sustained = false;
  ASSIGN_OR_RETURN(bool last, open_files_.Remove(ino, &may_be_sustained));
  if (!last) return Status::OK();
  // Only an inode that lost a link through this client while open here can be sustained by
  // this session (SS records are written by the session's own unlink/rename): the others
  // need no transaction at their last close.
  if (!may_be_sustained) return Status::OK();
  const uint64_t sid = session_id();
  if (sid == 0 || options_.read_only) return Status::OK();
  // Last close: an inode unlinked while open in this session is released now.
  const int64_t now = internal::Now(*clock_).sec;
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    return internal::ReleaseSustained(txn, sid, ino, now);
  });
}

}  // namespace strata::meta
