// Extended attributes: A{ino}X{name} records. Namespaces as Linux treats them: user.* follows
// the file's read/write permission (regular files and directories only), trusted.* is for
// root only (hidden from others), security.* is readable by all and writable by root,
// system.* (POSIX ACLs) is not supported.
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

constexpr int kXattrCreate = 1;
constexpr int kXattrReplace = 2;

enum class Ns { kUser, kTrusted, kSecurity };

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

Result<Ns> Namespace(const std::string& name) {
  if (name.empty()) return Status(Code::kOutOfRange, "empty xattr name");
  if (name.size() > kMaxXattrNameLen) return Status(Code::kOutOfRange, "xattr name too long");
  if (StartsWith(name, "user.")) return Ns::kUser;
  if (StartsWith(name, "trusted.")) return Ns::kTrusted;
  if (StartsWith(name, "security.")) return Ns::kSecurity;
  return Status::NotSupported("xattr namespace of '" + name + "' is not supported");
}

// Linux xattr_permission(): mask 4 to read, 2 to write.
Status XattrPermission(const Context& ctx, const Attr& a, Ns ns, int mask) {
  switch (ns) {
    case Ns::kTrusted:
      if (ctx.uid != 0) {
        return mask & 2 ? Status(Code::kNotPermitted, "trusted.* xattrs are for root")
                        : Status(Code::kNoData, "no such xattr");
      }
      return Status::OK();
    case Ns::kSecurity:
      if ((mask & 2) && ctx.uid != 0) {
        return Status(Code::kNotPermitted, "security.* xattrs are written by root");
      }
      return Status::OK();
    case Ns::kUser:
      if (a.type != FileType::kRegular && a.type != FileType::kDirectory) {
        return mask & 2 ? Status(Code::kNotPermitted, "user.* xattrs only on files and dirs")
                        : Status(Code::kNoData, "no such xattr");
      }
      return internal::CheckAccess(ctx, a, mask);
  }
  return Status::Internal("unreachable");
}

kv::TxnOptions ReadOnlyTxn() {
  kv::TxnOptions o;
  o.read_only = true;
  return o;
}

}  // namespace

Result<std::string> Meta::GetXattr(const Context& ctx, Ino ino, const std::string& name) {
  ASSIGN_OR_RETURN(Ns ns, Namespace(name));
  // A file this client just created has none (the kernel asks security.capability before its
  // first write): answered here (xattr_cache.h).
  if (no_xattrs_.HasNone(ino)) return Status(Code::kNoData, "no xattr '" + name + "'");
  std::string out;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(ino), schema::XattrKey(ino, name)}));
        if (!raw[0]) return Status::NotFound("no such inode");
        ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw[0]));
        RETURN_IF_ERROR(XattrPermission(ctx, a, ns, 4));
        if (!raw[1]) return Status(Code::kNoData, "no xattr '" + name + "'");
        out = std::move(*raw[1]);
        return Status::OK();
      },
      ReadOnlyTxn()));
  return out;
}

Status Meta::SetXattr(const Context& ctx, Ino ino, const std::string& name,
                      const std::string& value, int flags) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (flags & ~(kXattrCreate | kXattrReplace)) return Status::InvalidArgument("bad xattr flags");
  ASSIGN_OR_RETURN(Ns ns, Namespace(name));
  if (value.size() > kMaxXattrValueLen) return Status(Code::kTooBig, "xattr value too large");
  no_xattrs_.Drop(ino);
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(ino), schema::XattrKey(ino, name)}));
    if (!raw[0]) return Status::NotFound("no such inode");
    ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw[0]));
    RETURN_IF_ERROR(XattrPermission(ctx, a, ns, 2));
    if ((flags & kXattrCreate) && raw[1]) return Status::AlreadyExists("xattr exists");
    if ((flags & kXattrReplace) && !raw[1]) return Status(Code::kNoData, "no such xattr");
    txn.Put(schema::XattrKey(ino, name), value);
    a.ctime = internal::Now(*clock_);
    internal::WriteAttr(txn, ino, a);
    return Status::OK();
  });
}

Result<std::vector<std::string>> Meta::ListXattr(const Context& ctx, Ino ino) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        names.clear();
        ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, ino));
        (void)a;
        const std::string prefix = schema::XattrPrefix(ino);
        const std::string end = schema::PrefixEnd(prefix);
        std::string begin = prefix;
        constexpr size_t kPage = 512;
        while (true) {
          ASSIGN_OR_RETURN(auto kvs, txn.Scan(begin, end, kPage));
          for (const auto& kv : kvs) {
            std::string n = kv.key.substr(prefix.size());
            if (ctx.uid != 0 && StartsWith(n, "trusted.")) continue;
            names.push_back(std::move(n));
          }
          if (kvs.size() < kPage) break;
          begin = kvs.back().key + std::string(1, '\0');
        }
        return Status::OK();
      },
      ReadOnlyTxn()));
  return names;
}

Status Meta::RemoveXattr(const Context& ctx, Ino ino, const std::string& name) {
  if (options_.read_only) return internal::ReadOnlyError();
  ASSIGN_OR_RETURN(Ns ns, Namespace(name));
  return kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(ino), schema::XattrKey(ino, name)}));
    if (!raw[0]) return Status::NotFound("no such inode");
    ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw[0]));
    RETURN_IF_ERROR(XattrPermission(ctx, a, ns, 2));
    if (!raw[1]) return Status(Code::kNoData, "no xattr '" + name + "'");
    txn.Delete(schema::XattrKey(ino, name));
    a.ctime = internal::Now(*clock_);
    internal::WriteAttr(txn, ino, a);
    return Status::OK();
  });
}

}  // namespace strata::meta
