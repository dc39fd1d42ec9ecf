// Endpoint: one side of `strata sync` — an object store (file://, s3://, http(s)://, mem://),
// a local path (which may be a mount), or a StrataFS volume opened directly through the
// composition root (strata://, no FUSE). The planner (sync.h) merges two endpoints' listings
// and asks them to copy, link, set attributes and delete.
//
// Paths are relative to the endpoint's root, '/'-separated, and a directory's path ends in '/'
// ("a/", "a/b/"). List streams items in ascending byte order of that path, so two listings
// merge in one pass; a tree walk gets that order by sorting each directory's names with
// directories as "name/".
//
// Attributes (mode, owner, times, symlinks, xattrs, hard links) exist only on endpoints with
// has_attributes(); an object store has none (its items are regular files, its mtime the
// upload time, directories implicit).
//
// Thread-safety: List runs on one thread while the workers call the other methods from many
// threads at once; every implementation is safe for that. Errors: Status codes, with the path.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace strata::sync {

enum class Kind : uint8_t { kFile, kDir, kSymlink, kOther };

struct Item {
  std::string path;  // relative; directories end in '/'
  Kind kind = Kind::kFile;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  // With attributes (has_attributes()):
  int64_t atime_ns = 0;
  uint32_t mode = 0;  // permission bits 07777
  uint32_t uid = 0, gid = 0;
  uint32_t nlink = 1;
  uint64_t ino = 0;  // identity of the inode on this endpoint (hard links share it)
};

// Reads one file's bytes.
class FileReader {
 public:
  virtual ~FileReader() = default;
  // Up to len bytes at off (short only at the end).
  virtual Result<std::string> Read(uint64_t off, size_t len) = 0;
};

// Writes one file: Append in order, then Commit makes it appear at its path atomically (a
// temporary name renamed, or one PUT). Dropping a writer without Commit leaves nothing.
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Commit() = 0;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  virtual std::string Describe() const = 0;  // never with secrets
  virtual bool has_attributes() const = 0;

  // Every item under the root (the root itself not included), in path byte order.
  virtual Status List(const std::function<Status(const Item&)>& fn) = 0;

  virtual Result<std::unique_ptr<FileReader>> OpenRead(const Item& item) = 0;
  // Creates missing parent directories. `src` is the source item (size, for planning uploads).
  virtual Result<std::unique_ptr<FileWriter>> OpenWrite(const std::string& path,
                                                        const Item& src) = 0;
  // Removes a file or symlink; a directory (path ending in '/') must be empty.
  virtual Status Delete(const std::string& path) = 0;

  // ---- With attributes only (the defaults answer kNotSupported).
  virtual Status MakeDir(const std::string& path) { return Unsupported("directories"); }
  virtual Result<std::string> ReadLink(const std::string& path) { return Unsupported("symlinks"); }
  // Replaces whatever is at path.
  virtual Status MakeSymlink(const std::string& path, const std::string& target) {
    return Unsupported("symlinks");
  }
  // Replaces whatever is at path by a hard link to existing.
  virtual Status MakeLink(const std::string& existing, const std::string& path) {
    return Unsupported("hard links");
  }
  virtual Result<Item> Stat(const std::string& path) { return Unsupported("stat"); }
  virtual Result<std::map<std::string, std::string>> GetXattrs(const std::string& path) {
    return std::map<std::string, std::string>();
  }
  // Sets mode, owner and times of `attrs` (not following symlinks; a symlink's mode is kept)
  // and makes the xattrs equal to `xattrs`.
  virtual Status SetAttributes(const std::string& path, const Item& attrs,
                               const std::map<std::string, std::string>& xattrs) {
    return Unsupported("attributes");
  }

 protected:
  Status Unsupported(const std::string& what) const {
    return Status::NotSupported(Describe() + " keeps no " + what);
  }
};

}  // namespace strata::sync
