// Helpers of the file-data cases of the metadata suite (files_test, sessions_test, locks_test):
// writing slices the way the data path commits them, and reading the reference bookkeeping
// (K/G records) straight from the engine, so tests see what the block deleter will see.
#pragma once

#include <gtest/gtest.h>

#include <set>

#include "meta/meta.h"
#include "meta/schema.h"
#include "meta/slices.h"

namespace strata::meta::testing {

// Appends a new slice of `len` bytes (its own stored slice of that size) at `pos` of chunk.
inline Slice MustWrite(Meta& m, Ino ino, uint32_t chunk, uint32_t pos, uint32_t len) {
  auto id = m.NewSliceId();
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  Slice s{pos, id.ok() ? *id : 0, len, 0, len};
  Status st = m.WriteSlice(ino, chunk, s, Timespec{1700000000, 5});
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

// Ids of the stored slices whose blocks may be deleted.
inline std::set<uint64_t> Garbage(Meta& m) {
  auto g = m.PendingSliceDeletions(100000);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  std::set<uint64_t> ids;
  if (g.ok()) {
    for (const auto& r : *g) ids.insert(r.id);
  }
  return ids;
}

// The reference count of a live stored slice (K record; absent = 1).
inline int64_t Refs(kv::KvEngine& engine, const Slice& s) {
  int64_t refs = 0;
  Status st = kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.Get(schema::SliceRefKey(s.id, s.size)));
    refs = raw ? schema::DecodeI64(*raw) : 1;
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return refs;
}

// Number of deleted-file records (D) waiting for ProcessDeletedFiles.
inline size_t DeletedFiles(kv::KvEngine& engine) {
  size_t n = 0;
  Status st = kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    const std::string p = schema::DeletedFilePrefix();
    ASSIGN_OR_RETURN(auto page, txn.Scan(p, schema::PrefixEnd(p), 100000));
    n = page.size();
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

// The visible view of one chunk.
inline std::vector<Segment> View(Meta& m, Ino ino, uint32_t chunk) {
  auto list = m.ReadChunk(ino, chunk);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  return list.ok() ? ResolveSlices(*list) : std::vector<Segment>{};
}

}  // namespace strata::meta::testing
