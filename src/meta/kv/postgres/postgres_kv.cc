#include "meta/kv/postgres/postgres_kv.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/uri.h"
#include "meta/kv/postgres/pg_sql.h"
#include "meta/kv/write_buffer.h"

namespace strata::kv {

namespace {
constexpr Oid kByteaOid = 17;
constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS kv (k bytea PRIMARY KEY, v bytea NOT NULL)";

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

  // The version cache: key -> (xmin seen or written, "" = absent; value). Cleared when full.
  struct Cached {
    std::string version;
    std::optional<std::string> value;
  };
  bool CacheGet(const std::string& key, Cached* out) {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(key);
    if (it == cache.end()) return false;
    *out = it->second;
    return true;
  }
  void CachePut(const std::string& key, std::string version, std::optional<std::string> value) {
    if (pool.options().cache_entries <= 0) return;
    std::lock_guard<std::mutex> lock(cache_mu);
    if (cache.size() >= static_cast<size_t>(pool.options().cache_entries)) cache.clear();
    cache.insert_or_assign(key, Cached{std::move(version), std::move(value)});
  }
  void CacheDrop(const std::string& key) {
    std::lock_guard<std::mutex> lock(cache_mu);
    cache.erase(key);
  }

  PgPool pool;
  std::atomic<bool> table_ready{false};
  std::mutex cache_mu;
  std::unordered_map<std::string, Cached> cache;  // GUARDED_BY(cache_mu)
};

namespace {

// Optimistic transactions (postgres_kv.h): reads are single statements outside any
// PostgreSQL transaction (or answers of the version cache), each remembering the xmin of what
// it saw; Commit sends one pipeline that opens a transaction, takes the database's advisory
// lock, checks every read is still current, applies the writes and commits. One round trip
// per commit, and the lock is held only while the server runs it, never across the network.
class PgTxn : public Transaction {
 public:
  PgTxn(std::shared_ptr<PgShared> sh, bool read_only) : sh_(std::move(sh)), read_only_(read_only) {}

  void SetDeadline(const Deadline& deadline, Clock* clock) override {
    deadline_ = deadline;
    clock_ = clock;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    RETURN_IF_ERROR(CheckOpen());
    if (auto* w = writes_.Find(key)) return *w;
    ASSIGN_OR_RETURN(auto vs, Load({std::string(key)}));
    return std::move(vs[0]);
  }

  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<std::optional<std::string>> out(keys.size());
    const std::vector<size_t> where = writes_.AnswerPending(keys, &out);
    if (where.empty()) return out;
    std::vector<std::string> missing;
    for (size_t i : where) missing.push_back(keys[i]);
    ASSIGN_OR_RETURN(auto vs, Load(missing));
    for (size_t j = 0; j < where.size(); j++) out[where[j]] = std::move(vs[j]);
    return out;
  }

  Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end,
                                     size_t limit) override {
    return DoScan(begin, end, limit, /*record=*/true);
  }
  Result<std::vector<KeyValue>> SnapshotScan(std::string_view begin, std::string_view end,
                                             size_t limit) override {
    return DoScan(begin, end, limit, /*record=*/false);
  }

