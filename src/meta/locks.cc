// flock and POSIX record locks (meta.h "Locks"), stored in F{ino} / P{ino} (lock_records.h) so
// they work across mounts; a holder is (session id, owner), so locks die with their session.
//
// Waiting: the KV interface has no watch, so a blocked request retries its transaction with a
// growing sleep (1 ms doubling to 100 ms): no busy spin, and a lock released by another mount
// is noticed within 100 ms. A release in this client wakes local waiters at once (bg_cv_).
// There is no deadlock detection across mounts (EDEADLK is never returned): a waiter gives up
// only when `interrupted` says so (the kernel's interrupt of the request), or when the session
// or the Meta is closed; either returns kInterrupted. Waiting holds no lock and no transaction.
#include <algorithm>
#include <chrono>

#include "meta/internal.h"
#include "meta/lock_records.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

constexpr auto kFirstWait = std::chrono::milliseconds(1);
constexpr auto kMaxWait = std::chrono::milliseconds(100);

// One attempt at a flock change; *conflict tells whether another holder prevented it.
Status TryFlock(kv::KvEngine& engine, Ino ino, uint64_t sid, uint64_t owner, LockType type,
                bool* conflict) {
  return kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    *conflict = false;
    const std::string key = schema::FlockKey(ino);
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({key, schema::AttrKey(ino)}));
    if (!raw[1]) return Status::NotFound("no such inode " + std::to_string(ino));
    std::vector<FlockRecord> recs;
    if (raw[0]) {
      ASSIGN_OR_RETURN(recs, DecodeFlocks(*raw[0]));
    }
    if (FindFlockConflict(recs, sid, owner, type)) {
      *conflict = true;
      return Status::OK();
    }
    ApplyFlock(recs, sid, owner, type);
    if (recs.empty()) {
      if (raw[0]) txn.Delete(key);
    } else {
      txn.Put(key, EncodeFlocks(recs));
    }
    return Status::OK();
  });
}

Status TryPosixLock(kv::KvEngine& engine, Ino ino, uint64_t sid, uint64_t owner,
                    const LockRange& range, bool* conflict) {
  return kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    *conflict = false;
    const std::string key = schema::PosixLockKey(ino);
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({key, schema::AttrKey(ino)}));
    if (!raw[1]) return Status::NotFound("no such inode " + std::to_string(ino));
    std::vector<PosixLockRecord> recs;
    if (raw[0]) {
      ASSIGN_OR_RETURN(recs, DecodePosixLocks(*raw[0]));
    }
    if (FindPosixConflict(recs, sid, owner, range)) {
      *conflict = true;
      return Status::OK();
    }
    ApplyPosixLock(recs, sid, owner, range);
    if (recs.empty()) {
      if (raw[0]) txn.Delete(key);
    } else {
      txn.Put(key, EncodePosixLocks(recs));
    }
    return Status::OK();
  });
}

// The wait loop shared by Flock and SetLk. `attempt` runs one transaction and reports a
// conflict; between attempts the caller's thread sleeps on the Meta's condition variable
// (woken early by local releases and by close), with the back-off described above.
struct Waiter {
  std::mutex& mu;
  std::condition_variable& cv;
  const bool& stop;  // GUARDED_BY(mu)

  Status Run(const std::function<Status(bool*)>& attempt, bool block,
             const std::function<bool()>& interrupted) {
    auto wait = kFirstWait;
    while (true) {
      bool conflict = false;
      RETURN_IF_ERROR(attempt(&conflict));
      if (!conflict) return Status::OK();
      if (!block) return Status(Code::kWouldBlock, "lock held by another owner");
      if (interrupted && interrupted()) {
        return Status(Code::kInterrupted, "lock wait interrupted");
      }
      std::unique_lock<std::mutex> lock(mu);
      if (stop) return Status(Code::kInterrupted, "session closed while waiting for a lock");
      cv.wait_for(lock, wait);
      if (stop) return Status(Code::kInterrupted, "session closed while waiting for a lock");
      wait = std::min<std::chrono::milliseconds>(wait * 2, kMaxWait);
    }
  }
};

}  // namespace

