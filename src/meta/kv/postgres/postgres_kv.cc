#include "meta/kv/postgres/postgres_kv.h"

#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "common/uri.h"
#include "meta/kv/write_buffer.h"

namespace strata::kv {

namespace {
constexpr Oid kByteaOid = 17;
constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS kv (k bytea PRIMARY KEY, v bytea NOT NULL)";

// Read-only: one snapshot, never waits. Read-write: one writer at a time per database (a
// transaction-scoped advisory lock; postgres_kv.h says why), reads see the latest commits.
constexpr char kBeginReadOnly[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr char kBeginWriter[] =
    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(6076154311116935254)";

std::string Cell(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col));
}

std::string Int8(int64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; i--) {
    s[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}
}  // namespace

// What the engine and its transactions share.
class PgShared {
 public:
  explicit PgShared(const PostgresKvOptions& opts) : pool(opts) {}

  // Asks whether the kv table exists (only while it did not; it is never dropped by us).
  Status CheckTable(PgConn& c, int64_t timeout_ms) {
    if (table_ready.load(std::memory_order_acquire)) return Status::OK();
    // A query of the catalog (its MVCC snapshot), not to_regclass(): that looks names up in
    // the backend's cache without a lock, which can keep answering "absent" after another
    // client's CREATE TABLE committed.
    ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE "
                                        "tablename = 'kv' AND schemaname = current_schema())",
                                        {}, timeout_ms));
    if (PQntuples(r.get()) == 1 && PQgetlength(r.get(), 0, 0) == 1 &&
        PQgetvalue(r.get(), 0, 0)[0] == 1) {
      table_ready.store(true, std::memory_order_release);
    }
    return Status::OK();
  }

  PgPool pool;
  std::atomic<bool> table_ready{false};
};

namespace {

class PgTxn : public Transaction {
 public:
  PgTxn(std::shared_ptr<PgShared> sh, bool read_only) : sh_(std::move(sh)), read_only_(read_only) {}
  ~PgTxn() override { (void)End(/*commit=*/false); }  // a rollback that fails drops the connection

  void SetDeadline(const Deadline& deadline, Clock* clock) override {
    deadline_ = deadline;
    clock_ = clock;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    RETURN_IF_ERROR(Start());
    if (auto* w = writes_.Find(key)) return *w;
    if (!table_) return std::optional<std::string>();
    ASSIGN_OR_RETURN(PgResult r, (*conn_)->ExecPrepared(kPgGet, {key}, BudgetMs()));
    if (PQntuples(r.get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(Cell(r.get(), 0, 0));
  }

  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    RETURN_IF_ERROR(Start());
    std::vector<std::optional<std::string>> out(keys.size());
    const std::vector<size_t> where = writes_.AnswerPending(keys, &out);
    if (where.empty() || !table_) return out;
    std::vector<std::string_view> missing;
    for (size_t i : where) missing.push_back(keys[i]);
    // One round trip: k IN ($1, ..., $n).
    std::string sql = "SELECT k, v FROM kv WHERE k IN (";
    for (size_t i = 0; i < missing.size(); i++) {
      sql += (i ? ", $" : "$") + std::to_string(i + 1);
    }
    sql += ")";
    ASSIGN_OR_RETURN(PgResult r, (*conn_)->Exec(sql, missing, BudgetMs()));
    std::map<std::string, std::string, std::less<>> found;
    for (int row = 0; row < PQntuples(r.get()); row++) {
      found.emplace(Cell(r.get(), row, 0), Cell(r.get(), row, 1));
    }
    for (size_t j = 0; j < where.size(); j++) {
      auto it = found.find(missing[j]);
      if (it != found.end()) out[where[j]] = it->second;
    }
    return out;
  }

  Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end,
                                     size_t limit) override {
    RETURN_IF_ERROR(Start());
    auto fetch = [&](std::string_view b, std::string_view e,
                     size_t n) -> Result<std::vector<KeyValue>> {
      std::vector<KeyValue> page;
      if (!table_) return page;
      std::string lim = Int8(static_cast<int64_t>(n));
      auto r = e.empty() ? (*conn_)->ExecPrepared(kPgScanOpen, {b, lim}, BudgetMs())
                         : (*conn_)->ExecPrepared(kPgScan, {b, e, lim}, BudgetMs());
      RETURN_IF_ERROR(r.status());
      for (int row = 0; row < PQntuples(r->get()); row++) {
        page.push_back({Cell(r->get(), row, 0), Cell(r->get(), row, 1)});
      }
      return page;
    };
    return writes_.MergedScan(begin, end, limit, fetch);
  }

