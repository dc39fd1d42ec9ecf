// Dump: writes a volume's metadata as the dump format of docs/format/dump.md (JSON lines: a
// header, one record per stored pair of the key schema, an end record), streamed: memory is one
// page of keys (plus, for --subdir, the queue of directories still to visit and the hard-linked
// or shared-slice inodes met so far), whatever the volume's size.
//
// Consistency (docs/format/dump.md "Consistency"):
//  - engines with SnapshotReads() (SQLite): every read runs in ONE read-only transaction, one
//    snapshot for the whole dump while mounts keep writing (SnapshotScan: writers never retry);
//  - other engines (Redis, memkv): reads are paged transactions, then, unless !check, the dump
//    is produced a second time into a digest and compared. Equal digests mean every record
//    read in the first pass still held in the second, so the image is the volume as it was
//    between the two passes; a difference fails the dump with kConflict and no end record is
//    written (load refuses such a file).
// Sessions, sustained-inode records, locks and the cleaner lease are never dumped. An inode
// kept only because it is open (nlink 0) becomes a deleted-file record, as its session's
// cleanup would make it. The usage shards are written as their two totals.
//
// Thread-safety: one call is one thread's; concurrent dumps of one engine are fine.
// Errors: the engine's; kCorruption for a stored record that does not decode; the sink's.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/progress.h"
#include "common/status.h"
#include "meta/kv/kv.h"

namespace strata::dump {

struct DumpOptions {
  std::string subdir;            // "" or "/": the whole volume; else the subtree at this path
  bool keep_secret_key = false;  // --keep-secret-key: keep setting.secret_key
  bool check = true;             // engines without snapshot reads: verify by a second pass
  size_t page = 1024;            // keys per read
};

struct DumpStats {
  uint64_t records = 0;     // between header and end
  uint64_t inodes = 0;      // attribute records
  std::string consistency;  // "snapshot", "checked" or "unchecked"
};

// Receives each line without its newline.
using LineSink = std::function<Status(std::string_view line)>;

// `records` (may be null) counts the records written, for a progress display.
Result<DumpStats> Dump(kv::KvEngine& engine, const DumpOptions& options, const LineSink& sink,
                       Progress::Counter* records = nullptr);

// ---- Internals shared by dumper.cc and subtree.cc.
namespace internal {

// Reads of one dump: one snapshot transaction, or one short transaction per call.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual Result<std::vector<kv::KeyValue>> Scan(std::string_view begin, std::string_view end,
                                                 size_t limit) = 0;
  virtual Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) = 0;
};

using Emit = std::function<Status(nlohmann::json&)>;

// The records of a whole volume / of one subtree, in a fixed order (the same data gives the
// same records: the check pass relies on it).
Status ProduceVolume(Reader& r, const DumpOptions& o, const Emit& emit);
Status ProduceSubtree(Reader& r, const DumpOptions& o, const Emit& emit);

// The setting record with the secret removed unless kept.
Result<nlohmann::json> SettingRecord(const kv::KeyValue& kv, bool keep_secret);

}  // namespace internal
}  // namespace strata::dump
