// Permission checks (internal.h) as the kernel makes them with default_permissions off, and
// Meta::Access. Pure functions over an Attr and the caller's Context.
#include <algorithm>

#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"

namespace strata::meta {

bool Context::InGroup(uint32_t g) const {
  return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

namespace internal {

Status CheckAccess(const Context& ctx, const Attr& attr, int mask) {
  mask &= 7;
  if (mask == 0) return Status::OK();
  if (ctx.uid == 0) {
    // Root may do anything, except execute a file that nobody may execute.
    if ((mask & 1) && attr.type != FileType::kDirectory && (attr.mode & 0111) == 0) {
      return Status::PermissionDenied("no execute bit set");
    }
    return Status::OK();
  }
  uint32_t bits;
  if (ctx.uid == attr.uid) {
    bits = (attr.mode >> 6) & 7;
  } else if (ctx.InGroup(attr.gid)) {
    bits = (attr.mode >> 3) & 7;
  } else {
    bits = attr.mode & 7;
  }
  if ((static_cast<uint32_t>(mask) & ~bits) != 0) {
    return Status::PermissionDenied("permission denied");
  }
  return Status::OK();
}

Status CheckSticky(const Context& ctx, const Attr& dir, const Attr& victim) {
  if ((dir.mode & 01000) == 0 || ctx.uid == 0) return Status::OK();
  if (ctx.uid == dir.uid || ctx.uid == victim.uid) return Status::OK();
  return Status(Code::kNotPermitted, "sticky directory: only the owner may remove or rename");
}

Status CheckName(const std::string& name) {
  if (name.empty()) return Status::NotFound("empty name");
  if (name.size() > kMaxNameLen) {
    return Status(Code::kNameTooLong, "name longer than " + std::to_string(kMaxNameLen) + " bytes");
  }
  if (name == "." || name == "..") return Status::InvalidArgument("name is . or ..");
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return Status::InvalidArgument("name contains '/' or NUL");
  }
  return Status::OK();
}

Result<Attr> CheckDir(const std::optional<std::string>& raw, const Context& ctx, int mask) {
  if (!raw) return Status::NotFound("no such directory");
  ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw));
  if (a.type != FileType::kDirectory) return Status(Code::kNotDir, "not a directory");
  if (a.nlink == 0) return Status::NotFound("directory was removed");
  RETURN_IF_ERROR(CheckAccess(ctx, a, mask));
  return a;
}

}  // namespace internal

Status Meta::Access(const Context& ctx, Ino ino, int mask) {
  ASSIGN_OR_RETURN(Attr a, GetAttr(ino));
  return internal::CheckAccess(ctx, a, mask);
}

}  // namespace strata::meta