  void Put(std::string_view key, std::string_view value) override { writes_.Put(key, value); }
  void Delete(std::string_view key) override { writes_.Delete(key); }
  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    RETURN_IF_ERROR(CheckOpen());
    return writes_.AddIncrement(key, deltas, erase_at_zero);
  }

  // Recorded as "absent" in the version cache once this transaction's writes are applied.
  void HintAbsent(std::string_view key) override { absent_hints_.emplace_back(key); }
  // Read as absent without a round trip unless the version cache knows better; the commit
  // checks it like any read (a wrong belief conflicts).
  void ExpectAbsent(std::string_view key) override {
    if (!read_only_) expected_absent_.emplace(key);
  }

  Status Validate() override {
    // One statement is one snapshot: nothing to check (cached reads are not).
    if (done_ || (round_trips_ <= 1 && !cached_reads_)) return Status::OK();
    return CheckReads();
  }

  Status Commit() override {
    RETURN_IF_ERROR(CheckOpen());
    done_ = true;
    if (read_only_ && !writes_.empty()) {
      return Status::Internal("postgres: write in a read-only transaction");
    }
    if (writes_.empty()) {
      Status st = round_trips_ <= 1 && !cached_reads_ ? Status::OK() : CheckReads();
      if (!st.ok()) ForgetReads();
      return st;
    }
    return CommitScript();
  }

  // Group commit (PostgresKv::CommitGroup). Marks the transaction done; a transaction that
  // writes nothing is finished here (its Status returned), one that writes returns nullopt and
  // is committed by CommitGroup.
  std::optional<Status> PrepareGroupCommit() {
    if (Status open = CheckOpen(); !open.ok()) return open;
    if (writes_.empty() || read_only_) return Commit();
    done_ = true;
    return std::nullopt;
  }
  // The single-transaction commit of a prepared transaction (a group of one).
  Status CommitAlone() { return CommitScript(); }
  Status ResolveXid(int64_t xid, const Status& unknown) { return Resolve(xid, unknown); }
  const std::shared_ptr<PgShared>& shared() const { return sh_; }
  int64_t budget_ms() const { return BudgetMs(); }
  bool creates_table() const { return !table_; }

  // One transaction of a group commit: a DO block that sets strata.result to 'conflict' when a
  // read changed, else to 'applied' and applies the writes; and the SELECT that reports it. In
  // one PostgreSQL transaction, a later part sees the writes of earlier ones (a key an earlier
  // part wrote has a new xmin, so a later part that read it conflicts), as kv.h asks.
  void AppendGroupPart(std::vector<std::string>* out) const {
    std::string body;
    for (const auto& sql : SqlWrites(writes_)) body += sql + "; ";
    out->push_back("DO $strata$ BEGIN IF " + SqlReadSetChanged(seen_, pages_) +
                   " THEN PERFORM set_config('strata.result', 'conflict', true); ELSE "
                   "PERFORM set_config('strata.result', 'applied', true); " +
                   body + "END IF; END $strata$");
    out->push_back("SELECT current_setting('strata.result')");
  }
  // After the group's pipeline: what this transaction's Status was.
  void AfterGroupCommit(const Status& s, int64_t xid) {
    if (s.ok() && xid != 0) {
      Remember(xid);
    } else if (!s.ok()) {
      ForgetReads();
    }
  }

 private:
  Status CheckOpen() const {
    return done_ ? Status::Internal("postgres: transaction used after Commit") : Status::OK();
  }

  int64_t BudgetMs() const {
    const int64_t cap = sh_->pool.options().io_timeout_ms;
    if (clock_ == nullptr || deadline_.is_never()) return cap;
    return deadline_.RemainingMillis(*clock_, cap);
  }

  // A pooled connection for the next statement (`scratch` keeps it for the call), with the
  // statements prepared once the table exists (table_ says whether it does: before `strata
  // format` every read is of an empty store). No transaction holds a connection between
  // statements: reads are single statements, the commit one pipeline.
  Result<PgConn*> Conn(std::optional<PgPool::Handle>* scratch) {
    int64_t budget = BudgetMs();
    if (budget <= 0) return Status::Timeout("postgres: deadline passed");
    ASSIGN_OR_RETURN(PgPool::Handle h, sh_->pool.Acquire(budget));
    RETURN_IF_ERROR(sh_->CheckTable(*h, BudgetMs()));
    table_ = sh_->table_ready.load(std::memory_order_acquire);
    if (table_ && !h->prepared()) RETURN_IF_ERROR(h->Prepare(BudgetMs()));
    scratch->emplace(std::move(h));
    return &***scratch;
  }

  // Remembers the version a read saw ("" = absent); the same key seen with two versions means
  // the reads straddle a commit.
  Status Saw(const std::string& key, std::string version) {
    auto [it, inserted] = seen_.try_emplace(key, std::move(version));
    if (!inserted && it->second != version) {
      sh_->CacheDrop(key);  // the cache may have held the older one
      return Status::Conflict("postgres: a key changed between two reads of one transaction");
    }
    return Status::OK();
  }

  // Stored values of `keys` (no pending writes among them): a read-write transaction takes
  // what the version cache knows (its commit checks those versions like any other read), the
  // rest in one round trip.
  Result<std::vector<std::optional<std::string>>> Load(const std::vector<std::string>& keys) {
    std::vector<std::optional<std::string>> out(keys.size());
    std::vector<std::string> missing;
    std::vector<size_t> where;
    const bool cache = !read_only_ && sh_->pool.options().cache_entries > 0;
    for (size_t i = 0; i < keys.size(); i++) {
      PgShared::Cached c;
      if (cache && sh_->CacheGet(keys[i], &c)) {
        cached_reads_ = true;
        RETURN_IF_ERROR(Saw(keys[i], std::move(c.version)));
        out[i] = std::move(c.value);
      } else if (cache && expected_absent_.count(keys[i])) {
        cached_reads_ = true;
        RETURN_IF_ERROR(Saw(keys[i], ""));
      } else {
        missing.push_back(keys[i]);
        where.push_back(i);
      }
    }
    if (!missing.empty()) {
      ASSIGN_OR_RETURN(auto got, Fetch(missing));
      for (size_t j = 0; j < where.size(); j++) out[where[j]] = std::move(got[j]);
    }
    for (size_t i = 0; i < keys.size(); i++) {
      if (auto inc = writes_.TakeIncrement(keys[i])) {
        writes_.Materialize(keys[i], out[i], *inc);
        out[i] = *writes_.Find(keys[i]);
      }
    }
    return out;
  }

  // The stored values of `keys` from the server in one round trip, recording their versions
  // (and caching them for read-write transactions).
  Result<std::vector<std::optional<std::string>>> Fetch(const std::vector<std::string>& keys) {
    std::vector<std::optional<std::string>> out(keys.size());
    std::optional<PgPool::Handle> scratch;
    ASSIGN_OR_RETURN(PgConn * h, Conn(&scratch));
    if (!table_) {
      for (const auto& k : keys) RETURN_IF_ERROR(Saw(k, ""));
      return out;
    }
    round_trips_++;
    std::map<std::string, std::pair<std::string, std::string>, std::less<>> found;
    if (keys.size() == 1) {
      ASSIGN_OR_RETURN(PgResult r, h->ExecPrepared(kPgGet, {keys[0]}, BudgetMs()));
      if (PQntuples(r.get()) == 1) {
        found.emplace(keys[0], std::make_pair(Cell(r.get(), 0, 0), Cell(r.get(), 0, 1)));
      }
    } else {
      std::string sql = "SELECT k, v, xmin::text FROM kv WHERE k IN (";
      std::vector<std::string_view> params;
      for (size_t i = 0; i < keys.size(); i++) {
        sql += (i ? ", $" : "$") + std::to_string(i + 1);
        params.push_back(keys[i]);
      }
      sql += ")";
      ASSIGN_OR_RETURN(PgResult r, h->Exec(sql, params, BudgetMs()));
      for (int row = 0; row < PQntuples(r.get()); row++) {
        found.emplace(Cell(r.get(), row, 0),
                      std::make_pair(Cell(r.get(), row, 1), Cell(r.get(), row, 2)));
      }
    }
    for (size_t i = 0; i < keys.size(); i++) {
      auto it = found.find(keys[i]);
      std::string version;
      if (it != found.end()) {  // copied: a key may be asked for twice
        out[i] = it->second.first;
        version = it->second.second;
      }
      if (!read_only_) sh_->CachePut(keys[i], version, out[i]);
      RETURN_IF_ERROR(Saw(keys[i], std::move(version)));
    }
    return out;
  }

  // After a failed commit or check: what this transaction read or wrote leaves the cache, so
  // the retry reads the server.
  void ForgetReads() {
    if (read_only_) return;
    for (const auto& [k, v] : seen_) sh_->CacheDrop(k);
    for (const auto& [k, v] : writes_.entries()) sh_->CacheDrop(k);
  }

  // After a commit that applied this transaction's writes as transaction `xid`: the rows it
  // wrote now carry xmin = xid's low 32 bits.
  void Remember(int64_t xid) {
    if (sh_->pool.options().cache_entries <= 0) return;
    const std::string version = std::to_string(static_cast<uint64_t>(xid) & 0xffffffffu);
    for (const auto& [k, v] : writes_.entries()) sh_->CachePut(k, v ? version : "", v);
    for (const auto& [k, inc] : writes_.increments()) sh_->CacheDrop(k);
    for (const auto& k : absent_hints_) {
      if (writes_.Find(k) == nullptr && writes_.increments().count(k) == 0) {
        sh_->CachePut(k, "", std::nullopt);
      }
    }
  }

  Result<std::vector<KeyValue>> DoScan(std::string_view begin, std::string_view end, size_t limit,
                                       bool record) {
    RETURN_IF_ERROR(CheckOpen());
    // Pending increments inside the range become ordinary writes (read, then added).
    RETURN_IF_ERROR(writes_.MaterializeIncrementsIn(
        begin, end, [this](const std::vector<std::string>& keys) { return Load(keys); }));
    auto fetch = [&](std::string_view b, std::string_view e,
                     size_t n) -> Result<std::vector<KeyValue>> {
      std::vector<KeyValue> page;
      std::optional<PgPool::Handle> scratch;
      ASSIGN_OR_RETURN(PgConn * h, Conn(&scratch));
      PgPage rec{std::string(b), std::string(e), n, ""};
      if (table_) {
        round_trips_++;
        std::string lim = Int8(static_cast<int64_t>(n));
        auto r = e.empty() ? h->ExecPrepared(kPgScanOpen, {b, lim}, BudgetMs())
                           : h->ExecPrepared(kPgScan, {b, e, lim}, BudgetMs());
        RETURN_IF_ERROR(r.status());
        for (int row = 0; row < PQntuples(r->get()); row++) {
          page.push_back({Cell(r->get(), row, 0), Cell(r->get(), row, 1)});
          if (record) {
            if (row) rec.seen += ',';
            rec.seen += SqlHex(page.back().key) + ":" + Cell(r->get(), row, 2);
          }
        }
      }
      if (record) pages_.push_back(std::move(rec));
      return page;
    };
    return writes_.MergedScan(begin, end, limit, fetch);
  }

  // Read-only (or nothing to write): are all the reads still current, at one instant?
  Status CheckReads() {
    std::optional<PgPool::Handle> scratch;
    ASSIGN_OR_RETURN(PgConn * h, Conn(&scratch));
    if (!table_) return Status::OK();  // nothing was there, nothing was read
    ASSIGN_OR_RETURN(PgResult r,
                     h->ExecScript("SELECT " + SqlReadSetChanged(seen_, pages_), BudgetMs()));
    if (PQntuples(r.get()) == 1 && std::string_view(PQgetvalue(r.get(), 0, 0)) == "f") {
      return Status::OK();
    }
    ForgetReads();
    return Status::Conflict("postgres: what the transaction read changed");
  }

  // The commit: one round trip, a pipeline of two groups. The first opens the transaction and
  // learns its id (answered before the second runs, so a lost COMMIT reply can be looked up);
  // the second takes the lock, checks the reads, writes and commits.
  Status CommitScript() {
    std::optional<PgPool::Handle> scratch;
    ASSIGN_OR_RETURN(PgConn * h, Conn(&scratch));
    const bool create = !table_;
    // The first write to this database (strata format): the table comes with it. Reads made
    // before it existed were of nothing, and are checked against it like any other.
    std::vector<std::string> work =
        SqlCommitGroup(create ? kCreateTable : "", seen_, pages_, writes_);
    h->in_txn = true;  // until COMMIT or ROLLBACK is seen to end it: else the pool drops it
    std::vector<PgResult> results;
    Status s = h->Pipeline(
        {{"BEGIN ISOLATION LEVEL READ COMMITTED", "SELECT txid_current()"}, std::move(work)},
        BudgetMs(), &results);
    int64_t xid = 0;
    if (results.size() >= 2 && PQresultStatus(results[1].get()) == PGRES_TUPLES_OK &&
        PQntuples(results[1].get()) == 1) {
      xid = std::strtoll(PQgetvalue(results[1].get(), 0, 0), nullptr, 10);
    }
    if (s.ok()) {
      h->in_txn = false;
      // COMMIT of a transaction that failed earlier answers ROLLBACK: not applied.
      if (std::string_view(PQcmdStatus(results.back().get())) == "ROLLBACK") {
        s = Status::Conflict("postgres: the transaction was rolled back");
      }
    } else if (h->broken() && xid == 0 && !s.Is(Code::kTimeout)) {
      // The connection closed before the first group was answered. The server answers (and
      // flushes) it before it reads the second group, and a closing server's last bytes still
      // arrive: so it never ran the second group (the usual case: a backend ended by a server
      // restart while its connection sat in the pool). Nothing applied; RunTxn retries.
      s = Status::Unavailable("postgres: the connection failed before the transaction began: " +
                              std::string(s.message()));
    } else if (h->broken()) {
      // The pipeline may or may not have reached its COMMIT: ask the server by transaction id.
      s = Status(Code::kOutcomeUnknown,
                 "postgres: commit outcome unknown, the connection "
                 "failed: " +
                     std::string(s.message()));
      if (xid != 0) s = Resolve(xid, s);
    } else if (!h->InTransactionBlock() || h->ExecScript("ROLLBACK", 2000).ok()) {
      // An error stopped the pipeline before its COMMIT: nothing was applied.
      h->in_txn = false;
    }
    if (s.ok() && create) sh_->table_ready.store(true, std::memory_order_release);
    if (s.ok() && xid != 0) {
      Remember(xid);
    } else {
      ForgetReads();
    }
    return s;
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

  std::shared_ptr<PgShared> sh_;
  const bool read_only_;
  Deadline deadline_ = Deadline::Never();
  Clock* clock_ = nullptr;
  bool done_ = false;
  bool table_ = false;         // the kv table existed at the latest read
  int round_trips_ = 0;        // reads sent to the server
  bool cached_reads_ = false;  // some reads came from the version cache (or a belief)
  std::set<std::string, std::less<>> expected_absent_;    // ExpectAbsent
  std::vector<std::string> absent_hints_;                 // HintAbsent
  std::map<std::string, std::string, std::less<>> seen_;  // key -> xmin seen ("" = absent)
  std::vector<PgPage> pages_;                             // scanned pages (read set)
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
    } else if (k == "group_commit") {
      if (v == "0") {
        opts.group_commit_slots = 0;
      } else {
        RETURN_IF_ERROR(Number(uri, k, v, &opts.group_commit_slots));
      }
    } else if (k == "cache") {
      if (v == "0") {
        opts.cache_entries = 0;
      } else {
        RETURN_IF_ERROR(Number(uri, k, v, &opts.cache_entries));
      }
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

int PostgresKv::group_commit_slots() const { return shared_->pool.options().group_commit_slots; }

std::vector<Status> PostgresKv::CommitGroup(const std::vector<Transaction*>& txns) {
  std::vector<PgTxn*> mine;
  for (Transaction* t : txns) {
    auto* p = dynamic_cast<PgTxn*>(t);
    if (p == nullptr || p->shared() != shared_) return KvEngine::CommitGroup(txns);
    mine.push_back(p);
  }
  std::vector<Status> out(mine.size());
  std::vector<size_t> sent;  // the transactions that write, in order
  int64_t budget = shared_->pool.options().io_timeout_ms;
  bool create = false;
  for (size_t i = 0; i < mine.size(); i++) {
    if (auto final_status = mine[i]->PrepareGroupCommit()) {
      out[i] = std::move(*final_status);
      continue;
    }
    sent.push_back(i);
    budget = std::min(budget, mine[i]->budget_ms());  // the tightest deadline bounds it
    create = create || mine[i]->creates_table();
  }
  if (sent.empty()) return out;
  if (sent.size() == 1) {
    out[sent[0]] = mine[sent[0]]->CommitAlone();
    return out;
  }
  auto fail_all = [&](const Status& s) {
    for (size_t i : sent) {
      out[i] = s;
      mine[i]->AfterGroupCommit(s, 0);
    }
    return out;
  };
  if (budget <= 0) return fail_all(Status::Timeout("postgres: deadline passed"));
  auto h = shared_->pool.Acquire(budget);
  if (!h.ok()) return fail_all(h.status());
  if (Status t = shared_->CheckTable(**h, budget); !t.ok()) return fail_all(t);
  std::vector<std::string> work;
  work.push_back(kSqlCommitLock);  // before the table's creation (pg_sql.cc says why)
  if (create) work.push_back(kCreateTable);
  for (size_t i : sent) mine[i]->AppendGroupPart(&work);
  (*h)->in_txn = true;
  std::vector<PgResult> results;
  // Three groups: the id; the parts (their results flushed by the server at this sync, before
  // it commits, so a lost COMMIT reply still leaves each part's outcome known); COMMIT.
  Status s = (*h)->Pipeline({{"BEGIN ISOLATION LEVEL READ COMMITTED", "SELECT txid_current()"},
                             std::move(work),
                             {"COMMIT"}},
                            budget, &results);
  int64_t xid = 0;
  if (results.size() >= 2 && PQresultStatus(results[1].get()) == PGRES_TUPLES_OK &&
      PQntuples(results[1].get()) == 1) {
    xid = std::strtoll(PQgetvalue(results[1].get(), 0, 0), nullptr, 10);
  }
  // Each part's own result, where its SELECT answered. results: BEGIN, txid, lock, [create],
  // then per part its DO and its SELECT, then COMMIT.
  std::vector<std::optional<Status>> part(sent.size());
  for (size_t j = 0, at = 2 + 1 + (create ? 1 : 0); j < sent.size(); j++, at += 2) {
    if (at + 1 >= results.size()) break;
    const PGresult* r = results[at + 1].get();
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) break;
    part[j] = std::string_view(PQgetvalue(r, 0, 0)) == "applied"
                  ? Status::OK()
                  : Status::Conflict("postgres: what the transaction read changed");
  }
  if (s.ok() && std::string_view(PQcmdStatus(results.back().get())) == "ROLLBACK") {
    s = Status::Conflict("postgres: the group's transaction was rolled back");
  }
  if (!s.ok()) {
    if (!(*h)->broken()) {
      // A statement failed: the whole group was rolled back (nothing applied).
      if (!(*h)->InTransactionBlock() || (*h)->ExecScript("ROLLBACK", 2000).ok()) {
        (*h)->in_txn = false;
      }
      return fail_all(s);
    }
    if (xid == 0 && !s.Is(Code::kTimeout)) {
      return fail_all(
          Status::Unavailable("postgres: the connection failed before the transaction began: " +
                              std::string(s.message())));
    }
    Status unknown(Code::kOutcomeUnknown,
                   "postgres: group commit outcome unknown: " + std::string(s.message()));
    Status resolved = xid != 0 ? mine[sent[0]]->ResolveXid(xid, unknown) : unknown;
    if (!resolved.ok()) return fail_all(resolved);  // aborted (retried) or still unknown
    // Committed: each part as its SELECT said; a part whose answer was lost stays unknown.
    for (size_t j = 0; j < sent.size(); j++) {
      out[sent[j]] = part[j] ? *part[j] : unknown;
      mine[sent[j]]->AfterGroupCommit(out[sent[j]], xid);
    }
    return out;
  }
  (*h)->in_txn = false;
  if (create) shared_->table_ready.store(true, std::memory_order_release);
  for (size_t j = 0; j < sent.size(); j++) {
    out[sent[j]] = part[j] ? *part[j] : Status::IOError("postgres: a group part had no result");
    mine[sent[j]]->AfterGroupCommit(out[sent[j]], xid);
  }
  return out;
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
