// PostgresKv: the KvEngine over PostgreSQL (postgres://user:password@host:port/db[?sslmode=..]),
// via libpq, for teams that run Postgres already (DESIGN.md §5). Layout
// (docs/format/postgres-layout.md, version 1): one table `kv(k bytea PRIMARY KEY, v bytea NOT
// NULL)` in the connection's default schema; bytea compares by unsigned bytes as kv.h wants.
//
// Transactions are optimistic (as on Redis): reads are single statements on pooled
// connections, outside any PostgreSQL transaction, and each remembers the xmin of the row it
// saw (absent: none) or the (key, xmin) list of the page it scanned. Commit is one round trip,
// a libpq pipeline of two groups: BEGIN ISOLATION LEVEL READ COMMITTED + txid_current(), then
// pg_advisory_xact_lock of the database, a DO block that raises 40001 (kConflict) if any read
// key's xmin or any scanned page changed, the writes (one INSERT .. ON CONFLICT, one DELETE,
// increments added on the server so counters never conflict), COMMIT. The lock serialises
// only the servers' runs of commit pipelines, never a network round trip. Why not SERIALIZABLE:
// kv.h promises a commit fails when anything it read changed since (a key read as absent and
// created, a key inserted into a scanned range); SSI only aborts on a dependency cycle, and
// PostgreSQL has no locks for an absent key or a gap. Validate() checks the reads in one
// statement when they took more than one.
// A version cache (`cache=N` in the URL, default 100000 keys; 0: off) keeps what read-write
// transactions of this client last read or wrote, with its xmin (a committed write's rows carry
// the low 32 bits of its txid): such reads, and reads of keys the caller believes absent
// (ExpectAbsent), cost no round trip and are checked at commit like any other; a failed commit
// drops what it read.
// Group commit (`group_commit=N`, default 2 in flight): later commits go together as one
// PostgreSQL transaction, one WAL flush for all, each checked and applied in turn and told its
// own result (docs/format/postgres-layout.md).
// A pipeline whose connection breaks after the server answered the first group (the id) is
// looked up with txid_status; one that breaks before never ran its second group (kUnavailable,
// retried); a timeout before the id came back is kOutcomeUnknown.

// The table is created by the first write (so by `strata format`): opening a database
// without it writes nothing, and reads see an empty store (a mount then says the volume is
// not formatted). A table `kv` with other column types is refused.
//
// Connections: a pool (pool_size, default 32: the FUSE threads), each with the prepared
// statements; a connection that failed is dropped and a new one opened on demand, so the
// engine reconnects after a server restart. Every statement waits at most the transaction's
// deadline (and io_timeout_ms). A COMMIT whose connection fails is kOutcomeUnknown.
//
// Thread-safety: the engine may be used from any thread; a Transaction belongs to one thread
// and may outlive the engine.
#pragma once

#include <memory>
#include <string>

#include "meta/kv/kv.h"
#include "meta/kv/postgres/pg_conn.h"

namespace strata::kv {

class PgShared;  // postgres_kv.cc

class PostgresKv : public KvEngine {
 public:
  // Fails with kUnavailable (server unreachable), kPermissionDenied (bad credentials),
  // kNotFound (no such database), kInvalidArgument (a kv table of another shape).
  static Result<std::unique_ptr<PostgresKv>> Open(const PostgresKvOptions& opts);
  // postgres[ql]://user:password@host:port/db[?sslmode=..&pool_size=N&connect_timeout_ms=N
  //                &io_timeout_ms=N&cache=N&group_commit=N] (other parameters go to libpq
  //                as they are)
  static Result<std::unique_ptr<PostgresKv>> OpenUrl(const std::string& url);

  ~PostgresKv() override;
  std::string Describe() const override;
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  Status Clear() override;
  // From SHOW fsync / synchronous_commit.
  Result<Durability> GetDurability() override;
  // Group commit: the writing transactions of the group in one PostgreSQL transaction (one
  // pipeline, one WAL flush), each checked and applied in turn, each told its own result.
  std::vector<Status> CommitGroup(const std::vector<Transaction*>& txns) override;
  int group_commit_slots() const override;

 private:
  explicit PostgresKv(std::shared_ptr<PgShared> shared);
  std::shared_ptr<PgShared> shared_;
};

}  // namespace strata::kv
