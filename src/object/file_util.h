// Helpers of FileStore (internal to src/object): the key <-> file-name encoding described in
// file_store.h, and small POSIX wrappers that turn errno into Status naming the path.
//
// Thread-safety: pure functions or calls on caller-owned descriptors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace strata::object::file_util {

// One key segment (no '/') -> file name. kNameTooLong past 255 bytes.
Result<std::string> EncodeSegment(std::string_view segment);
// File name -> key segment; nullopt for names that are not the canonical encoding of any
// segment (temporary files, staging directories, files dropped in by hand).
std::optional<std::string> DecodeName(std::string_view name);

// write() all of data, retrying short writes and EINTR.
Status WriteAll(int fd, std::string_view data, const std::string& what);
// pread() exactly n bytes at off (fewer only at end of file) appended to *out.
Status ReadAt(int fd, uint64_t off, uint64_t n, std::string* out, const std::string& what);
// open(dir) + fsync + close.
Status FsyncDir(const std::string& dir);
// The directory part of a path ("/a/b/c" -> "/a/b").
std::string Dirname(const std::string& path);
// Removes a directory tree; errors other than ENOENT are returned.
Status RemoveTree(const std::string& path);

}  // namespace strata::object::file_util
