#include "meta/kv/redis/redis_kv.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <unordered_map>

#include "common/uri.h"
#include "meta/kv/redis/redis_scripts.h"
#include "meta/kv/write_buffer.h"

namespace strata::kv {

namespace {
constexpr char kLayoutKey[] = "layout";
constexpr char kLayout[] = "strata-kv-redis 1";
constexpr size_t kVersionLen = 16;

enum Script { kScanScript, kCommitScript, kClearScript, kNumScripts };
constexpr const char* kScripts[kNumScripts] = {redis_scripts::kScan, redis_scripts::kCommit,
                                               redis_scripts::kClear};
}  // namespace

// What the engine and its transactions share: the pool and the loaded scripts' SHA-1s.
class RedisShared {
 public:
  explicit RedisShared(const RedisKvOptions& opts) : pool(opts) {}

  // Runs a script on a pooled connection. *lost tells whether the connection failed during
  // the request (then the server may or may not have run it).
  Result<Reply> Eval(Script s, const std::vector<std::string_view>& args, bool* lost = nullptr,
                     int64_t budget_ms = -1) {
    ASSIGN_OR_RETURN(auto conn, pool.Acquire(budget_ms));
    auto r = conn->Eval(kScripts[s], shas[s], args);
    if (lost) *lost = conn->broken();
    return r;
  }

  // Writes the layout marker before the first write of this process to a database that has
  // none, so that opening a database (status on an unformatted volume, a refused format)
  // leaves it untouched.
  Status MarkLayout() {
    if (layout_marked.load(std::memory_order_acquire)) return Status::OK();
    ASSIGN_OR_RETURN(auto conn, pool.Acquire());
    RETURN_IF_ERROR(conn->Command({"SET", kLayoutKey, kLayout, "NX"}).status());
    layout_marked.store(true, std::memory_order_release);
    return Status::OK();
  }

  // The version cache (redis_kv.h): what this client last saw of a key, with its version.
  struct Cached {
    std::string version;  // "" = absent
    std::optional<std::string> value;
  };
  bool CacheGet(const std::string& key, Cached* out) {
    std::lock_guard lock(cache_mu);
    auto it = cache.find(key);
    if (it == cache.end()) return false;
    *out = it->second;
    return true;
  }
  void CachePut(const std::string& key, std::string version, std::optional<std::string> value) {
    if (pool.options().cache_entries <= 0) return;
    std::lock_guard lock(cache_mu);
    if (cache.size() >= static_cast<size_t>(pool.options().cache_entries)) cache.clear();
    cache.insert_or_assign(key, Cached{std::move(version), std::move(value)});
  }
  void CacheDrop(const std::string& key) {
    std::lock_guard lock(cache_mu);
    cache.erase(key);
  }

  RedisPool pool;
  std::mutex cache_mu;
  std::unordered_map<std::string, Cached> cache;  // GUARDED_BY(cache_mu)
  std::string shas[kNumScripts];
  std::string describe;
  std::atomic<bool> layout_marked{false};
};

namespace {

Status Conflict() { return Status::Conflict("redis: a key read by the transaction changed"); }

// Splits a stored "d"+key string into (version, value).
Status SplitStored(const redisReply* r, std::string* version, std::string* value) {
  if (r->type != REDIS_REPLY_STRING || r->len < static_cast<long>(kVersionLen)) {
    return Status::Corruption("redis: a stored value lacks its version (not a strata layout?)");
  }
  version->assign(r->str, kVersionLen);
  value->assign(r->str + kVersionLen, r->len - kVersionLen);
  return Status::OK();
}

class RedisTxn : public Transaction {
 public:
  RedisTxn(std::shared_ptr<RedisShared> sh, bool read_only)
      : sh_(std::move(sh)), read_only_(read_only) {}

  void SetDeadline(const Deadline& deadline, Clock* clock) override {
    deadline_ = deadline;
    clock_ = clock;
  }
  // What is left of the caller's deadline for one call (ms; -1: no deadline; 0: passed).
  int64_t BudgetMs() const {
    if (clock_ == nullptr || deadline_.is_never()) return -1;
    return deadline_.RemainingMillis(*clock_, sh_->pool.options().io_timeout_ms);
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    RETURN_IF_ERROR(CheckOpen());
    if (auto* w = writes_.Find(key)) return *w;
    ASSIGN_OR_RETURN(auto vs, Load({std::string(key)}));
    return std::move(vs[0]);
  }

  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    RETURN_IF_ERROR(CheckOpen());
    return writes_.AddIncrement(key, deltas, erase_at_zero);
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
  // Recorded as "absent" in the version cache once this transaction's writes are applied.
  void HintAbsent(std::string_view key) override { absent_hints_.emplace_back(key); }
  // Read as absent without a round trip unless the version cache knows better; the commit
  // script checks it like any read (a wrong belief conflicts).
  void ExpectAbsent(std::string_view key) override {
    if (!read_only_) expected_absent_.emplace(key);
  }

