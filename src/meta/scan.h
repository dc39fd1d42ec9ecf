// Streaming scans of a volume's metadata for the offline tools (strata fsck, strata gc).
// Every scan is paginated: each page (at most `page` keys) is read in its own short
// read-only transaction with SnapshotScan, so a scan never holds a transaction open across the
// volume and never makes a writer retry. A scan of a volume that is being changed is therefore
// not one snapshot: callers that need exact answers run on a quiescent volume (fsck) or make
// their decisions safe against concurrent change (gc's safety window).
//
// Memory: a scan holds one page of keys plus, for ScanInodes, one inode's group (its chunk
// lists and hard-link parent records; a directory's entries are skipped, not held).
// SliceTable holds 32 bytes per distinct slice (plus a bounded buffer of unmerged adds).
//
// Thread-safety: the free functions are stateless and may run concurrently; a SliceTable is
// one thread's. Errors: the engine's (kUnavailable/kTimeout after RunTxn's budget),
// kCorruption for a record that does not decode (naming the key).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta::scan {

constexpr size_t kDefaultPage = 1024;

// Calls fn for every pair in [begin, end) in key order, one page per read-only transaction.
// fn returns nullopt to go on, a key to continue from instead of the next one (a skip: it
// must be greater than the key just seen), or "" to stop; an error from fn stops the scan.
using RangeVisitor = std::function<Result<std::optional<std::string>>(const kv::KeyValue& kv)>;
Status ForEachInRange(kv::KvEngine& engine, std::string_view begin, std::string_view end,
                      const RangeVisitor& fn, size_t page = kDefaultPage);

// Everything of one inode that the tools need, gathered from its A{ino}... records.
struct InodeGroup {
  Ino ino = 0;
  std::optional<Attr> attr;                       // absent: no A{ino}I record
  std::vector<Slice> slices;                      // records of every chunk list, chunk order
  uint32_t chunk_lists = 0;                       // number of A{ino}C keys
  uint32_t last_chunk = 0;                        // index of the last chunk list (when any)
  bool has_entries = false;                       // A{ino}D... exists (the entries are skipped)
  std::vector<std::pair<Ino, uint32_t>> parents;  // A{ino}P{dir} -> count
  bool has_other = false;                         // symlink or xattr records
};

// Streams every inode of the volume in inode order (one pass over the A range). Entries of a
// directory are skipped with one seek instead of being read. fn's error stops the scan.
Status ScanInodes(kv::KvEngine& engine, const std::function<Status(InodeGroup&)>& fn,
                  size_t page = kDefaultPage);

// The slice records of one file (all its chunk lists), in chunk order.
Result<std::vector<Slice>> ReadFileSlices(kv::KvEngine& engine, Ino ino);

// A u64 counter C{name} (0 when absent).
Result<uint64_t> ReadCounter(kv::KvEngine& engine, const std::string& name);

// The distinct stored slices referenced by chunk lists, with the number of records naming
// each (its expected reference count). Add() as often as wanted, then Finish() once; Find and
// entries() are valid only after Finish.
class SliceTable {
 public:
  struct Entry {
    uint64_t id = 0;
    Ino owner = 0;  // the first inode seen referencing it (for messages)
    uint32_t size = 0;
    uint32_t refs = 0;   // records naming (id, size)
    uint32_t found = 0;  // blocks seen in the store (filled by the store check)
  };
  void Add(uint64_t id, uint32_t size, Ino owner, uint32_t refs = 1);
  void Finish();
  // The entry with this id (any size), or nullptr. After Finish.
  Entry* Find(uint64_t id);
  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  void Merge();  // sorts entries_ by (id, size) and merges equal pairs
  std::vector<Entry> entries_;
  size_t merged_ = 0;  // entries_[0, merged_) is sorted and distinct
};

// Calls fn for each key of a K or G prefix as (id, size, value) in (id, size) order.
Status ScanSliceKeys(
    kv::KvEngine& engine, const std::string& prefix,
    const std::function<Status(uint64_t id, uint32_t size, std::string_view value)>& fn);

// A path naming the inode, found by following parent fields (hard-linked: the first parent
// record) and looking the name up in each parent's entries; "<inode N>" parts where the chain
// breaks. For messages about problems, so cost (a directory scan per level) does not matter.
std::string PathOf(kv::KvEngine& engine, Ino ino);

}  // namespace strata::meta::scan
