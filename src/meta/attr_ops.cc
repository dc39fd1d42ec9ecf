// Attribute operations: ReadAttr/WriteAttr (internal.h), GetAttr and SetAttr (chmod, chown,
// utimens, truncate) with the kernel's rules for who may change what.
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace internal {

Result<Attr> ReadAttr(kv::Transaction& txn, Ino ino) {
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
  if (!raw) return Status::NotFound("no such inode " + std::to_string(ino));
  return schema::DecodeAttr(*raw);
}

void WriteAttr(kv::Transaction& txn, Ino ino, const Attr& attr) {
  txn.Put(schema::AttrKey(ino), schema::EncodeAttr(attr));
}

}  // namespace internal

namespace {

constexpr uint32_t kSetuid = 04000;
constexpr uint32_t kSetgid = 02000;

Status NotPermitted(const char* what) { return Status(Code::kNotPermitted, what); }

// Applies req (except size) to a, after the kernel's checks (setattr_prepare, chown_ok,
// chgrp_ok, inode_change_ok). Returns true in *changed when anything changed.
Status ApplySetAttr(const Context& ctx, const SetAttrRequest& req, const Timespec& now, Attr& a) {
  const bool root = ctx.uid == 0;
  const bool owner = ctx.uid == a.uid;
  const uint32_t mask = req.mask;
  if (mask & kSetUid) {
    // Only root gives a file away; the owner may "change" it to itself.
    if (!root && !(owner && req.uid == a.uid)) return NotPermitted("only root may change the owner");
  }
  if (mask & kSetGid) {
    // The owner may pick any group it belongs to (or keep the current one).
    if (!root && !(owner && (req.gid == a.gid || ctx.InGroup(req.gid)))) {
      return NotPermitted("only root or the owner (to one of its groups) may change the group");
    }
  }
  // The kernel clears setuid/setgid after a write or truncate by anyone (file_remove_privs)
  // with a chmod as the writer: a mode change that only drops those bits is always allowed.
  const bool only_kills_privs =
      (mask & kSetMode) && (req.mode & 07777) == (a.mode & ~(kSetuid | kSetgid) & 07777) &&
      (a.mode & (kSetuid | kSetgid)) != 0;
  if ((mask & kSetMode) && !root && !owner && !only_kills_privs) {
    return NotPermitted("only the owner may chmod");
  }
  if (mask & (kSetAtime | kSetMtime | kSetCtime)) {
    if (!root && !owner) return NotPermitted("only the owner may set explicit times");
  }
  if (mask & (kSetAtimeNow | kSetMtimeNow)) {
    if (!root && !owner) {
      Status w = internal::CheckAccess(ctx, a, 2);
      if (!w.ok()) return Status::PermissionDenied("setting times to now needs write access");
    }
  }

  if (mask & kSetMode) {
    uint32_t mode = req.mode & 07777;
    const uint32_t gid = (mask & kSetGid) ? req.gid : a.gid;
    // A non-root caller outside the file's group cannot keep setgid (it would gain the group).
    if (!root && !ctx.InGroup(gid)) mode &= ~kSetgid;
    a.mode = mode;
  }
  if (mask & (kSetUid | kSetGid)) {
    if (mask & kSetUid) a.uid = req.uid;
    if (mask & kSetGid) a.gid = req.gid;
    // chown clears setuid, and setgid when it means group-exec (not mandatory locking), on
    // anything but directories — for root too, as Linux does.
    if (a.type != FileType::kDirectory) {
      a.mode &= ~kSetuid;
      if (a.mode & 0010) a.mode &= ~kSetgid;
    }
  }
  if (mask & kSetAtimeNow) {
    a.atime = now;
  } else if (mask & kSetAtime) {
    a.atime = req.atime;
  }
  if (mask & kSetMtimeNow) {
    a.mtime = now;
  } else if (mask & kSetMtime) {
    a.mtime = req.mtime;
  }
  a.ctime = (mask & kSetCtime) ? req.ctime : now;
  return Status::OK();
}

}  // namespace

Result<Attr> Meta::GetAttr(Ino ino) {
  Attr out;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(out, internal::ReadAttr(txn, ino));
        return Status::OK();
      },
      opts));
  return out;
}

Result<Attr> Meta::SetAttr(const Context& ctx, Ino ino, const SetAttrRequest& req) {
  if (options_.read_only && req.mask != 0) return internal::ReadOnlyError();
  if (req.mask & kSetSize) {
    // Truncate is its own transaction (it changes slices, usage and references); the other
    // fields follow in a second one. Truncate checks write permission itself.
    RETURN_IF_ERROR(Truncate(ctx, ino, req.size));
  }
  const uint32_t rest = req.mask & ~static_cast<uint32_t>(kSetSize);
  if (rest == 0) return GetAttr(ino);
  SetAttrRequest r = req;
  r.mask = rest;
  Attr out;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));
    RETURN_IF_ERROR(ApplySetAttr(ctx, r, internal::Now(*clock_), a));
    internal::WriteAttr(txn, ino, a);
    out = a;
    return Status::OK();
  }));
  return out;
}

}  // namespace strata::meta