  Status Validate() override {
    // One read round trip is one atomic view: nothing to check (cached reads are not).
    if (done_ || (round_trips_ <= 1 && !cached_reads_)) return Status::OK();
    return RunCommitScript(/*with_writes=*/false);
  }

  Status Commit() override {
    RETURN_IF_ERROR(CheckOpen());
    done_ = true;
    if (read_only_ && !writes_.empty()) {
      return Status::Internal("redis: write in a read-only transaction");
    }
    if (writes_.empty()) {
      // One read round trip is one atomic view; more must be checked to be one snapshot.
      return round_trips_ <= 1 && !cached_reads_ ? Status::OK() : RunCommitScript(false);
    }
    RETURN_IF_ERROR(sh_->MarkLayout());
    return RunCommitScript(/*with_writes=*/true);
  }

 private:
  struct Range {
    std::string min, max;  // ZRANGEBYLEX bounds
    std::vector<std::string> keys;
  };

  Status CheckOpen() const {
    return done_ ? Status::Internal("redis: transaction used after Commit") : Status::OK();
  }

  // Remembers the version a read saw; a key seen twice with different versions means the
  // reads straddle a commit.
  Status Saw(const std::string& key, std::string version) {
    auto [it, inserted] = versions_.try_emplace(key, std::move(version));
    if (!inserted && it->second != version) {
      sh_->CacheDrop(key);  // the cache may have held the older one
      return Conflict();
    }
    return Status::OK();
  }

  // GET or MGET of stored keys, recording their versions.
  Result<std::vector<std::optional<std::string>>> Load(const std::vector<std::string>& keys) {
    // A read-write transaction takes what the version cache knows; its commit checks those
    // versions like any other read (a stale one conflicts, is dropped, and the retry reads).
    if (read_only_ || sh_->pool.options().cache_entries <= 0) return Fetch(keys);
    std::vector<std::optional<std::string>> out(keys.size());
    std::vector<std::string> missing;
    std::vector<size_t> where;
    for (size_t i = 0; i < keys.size(); i++) {
      RedisShared::Cached c;
      if (!sh_->CacheGet(keys[i], &c)) {
        if (expected_absent_.count(keys[i])) {
          cached_reads_ = true;
          RETURN_IF_ERROR(Saw(keys[i], ""));
          out[i] = std::nullopt;
          continue;
        }
        missing.push_back(keys[i]);
        where.push_back(i);
        continue;
      }
      cached_reads_ = true;
      RETURN_IF_ERROR(Saw(keys[i], std::move(c.version)));
      out[i] = std::move(c.value);
      if (auto inc = writes_.TakeIncrement(keys[i])) {
        writes_.Materialize(keys[i], out[i], *inc);
        out[i] = *writes_.Find(keys[i]);
      }
    }
    if (missing.empty()) return out;
    ASSIGN_OR_RETURN(auto got, Fetch(missing));
    for (size_t j = 0; j < where.size(); j++) out[where[j]] = std::move(got[j]);
    return out;
  }

  // GET or MGET from the server, recording the versions (and caching what was seen).
  Result<std::vector<std::optional<std::string>>> Fetch(const std::vector<std::string>& keys) {
    std::vector<std::string> rkeys;
    std::vector<std::string_view> cmd = {keys.size() == 1 ? "GET" : "MGET"};
    rkeys.reserve(keys.size());
    for (const auto& k : keys) rkeys.push_back("d" + k);
    for (const auto& k : rkeys) cmd.push_back(k);
    ASSIGN_OR_RETURN(auto conn, sh_->pool.Acquire(BudgetMs()));
    ASSIGN_OR_RETURN(Reply reply, conn->Command(cmd));
    round_trips_++;
    std::vector<const redisReply*> items;
    if (keys.size() == 1) {
      items.push_back(reply.get());
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == keys.size()) {
      for (size_t i = 0; i < reply->elements; i++) items.push_back(reply->element[i]);
    } else {
      return Status::IOError("redis: unexpected MGET reply");
    }
    std::vector<std::optional<std::string>> out(keys.size());
    for (size_t i = 0; i < keys.size(); i++) {
      std::string version, value;
      if (items[i]->type != REDIS_REPLY_NIL) {
        RETURN_IF_ERROR(SplitStored(items[i], &version, &value));
        out[i] = std::move(value);
      }
      sh_->CachePut(keys[i], version, out[i]);
      RETURN_IF_ERROR(Saw(keys[i], std::move(version)));
      if (auto inc = writes_.TakeIncrement(keys[i])) {
        writes_.Materialize(keys[i], out[i], *inc);
        out[i] = *writes_.Find(keys[i]);
      }
    }
    return out;
  }

