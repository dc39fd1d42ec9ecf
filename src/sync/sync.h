// Sync: makes a destination endpoint hold what a source endpoint holds (strata sync, README
// "strata sync"). The two listings are merged in one pass (both stream in path byte order;
// the destination's is read ahead by its own thread through a bounded queue), so memory does
// not grow with the number of keys. For each path:
//   only in SRC           copy it (directories are made at once, their attributes set last)
//   in both               compare; copy when different (below), else fix attributes if they
//                         differ (endpoints with attributes), else skip
//   only in DST           with delete_dst, delete it (directories last, deepest first)
// "Different": sizes differ; or, when both sides keep times, mtimes differ (default); with
// update, only when the source is newer (or sizes differ), so a newer destination is kept;
// with check_all, when the contents differ (both read and compared). A second run after a
// complete one therefore copies nothing, and a run after an interrupted one copies what is
// missing or different (writes land under temporary names and are renamed when complete).
// Hard links: files of one source inode (nlink > 1) are copied once and linked, after the
// copies, when both sides keep attributes. Copies, links and deletions run on `threads`
// workers; a failure is reported (one line on stderr, with the path) and counted, and the rest
// go on.
//
// Filters: a pattern with '/' is matched (fnmatch, '*' crossing '/') against the path and
// each leading part of it; one without '/' against each path component. A path is skipped
// when an --exclude matches and no --include does; skipped paths are neither copied nor
// deleted.
//
// Thread-safety: Run is one call's; endpoints are shared with the workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "common/status.h"
#include "sync/endpoint.h"

namespace strata::sync {

struct SyncOptions {
  int threads = 8;                   // --threads: parallel copies, 1..256
  std::vector<std::string> include;  // --include PATTERN (overrides an exclude)
  std::vector<std::string> exclude;  // --exclude PATTERN
  bool update = false;               // --update: copy only when the source is newer
  bool check_all = false;            // --check-all: compare contents of same-size files
  bool delete_dst = false;           // --delete-dst
  bool dry_run = false;              // --dry-run: print what would be done, change nothing
  bool attributes = true;            // keep mode/owner/times/xattrs/links when both can
  Status Validate() const;
};

struct SyncStats {
  std::atomic<uint64_t> scanned{0};  // source items
  std::atomic<uint64_t> copied{0};   // files, symlinks and directories created or replaced
  std::atomic<uint64_t> bytes{0};    // bytes copied
  std::atomic<uint64_t> linked{0};   // hard links made
  std::atomic<uint64_t> attrs{0};    // items whose attributes alone were fixed
  std::atomic<uint64_t> skipped{0};  // equal, or not representable on the destination
  std::atomic<uint64_t> deleted{0};
  std::atomic<uint64_t> failed{0};
};

// Returns an error only when a listing failed (the run is then incomplete); failures of single
// items are in stats.failed. `progress` (may be null) gets the counters.
Status Run(Endpoint& src, Endpoint& dst, const SyncOptions& options, SyncStats* stats,
           Progress* progress = nullptr);

// Whether the filters let `path` (relative, directories with a trailing '/') through.
bool Selected(const SyncOptions& o, const std::string& path);

}  // namespace strata::sync
