// Helpers of sessions.cc, locks.cc and trash.cc that work on the engine directly (each runs
// its own bounded transactions). Not part of the public API.
//
// Thread-safety: stateless functions over a shared engine.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta::internal {

// Releases everything session `sid` holds: its sustained inodes (each one whose nlink is 0
// becomes a deleted-file record), its flock and POSIX locks on every inode, then its session
// record. Each step is its own small transaction and the session record goes last, so a crash
// in the middle leaves a record that the next cleanup finishes.
Status CleanSession(kv::KvEngine& engine, uint64_t sid);

// Deletes the trash's hour directories older than trash_days (and the files in them, whose
// data becomes deleted-file records). Returns how many files were removed. trash.cc.
Result<int> ExpireTrash(kv::KvEngine& engine, int trash_days, int64_t now_unix);

}  // namespace strata::meta::internal