  void Put(std::string_view key, std::string_view value) override { writes_.Put(key, value); }
  void Delete(std::string_view key) override { writes_.Delete(key); }

  Status Commit() override {
    if (done_) return Status::Internal("postgres: transaction used after Commit");
    if (read_only_ && !writes_.empty()) {
      done_ = true;
      return Status::Internal("postgres: write in a read-only transaction");
    }
    if (!conn_ && writes_.empty()) {
      done_ = true;
      return Status::OK();
    }
    RETURN_IF_ERROR(Start());
    done_ = true;
    bool created = false;
    if (!writes_.empty() && !table_) {
      // The first write to this database (strata format): the table comes with it. If another
      // client created it since this transaction began, its reads saw nothing that SSI
      // tracked: start again.
      RETURN_IF_ERROR(sh_->CheckTable(**conn_, BudgetMs()));
      if (sh_->table_ready.load(std::memory_order_acquire)) {
        return Status::Conflict("postgres: the kv table appeared during the transaction");
      }
      RETURN_IF_ERROR((*conn_)->Exec(kCreateTable, {}, BudgetMs()).status());
      RETURN_IF_ERROR((*conn_)->Prepare(BudgetMs()));
      created = true;
    }
    for (const auto& [k, v] : writes_.entries()) {
      auto r = v ? (*conn_)->ExecPrepared(kPgPut, {k, *v}, BudgetMs())
                 : (*conn_)->ExecPrepared(kPgDel, {k}, BudgetMs());
      RETURN_IF_ERROR(r.status());
    }
    // Our transaction id, so that a COMMIT whose reply is lost can be looked up afterwards.
    ASSIGN_OR_RETURN(PgResult xr, (*conn_)->Exec("SELECT txid_current()", {}, BudgetMs()));
    int64_t xid = 0;
    if (PQntuples(xr.get()) == 1 && PQgetlength(xr.get(), 0, 0) == 8) {
      for (int i = 0; i < 8; i++) xid = (xid << 8) | uint8_t(PQgetvalue(xr.get(), 0, 0)[i]);
    }
    Status s = End(/*commit=*/true);
    if (s.Is(Code::kOutcomeUnknown) && xid != 0) s = Resolve(xid, s);
    if (s.ok() && created) sh_->table_ready.store(true, std::memory_order_release);
    return s;
  }

 private:
  int64_t BudgetMs() const {
    const int64_t cap = sh_->pool.options().io_timeout_ms;
    if (clock_ == nullptr || deadline_.is_never()) return cap;
    return deadline_.RemainingMillis(*clock_, cap);
  }

