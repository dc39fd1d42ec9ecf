// Unlink and Rmdir: one transaction each; nlink, usage and the release of the last link.
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {

Status Meta::Unlink(const Context& ctx, Ino parent, const std::string& name) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (name == "." || name == "..") return Status(Code::kIsDir, "cannot unlink . or ..");
  RETURN_IF_ERROR(internal::CheckName(name));
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(parent),
                                             schema::EntryKey(parent, name)}));
    ASSIGN_OR_RETURN(Attr dir, internal::CheckDir(raw[0], ctx, 3));
    if (!raw[1]) return Status::NotFound("'" + name + "' not found");
    FileType type;
    Ino ino;
    RETURN_IF_ERROR(schema::DecodeEntry(*raw[1], &type, &ino));
    if (type == FileType::kDirectory) return Status(Code::kIsDir, "'" + name + "' is a directory");
    ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));
    RETURN_IF_ERROR(internal::CheckSticky(ctx, dir, a));
    const Timespec now = internal::Now(*clock_);
    txn.Delete(schema::EntryKey(parent, name));
    internal::TouchDir(dir, now);
    internal::WriteAttr(txn, parent, dir);
    const bool is_open = open_files_.MarkIfOpen(ino);
    return internal::DropLink(txn, ino, a, parent, name, format_.trash_days > 0,
                                session_id(), is_open, now);
  });
}

Status Meta::Rmdir(const Context& ctx, Ino parent, const std::string& name) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (name == ".") return Status::InvalidArgument("cannot remove .");
  if (name == "..") return Status(Code::kNotEmpty, "cannot remove ..");
  RETURN_IF_ERROR(internal::CheckName(name));
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(parent),
                                             schema::EntryKey(parent, name)}));
    ASSIGN_OR_RETURN(Attr dir, internal::CheckDir(raw[0], ctx, 3));
    if (!raw[1]) return Status::NotFound("'" + name + "' not found");
    FileType type;
    Ino ino;
    RETURN_IF_ERROR(schema::DecodeEntry(*raw[1], &type, &ino));
    if (type != FileType::kDirectory) return Status(Code::kNotDir, "'" + name + "' is not a directory");
    ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));
    RETURN_IF_ERROR(internal::CheckSticky(ctx, dir, a));
    // One key is enough to say "not empty"; the scanned range joins the read set, so a
    // concurrent create inside the directory makes this transaction retry.
    const std::string prefix = schema::EntryPrefix(ino);
    ASSIGN_OR_RETURN(auto child, txn.Scan(prefix, schema::PrefixEnd(prefix), 1));
    if (!child.empty()) return Status(Code::kNotEmpty, "'" + name + "' is not empty");
    const Timespec now = internal::Now(*clock_);
    txn.Delete(schema::EntryKey(parent, name));
    if (dir.nlink > 2) dir.nlink--;
    internal::TouchDir(dir, now);
    internal::WriteAttr(txn, parent, dir);
    RETURN_IF_ERROR(internal::RemoveDirRecords(txn, ino));
    return internal::UpdateUsage(txn, parent, 0, -1);
  });
}

}  // namespace strata::meta
