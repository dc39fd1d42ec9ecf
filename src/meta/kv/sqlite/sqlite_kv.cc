#include "meta/kv/sqlite/sqlite_kv.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <vector>

#include "common/uri.h"

namespace strata::kv {
namespace {

// The Status for a SQLite result code; retryable codes only where waiting may help.
Status SqliteError(int rc, sqlite3* db, const std::string& path, std::string_view what) {
  std::string msg = "sqlite3 " + path + ": " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Timeout(msg);
    case SQLITE_NOTADB:
      return Status::Corruption("sqlite3 " + path + ": not a SQLite database");
    case SQLITE_CORRUPT:
      return Status::Corruption(msg);
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return Status::PermissionDenied(msg);
    case SQLITE_FULL:
      return Status(Code::kNoSpace, msg);
    case SQLITE_CANTOPEN:
      return Status::IOError(msg);
    default:
      return Status::IOError(msg);
  }
}

// Binds bytes as a BLOB (never NULL: an empty key or value is a zero-length blob).
int BindBlob(sqlite3_stmt* st, int i, std::string_view b) {
  return sqlite3_bind_blob(st, i, b.empty() ? "" : b.data(), static_cast<int>(b.size()),
                           SQLITE_TRANSIENT);
}

std::string ColumnBytes(sqlite3_stmt* st, int i) {
  const void* p = sqlite3_column_blob(st, i);
  int n = sqlite3_column_bytes(st, i);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

enum Stmt {
  kGet,
  kPut,
  kDel,
  kScan,
  kScanOpen,
  kBeginImm,
  kBeginDef,
  kCommit,
  kRollback,
  kClear,
  kNumStmts
};
constexpr const char* kSql[kNumStmts] = {
    "SELECT v FROM kv WHERE k = ?1",
    "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)",
    "DELETE FROM kv WHERE k = ?1",
    "SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k LIMIT ?3",
    "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?3",
    "BEGIN IMMEDIATE",
    "BEGIN DEFERRED",
    "COMMIT",
    "ROLLBACK",
    "DELETE FROM kv",
};

}  // namespace

// One SQLite connection with its prepared statements. Used by one thread at a time.
class SqliteConn {
 public:
  ~SqliteConn() {
    for (auto* st : stmts_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  static Result<std::unique_ptr<SqliteConn>> Open(const std::string& path,
                                                  const SqliteKvOptions& opts) {
    auto c = std::unique_ptr<SqliteConn>(new SqliteConn(path));
    int rc =
        sqlite3_open_v2(path.c_str(), &c->db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return SqliteError(rc, c->db_, path, "open");
    sqlite3_extended_result_codes(c->db_, 1);
    sqlite3_busy_timeout(c->db_, opts.busy_timeout_ms);
    RETURN_IF_ERROR(c->Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(
        c->Exec(opts.full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(
        c->Exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID"));
    for (int i = 0; i < kNumStmts; i++) {
      rc = sqlite3_prepare_v3(c->db_, kSql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts_[i],
                              nullptr);
      if (rc != SQLITE_OK) return SqliteError(rc, c->db_, path, kSql[i]);
    }
    return c;
  }

  Status Exec(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::OK() : SqliteError(rc, db_, path_, sql);
  }

  // Runs a statement that returns no rows.
  Status Run(Stmt s, std::string_view a = {}, std::string_view b = {}, int nargs = 0) {
    sqlite3_stmt* st = stmts_[s];
    if (nargs >= 1) BindBlob(st, 1, a);
    if (nargs >= 2) BindBlob(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? Status::OK() : SqliteError(rc, db_, path_, kSql[s]);
  }

  Result<std::optional<std::string>> Get(std::string_view key) {
    sqlite3_stmt* st = stmts_[kGet];
    BindBlob(st, 1, key);
    int rc = sqlite3_step(st);
    std::optional<std::string> out;
    if (rc == SQLITE_ROW) {
      out = ColumnBytes(st, 0);
      rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return SqliteError(rc, db_, path_, "get");
    return out;
  }

  Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end, size_t limit) {
    std::vector<KeyValue> out;
    if (!end.empty() && begin >= end) return out;
    sqlite3_stmt* st = stmts_[end.empty() ? kScanOpen : kScan];
    BindBlob(st, 1, begin);
    if (!end.empty()) BindBlob(st, 2, end);
    sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(limit));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      out.push_back({ColumnBytes(st, 0), ColumnBytes(st, 1)});
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) return SqliteError(rc, db_, path_, "scan");
    return out;
  }

  // fsync of the file that holds this connection's committed transactions: the WAL (every
  // commit of every connection and process is a frame in it until a checkpoint has copied it
  // into the database file, which checkpoints fsync in synchronous=NORMAL), or the database
  // file itself when there is no WAL. Through SQLite's own file handle, so its rules hold
  // (the first sync of a new WAL also fsyncs its directory).
  Status SyncCommitted() {
    sqlite3_file* file = nullptr;
    int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file);
    if (rc == SQLITE_OK && (!file || !file->pMethods)) {
      // The connection opens the WAL at its first read: read once, then ask again.
      ASSIGN_OR_RETURN(auto probe, Get(""));
      (void)probe;
      rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file);
    }
    if (rc == SQLITE_OK && (!file || !file->pMethods)) {
      // No WAL (not WAL mode): committed transactions are in the database file.
      rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file);
    }
    if (rc != SQLITE_OK) return SqliteError(rc, db_, path_, "sync: find the file to sync");
    if (!file || !file->pMethods) return Status::Internal("sqlite3 " + path_ + ": no file to sync");
    rc = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
    return rc == SQLITE_OK ? Status::OK() : SqliteError(rc, nullptr, path_, "sync");
  }

  sqlite3* db() const { return db_; }

 private:
  explicit SqliteConn(std::string path) : path_(std::move(path)) {}
  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmts_[kNumStmts] = {};
};

// Connections and the in-process writer queue, shared by the engine and its transactions.
class SqlitePool {
 public:
  SqlitePool(std::string path, SqliteKvOptions opts) : path_(std::move(path)), opts_(opts) {}

  Result<std::unique_ptr<SqliteConn>> Acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return SqliteConn::Open(path_, opts_);
  }
  void Release(std::unique_ptr<SqliteConn> c) {
    std::lock_guard lock(mu_);
    if (idle_.size() < opts_.max_idle_connections) idle_.push_back(std::move(c));
  }

  // Writers of this process queue here (woken in turn) rather than poll SQLite's busy handler.
  Status LockWriter() {
    if (writer_mu_.try_lock_for(std::chrono::milliseconds(opts_.busy_timeout_ms))) {
      return Status::OK();
    }
    return Status::Timeout("sqlite3 " + path_ +
                           ": another transaction of this process held "
                           "the write lock for " +
                           std::to_string(opts_.busy_timeout_ms) +
                           " ms (a transaction opened inside another?)");
  }
  void UnlockWriter() { writer_mu_.unlock(); }

  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const SqliteKvOptions opts_;
  std::mutex mu_;
  std::vector<std::unique_ptr<SqliteConn>> idle_;  // GUARDED_BY(mu_)
  std::timed_mutex writer_mu_;
};

namespace {

class SqliteTxn : public Transaction {
 public:
  SqliteTxn(std::shared_ptr<SqlitePool> pool, std::unique_ptr<SqliteConn> conn, bool read_only)
      : pool_(std::move(pool)), conn_(std::move(conn)), read_only_(read_only) {}

  ~SqliteTxn() override {
    if (conn_) Finish(/*commit=*/false).ok();  // abandoned: roll back; nothing to report to
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    RETURN_IF_ERROR(CheckOpen());
    return conn_->Get(key);
  }

  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) {
      ASSIGN_OR_RETURN(auto v, conn_->Get(k));
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end,
                                     size_t limit) override {
    RETURN_IF_ERROR(CheckOpen());
    if (limit == 0) return Status::InvalidArgument("scan limit must be > 0");
    return conn_->Scan(begin, end, limit);
  }

  void Put(std::string_view key, std::string_view value) override { Write(kPut, key, value); }
  void Delete(std::string_view key) override { Write(kDel, key, {}); }

  Status Commit() override {
    RETURN_IF_ERROR(CheckOpen());
    if (!write_error_.ok()) {
      Finish(false).ok();  // the write error is what the caller needs to see
      return write_error_;
    }
    return Finish(/*commit=*/true);
  }

 private:
  Status CheckOpen() const {
    return conn_ ? Status::OK() : Status::Internal("sqlite3: transaction used after Commit");
  }

  void Write(Stmt s, std::string_view key, std::string_view value) {
    if (!write_error_.ok()) return;
    if (!conn_) {
      write_error_ = Status::Internal("sqlite3: transaction used after Commit");
    } else if (read_only_) {
      write_error_ = Status::Internal("sqlite3: write in a read-only transaction");
    } else {
      write_error_ = conn_->Run(s, key, value, s == kPut ? 2 : 1);
    }
  }

  // Commits or rolls back, then returns the connection and the writer lock.
  Status Finish(bool commit) {
    Status s = conn_->Run(commit ? kCommit : kRollback);
    if (!s.ok() && commit) conn_->Run(kRollback).ok();  // already reporting the commit error
    if (!read_only_) pool_->UnlockWriter();
    if (s.ok() || sqlite3_get_autocommit(conn_->db())) {
      pool_->Release(std::move(conn_));
    }
    conn_.reset();  // a connection stuck inside a transaction is not reused
    return s;
  }

  std::shared_ptr<SqlitePool> pool_;
  std::unique_ptr<SqliteConn> conn_;  // null once finished
  const bool read_only_;
  Status write_error_;  // the first failed Put/Delete, reported by Commit
};

}  // namespace

Status SqliteKvOptions::Validate() const {
  if (busy_timeout_ms < 0) return Status::InvalidArgument("sqlite3: busy_timeout_ms < 0");
  return Status::OK();
}

SqliteKv::SqliteKv(std::shared_ptr<SqlitePool> pool) : pool_(std::move(pool)) {}
SqliteKv::~SqliteKv() = default;

Result<std::unique_ptr<SqliteKv>> SqliteKv::Open(const std::string& path,
                                                 const SqliteKvOptions& opts) {
  RETURN_IF_ERROR(opts.Validate());
  if (path.empty()) return Status::InvalidArgument("sqlite3: empty database path");
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("sqlite3 " + path + ": directory " + dir + " does not exist");
  }
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("sqlite3 " + path + ": is a directory, not a database file");
    }
    if (access(path.c_str(), R_OK | W_OK) != 0) {
      return FromErrno(errno, "sqlite3 " + path + ": cannot read and write the database file");
    }
  } else if (access(dir.c_str(), W_OK) != 0) {
    return FromErrno(errno, "sqlite3 " + path + ": cannot create the database in " + dir);
  }
  auto pool = std::make_shared<SqlitePool>(path, opts);
  // Open one connection now so that a bad file is reported here, not at the first request.
  ASSIGN_OR_RETURN(auto conn, pool->Acquire());
  ASSIGN_OR_RETURN(auto probe, conn->Get(""));
  (void)probe;
  pool->Release(std::move(conn));
  return std::unique_ptr<SqliteKv>(new SqliteKv(std::move(pool)));
}