  // After a COMMIT whose reply was lost (the server restarted, the connection broke): asks the
  // server, on a new connection, whether transaction `xid` committed (txid_status), until the
  // deadline. Aborted -> kUnavailable (nothing applied: RunTxn runs it again).
  Status Resolve(int64_t xid, const Status& unknown) {
    const std::string x = Int8(xid);
    while (BudgetMs() > 0) {
      auto h = sh_->pool.Acquire(BudgetMs());
      if (h.ok()) {
        auto r = (*h)->Exec("SELECT txid_status($1::bigint)", {x}, BudgetMs());
        if (r.ok() && PQntuples(r->get()) == 1 && !PQgetisnull(r->get(), 0, 0)) {
          std::string st = Cell(r->get(), 0, 0);
          if (st == "committed") return Status::OK();
          if (st == "aborted") {
            return Status::Unavailable("postgres: the connection failed before COMMIT applied");
          }
        } else if (r.ok()) {
          return unknown;  // too old to know
        }
      }
      // The server is restarting, or the transaction is still in progress: ask again.
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(100, BudgetMs())));
    }
    return unknown;
  }

  // Takes a connection and opens the PostgreSQL transaction (once).
  Status Start() {
    if (done_) return Status::Internal("postgres: transaction used after Commit");
    if (conn_) return Status::OK();
    int64_t budget = BudgetMs();
    if (budget <= 0) return Status::Timeout("postgres: deadline passed");
    ASSIGN_OR_RETURN(PgPool::Handle h, sh_->pool.Acquire(budget));
    RETURN_IF_ERROR(sh_->CheckTable(*h, BudgetMs()));
    table_ = sh_->table_ready.load(std::memory_order_acquire);
    if (table_ && !h->prepared()) RETURN_IF_ERROR(h->Prepare(BudgetMs()));
    // in_txn first: if the BEGIN/lock fails half-way, the pool drops the connection.
    h->in_txn = true;
    RETURN_IF_ERROR(h->ExecScript(read_only_ ? kBeginReadOnly : kBeginWriter, BudgetMs()).status());
    conn_.emplace(std::move(h));
    return Status::OK();
  }

  // COMMIT or ROLLBACK, and gives the connection back. A lost connection during COMMIT leaves
  // the outcome unknown.
  Status End(bool commit) {
    if (!conn_) return Status::OK();
    PgConn& c = **conn_;
    Status s;
    if (!c.broken()) {
      auto r = c.Exec(commit ? "COMMIT" : "ROLLBACK", {}, commit ? BudgetMs() : 2000);
      s = r.status();
      if (s.ok()) {
        c.in_txn = false;
        // COMMIT of a transaction that failed earlier answers ROLLBACK: not applied.
        if (commit && std::string_view(PQcmdStatus(r->get())) == "ROLLBACK") {
          s = Status::Conflict("postgres: the transaction was rolled back");
        }
      } else if (commit && c.broken()) {
        s = Status(
            Code::kOutcomeUnknown,
            "postgres: commit outcome unknown, the connection failed: " + std::string(s.message()));
      }
    } else if (commit) {
      s = Status::Unavailable("postgres: the connection failed during the transaction");
    }
    conn_.reset();  // the pool drops it unless the transaction ended cleanly
    return s;
  }

  std::shared_ptr<PgShared> sh_;
  const bool read_only_;
  Deadline deadline_ = Deadline::Never();
  Clock* clock_ = nullptr;
  bool done_ = false;
  bool table_ = false;  // the kv table existed when this transaction began
  std::optional<PgPool::Handle> conn_;
  WriteBuffer writes_;
};

Status Number(const Uri& uri, const std::string& what, const std::string& s, int* out) {
  char* rest = nullptr;
  long v = std::strtol(s.c_str(), &rest, 10);
  if (s.empty() || *rest || v < 1 || v > 3600000) {
    return Status::InvalidArgument("postgres: bad " + what + " '" + s + "' in " + uri.Masked());
  }
  *out = static_cast<int>(v);
  return Status::OK();
}

}  // namespace

PostgresKv::PostgresKv(std::shared_ptr<PgShared> shared) : shared_(std::move(shared)) {}
PostgresKv::~PostgresKv() = default;

Result<std::unique_ptr<PostgresKv>> PostgresKv::Open(const PostgresKvOptions& opts) {
  RETURN_IF_ERROR(opts.Validate());
  auto sh = std::make_shared<PgShared>(opts);
  ASSIGN_OR_RETURN(auto conn, sh->pool.Acquire());
  RETURN_IF_ERROR(sh->CheckTable(*conn, opts.io_timeout_ms));
  if (sh->table_ready) {
    auto r = conn->Exec("SELECT k, v FROM kv LIMIT 0", {}, opts.io_timeout_ms);
    if (!r.ok() || PQnfields(r->get()) != 2 || PQftype(r->get(), 0) != kByteaOid ||
        PQftype(r->get(), 1) != kByteaOid) {
      return Status::InvalidArgument("postgres " + opts.describe +
                                     ": table kv exists but is not kv(k bytea, v bytea)" +
                                     (r.ok() ? "" : ": " + std::string(r.status().message())));
    }
  }
  return std::unique_ptr<PostgresKv>(new PostgresKv(std::move(sh)));
}