 public:
  // After the commit script answered for this transaction: a commit that applied writes
  // `version` into the cache for every key it put or deleted (increments are dropped: only the
  // server knows the sum); any failure drops everything it read or wrote, so that the retry
  // reads the server.
  void AfterCommit(const Status& s, const std::string& version) {
    if (sh_->pool.options().cache_entries <= 0) return;
    if (!s.ok()) {
      for (const auto& [k, v] : versions_) sh_->CacheDrop(k);
      for (const auto& [k, v] : writes_.entries()) sh_->CacheDrop(k);
      return;
    }
    if (version.empty()) return;
    for (const auto& [k, v] : writes_.entries()) sh_->CachePut(k, v ? version : "", v);
    for (const auto& [k, inc] : writes_.increments()) sh_->CacheDrop(k);
    // A key the caller knows to be absent (kv.h HintAbsent): a later read-write transaction
    // reads "absent" from the cache and its commit checks that like any read.
    for (const auto& k : absent_hints_) {
      if (writes_.Find(k) == nullptr && writes_.increments().find(k) == writes_.increments().end()) {
        sh_->CachePut(k, "", std::nullopt);
      }
    }
  }

 private:

  Result<std::vector<KeyValue>> DoScan(std::string_view begin, std::string_view end, size_t limit,
                                       bool record) {
    RETURN_IF_ERROR(CheckOpen());
    // Pending increments inside the range become ordinary writes (read, then added).
    RETURN_IF_ERROR(writes_.MaterializeIncrementsIn(
        begin, end, [this](const std::vector<std::string>& keys) { return Load(keys); }));
    auto fetch = [&](std::string_view b, std::string_view e,
                     size_t n) -> Result<std::vector<KeyValue>> {
      std::string min = "[" + std::string(b);
      std::string max = e.empty() ? "+" : "(" + std::string(e);
      std::string count = std::to_string(n);
      ASSIGN_OR_RETURN(Reply r, sh_->Eval(kScanScript, {min, max, count}, nullptr, BudgetMs()));
      round_trips_++;
      if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        return Status::IOError("redis: unexpected scan reply");
      }
      std::vector<KeyValue> page;
      Range range;
      for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply* k = r->element[i];
        std::string version, value;
        RETURN_IF_ERROR(SplitStored(r->element[i + 1], &version, &value));
        std::string key(k->str, k->len);
        if (record) {
          RETURN_IF_ERROR(Saw(key, std::move(version)));
          range.keys.push_back(key);
        }
        page.push_back({std::move(key), std::move(value)});
      }
      if (record) {
        range.min = std::move(min);
        range.max = page.size() == n ? "[" + page.back().key : std::move(max);
        ranges_.push_back(std::move(range));
      }
      return page;
    };
    return writes_.MergedScan(begin, end, limit, fetch);
  }

  // Appends this transaction's part of a commit script call (redis_scripts.h kCommit).
  void AppendPart(std::vector<std::string>* args, bool with_writes) const {
    args->push_back(std::to_string(versions_.size()));
    for (const auto& [k, v] : versions_) {
      args->push_back(k);
      args->push_back(v);
    }
    args->push_back(std::to_string(ranges_.size()));
    for (const auto& r : ranges_) {
      args->insert(args->end(), {r.min, r.max, std::to_string(r.keys.size())});
      args->insert(args->end(), r.keys.begin(), r.keys.end());
    }
    if (!with_writes) {
      args->push_back("0");
      return;
    }
    args->push_back(std::to_string(writes_.size() + writes_.increments().size()));
    for (const auto& [k, v] : writes_.entries()) {
      args->push_back(v ? "p" : "d");
      args->push_back(k);
      if (v) args->push_back(*v);
    }
    for (const auto& [k, inc] : writes_.increments()) {
      args->insert(args->end(), {"a", k, inc.erase_at_zero ? "1" : "0",
                                 std::to_string(inc.deltas.size())});
      for (int64_t d : inc.deltas) args->push_back(std::to_string(d));
    }
  }

