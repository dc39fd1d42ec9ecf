// Helpers of sessions.cc, session_manager.cc, open_files.cc, locks.cc and trash.cc that work
// on session records, sustained inodes and the cleaner lease (docs/format/meta-schema.md
// "Sessions"). Each function taking an engine runs its own bounded transactions. Not part
// of the public API. Times are passed in (Unix seconds of the caller's Clock).
//
// Thread-safety: stateless functions over a shared engine.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta::internal {

// Registers a new session: takes the next id from the session counter and writes the record
// of `info` with expiry `expire_unix`. Returns the id.
Result<uint64_t> CreateSession(kv::KvEngine& engine, const SessionInfo& info, int64_t expire_unix);
// Sets the session's expiry to `expire_unix`, recreating a record that a cleaner removed while
// this client was stalled (the client is alive after all; its released locks stay released)
// from `registered`, the info the session was started with. With `staging`, the record's
// staging part is replaced by it (null: kept as it is).
Status WriteHeartbeat(kv::KvEngine& engine, uint64_t sid, int64_t expire_unix,
                      const SessionInfo& registered, const SessionStaging* staging = nullptr);
// The cleaner-lease compare-and-set: true when session `sid` holds the lease afterwards (it
// was absent, expired before `now_unix`, or already sid's); it then expires at now_unix +
// expiry_seconds.
Result<bool> TakeCleanerLease(kv::KvEngine& engine, uint64_t sid, int64_t now_unix,
                              int expiry_seconds);
// Every session record, in id order.
Result<std::vector<SessionInfo>> ListSessions(kv::KvEngine& engine);

// Inside txn: releases the sustained inode `ino` of session `sid` if its record is still
// there (the inode becomes a deleted-file record dated now_unix when its nlink is 0).
Status ReleaseSustained(kv::Transaction& txn, uint64_t sid, Ino ino, int64_t now_unix);

// Releases everything session `sid` holds: its sustained inodes (each one whose nlink is 0
// becomes a deleted-file record), its flock and POSIX locks on every inode, then its session
// record. Each step is its own small transaction and the session record goes last, so a crash
// in the middle leaves a record that the next cleanup finishes.
Status CleanSession(kv::KvEngine& engine, uint64_t sid, int64_t now_unix);

// Deletes the trash's hour directories older than trash_days (and the files in them, whose
// data becomes deleted-file records). Returns how many files were removed. trash.cc.
Result<int> ExpireTrash(kv::KvEngine& engine, int trash_days, int64_t now_unix);

}  // namespace strata::meta::internal