Result<std::unique_ptr<SqliteKv>> SqliteKv::OpenUrl(const std::string& url) {
  ASSIGN_OR_RETURN(Uri uri, ParseUri(url));
  if (uri.scheme != "sqlite3") return Status::InvalidArgument("not a sqlite3:// URL: " + url);
  if (!uri.host.empty() || uri.path.empty()) {
    return Status::InvalidArgument("sqlite3: want sqlite3:///absolute/path/meta.db, got " + url);
  }
  SqliteKvOptions opts;
  for (const auto& [k, v] : uri.query) {
    if (k == "busy_timeout_ms") {
      char* rest = nullptr;
      opts.busy_timeout_ms = static_cast<int>(std::strtol(v.c_str(), &rest, 10));
      if (v.empty() || *rest) return Status::InvalidArgument("sqlite3: bad busy_timeout_ms");
    } else if (k == "sync") {
      if (v != "full" && v != "normal") {
        return Status::InvalidArgument("sqlite3: sync must be full or normal, got " + v);
      }
      opts.full_sync = v == "full";
    } else {
      return Status::InvalidArgument("sqlite3: unknown parameter '" + k +
                                     "' (known: busy_timeout_ms, sync)");
    }
  }
  return Open(uri.path, opts);
}

std::string SqliteKv::Describe() const { return "sqlite3://" + pool_->path(); }

