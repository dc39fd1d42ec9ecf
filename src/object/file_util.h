// Helpers of FileStore (internal to src/object): the key <-> file-name encoding described in
// file_store.h, and a directory-tree removal over an Env.
//
// Thread-safety: pure functions, or calls on a thread-safe Env.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"

namespace strata::object::file_util {

// One key segment (no '/') -> file name. kNameTooLong past 255 bytes.
Result<std::string> EncodeSegment(std::string_view segment);
// File name -> key segment; nullopt for names that are not the canonical encoding of any
// segment (temporary files, staging directories, files dropped in by hand).
std::optional<std::string> DecodeName(std::string_view name);

// Removes a directory tree through `env`; a tree already gone is OK, other errors are
// returned (the removal stops at the first).
Status RemoveTree(Env& env, const std::string& path);

}  // namespace strata::object::file_util
