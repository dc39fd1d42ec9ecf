// PgConn and PgPool: libpq connections for the PostgreSQL KV engine (internal to this
// directory). Every statement is sent asynchronously and waited for with poll() under a
// timeout, so no call outlives the caller's deadline: past it the statement is cancelled and
// the connection dropped. Parameters and results are binary (bytea needs no escaping).
//
// A PgConn that saw a connection-level error is broken and dropped by the pool, never reused;
// the pool opens new connections on demand, which is how the engine reconnects after a server
// restart. Before handing out an idle connection the pool checks, without a round trip, that
// the server has not closed it (a terminated backend leaves the socket readable).
//
// Error mapping (SQLSTATE): 40001 serialization failure, 40P01 deadlock, 23505 unique
// violation (two creators of the table) -> kConflict; class 08, 57P01-57P03 (admin shutdown,
// crash shutdown, cannot connect now), a lost connection -> kUnavailable; 57014 (cancelled on
// timeout) and our own deadline -> kTimeout; 28000/28P01 bad credentials -> kPermissionDenied;
// 3D000 database missing -> kNotFound; 53100 disk full -> kNoSpace; else kIOError.
//
// Thread-safety: PgPool is thread-safe; a PgConn is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::kv {

struct PostgresKvOptions {
  std::string conninfo;           // a libpq connection URI (password included)
  std::string describe;           // the same without the password
  int pool_size = 32;             // connections at most: one per FUSE thread in a request
  int connect_timeout_ms = 3000;  // an unreachable server fails within this
  int io_timeout_ms = 10000;      // one statement's reply
  // Version cache of read-write transactions (postgres_kv.h): what this client last read or
  // wrote, answered without a round trip and checked at commit. 0: off.
  int cache_entries = 100000;
  // Commits RunTxn keeps in flight before later ones wait and go as one group; 0: off.
  int group_commit_slots = 2;
  Status Validate() const;
};

struct PgResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

// The prepared statements every connection has (once the table exists).
enum PgStmt { kPgGet, kPgScan, kPgScanOpen, kPgPut, kPgDel, kPgNumStmts };

class PgConn {
 public:
  static Result<std::unique_ptr<PgConn>> Connect(const PostgresKvOptions& opts);
  ~PgConn();

  // A statement with binary parameters (nullptr-free: every parameter is bytes) and binary
  // results. Waits at most timeout_ms.
  Result<PgResult> Exec(const std::string& sql, const std::vector<std::string_view>& params,
                        int64_t timeout_ms);
  // Several statements without parameters in one round trip (simple query protocol); the
  // result of the last one, or the first error.
  Result<PgResult> ExecScript(const std::string& sql, int64_t timeout_ms);
  // Statements without parameters in one round trip (libpq pipeline mode, extended protocol:
  // one statement per string), a sync after each group. The server runs group after group and
  // answers each group as soon as it is done: what an earlier group returned (a transaction
  // id) reaches the client before a later group runs. `results` gets every statement's result
  // in order (PGRES_PIPELINE_ABORTED for those skipped after an error in their group). Returns
  // the first statement error, or a connection error (then broken()).
  Status Pipeline(const std::vector<std::vector<std::string>>& groups, int64_t timeout_ms,
                  std::vector<PgResult>* results);
  Result<PgResult> ExecPrepared(PgStmt stmt, const std::vector<std::string_view>& params,
                                int64_t timeout_ms);
  // Prepares the statements on this connection (after the table exists).
  Status Prepare(int64_t timeout_ms);
  bool prepared() const { return prepared_; }

  bool broken() const { return broken_; }
  // True when the server closed the connection (or sent something) while it sat idle.
  bool ClosedByPeer() const;
  // In an open transaction (BEGIN sent, COMMIT/ROLLBACK not yet).
  bool in_txn = false;
  // The server says a transaction block is open on this connection (failed or not): after a
  // script that stopped at an error half-way, a ROLLBACK is owed.
  bool InTransactionBlock() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

 private:
  PgConn(PGconn* c, std::string where) : conn_(c), where_(std::move(where)) {}
  Result<PgResult> Wait(int64_t timeout_ms, const std::string& what);
  Status Flush(std::chrono::steady_clock::time_point deadline, const std::string& what);
  // The next result once it has arrived (null: the current query is done).
  Result<PGresult*> Next(std::chrono::steady_clock::time_point deadline, int64_t timeout_ms,
                         const std::string& what);
  Status ErrorOf(const PGresult* r, const std::string& what);

  PGconn* conn_;
  std::string where_;  // "postgres host:port/db" for messages
  bool broken_ = false;
  bool prepared_ = false;
};

class PgPool {
 public:
  explicit PgPool(PostgresKvOptions opts) : opts_(std::move(opts)) {}

  class Handle {
   public:
    Handle(PgPool* pool, std::unique_ptr<PgConn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    PgConn* operator->() const { return conn_.get(); }
    PgConn& operator*() const { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConn> conn_;
  };

  // Waits up to budget_ms (io_timeout_ms when < 0) when pool_size connections are in use.
  Result<Handle> Acquire(int64_t budget_ms = -1);
  const PostgresKvOptions& options() const { return opts_; }

 private:
  void Release(std::unique_ptr<PgConn> conn);

  const PostgresKvOptions opts_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgConn>> idle_;  // GUARDED_BY(mu_)
  int open_ = 0;                               // GUARDED_BY(mu_): idle + in use
};

}  // namespace strata::kv
