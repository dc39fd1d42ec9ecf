// Listing over a sorted key cursor: the one implementation of S3 ListObjectsV2 paging
// (prefix, start_after, delimiter roll-up into common prefixes, limit, continuation) shared by
// the backends that keep their own keys (mem://, file://).
//
// Continuation tokens are opaque to callers. Inside they are "K<key>" (resume after that key)
// or "P<common prefix>" (resume after every key under that prefix), so a page that ended on a
// common prefix never returns it again.
//
// Thread-safety: ListFromCursor is a pure function over the cursor it is given; cursors
// belong to one thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "object/object_store.h"

namespace strata::object {

// A forward-only cursor over object keys in ascending unsigned byte order.
class KeyCursor {
 public:
  virtual ~KeyCursor() = default;
  // Positions at the first key >= target. REQUIRES: targets never decrease between calls.
  virtual Status Seek(const std::string& target) = 0;
  virtual bool Valid() const = 0;
  // REQUIRES: Valid().
  virtual const std::string& key() const = 0;
  // Size, mtime and etag of the current key; kNotFound if it vanished since it was seen.
  virtual Result<ObjectInfo> Info() = 0;
  virtual Status Next() = 0;
};

// Key rules of the local backends (S3's own): non-empty, at most 1024 bytes.
// kInvalidArgument naming the problem otherwise.
Status CheckKey(const std::string& key);

// The smallest string greater than every string that begins with `prefix`; "" when there is
// none (prefix empty or all 0xff bytes).
std::string PrefixSuccessor(std::string_view prefix);

// kInvalidArgument for limit < 1 or a malformed continuation token. limit > 1000 is clipped
// to 1000, as S3 does.
Result<ListResult> ListFromCursor(KeyCursor& cursor, const ListOptions& opts);

}  // namespace strata::object