Status Meta::Flock(const Context& ctx, Ino ino, uint64_t owner, LockType type, bool block,
                   const std::function<bool()>& interrupted) {
  if (options_.read_only) return internal::ReadOnlyError();
  const uint64_t sid = session_id_;
  Waiter waiter{bg_mu_, bg_cv_, bg_stop_};
  RETURN_IF_ERROR(waiter.Run(
      [&](bool* conflict) { return TryFlock(*engine_, ino, sid, owner, type, conflict); }, block,
      interrupted));
  if (type == LockType::kUnlock) bg_cv_.notify_all();  // wake this client's waiters now
  return Status::OK();
}

Status Meta::SetLk(const Context& ctx, Ino ino, uint64_t owner, const LockRange& range, bool block,
                   const std::function<bool()>& interrupted) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (range.start > range.end) return Status::InvalidArgument("lock range ends before it starts");
  const uint64_t sid = session_id_;
  LockRange r = range;
  if (r.pid == 0) r.pid = ctx.pid;
  Waiter waiter{bg_mu_, bg_cv_, bg_stop_};
  RETURN_IF_ERROR(waiter.Run(
      [&](bool* conflict) { return TryPosixLock(*engine_, ino, sid, owner, r, conflict); }, block,
      interrupted));
  if (range.type != LockType::kWrite) bg_cv_.notify_all();  // unlock or downgrade
  return Status::OK();
}

Result<LockRange> Meta::GetLk(const Context& ctx, Ino ino, uint64_t owner, const LockRange& probe) {
  if (probe.start > probe.end) return Status::InvalidArgument("lock range ends before it starts");
  if (probe.type == LockType::kUnlock) return Status::InvalidArgument("F_GETLK with F_UNLCK");
  LockRange out = probe;
  out.type = LockType::kUnlock;
  const uint64_t sid = session_id_;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        out = probe;
        out.type = LockType::kUnlock;
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::PosixLockKey(ino), schema::AttrKey(ino)}));
        if (!raw[1]) return Status::NotFound("no such inode " + std::to_string(ino));
        if (!raw[0]) return Status::OK();
        ASSIGN_OR_RETURN(auto recs, DecodePosixLocks(*raw[0]));
        if (auto c = FindPosixConflict(recs, sid, owner, probe)) {
          out = LockRange{c->type, c->start, c->end, c->pid};
        }
        return Status::OK();
      },
      ro));
  return out;
}

Status Meta::ReleaseLocks(Ino ino, uint64_t owner) {
  if (options_.read_only) return Status::OK();  // a read-only client holds no locks
  const uint64_t sid = session_id_;
  RETURN_IF_ERROR(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
    const std::string fkey = schema::FlockKey(ino);
    const std::string pkey = schema::PosixLockKey(ino);
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet({fkey, pkey}));
    if (raw[0]) {
      ASSIGN_OR_RETURN(auto recs, DecodeFlocks(*raw[0]));
      const size_t before = recs.size();
      DropFlocks(recs, sid, owner);
      if (recs.empty()) {
        txn.Delete(fkey);
      } else if (recs.size() != before) {
        txn.Put(fkey, EncodeFlocks(recs));
      }
    }
    if (raw[1]) {
      ASSIGN_OR_RETURN(auto recs, DecodePosixLocks(*raw[1]));
      const size_t before = recs.size();
      DropPosixLocks(recs, sid, owner);
      if (recs.empty()) {
        txn.Delete(pkey);
      } else if (recs.size() != before) {
        txn.Put(pkey, EncodePosixLocks(recs));
      }
    }
    return Status::OK();
  }));
  bg_cv_.notify_all();
  return Status::OK();
}

}  // namespace strata::meta
