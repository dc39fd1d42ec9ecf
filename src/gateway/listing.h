// Listing a bucket's keys in S3 order from the directory tree. S3 sorts keys as byte strings;
// a directory "a" holds the keys "a/...", which sort after a sibling file "a-b" ('-' < '/'),
// so each directory's entries are ordered by name plus "/" for directories, and the walk is
// depth first in that order: the emitted keys are then in S3 order.
//
// Only the directories the prefix reaches are read; a delimiter stops the descent at the
// first common prefix, and subtrees entirely before the marker are skipped. Each directory
// visited is read whole (Volume::ReadDir, every page) to sort it: listing a directory of N
// entries costs O(N) per page of results.
//
// Thread-safety: a function over the thread-safe ObjectFs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gateway/object_fs.h"

namespace strata::gateway {

struct ListQuery {
  std::string prefix;
  std::string delimiter;
  std::string after;  // exclusive: marker, start-after or the continuation token's key
  size_t max_keys = 1000;
};

struct ListedObject {
  std::string key;
  Ino ino = 0;
  Attr attr;
};

struct ListPage {
  std::vector<ListedObject> objects;
  std::vector<std::string> prefixes;
  bool truncated = false;
  std::string last;  // the last key or prefix returned (the next marker)
};

// `visible` filters keys and common prefixes (a user's grants); may be empty (all visible).
Result<ListPage> ListKeys(ObjectFs& fs, Ino bucket, const ListQuery& q,
                          const std::function<bool(const std::string&)>& visible);

}  // namespace strata::gateway
