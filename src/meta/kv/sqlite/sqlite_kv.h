// SqliteKv: the embedded KvEngine (sqlite3:///path/meta.db), the default for one machine.
//
// Layout: one table `kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID` in WAL mode; keys compare
// with memcmp, i.e. by unsigned bytes as kv.h requires. Several processes (several mounts on
// one machine) may open the same file: SQLite's file locks keep them consistent.
//
// Transactions (chosen over "read outside, validate at commit"; see bench/RESULTS.md):
//  - read-write: BEGIN IMMEDIATE when the transaction begins, so read-write transactions are
//    serialized and can never conflict: a second writer waits (in this process on a queue,
//    across processes on SQLite's busy handler) up to busy_timeout_ms, then gets kTimeout
//    (retryable). Writes go straight into the open SQLite transaction, so reads see them.
//    The cost: a transaction holds the write lock while its fn runs, which is fine because
//    fn only talks to the KV (STYLE.md: no I/O inside a metadata transaction).
//  - read-only: BEGIN DEFERRED; WAL gives a snapshot that writers never block.
// Durability: synchronous=NORMAL (a committed transaction survives a SIGKILL of the process;
// the last few may be lost on power loss) unless sync=full; Sync() fsyncs the WAL (through
// SQLite's file handle), so that when it returns every transaction committed before the call,
// by any connection or process, survives power loss (fsync() of a file, DESIGN.md §6). It
// does not wait for readers: a read transaction pinning the WAL changes nothing.
//
// Connections: a pool of SQLite connections, one per transaction in flight (a connection is
// used by one thread at a time), kept for reuse.
//
// Thread-safety: the engine may be used from any thread; a Transaction belongs to one thread
// and may outlive the engine. Errors: kNotFound (directory missing), kInvalidArgument (bad
// URL, a directory given), kPermissionDenied, kCorruption (not a SQLite database), kTimeout
// (locked too long; retryable), kNoSpace, kIOError.
#pragma once

#include <memory>
#include <string>

#include "meta/kv/kv.h"

namespace strata::kv {

struct SqliteKvOptions {
  int busy_timeout_ms = 5000;        // how long a writer waits for the write lock
  bool full_sync = false;            // synchronous=FULL: every commit fsyncs (URL: sync=full)
  size_t max_idle_connections = 64;  // connections kept open for reuse
  Status Validate() const;
};

class SqlitePool;  // sqlite_kv.cc

class SqliteKv : public KvEngine {
 public:
  // Creates the file (and table) when missing; its directory must exist.
  static Result<std::unique_ptr<SqliteKv>> Open(const std::string& path,
                                                const SqliteKvOptions& opts = {});
  // sqlite3:///abs/path/meta.db[?busy_timeout_ms=N&sync=full|normal]
  static Result<std::unique_ptr<SqliteKv>> OpenUrl(const std::string& url);

  ~SqliteKv() override;
  std::string Describe() const override;
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  Status Clear() override;
  Status Sync() override;
  // A read-only transaction is one WAL read snapshot on one connection.
  bool SnapshotReads() const override { return true; }
  Result<Durability> GetDurability() override {
    return Durability{true,
                      "SQLite WAL: commits survive a crash of any process; fsync() also makes "
                      "them survive power loss"};
  }

 private:
  explicit SqliteKv(std::shared_ptr<SqlitePool> pool);
  std::shared_ptr<SqlitePool> pool_;
};

}  // namespace strata::kv
