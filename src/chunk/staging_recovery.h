// RecoverStaging: what to do with the blocks an earlier (killed or crashed) process left in a
// writeback staging directory (cache/staging_tier.h "Restart"). A leftover block was staged
// before its slice's commit was attempted, so the slice either was committed — then the
// metadata references it and the block must be uploaded — or was not (the process died in
// between) — then nothing will ever reference it and it is removed. The metadata tells which:
// each staged file records the inode and chunk its slice was written for
// (cache/staging_format.h), and a committed slice is in that chunk's slice list, as the
// idempotent slice commit itself checks (meta/slice_ops.cc). A slice no longer in the list
// was committed and then dropped (file deleted, overwritten and compacted, truncated): its
// blocks are garbage too. Leftovers with no recorded origin, or whose key does not parse, are
// uploaded (the safe side: gc removes what nobody references).
//
// Thread-safety: call from one thread at a time per staging tier. Errors: the metadata's
// (kUnavailable/kTimeout when the engine is down); leftovers decided before the error stay
// decided, the rest stay leftovers for the next call.
#pragma once

#include <cstdint>
#include <string>

#include "cache/staging_tier.h"
#include "common/status.h"
#include "meta/slice_log.h"

namespace strata::chunk {

struct StagingRecovery {
  uint64_t adopted = 0;         // committed: queued for upload
  uint64_t adopted_bytes = 0;
  uint64_t discarded = 0;       // never committed (or dropped since): removed
  uint64_t discarded_bytes = 0;
};

// key_prefix: the volume's block key prefix ("NAME/").
Result<StagingRecovery> RecoverStaging(meta::SliceLog* meta, cache::StagingTier* staging,
                                       const std::string& key_prefix);

}  // namespace strata::chunk
