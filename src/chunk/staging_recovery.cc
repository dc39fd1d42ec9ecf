#include "chunk/staging_recovery.h"

#include <algorithm>
#include <map>
#include <set>

#include "chunk/block_key.h"
#include "common/logging.h"

namespace strata::chunk {

Result<StagingRecovery> RecoverStaging(meta::SliceLog* meta, cache::StagingTier* staging,
                                       const std::string& key_prefix) {
  StagingRecovery r;
  // Grouped by (inode, chunk) so that each slice list is read once.
  std::map<std::pair<uint64_t, uint32_t>, std::vector<std::pair<uint64_t, cache::LeftoverBlock>>>
      groups;
  for (auto& b : staging->Leftovers()) {
    auto parts = ParseBlockKey(key_prefix, b.key);
    if (!parts.ok() || b.origin.ino == 0) {
      staging->Adopt(b.key);
      r.adopted++;
      r.adopted_bytes += b.size;
      continue;
    }
    groups[{b.origin.ino, b.origin.chunk}].push_back({parts->slice_id, std::move(b)});
  }
  for (auto& [where, blocks] : groups) {
    ASSIGN_OR_RETURN(std::vector<meta::Slice> list, meta->ReadChunk(where.first, where.second));
    std::set<uint64_t> committed;
    for (const meta::Slice& s : list) committed.insert(s.id);
    for (auto& [id, b] : blocks) {
      if (committed.count(id)) {
        staging->Adopt(b.key);
        r.adopted++;
        r.adopted_bytes += b.size;
        continue;
      }
      RETURN_IF_ERROR(staging->Discard(b.key));
      r.discarded++;
      r.discarded_bytes += b.size;
    }
  }
  if (r.adopted + r.discarded > 0) {
    LOG_INFO("writeback: {} staged blocks ({} bytes) of committed slices queued for upload; {} "
             "({} bytes) of slices never committed (or dropped since) removed",
             r.adopted, r.adopted_bytes, r.discarded, r.discarded_bytes);
  }
  return r;
}

}  // namespace strata::chunk
