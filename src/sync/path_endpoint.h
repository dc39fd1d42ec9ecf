// PathEndpoint: a sync endpoint over a local directory (possibly a StrataFS or other FUSE
// mount), with every attribute: mode, owner (when run as root), atime/mtime in nanoseconds,
// symlinks, user.* and trusted.* xattrs, hard links (identity = st_ino). Files are written to
// ".NAME.strata-sync" beside their target and renamed over it at Commit, so an interrupted
// sync never leaves a partial file under the real name (the temporaries are not listed and a
// later run replaces them).
//
// This endpoint talks to the operating system directly instead of through Env: it works on
// arbitrary user trees with attributes (owners, xattrs, links) that Env does not model.
// Memory: the walk holds the entries of the directories on the current path.
//
// Thread-safety: stateless beyond the root; every method may run on many threads.
// Errors: errno as Status (kNotFound, kPermissionDenied, kNotSupported, kIOError) with the path.
#pragma once

#include <string>
#include <string_view>

#include "sync/endpoint.h"

namespace strata::sync {

class PathEndpoint : public Endpoint {
 public:
  // `must_exist`: a source must exist; a destination is created on first write.
  PathEndpoint(std::string root, bool must_exist)
      : root_(root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root),
        must_exist_(must_exist) {}
  std::string Describe() const override { return root_; }
  bool has_attributes() const override { return true; }
  Status List(const std::function<Status(const Item&)>& fn) override;
  Result<std::unique_ptr<FileReader>> OpenRead(const Item& item) override;
  Result<std::unique_ptr<FileWriter>> OpenWrite(const std::string& path, const Item& src) override;
  Status Delete(const std::string& path) override;
  Status MakeDir(const std::string& path) override;
  Result<std::string> ReadLink(const std::string& path) override;
  Status MakeSymlink(const std::string& path, const std::string& target) override;
  Status MakeLink(const std::string& existing, const std::string& path) override;
  Result<Item> Stat(const std::string& path) override;
  Result<std::map<std::string, std::string>> GetXattrs(const std::string& path) override;
  Status SetAttributes(const std::string& path, const Item& attrs,
                       const std::map<std::string, std::string>& xattrs) override;

  // Whether a directory entry is one of this endpoint's temporaries.
  static bool IsTemporary(std::string_view name);

 private:
  std::string Full(const std::string& rel) const;
  Status Walk(const std::string& rel, const std::function<Status(const Item&)>& fn);
  Status MakeParents(const std::string& rel);
  Status MkdirP(const std::string& full);

  const std::string root_;
  const bool must_exist_;
};

}  // namespace strata::sync
