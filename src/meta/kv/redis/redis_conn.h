// RedisConn and RedisPool: hiredis connections for the Redis KV engine (internal to this
// directory). Every command goes through the binary-safe argv API (keys hold \0 and \xff).
//
// A RedisConn that saw an I/O error is broken and is dropped by the pool, never reused; the
// pool opens new connections on demand, which is how the engine reconnects after a Redis
// restart. Before handing out an idle connection the pool checks, without a round trip, that
// the server has not closed it (a closed socket polls readable).
//
// Error mapping: cannot connect / connection lost / LOADING / BUSY -> kUnavailable
// (retryable); NOAUTH / WRONGPASS -> kPermissionDenied; OOM -> kNoSpace; NOSCRIPT -> kNotFound
// (handled inside Eval); anything else -> kIOError.
//
// Thread-safety: RedisPool is thread-safe; a RedisConn is used by one thread at a time.
#pragma once

#include <hiredis/hiredis.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::kv {

struct RedisKvOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;               // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;           // empty: no AUTH
  int db = 0;                     // SELECT db
  int pool_size = 64;             // connections at most: one per FUSE thread in a request
  int connect_timeout_ms = 2000;  // an unreachable server fails within this
  int io_timeout_ms = 10000;      // one command's reply
  int group_commit_slots = 4;     // KvEngine::group_commit_slots; 0: no group commit
  int cache_entries = 100000;     // version cache of read-write transactions; 0: off
  Status Validate() const;
};

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class RedisConn {
 public:
  static Result<std::unique_ptr<RedisConn>> Connect(const RedisKvOptions& opts);
  ~RedisConn();

  // One command; a Redis error reply becomes a Status (see above).
  Result<Reply> Command(const std::vector<std::string_view>& args);
  // EVALSHA of `script` (by its SHA-1 `sha`), falling back to EVAL when the server does not
  // know it (after a restart or SCRIPT FLUSH). No KEYS: the layout's keys are fixed.
  Result<Reply> Eval(const std::string& script, const std::string& sha,
                     const std::vector<std::string_view>& args);

  // Sets how long one reply may take (ms, >= 1); a no-op when unchanged (a setsockopt).
  void SetReplyTimeout(int64_t ms);

  bool broken() const { return broken_; }
  // True when the server closed the connection while it sat idle.
  bool ClosedByPeer() const;

 private:
  RedisConn(redisContext* ctx, std::string where) : ctx_(ctx), where_(std::move(where)) {}
  redisContext* ctx_;
  std::string where_;  // "redis host:port" for messages
  bool broken_ = false;
  int64_t reply_timeout_ms_ = 0;  // what redisSetTimeout was last given
};

class RedisPool {
 public:
  explicit RedisPool(RedisKvOptions opts) : opts_(std::move(opts)) {}

  // A connection returned to the pool when the handle goes away (dropped if broken).
  class Handle {
   public:
    Handle(RedisPool* pool, std::unique_ptr<RedisConn> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&&) = default;
    ~Handle() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    RedisConn* operator->() const { return conn_.get(); }
    RedisConn& operator*() const { return *conn_; }

   private:
    RedisPool* pool_;
    std::unique_ptr<RedisConn> conn_;
  };

  // Waits (up to io_timeout_ms, and at most `budget_ms` when >= 0) when pool_size connections
  // are in use. The connection's reply timeout is io_timeout_ms, lowered to budget_ms when
  // that is smaller, so no call waits past the caller's deadline. budget_ms 0: kTimeout.
  Result<Handle> Acquire(int64_t budget_ms = -1);
  const RedisKvOptions& options() const { return opts_; }

 private:
  void Release(std::unique_ptr<RedisConn> conn);

  const RedisKvOptions opts_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<RedisConn>> idle_;  // GUARDED_BY(mu_)
  int open_ = 0;                                  // GUARDED_BY(mu_): idle + in use
};

}  // namespace strata::kv