Result<std::unique_ptr<Transaction>> SqliteKv::Begin(bool read_only) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  if (!read_only) RETURN_IF_ERROR(pool_->LockWriter());
  Status s = conn->Run(read_only ? kBeginDef : kBeginImm);
  if (!s.ok()) {
    if (!read_only) pool_->UnlockWriter();
    return s;
  }
  return std::unique_ptr<Transaction>(new SqliteTxn(pool_, std::move(conn), read_only));
}

Status SqliteKv::Clear() {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  RETURN_IF_ERROR(pool_->LockWriter());
  Status s = conn->Run(kClear);  // autocommit: one implicit write transaction
  pool_->UnlockWriter();
  pool_->Release(std::move(conn));
  return s;
}

Status SqliteKv::Sync() {
  // Not a checkpoint: a PASSIVE one skips its fsync when a reader pins the WAL and still
  // reports OK, and one that waits for readers would hold fsync() behind them.
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  Status s = conn->SyncCommitted();
  pool_->Release(std::move(conn));
  return s;
}

void RegisterSqliteKv(KvRegistry& registry) {
  registry.Register("sqlite3", [](const std::string& url) -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, SqliteKv::OpenUrl(url));
    return std::shared_ptr<KvEngine>(std::move(kv));
  });
}

}  // namespace strata::kv
