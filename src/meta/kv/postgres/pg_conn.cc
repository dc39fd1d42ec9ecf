#include "meta/kv/postgres/pg_conn.h"

#include <poll.h>

#include <chrono>
#include <cstring>

namespace strata::kv {

namespace {

constexpr const char* kStmtSql[kPgNumStmts] = {
    "SELECT v, xmin::text FROM kv WHERE k = $1",
    "SELECT k, v, xmin::text FROM kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3",
    "SELECT k, v, xmin::text FROM kv WHERE k >= $1 ORDER BY k LIMIT $2",
    "INSERT INTO kv(k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
    "DELETE FROM kv WHERE k = $1",
};
constexpr const char* kStmtName[kPgNumStmts] = {"strata_get", "strata_scan", "strata_scan_open",
                                                "strata_put", "strata_del"};

// libpq's messages span lines ("connection to server ... failed: ...\n\tIs the server
// running..."); one line for logs and the CLI.
std::string OneLine(const char* msg) {
  std::string s = msg ? msg : "";
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

Status FromSqlState(std::string_view state, const std::string& msg) {
  if (state == "40001" || state == "40P01" || state == "23505") return Status::Conflict(msg);
  if (state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
    return Status::Unavailable(msg);
  }
  if (state == "57014") return Status::Timeout(msg);
  if (state == "28000" || state == "28P01" || state == "42501")
    return Status::PermissionDenied(msg);
  if (state == "3D000") return Status::NotFound(msg);
  if (state == "53100") return Status(Code::kNoSpace, msg);
  return Status::IOError(msg);
}

}  // namespace

Status PostgresKvOptions::Validate() const {
  if (conninfo.empty()) return Status::InvalidArgument("postgres: no connection string");
  if (pool_size < 1) return Status::InvalidArgument("postgres: pool_size must be >= 1");
  if (connect_timeout_ms < 1 || io_timeout_ms < 1) {
    return Status::InvalidArgument("postgres: timeouts must be >= 1 ms");
  }
  return Status::OK();
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const PostgresKvOptions& opts) {
  PGconn* c = PQconnectdb(opts.conninfo.c_str());
  if (c == nullptr) return Status(Code::kNoSpace, "postgres: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = OneLine(PQerrorMessage(c));
    PQfinish(c);
    std::string m = "postgres " + opts.describe + ": " + msg;
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("no password supplied") != std::string::npos ||
        msg.find("authentication failed") != std::string::npos ||
        msg.find("role \"") != std::string::npos) {
      return Status::PermissionDenied(m);
    }
    if (msg.find("database \"") != std::string::npos &&
        msg.find("does not exist") != std::string::npos) {
      return Status::NotFound(m);
    }
    if (msg.find("invalid") != std::string::npos && msg.find("option") != std::string::npos) {
      return Status::InvalidArgument(m);
    }
    return Status::Unavailable(m);
  }
  if (PQsetnonblocking(c, 1) != 0) {
    PQfinish(c);
    return Status::IOError("postgres: cannot make the connection non-blocking");
  }
  return std::unique_ptr<PgConn>(new PgConn(c, "postgres " + opts.describe));
}

PgConn::~PgConn() { PQfinish(conn_); }

bool PgConn::ClosedByPeer() const {
  pollfd p{PQsocket(conn_), POLLIN, 0};
  return poll(&p, 1, 0) != 0 || PQstatus(conn_) != CONNECTION_OK;
}

Status PgConn::ErrorOf(const PGresult* r, const std::string& what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg =
      where_ + ": " + what + ": " + OneLine(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    return Status::Unavailable(msg);
  }
  if (state == nullptr) return Status::IOError(msg);
  Status s = FromSqlState(state, msg);
  if (s.Is(Code::kUnavailable)) broken_ = true;
  return s;
}

Status PgConn::Flush(std::chrono::steady_clock::time_point deadline, const std::string& what) {
  // Flush what is queued (non-blocking mode).
  while (true) {
    int f = PQflush(conn_);
    if (f == 0) return Status::OK();
    if (f < 0) {
      broken_ = true;
      return Status::Unavailable(where_ + ": " + what + ": " + OneLine(PQerrorMessage(conn_)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      broken_ = true;
      return Status::Timeout(where_ + ": " + what + ": could not send within the deadline");
    }
    pollfd p{PQsocket(conn_), POLLOUT | POLLIN, 10};
    poll(&p, 1, 10);
    if (p.revents & POLLIN) PQconsumeInput(conn_);
  }
}

Result<PGresult*> PgConn::Next(std::chrono::steady_clock::time_point deadline, int64_t timeout_ms,
                               const std::string& what) {
  while (PQisBusy(conn_)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      // Cancel, and never reuse the connection: its state is unknown.
      if (PGcancel* c = PQgetCancel(conn_)) {
        char err[128];
        PQcancel(c, err, sizeof(err));
        PQfreeCancel(c);
      }
      broken_ = true;
      return Status::Timeout(where_ + ": " + what + ": no reply within " +
                             std::to_string(timeout_ms) + " ms");
    }
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) {
      broken_ = true;
      return Status::Unavailable(where_ + ": poll: " + std::strerror(errno));
    }
    if (n > 0 && PQconsumeInput(conn_) == 0) {
      broken_ = true;
      return Status::Unavailable(where_ + ": " + what + ": " + OneLine(PQerrorMessage(conn_)));
    }
  }
  return PQgetResult(conn_);
}

Result<PgResult> PgConn::Wait(int64_t timeout_ms, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  RETURN_IF_ERROR(Flush(deadline, what));
  PgResult last;
  while (true) {
    ASSIGN_OR_RETURN(PGresult * r, Next(deadline, timeout_ms, what));
    if (r == nullptr) break;
    // Keep the first error (a later result cannot fix it), else the last result.
    if (!last || PQresultStatus(last.get()) != PGRES_FATAL_ERROR)
      last.reset(r);
    else
      PQclear(r);
  }
  if (!last) {
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    return Status::Unavailable(where_ + ": " + what + ": " + OneLine(PQerrorMessage(conn_)));
  }
  ExecStatusType st = PQresultStatus(last.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorOf(last.get(), what);
  return last;
}

Status PgConn::Pipeline(const std::vector<std::vector<std::string>>& groups, int64_t timeout_ms,
                        std::vector<PgResult>* results) {
  results->clear();
  if (!PQenterPipelineMode(conn_)) {
    return Status::Internal(where_ +
                            ": cannot enter pipeline mode: " + OneLine(PQerrorMessage(conn_)));
  }
  auto sent_failed = [&]() {
    broken_ = true;  // half a pipeline sent: never reuse the connection
    return Status::Unavailable(where_ + ": " + OneLine(PQerrorMessage(conn_)));
  };
  for (const auto& group : groups) {
    for (const auto& sql : group) {
      if (!PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)) {
        return sent_failed();
      }
    }
    if (!PQpipelineSync(conn_)) return sent_failed();
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string what = "pipeline";
  RETURN_IF_ERROR(Flush(deadline, what));
  Status first;
  for (const auto& group : groups) {
    for (size_t q = 0; q < group.size(); q++) {
      // One query: its result, then a null that ends it.
      PgResult mine;
      while (true) {
        ASSIGN_OR_RETURN(PGresult * r, Next(deadline, timeout_ms, what));
        if (r == nullptr) break;
        if (!mine) {
          mine.reset(r);
        } else {
          PQclear(r);
        }
      }
      if (!mine) {
        broken_ = true;
        return Status::Unavailable(where_ + ": " + what + ": " + OneLine(PQerrorMessage(conn_)));
      }
      ExecStatusType st = PQresultStatus(mine.get());
      if (first.ok() && st == PGRES_FATAL_ERROR)
        first = ErrorOf(mine.get(), group[q].substr(0, 40));
      results->push_back(std::move(mine));
    }
    ASSIGN_OR_RETURN(PGresult * sync, Next(deadline, timeout_ms, what));
    if (sync == nullptr || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
      if (sync) PQclear(sync);
      broken_ = true;
      return Status::IOError(where_ + ": pipeline out of step");
    }
    PQclear(sync);
  }
  if (!PQexitPipelineMode(conn_)) broken_ = true;
  return first;
}

Result<PgResult> PgConn::Exec(const std::string& sql, const std::vector<std::string_view>& params,
                              int64_t timeout_ms) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (auto p : params) {
    values.push_back(p.data() ? p.data() : "");
    lengths.push_back(static_cast<int>(p.size()));
    formats.push_back(1);
  }
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                         values.data(), lengths.data(), formats.data(), 1)) {
    broken_ = PQstatus(conn_) != CONNECTION_OK;
    return Status::Unavailable(where_ + ": " + OneLine(PQerrorMessage(conn_)));
  }
  return Wait(timeout_ms, sql.substr(0, sql.find(' ')));
}

