// FileCursor: a KeyCursor over the directory tree of a FileStore, yielding keys in ascending
// byte order without reading the whole tree: it keeps one sorted directory listing per level
// of the current path, and Seek() jumps by binary search, descending only into directories
// whose keys can reach the target. Internal to src/object.
//
// Entries that vanish while listing are skipped (another process may delete concurrently).
// All disk access goes through the store's Env.
// Thread-safety: one owner.
#pragma once

#include <string>
#include <vector>

#include "common/env.h"
#include "object/key_listing.h"

namespace strata::object {

class FileCursor : public KeyCursor {
 public:
  // `env` is not owned and must outlive the cursor.
  FileCursor(Env* env, std::string root) : env_(env), root_(std::move(root)) {}

  Status Seek(const std::string& target) override;
  bool Valid() const override { return !stack_.empty(); }
  const std::string& key() const override { return stack_.back().entries[stack_.back().index].key; }
  Result<ObjectInfo> Info() override;
  Status Next() override;

 private:
  struct Entry {
    std::string key;   // full key; for a directory the key prefix it holds, ending in '/'
    std::string name;  // file name on disk
    bool is_dir = false;
  };
  struct Level {
    std::string prefix;          // key prefix of this directory ("" at the root)
    std::string path;            // its path on disk
    std::vector<Entry> entries;  // sorted by key
    size_t index = 0;
  };

  Result<Level> Load(std::string prefix, std::string path) const;
  // Moves down/up until the top of the stack is a file or the stack is empty.
  Status Settle();

  Env* const env_;
  const std::string root_;
  std::vector<Level> stack_;
};

}  // namespace strata::object