  Status RunCommitScript(bool with_writes) {
    std::vector<std::string> args = {"1"};
    AppendPart(&args, with_writes);
    std::vector<std::string> versions;
    std::vector<Status> r = RunCommitParts(*sh_, args, {with_writes}, BudgetMs(), &versions);
    AfterCommit(r[0], versions[0]);
    return r[0];
  }

 public:
  // Makes the commit of `this` part of a group (RedisKv::CommitGroup): what Commit would
  // send, or a final Status when nothing needs sending. Marks the transaction done.
  std::optional<Status> PrepareGroupCommit(std::vector<std::string>* args, bool* writes) {
    if (Status open = CheckOpen(); !open.ok()) return open;
    done_ = true;
    if (read_only_ && !writes_.empty()) {
      return Status::Internal("redis: write in a read-only transaction");
    }
    *writes = !writes_.empty();
    if (!*writes && round_trips_ <= 1 && !cached_reads_) return Status::OK();
    AppendPart(args, *writes);
    return std::nullopt;
  }
  const std::shared_ptr<RedisShared>& shared() const { return sh_; }
  int64_t budget_ms() const { return BudgetMs(); }

  // Runs the commit script over `args` (nparts first, then the parts); one Status per part.
  // `writes[i]` says whether part i writes (a lost reply then leaves its outcome unknown).
  // (*versions)[i]: the version part i's writes got ("" when it wrote nothing or failed).
  static std::vector<Status> RunCommitParts(RedisShared& sh, const std::vector<std::string>& args,
                                            const std::vector<bool>& writes, int64_t budget_ms,
                                            std::vector<std::string>* versions) {
    std::vector<std::string_view> views(args.begin(), args.end());
    bool lost = false;
    auto r = sh.Eval(kCommitScript, views, &lost, budget_ms);
    std::vector<Status> out(writes.size());
    versions->assign(writes.size(), "");
    if (!r.ok()) {
      for (size_t i = 0; i < writes.size(); i++) {
        if (writes[i] && lost) {
          out[i] = Status(Code::kOutcomeUnknown,
                          "redis: commit outcome unknown, the connection failed: " +
                              std::string(r.status().message()));
        } else {
          out[i] = r.status();
        }
      }
      return out;
    }
    const redisReply* rep = r->get();
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != writes.size()) {
      out.assign(writes.size(), Status::IOError("redis: bad commit reply"));
      return out;
    }
    for (size_t i = 0; i < writes.size(); i++) {
      const redisReply* e = rep->element[i];
      if (e->type == REDIS_REPLY_STRING) {
        (*versions)[i].assign(e->str, e->len);  // applied, under this version
      } else if (e->type != REDIS_REPLY_INTEGER) {
        out[i] = Status::IOError("redis: bad commit reply");
      } else {
        out[i] = e->integer == 1 ? Status::OK() : Conflict();
      }
    }
    return out;
  }

 private:
  std::shared_ptr<RedisShared> sh_;
  const bool read_only_;
  Deadline deadline_ = Deadline::Never();
  Clock* clock_ = nullptr;
  bool done_ = false;
  int round_trips_ = 0;
  bool cached_reads_ = false;  // some read came from the version cache
  WriteBuffer writes_;
  std::map<std::string, std::string, std::less<>> versions_;  // key -> version ("" = absent)
  std::vector<Range> ranges_;
  std::vector<std::string> absent_hints_;
  std::set<std::string, std::less<>> expected_absent_;  // ExpectAbsent
};

// The maxmemory_policy line of INFO memory (works where CONFIG is disabled).
Result<std::string> MaxmemoryPolicy(RedisConn& conn) {
  ASSIGN_OR_RETURN(Reply info, conn.Command({"INFO", "memory"}));
  std::string_view text(info->str ? info->str : "", info->str ? info->len : 0);
  constexpr std::string_view kField = "maxmemory_policy:";
  auto pos = text.find(kField);
  if (pos == std::string_view::npos) return std::string("unknown");
  auto value = text.substr(pos + kField.size());
  return std::string(value.substr(0, value.find_first_of("\r\n")));
}

}  // namespace

