// Rename: one transaction covering RENAME_NOREPLACE, RENAME_EXCHANGE, replacing a file or an
// empty directory, the subtree rule, sticky directories and nlink/usage of both parents.
// Renaming out of a trash hour directory is how a file is restored (its owner or root: the
// hour directories are sticky); nothing is renamed into the trash.
#include <map>

#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/quota_kv.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

// Upper bound on the depth walked for the subtree check; deeper means a corrupt parent chain.
constexpr int kMaxDepth = 100000;

// kInvalidArgument when `dir` is `ancestor` or lies below it (walks parents up to the root).
Status CheckNotInside(kv::Transaction& txn, Ino dir, Ino ancestor) {
  Ino cur = dir;
  for (int depth = 0; depth < kMaxDepth; depth++) {
    if (cur == ancestor) {
      return Status::InvalidArgument("cannot move a directory into its own subtree");
    }
    if (cur == kRootIno || cur == 0) return Status::OK();
    ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, cur));
    cur = a.parent;
  }
  return Status(Code::kLoop, "directory parent chain does not reach the root");
}

// The attrs a rename touches, keyed by inode, so that an inode seen twice (same parent, or a
// parent that is also the moved entry's old parent) is written once with every change.
class AttrSet {
 public:
  Status Load(kv::Transaction& txn, Ino ino) {
    if (attrs_.count(ino)) return Status::OK();
    ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));
    attrs_[ino] = a;
    return Status::OK();
  }
  void Put(Ino ino, const Attr& a) { attrs_[ino] = a; }
  Attr& operator[](Ino ino) { return attrs_[ino]; }
  void Forget(Ino ino) { attrs_.erase(ino); }
  void WriteAll(kv::Transaction& txn) {
    for (const auto& [ino, a] : attrs_) internal::WriteAttr(txn, ino, a);
  }

 private:
  std::map<Ino, Attr> attrs_;
};

// Moves the link of non-directory or directory `ino` from `from` to `to` in its parent
// bookkeeping (attr.parent, or hard-link parent records).
Status MoveParent(kv::Transaction& txn, Ino ino, Attr& a, Ino from, Ino to) {
  if (from == to) return Status::OK();
  if (a.parent != 0) {
    a.parent = to;
    return Status::OK();
  }
  ASSIGN_OR_RETURN(uint32_t n_from, internal::ReadParentCount(txn, ino, from));
  internal::WriteParentCount(txn, ino, from, n_from > 0 ? n_from - 1 : 0);
  ASSIGN_OR_RETURN(uint32_t n_to, internal::ReadParentCount(txn, ino, to));
  internal::WriteParentCount(txn, ino, to, n_to + 1);
  return Status::OK();
}

bool IsDir(const Attr& a) { return a.type == FileType::kDirectory; }

}  // namespace