Result<PgResult> PgConn::ExecScript(const std::string& sql, int64_t timeout_ms) {
  if (!PQsendQuery(conn_, sql.c_str())) {
    broken_ = PQstatus(conn_) != CONNECTION_OK;
    return Status::Unavailable(where_ + ": " + OneLine(PQerrorMessage(conn_)));
  }
  return Wait(timeout_ms, sql.substr(0, sql.find(' ')));
}

Result<PgResult> PgConn::ExecPrepared(PgStmt stmt, const std::vector<std::string_view>& params,
                                      int64_t timeout_ms) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (auto p : params) {
    values.push_back(p.data() ? p.data() : "");
    lengths.push_back(static_cast<int>(p.size()));
    formats.push_back(1);
  }
  if (!PQsendQueryPrepared(conn_, kStmtName[stmt], static_cast<int>(params.size()), values.data(),
                           lengths.data(), formats.data(), 1)) {
    broken_ = PQstatus(conn_) != CONNECTION_OK;
    return Status::Unavailable(where_ + ": " + OneLine(PQerrorMessage(conn_)));
  }
  return Wait(timeout_ms, kStmtName[stmt]);
}

Status PgConn::Prepare(int64_t timeout_ms) {
  for (int i = 0; i < kPgNumStmts; i++) {
    if (!PQsendPrepare(conn_, kStmtName[i], kStmtSql[i], 0, nullptr)) {
      broken_ = PQstatus(conn_) != CONNECTION_OK;
      return Status::Unavailable(where_ + ": " + OneLine(PQerrorMessage(conn_)));
    }
    RETURN_IF_ERROR(Wait(timeout_ms, std::string("prepare ") + kStmtName[i]).status());
  }
  prepared_ = true;
  return Status::OK();
}

Result<PgPool::Handle> PgPool::Acquire(int64_t budget_ms) {
  const int64_t wait_ms = budget_ms < 0 ? opts_.io_timeout_ms : budget_ms;
  if (wait_ms == 0) return Status::Timeout("postgres: deadline passed");
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->ClosedByPeer()) {  // e.g. the server restarted while it sat idle
        open_--;
        continue;
      }
      return Handle(this, std::move(c));
    }
    if (open_ < opts_.pool_size) {
      open_++;
      lock.unlock();
      auto c = PgConn::Connect(opts_);
      if (!c.ok()) {
        lock.lock();
        open_--;
        freed_.notify_one();
        return c.status();
      }
      return Handle(this, std::move(*c));
    }
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Status::Timeout("postgres: all " + std::to_string(opts_.pool_size) +
                             " pooled connections stayed busy");
    }
  }
}

void PgPool::Release(std::unique_ptr<PgConn> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->broken() || conn->in_txn) {
    open_--;
  } else {
    idle_.push_back(std::move(conn));
  }
  freed_.notify_one();
}

}  // namespace strata::kv
