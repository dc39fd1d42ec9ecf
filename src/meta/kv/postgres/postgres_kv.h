// PostgresKv: the KvEngine over PostgreSQL (postgres://user:password@host:port/db[?sslmode=..]),
// via libpq, for teams that run Postgres already (DESIGN.md §5). Layout
// (docs/format/postgres-layout.md, version 1): one table `kv(k bytea PRIMARY KEY, v bytea NOT
// NULL)` in the connection's default schema; bytea compares by unsigned bytes as kv.h wants.
//
// Transactions are PostgreSQL transactions held for the life of the KV transaction.
// Read-write ones take one transaction-scoped advisory lock of the database at BEGIN, so
// read-write transactions run one at a time (as SQLite's BEGIN IMMEDIATE) and never conflict:
// a second writer waits, bounded by its deadline (kTimeout, retried). Reads inside run at
// READ COMMITTED, which under the lock is one consistent view. Read-only transactions run at
// REPEATABLE READ READ ONLY (one snapshot) and never wait for writers.
// Why not SERIALIZABLE with retry on 40001 (tried first): kv.h promises that a commit fails
// when anything the transaction read changed since, a key read as absent and an insert into a
// scanned range included; SSI only aborts when a dependency cycle forms, so it commits a
// transaction whose read key changed under it (the KV conformance suite's phantom and
// deleted-key cases fail), and PostgreSQL has no range locks to make reads strict. Row locks
// (FOR SHARE) cannot lock an absent key or a gap. The cost is one writer at a time per
// volume, measured in bench/RESULTS.md. Errors 40001/40P01 are still mapped to kConflict.
// Writes are buffered (read-your-writes through WriteBuffer) and sent at Commit as prepared
// statements, then COMMIT.
//
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
  //                &io_timeout_ms=N] (other parameters go to libpq as they are)
  static Result<std::unique_ptr<PostgresKv>> OpenUrl(const std::string& url);

  ~PostgresKv() override;
  std::string Describe() const override;
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  Status Clear() override;
  // From SHOW fsync / synchronous_commit.
  Result<Durability> GetDurability() override;

 private:
  explicit PostgresKv(std::shared_ptr<PgShared> shared);
  std::shared_ptr<PgShared> shared_;
};

}  // namespace strata::kv