Status Meta::Rename(const Context& ctx, Ino parent, const std::string& name, Ino new_parent,
                    const std::string& new_name, uint32_t flags) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (flags & ~static_cast<uint32_t>(kRenameNoReplace | kRenameExchange)) {
    return Status::InvalidArgument("unknown rename flags");
  }
  if ((flags & kRenameNoReplace) && (flags & kRenameExchange)) {
    return Status::InvalidArgument("RENAME_NOREPLACE and RENAME_EXCHANGE together");
  }
  for (const std::string* n : {&name, &new_name}) {
    if (*n == "." || *n == "..") return Status(Code::kBusy, "cannot rename . or ..");
    RETURN_IF_ERROR(internal::CheckName(*n));
  }
  const bool exchange = flags & kRenameExchange;
  // Out of the trash is a restore; into it (or within it, or an exchange that would put the
  // other entry there) is refused for everyone.
  RETURN_IF_ERROR(internal::CheckNotIntoTrash(new_parent));
  if (exchange) RETURN_IF_ERROR(internal::CheckNotIntoTrash(parent));
  int attempts = 0;
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    if (!exchange) ExpectAbsentName(txn, new_parent, new_name, &attempts);
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(parent), schema::AttrKey(new_parent),
                                             schema::EntryKey(parent, name),
                                             schema::EntryKey(new_parent, new_name),
                                             quota::EpochKey()}));  // for quota charges
    AttrSet attrs;
    ASSIGN_OR_RETURN(Attr pdir, internal::CheckDir(raw[0], ctx, 3));
    ASSIGN_OR_RETURN(Attr ndir, internal::CheckDir(raw[1], ctx, 3));
    attrs.Put(parent, pdir);
    attrs.Put(new_parent, ndir);
    if (!raw[2]) return Status::NotFound("'" + name + "' not found");
    FileType stype;
    Ino sino;
    RETURN_IF_ERROR(schema::DecodeEntry(*raw[2], &stype, &sino));
    FileType dtype = FileType::kRegular;
    Ino dino = 0;
    if (raw[3]) RETURN_IF_ERROR(schema::DecodeEntry(*raw[3], &dtype, &dino));
    if (exchange && !raw[3]) return Status::NotFound("'" + new_name + "' not found");
    if (raw[3] && (flags & kRenameNoReplace)) {
      return Status::AlreadyExists("'" + new_name + "' exists");
    }
    if (dino == sino) {
      // Same name, or two hard links of one inode: POSIX says rename does nothing.
      return Status::OK();
    }
    RETURN_IF_ERROR(attrs.Load(txn, sino));
    if (dino) RETURN_IF_ERROR(attrs.Load(txn, dino));
    Attr src = attrs[sino];
    Attr dst = dino ? attrs[dino] : Attr{};
    RETURN_IF_ERROR(internal::CheckSticky(ctx, attrs[parent], src));
    if (dino) RETURN_IF_ERROR(internal::CheckSticky(ctx, attrs[new_parent], dst));
    const bool moves = parent != new_parent;
    // A directory that changes parent rewrites its "..": the caller must be able to write it.
    if (moves && IsDir(src)) RETURN_IF_ERROR(internal::CheckAccess(ctx, src, 2));
    if (moves && exchange && IsDir(dst)) RETURN_IF_ERROR(internal::CheckAccess(ctx, dst, 2));
    if (!exchange && dino) {
      if (IsDir(src) && !IsDir(dst)) return Status(Code::kNotDir, "'" + new_name + "' is not a directory");
      if (!IsDir(src) && IsDir(dst)) return Status(Code::kIsDir, "'" + new_name + "' is a directory");
      if (IsDir(dst)) {
        const std::string prefix = schema::EntryPrefix(dino);
        ASSIGN_OR_RETURN(auto child, txn.Scan(prefix, schema::PrefixEnd(prefix), 1));
        if (!child.empty()) return Status(Code::kNotEmpty, "'" + new_name + "' is not empty");
      }
    }
    if (moves && IsDir(src)) RETURN_IF_ERROR(CheckNotInside(txn, new_parent, sino));
    if (moves && exchange && IsDir(dst)) RETURN_IF_ERROR(CheckNotInside(txn, parent, dino));
    if (moves && (IsDir(src) || (exchange && IsDir(dst)))) {
      // A directory's subtree usage follows it across quota boundaries (quota_kv.h).
      std::vector<quota::Tracker::Move> dirs;
      if (IsDir(src)) dirs.push_back({sino, parent, new_parent});
      if (exchange && IsDir(dst)) dirs.push_back({dino, new_parent, parent});
      RETURN_IF_ERROR(quota_->MoveDirs(txn, dirs));
    }

    const Timespec now = internal::Now(*clock_);
    const int64_t sbytes = internal::UsageBytes(src);
    if (exchange) {
      const int64_t dbytes = internal::UsageBytes(dst);
      txn.Put(schema::EntryKey(parent, name), schema::EncodeEntry(dst.type, dino));
      txn.Put(schema::EntryKey(new_parent, new_name), schema::EncodeEntry(src.type, sino));
      if (moves) {
        RETURN_IF_ERROR(MoveParent(txn, sino, src, parent, new_parent));
        RETURN_IF_ERROR(MoveParent(txn, dino, dst, new_parent, parent));
        const int sd = IsDir(src) ? 1 : 0, dd = IsDir(dst) ? 1 : 0;
        attrs[parent].nlink += dd - sd;
        attrs[new_parent].nlink += sd - dd;
        RETURN_IF_ERROR(internal::UpdateDirUsage(txn, parent, dbytes - sbytes, 0));
        RETURN_IF_ERROR(internal::UpdateDirUsage(txn, new_parent, sbytes - dbytes, 0));
      }
      src.ctime = dst.ctime = now;
      attrs.Put(sino, src);
      attrs.Put(dino, dst);
    } else {
      txn.Delete(schema::EntryKey(parent, name));
      txn.Put(schema::EntryKey(new_parent, new_name), schema::EncodeEntry(src.type, sino));
      if (dino) {
        // The replaced target loses its link in new_parent.
        if (IsDir(dst)) {
          attrs.Forget(dino);
          RETURN_IF_ERROR(internal::RemoveDirRecords(txn, dino));
          attrs[new_parent].nlink--;
          RETURN_IF_ERROR(internal::UpdateUsage(txn, new_parent, 0, -1));
        } else {
          attrs.Forget(dino);  // DropLink writes (or releases) it
          const bool is_open = open_files_.MarkIfOpen(dino);
          RETURN_IF_ERROR(
              internal::DropLink(txn, dino, dst, new_parent, new_name,
                                 format_.trash_days > 0, session_id(), is_open, now));
        }
      }
      if (moves) {
        RETURN_IF_ERROR(MoveParent(txn, sino, src, parent, new_parent));
        if (IsDir(src)) {
          attrs[parent].nlink--;
          attrs[new_parent].nlink++;
        }
        RETURN_IF_ERROR(internal::UpdateDirUsage(txn, parent, -sbytes, -1));
        RETURN_IF_ERROR(internal::UpdateDirUsage(txn, new_parent, sbytes, 1));
      }
      src.ctime = now;
      attrs.Put(sino, src);
    }
    internal::TouchDir(attrs[parent], now);
    if (new_parent != parent) internal::TouchDir(attrs[new_parent], now);
    attrs.WriteAll(txn);
    return Status::OK();
  });
}

}  // namespace strata::meta