Result<std::unique_ptr<PostgresKv>> PostgresKv::OpenUrl(const std::string& url) {
  ASSIGN_OR_RETURN(Uri uri, ParseUri(url));
  if (uri.scheme != "postgres" && uri.scheme != "postgresql") {
    return Status::InvalidArgument("not a postgres:// URL: " + uri.Masked());
  }
  if (uri.host.empty()) return Status::InvalidArgument("postgres: no host in " + uri.Masked());
  if (uri.path.size() <= 1) {
    return Status::InvalidArgument("postgres: no database name in " + uri.Masked());
  }
  PostgresKvOptions opts;
  std::map<std::string, std::string> libpq;
  for (const auto& [k, v] : uri.query) {
    if (k == "pool_size") {
      RETURN_IF_ERROR(Number(uri, k, v, &opts.pool_size));
    } else if (k == "connect_timeout_ms") {
      RETURN_IF_ERROR(Number(uri, k, v, &opts.connect_timeout_ms));
    } else if (k == "io_timeout_ms") {
      RETURN_IF_ERROR(Number(uri, k, v, &opts.io_timeout_ms));
    } else {
      libpq[k] = v;  // sslmode, sslrootcert, application_name, ...: libpq checks them
    }
  }
  // libpq counts whole seconds (and at least 2).
  libpq["connect_timeout"] = std::to_string(std::max(2, (opts.connect_timeout_ms + 999) / 1000));
  Uri conn = uri;
  conn.scheme = "postgresql";
  conn.query = libpq;
  opts.conninfo = conn.ToString();
  Uri shown = uri;
  shown.query.clear();
  opts.describe = shown.Masked();
  return Open(opts);
}

std::string PostgresKv::Describe() const { return shared_->pool.options().describe; }

Result<std::unique_ptr<Transaction>> PostgresKv::Begin(bool read_only) {
  return std::unique_ptr<Transaction>(new PgTxn(shared_, read_only));
}

Status PostgresKv::Clear() {
  ASSIGN_OR_RETURN(auto conn, shared_->pool.Acquire());
  const int64_t t = shared_->pool.options().io_timeout_ms;
  RETURN_IF_ERROR(shared_->CheckTable(*conn, t));
  if (!shared_->table_ready) return Status::OK();
  return conn->Exec("DELETE FROM kv", {}, t).status();
}

Result<Durability> PostgresKv::GetDurability() {
  ASSIGN_OR_RETURN(auto conn, shared_->pool.Acquire());
  const int64_t t = shared_->pool.options().io_timeout_ms;
  auto show = [&](const char* what) -> Result<std::string> {
    ASSIGN_OR_RETURN(PgResult r, conn->Exec(std::string("SHOW ") + what, {}, t));
    if (PQntuples(r.get()) != 1) return std::string("unknown");
    return Cell(r.get(), 0, 0);
  };
  ASSIGN_OR_RETURN(std::string fsync, show("fsync"));
  ASSIGN_OR_RETURN(std::string sync_commit, show("synchronous_commit"));
  if (fsync != "on") {
    return Durability{true, "PostgreSQL with fsync=" + fsync +
                                ": a crash of the server machine may corrupt or lose the "
                                "volume's metadata; set fsync=on"};
  }
  if (sync_commit == "off") {
    return Durability{true,
                      "PostgreSQL with synchronous_commit=off: a server crash may lose "
                      "the last commits (up to 3 x wal_writer_delay)"};
  }
  return Durability{true, "PostgreSQL (fsync on, synchronous_commit " + sync_commit +
                              "): a commit is in the WAL on disk before it is acknowledged"};
}

void RegisterPostgresKv(KvRegistry& registry) {
  auto factory = [](const std::string& url) -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, PostgresKv::OpenUrl(url));
    return std::shared_ptr<KvEngine>(std::move(kv));
  };
  registry.Register("postgres", factory);
  registry.Register("postgresql", factory);
}

}  // namespace strata::kv
