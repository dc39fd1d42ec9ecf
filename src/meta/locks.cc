// flock and POSIX record locks (meta.h "Locks"), stored in F{ino} / P{ino} (lock_records.h) so
// they work across mounts; a holder is (session id, owner), so locks die with their session.
//
// Waiting: a blocked request retries its transaction in Meta's LockWaiter (lock_waiter.h:
// back-off on the clock, woken at once by a release in this client, given up on `interrupted`
// or when the session closes). Every release or downgrade here calls lock_waiter_.Notify().

#include "meta/internal.h"
#include "meta/lock_records.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

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

}  // namespace

Status Meta::Flock(const Context& ctx, Ino ino, uint64_t owner, LockType type, bool block,
                   const std::function<bool()>& interrupted) {
  if (options_.read_only) return internal::ReadOnlyError();
  const uint64_t sid = session_id();
  RETURN_IF_ERROR(lock_waiter_.Wait(
      [&](bool* conflict) { return TryFlock(*engine_, ino, sid, owner, type, conflict); }, block,
      interrupted));
  if (type == LockType::kUnlock) lock_waiter_.Notify();  // wake this client's waiters now
  return Status::OK();
}

Status Meta::SetLk(const Context& ctx, Ino ino, uint64_t owner, const LockRange& range, bool block,
                   const std::function<bool()>& interrupted) {
  if (options_.read_only) return internal::ReadOnlyError();
  if (range.start > range.end) return Status::InvalidArgument("lock range ends before it starts");
  const uint64_t sid = session_id();
  LockRange r = range;
  if (r.pid == 0) r.pid = ctx.pid;
  RETURN_IF_ERROR(lock_waiter_.Wait(
      [&](bool* conflict) { return TryPosixLock(*engine_, ino, sid, owner, r, conflict); }, block,
      interrupted));
  if (range.type != LockType::kWrite) lock_waiter_.Notify();  // unlock or downgrade
  return Status::OK();
}

Result<LockRange> Meta::GetLk(const Context& ctx, Ino ino, uint64_t owner, const LockRange& probe) {
  if (probe.start > probe.end) return Status::InvalidArgument("lock range ends before it starts");
  if (probe.type == LockType::kUnlock) return Status::InvalidArgument("F_GETLK with F_UNLCK");
  LockRange out = probe;
  out.type = LockType::kUnlock;
  const uint64_t sid = session_id();
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
  const uint64_t sid = session_id();
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
  lock_waiter_.Notify();
  return Status::OK();
}

}  // namespace strata::meta
