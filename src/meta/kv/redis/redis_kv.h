// RedisKv: the KvEngine over Redis (redis://[[user]:password@]host[:port][/db]), via hiredis.
// The key layout is docs/format/redis-layout.md (version 1): each KV key is a Redis string
// "d"+key holding a 16-hex-digit version and the value, one sorted set "i" (all scores 0)
// indexes every key for ordered range scans (ZRANGEBYLEX), "c" counts commits.
//
// Transactions are optimistic, validated by version rather than WATCH: reads run on any
// pooled connection (Get = GET, BatchGet = one MGET, Scan = one Lua script returning keys and
// values of one range) and remember the versions they saw and, for scans, the keys of the
// range; Commit is one Lua script that checks all of that (a changed version, or a key that
// appeared or vanished inside a scanned range -> kConflict) and applies the buffered writes
// with a new version, atomically. Why not WATCH/MULTI/EXEC: WATCH pins one connection for the
// whole transaction and cannot watch a key range short of the whole index, so every create
// would conflict with every concurrent readdir; the script validates exactly the range read,
// in one round trip. Reads are not one snapshot; Validate() re-checks them (RunTxn calls it
// before returning an error that fn decided on), and a read-only transaction that made more
// than one read round trip validates at Commit.
//
// Version cache (cache=N entries in the URL, default 100000, 0 = off): the engine remembers
// the value and version of every key it read or wrote. A read-write transaction reads a
// cached key without a round trip; its commit checks the version like any other read, so a
// value another client changed since fails the commit with kConflict (the key is dropped and
// RunTxn's retry reads the server): the cache never lets a stale value be committed on, it
// only saves the reads that turn out current. Read-only transactions always read the server
// (lookups, getattr and readdir stay as fresh as before); a read-write transaction that used
// cached reads and writes nothing is validated at Commit (and by Validate before RunTxn
// returns an error decided on them).
//
// Counters are incremented blind: the commit script adds Transaction::Increment's deltas to
// the stored fields ('a' writes), so usage counters join no read set and never conflict.
// Group commit: CommitGroup sends the parts of several transactions in one script call; each
// part is checked and applied on its own, in order (group_commit=N in the URL: commit calls in
// flight before commits are grouped, default 4; 0 turns grouping off).
//
// Open() refuses a server whose maxmemory-policy may evict keys (allkeys-*), and a database
// that holds another layout version. An unreachable server fails within connect_timeout_ms
// with kUnavailable. A Commit whose connection fails mid-way returns kIOError (not retried:
// it may have been applied); other I/O failures return kUnavailable (retryable).
//
// Thread-safety: the engine may be used from any thread; a Transaction belongs to one thread
// and may outlive the engine.
#pragma once

#include <memory>
#include <string>

#include "meta/kv/kv.h"
#include "meta/kv/redis/redis_conn.h"

namespace strata::kv {

class RedisShared;  // redis_kv.cc

class RedisKv : public KvEngine {
 public:
  static Result<std::unique_ptr<RedisKv>> Open(const RedisKvOptions& opts);
  // redis://[[user]:password@]host[:port][/db][?pool_size=N&connect_timeout_ms=N
  //          &io_timeout_ms=N&group_commit=N]
  static Result<std::unique_ptr<RedisKv>> OpenUrl(const std::string& url);

  ~RedisKv() override;
  std::string Describe() const override;
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  Status Clear() override;
  // The group's commits in one script call (one round trip), each validated on its own.
  std::vector<Status> CommitGroup(const std::vector<Transaction*>& txns) override;
  int group_commit_slots() const override;
  // From CONFIG GET appendonly/appendfsync/save (INFO persistence when CONFIG is renamed away).
  Result<Durability> GetDurability() override;

 private:
  explicit RedisKv(std::shared_ptr<RedisShared> shared);
  std::shared_ptr<RedisShared> shared_;
};

}  // namespace strata::kv