RedisKv::RedisKv(std::shared_ptr<RedisShared> shared) : shared_(std::move(shared)) {}
RedisKv::~RedisKv() = default;

Result<std::unique_ptr<RedisKv>> RedisKv::Open(const RedisKvOptions& opts) {
  RETURN_IF_ERROR(opts.Validate());
  auto sh = std::make_shared<RedisShared>(opts);
  sh->describe =
      "redis://" + opts.host + ":" + std::to_string(opts.port) + "/" + std::to_string(opts.db);
  {
    ASSIGN_OR_RETURN(auto conn, sh->pool.Acquire());
    ASSIGN_OR_RETURN(std::string policy, MaxmemoryPolicy(*conn));
    if (policy.rfind("allkeys-", 0) == 0) {
      return Status::InvalidArgument(
          sh->describe + ": maxmemory-policy is " + policy +
          ", which may evict metadata; configure noeviction (or a volatile-* policy)");
    }
    ASSIGN_OR_RETURN(Reply layout, conn->Command({"GET", kLayoutKey}));
    if (layout->type != REDIS_REPLY_NIL) {
      if (std::string_view(layout->str, layout->len) == kLayout) sh->layout_marked = true;
    }
    if (layout->type == REDIS_REPLY_NIL) {
      // Marked by the first write (MarkLayout), not here: opening writes nothing.
    } else if (std::string_view(layout->str, layout->len) != kLayout) {
      return Status::InvalidArgument(sh->describe + ": database holds layout '" +
                                     std::string(layout->str, layout->len) + "', not '" + kLayout +
                                     "'");
    }
    for (int s = 0; s < kNumScripts; s++) {
      ASSIGN_OR_RETURN(Reply sha, conn->Command({"SCRIPT", "LOAD", kScripts[s]}));
      sh->shas[s].assign(sha->str, sha->len);
    }
  }
  return std::unique_ptr<RedisKv>(new RedisKv(std::move(sh)));
}

Result<std::unique_ptr<RedisKv>> RedisKv::OpenUrl(const std::string& url) {
  ASSIGN_OR_RETURN(Uri uri, ParseUri(url));
  if (uri.scheme != "redis") return Status::InvalidArgument("not a redis:// URL: " + uri.Masked());
  if (uri.host.empty()) return Status::InvalidArgument("redis: no host in " + uri.Masked());
  RedisKvOptions opts;
  opts.host = uri.host;
  if (uri.port) opts.port = uri.port;
  opts.user = uri.user;
  opts.password = uri.password;
  auto number = [&](const std::string& what, const std::string& s, int* out) -> Status {
    char* rest = nullptr;
    long v = std::strtol(s.c_str(), &rest, 10);
    if (s.empty() || *rest || v < 0 || v > 1000000) {
      return Status::InvalidArgument("redis: bad " + what + " '" + s + "' in " + uri.Masked());
    }
    *out = static_cast<int>(v);
    return Status::OK();
  };
  if (!uri.path.empty() && uri.path != "/") {
    RETURN_IF_ERROR(number("database number", uri.path.substr(1), &opts.db));
  }
  for (const auto& [k, v] : uri.query) {
    if (k == "pool_size") {
      RETURN_IF_ERROR(number(k, v, &opts.pool_size));
    } else if (k == "connect_timeout_ms") {
      RETURN_IF_ERROR(number(k, v, &opts.connect_timeout_ms));
    } else if (k == "io_timeout_ms") {
      RETURN_IF_ERROR(number(k, v, &opts.io_timeout_ms));
    } else if (k == "group_commit") {
      RETURN_IF_ERROR(number(k, v, &opts.group_commit_slots));
    } else if (k == "cache") {
      RETURN_IF_ERROR(number(k, v, &opts.cache_entries));
    } else {
      return Status::InvalidArgument("redis: unknown parameter '" + k +
                                     "' (known: pool_size, connect_timeout_ms, io_timeout_ms, group_commit, cache)");
    }
  }
  return Open(opts);
}

std::string RedisKv::Describe() const { return shared_->describe; }

Result<std::unique_ptr<Transaction>> RedisKv::Begin(bool read_only) {
  return std::unique_ptr<Transaction>(new RedisTxn(shared_, read_only));
}

int RedisKv::group_commit_slots() const { return shared_->pool.options().group_commit_slots; }

std::vector<Status> RedisKv::CommitGroup(const std::vector<Transaction*>& txns) {
  std::vector<RedisTxn*> mine;
  for (Transaction* t : txns) {
    auto* r = dynamic_cast<RedisTxn*>(t);
    if (r == nullptr || r->shared() != shared_) return KvEngine::CommitGroup(txns);
    mine.push_back(r);
  }
  std::vector<Status> out(mine.size());
  std::vector<std::string> args = {""};
  std::vector<size_t> sent;  // index in `mine` of each part sent
  std::vector<bool> writes;
  int64_t budget = -1;
  for (size_t i = 0; i < mine.size(); i++) {
    bool w = false;
    auto final_status = mine[i]->PrepareGroupCommit(&args, &w);
    if (final_status) {
      out[i] = std::move(*final_status);
      continue;
    }
    sent.push_back(i);
    writes.push_back(w);
    const int64_t b = mine[i]->budget_ms();
    if (b >= 0 && (budget < 0 || b < budget)) budget = b;  // the tightest deadline bounds it
  }
  if (sent.empty()) return out;
  if (std::find(writes.begin(), writes.end(), true) != writes.end()) {
    if (Status m = shared_->MarkLayout(); !m.ok()) {
      for (size_t j : sent) out[j] = m;
      return out;
    }
  }
  args[0] = std::to_string(sent.size());
  std::vector<std::string> versions;
  std::vector<Status> r = RedisTxn::RunCommitParts(*shared_, args, writes, budget, &versions);
  for (size_t k = 0; k < sent.size(); k++) {
    mine[sent[k]]->AfterCommit(r[k], versions[k]);
    out[sent[k]] = std::move(r[k]);
  }
  return out;
}

Status RedisKv::Clear() {
  while (true) {
    ASSIGN_OR_RETURN(Reply r, shared_->Eval(kClearScript, {}));
    if (r->type != REDIS_REPLY_INTEGER) return Status::IOError("redis: bad clear reply");
    if (r->integer == 0) {
      shared_->layout_marked.store(false, std::memory_order_release);
      return Status::OK();
    }
  }
}

namespace {

// The value of `name` in a CONFIG GET reply (an array of name, value pairs); "" when absent.
std::string ConfigValue(const redisReply* r, std::string_view name) {
  if (r->type != REDIS_REPLY_ARRAY) return "";
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    const redisReply* k = r->element[i];
    const redisReply* v = r->element[i + 1];
    if (k->type == REDIS_REPLY_STRING && std::string_view(k->str, k->len) == name &&
        v->type == REDIS_REPLY_STRING) {
      return std::string(v->str, v->len);
    }
  }
  return "";
}

}  // namespace

Result<Durability> RedisKv::GetDurability() {
  ASSIGN_OR_RETURN(auto conn, shared_->pool.Acquire());
  auto aof = conn->Command({"CONFIG", "GET", "appendonly"});
  if (!aof.ok()) {
    if (!aof.status().Is(Code::kIOError)) return aof.status();
    return Durability{true, "unknown: the server refuses CONFIG GET (" +
                                std::string(aof.status().message()) + ")"};
  }
  ASSIGN_OR_RETURN(auto fsync, conn->Command({"CONFIG", "GET", "appendfsync"}));
  ASSIGN_OR_RETURN(auto save, conn->Command({"CONFIG", "GET", "save"}));
  std::string appendonly = ConfigValue(aof->get(), "appendonly");
  std::string appendfsync = ConfigValue(fsync.get(), "appendfsync");
  std::string rdb = ConfigValue(save.get(), "save");
  if (appendonly == "yes") {
    std::string d = "Redis AOF (appendfsync " + appendfsync + ")";
    if (appendfsync == "always") {
      d += ": every commit is on disk before it is acknowledged";
    } else if (appendfsync == "everysec") {
      d += ": a crash of the server machine may lose the last second of commits";
    } else {
      d += ": the OS decides when commits reach disk; a machine crash may lose many";
    }
    return Durability{true, d};
  }
  if (!rdb.empty()) {
    return Durability{true, "Redis RDB snapshots only (save " + rdb +
                                "): a server crash loses every commit since the last snapshot; "
                                "set appendonly yes"};
  }
  return Durability{false,
                    "the Redis server persists nothing (appendonly no, save \"\"): a restart "
                    "loses the whole volume's metadata; set appendonly yes"};
}

void RegisterRedisKv(KvRegistry& registry) {
  registry.Register("redis", [](const std::string& url) -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, RedisKv::OpenUrl(url));
    return std::shared_ptr<KvEngine>(std::move(kv));
  });
}

}  // namespace strata::kv
