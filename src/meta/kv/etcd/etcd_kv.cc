#include "meta/kv/etcd/etcd_kv.h"

#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "common/uri.h"
#include "meta/kv/write_buffer.h"

namespace strata::kv {

using nlohmann::json;

namespace {
constexpr char kLayout[] = "strata-kv-etcd 1";
constexpr size_t kPage = 1000;     // pairs per range request
constexpr size_t kBatchGet = 100;  // ranges per read-only Txn (etcd's --max-txn-ops is 128)

// An int64 field of a gateway reply (they come as JSON strings; absent means 0).
int64_t Int(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  if (it->is_number()) return it->get<int64_t>();
  return 0;
}

std::string Field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return "";
  auto d = Base64Decode(it->get<std::string>());
  return d.ok() ? *d : "";
}

int64_t HeaderRevision(const json& reply) {
  auto it = reply.find("header");
  return it == reply.end() ? 0 : Int(*it, "revision");
}

json PutOp(std::string_view key, std::string_view value) {
  return {{"request_put", {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}}}};
}
json DeleteOp(std::string_view key) {
  return {{"request_delete_range", {{"key", Base64Encode(key)}}}};
}

// The key/range_end pair that covers every key under `prefix` (all keys for "").
json PrefixRange(const std::string& prefix) {
  if (prefix.empty()) {
    return {{"key", Base64Encode(std::string(1, '\0'))},
            {"range_end", Base64Encode(std::string(1, '\0'))}};
  }
  return {{"key", Base64Encode(prefix)}, {"range_end", Base64Encode(PrefixEnd(prefix))}};
}

Status Conflict() { return Status::Conflict("etcd: a key read by the transaction changed"); }

}  // namespace

// One commit slot: the marker key a commit compares and rewrites (etcd_kv.h).
struct CommitSlot {
  std::string key;
  int64_t last_mod = 0;  // the marker's mod_revision as this engine last saw it (0: absent)
  uint64_t seq = 0;
};

// What the engine and its transactions share.
class EtcdShared {
 public:
  explicit EtcdShared(EtcdKvOptions opts) : client(std::move(opts)) {
    const std::string& p = client.options().prefix;
    data = p + "d";
    data_end = p + "e";
    layout_key = p + "m";
    std::random_device rd;
    std::mt19937_64 g((uint64_t(rd()) << 32) ^ rd());
    char id[17];
    std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(g()));
    marker_prefix = p + "t" + id + "/";
  }

  std::unique_ptr<CommitSlot> AcquireSlot() {
    std::lock_guard<std::mutex> lock(mu);
    if (!free_slots.empty()) {
      auto s = std::move(free_slots.back());
      free_slots.pop_back();
      return s;
    }
    auto s = std::make_unique<CommitSlot>();
    s->key = marker_prefix + std::to_string(next_slot++);
    return s;
  }
  void ReleaseSlot(std::unique_ptr<CommitSlot> s) {
    std::lock_guard<std::mutex> lock(mu);
    free_slots.push_back(std::move(s));
  }

  // The version cache: key -> (mod_revision seen or written, 0 = absent; value).
  struct Cached {
    int64_t mod = 0;
    std::optional<std::string> value;
  };
  bool CacheGet(const std::string& key, Cached* out) {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto it = cache.find(key);
    if (it == cache.end()) return false;
    *out = it->second;
    return true;
  }
  void CachePut(const std::string& key, int64_t mod, std::optional<std::string> value) {
    if (client.options().cache_entries <= 0) return;
    std::lock_guard<std::mutex> lock(cache_mu);
    if (cache.size() >= static_cast<size_t>(client.options().cache_entries)) cache.clear();
    cache.insert_or_assign(key, Cached{mod, std::move(value)});
  }
  void CacheDrop(const std::string& key) {
    std::lock_guard<std::mutex> lock(cache_mu);
    cache.erase(key);
  }

  EtcdClient client;
  std::string data, data_end, layout_key, marker_prefix;
  std::mutex cache_mu;
  std::unordered_map<std::string, Cached> cache;  // GUARDED_BY(cache_mu)
  std::atomic<bool> layout_marked{false};
  std::mutex mu;
  std::vector<std::unique_ptr<CommitSlot>> free_slots;  // GUARDED_BY(mu)
  int next_slot = 0;                                    // GUARDED_BY(mu)
};

namespace {

class EtcdTxn : public Transaction {
 public:
  EtcdTxn(std::shared_ptr<EtcdShared> sh, bool read_only)
      : sh_(std::move(sh)), read_only_(read_only) {}

  void SetDeadline(const Deadline& deadline, Clock* clock) override {
    deadline_ = deadline;
    clock_ = clock;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    RETURN_IF_ERROR(CheckOpen());
    if (auto* w = writes_.Find(key)) return *w;
    std::optional<std::string> cached;
    if (FromCache(std::string(key), &cached)) return cached;
    json req = {{"key", Base64Encode(sh_->data + std::string(key))}};
    AtRevision(req);
    ASSIGN_OR_RETURN(json r, Post("/v3/kv/range", req));
    SetRevision(r);
    std::optional<std::string> out;
    int64_t mod = 0;
    auto kvs = r.find("kvs");
    if (kvs != r.end() && kvs->is_array() && !kvs->empty()) {
      out = Field((*kvs)[0], "value");
      mod = Int((*kvs)[0], "mod_revision");
    }
    RETURN_IF_ERROR(Saw(std::string(key), mod, out));
    return out;
  }

  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<std::optional<std::string>> out(keys.size());
    std::vector<size_t> where;
    for (size_t i : writes_.AnswerPending(keys, &out)) {
      if (!FromCache(keys[i], &out[i])) where.push_back(i);
    }
    for (size_t b = 0; b < where.size(); b += kBatchGet) {
      const size_t e = std::min(where.size(), b + kBatchGet);
      json ops = json::array();
      for (size_t j = b; j < e; j++) {
        json range = {{"key", Base64Encode(sh_->data + keys[where[j]])}};
        AtRevision(range);
        ops.push_back({{"request_range", range}});
      }
      ASSIGN_OR_RETURN(json r, Post("/v3/kv/txn", json{{"success", ops}}));
      SetRevision(r);
      auto resps = r.find("responses");
      if (resps == r.end() || !resps->is_array() || resps->size() != e - b) {
        return Status::IOError("etcd: unexpected reply to a batched read");
      }
      for (size_t j = b; j < e; j++) {
        const json& rr = (*resps)[j - b]["response_range"];
        int64_t mod = 0;
        auto kvs = rr.find("kvs");
        if (kvs != rr.end() && kvs->is_array() && !kvs->empty()) {
          out[where[j]] = Field((*kvs)[0], "value");
          mod = Int((*kvs)[0], "mod_revision");
        }
        RETURN_IF_ERROR(Saw(keys[where[j]], mod, out[where[j]]));
      }
    }
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

  Status Commit() override {
    RETURN_IF_ERROR(CheckOpen());
    done_ = true;
    if (read_only_ && !writes_.empty()) {
      return Status::Internal("etcd: write in a read-only transaction");
    }
    // Reads at one revision are one snapshot; cached ones must still be checked.
    if (writes_.empty()) return cached_reads_ ? CheckReads() : Status::OK();
    RETURN_IF_ERROR(MarkLayout());
    auto slot = sh_->AcquireSlot();
    int64_t revision = 0;
    Status s = CommitWith(*slot, &revision);
    sh_->ReleaseSlot(std::move(slot));
    if (s.ok() && revision > 0) {
      Remember(revision);
    } else if (!s.ok()) {
      Forget();
    }
    return s;
  }

  // Recorded as "absent" in the version cache once this transaction's writes are applied.
  void HintAbsent(std::string_view key) override { absent_hints_.emplace_back(key); }
  // Read as absent without a request unless the version cache knows better; the commit
  // compares it like any read (a wrong belief conflicts).
  void ExpectAbsent(std::string_view key) override {
    if (!read_only_) expected_absent_.emplace(key);
  }
  Status Validate() override { return done_ || !cached_reads_ ? Status::OK() : CheckReads(); }

 private:
  Status CheckOpen() const {
    return done_ ? Status::Internal("etcd: transaction used after Commit") : Status::OK();
  }

  // A read-write transaction's read answered by the version cache (or by a belief that the key
  // is absent): no request; the commit compares its mod_revision like any other.
  bool FromCache(const std::string& key, std::optional<std::string>* out) {
    if (read_only_ || sh_->client.options().cache_entries <= 0) return false;
    if (auto it = seen_.find(key); it != seen_.end()) return false;  // already read: ask again
    EtcdShared::Cached c;
    if (sh_->CacheGet(key, &c)) {
      *out = std::move(c.value);
      seen_[key] = c.mod;
    } else if (expected_absent_.count(key)) {
      *out = std::nullopt;
      seen_[key] = 0;
    } else {
      return false;
    }
    cached_reads_ = true;
    return true;
  }

  // Records what a request read (and caches it for read-write transactions). The same key
  // seen at two mod_revisions (a cached one, then the server's) is a conflict.
  Status Saw(const std::string& key, int64_t mod, const std::optional<std::string>& value) {
    auto [it, inserted] = seen_.try_emplace(key, mod);
    if (!inserted && it->second != mod) {
      sh_->CacheDrop(key);
      return Conflict();
    }
    if (!read_only_) sh_->CachePut(key, mod, value);
    return Status::OK();
  }

  // The read set as Txn compares: every key read at the mod_revision seen (0: absent), every
  // scanned range unchanged since the read revision.
  json ReadCompares() const {
    json compares = json::array();
    for (const auto& [k, mod] : seen_) {
      compares.push_back({{"key", Base64Encode(sh_->data + k)},
                          {"target", "MOD"},
                          {"result", "EQUAL"},
                          {"mod_revision", std::to_string(mod)}});
    }
    for (const auto& [b, e] : ranges_) {
      compares.push_back({{"key", Base64Encode(b)},
                          {"range_end", Base64Encode(e)},
                          {"target", "MOD"},
                          {"result", "LESS"},
                          {"mod_revision", std::to_string(rev_ + 1)}});
    }
    return compares;
  }

  // Are the reads still current? One Txn of compares and no writes.
  Status CheckReads() {
    json compares = ReadCompares();
    ASSIGN_OR_RETURN(json r, Post("/v3/kv/txn", json{{"compare", compares}}));
    if (r.value("succeeded", false)) return Status::OK();
    Forget();
    return Conflict();
  }

  // After a commit applied at `revision`: the keys it wrote carry that mod_revision.
  void Remember(int64_t revision) {
    if (sh_->client.options().cache_entries <= 0) return;
    for (const auto& [k, v] : writes_.entries()) sh_->CachePut(k, v ? revision : 0, v);
    for (const auto& k : absent_hints_) {
      if (writes_.Find(k) == nullptr) sh_->CachePut(k, 0, std::nullopt);
    }
  }
  // After a failure: what this transaction read or wrote leaves the cache.
  void Forget() {
    if (read_only_) return;
    for (const auto& [k, mod] : seen_) sh_->CacheDrop(k);
    for (const auto& [k, v] : writes_.entries()) sh_->CacheDrop(k);
  }

  Result<json> Post(const std::string& path, const json& body, bool* maybe_applied = nullptr) {
    return sh_->client.Post(path, body, deadline_, clock_, maybe_applied);
  }

  void AtRevision(json& req) const {
    if (rev_ > 0) req["revision"] = std::to_string(rev_);
  }
  void SetRevision(const json& reply) {
    if (rev_ == 0) rev_ = HeaderRevision(reply);
  }

  // Writes the layout marker before the first write of this engine to a prefix that has none
  // (so opening a prefix, e.g. for a refused mount, writes nothing; and data never exists
  // under a prefix without the marker).
  Status MarkLayout() {
    if (sh_->layout_marked.load(std::memory_order_acquire)) return Status::OK();
    json req = {
        {"compare", json::array({{{"key", Base64Encode(sh_->layout_key)},
                                  {"target", "MOD"},
                                  {"result", "EQUAL"},
                                  {"mod_revision", "0"}}})},
        {"success", json::array({PutOp(sh_->layout_key, kLayout)})},
        {"failure", json::array({{{"request_range", {{"key", Base64Encode(sh_->layout_key)}}}}})}};
    ASSIGN_OR_RETURN(json r, Post("/v3/kv/txn", req));
    if (!r.value("succeeded", false)) {
      std::string layout;
      auto resps = r.find("responses");
      if (resps != r.end() && resps->is_array() && !resps->empty()) {
        const json& rr = (*resps)[0]["response_range"];
        auto kvs = rr.find("kvs");
        if (kvs != rr.end() && kvs->is_array() && !kvs->empty()) layout = Field((*kvs)[0], "value");
      }
      if (layout != kLayout) {
        return Status::InvalidArgument(sh_->client.Describe() + ": the prefix holds layout '" +
                                       layout + "', not '" + kLayout + "'");
      }
    }
    sh_->layout_marked.store(true, std::memory_order_release);
    return Status::OK();
  }

  Result<std::vector<KeyValue>> DoScan(std::string_view begin, std::string_view end, size_t limit,
                                       bool record) {
    RETURN_IF_ERROR(CheckOpen());
    auto fetch = [&](std::string_view b, std::string_view e,
                     size_t n) -> Result<std::vector<KeyValue>> {
      std::vector<KeyValue> page;
      const std::string range_end = e.empty() ? sh_->data_end : sh_->data + std::string(e);
      std::string from = sh_->data + std::string(b);
      const std::string first = from;
      bool more = true;
      while (more && page.size() < n) {
        const size_t want = std::min(kPage, n - page.size());
        json req = {{"key", Base64Encode(from)},
                    {"range_end", Base64Encode(range_end)},
                    {"limit", std::to_string(want)}};
        AtRevision(req);
        ASSIGN_OR_RETURN(json r, Post("/v3/kv/range", req));
        SetRevision(r);
        size_t got = 0;
        auto kvs = r.find("kvs");
        if (kvs != r.end() && kvs->is_array()) {
          for (const auto& kv : *kvs) {
            std::string k = Field(kv, "key");
            if (k.compare(0, sh_->data.size(), sh_->data) != 0) {
              return Status::IOError("etcd: a scan returned a key outside the range");
            }
            if (record) {
              // A key first read from the cache at another revision: the reads disagree.
              auto [it, fresh] =
                  seen_.try_emplace(k.substr(sh_->data.size()), Int(kv, "mod_revision"));
              if (!fresh && it->second != Int(kv, "mod_revision")) {
                sh_->CacheDrop(it->first);
                return Conflict();
              }
            }
            from = k + std::string(1, '\0');
            page.push_back({k.substr(sh_->data.size()), Field(kv, "value")});
            got++;
          }
        }
        more = r.value("more", false) && got == want;
        if (got < want) break;
      }
      if (record) {
        // The range read: up to the last key returned when the page is full, else all of it.
        ranges_.emplace_back(first, page.size() == n ? from : range_end);
      }
      return page;
    };
    return writes_.MergedScan(begin, end, limit, fetch);
  }

  Status CommitWith(CommitSlot& slot, int64_t* revision) {
    json compares = ReadCompares();
    compares.push_back({{"key", Base64Encode(slot.key)},
                        {"target", "MOD"},
                        {"result", "EQUAL"},
                        {"mod_revision", std::to_string(slot.last_mod)}});
    const std::string seq = std::to_string(++slot.seq);
    json success = json::array();
    for (const auto& [k, v] : writes_.entries()) {
      success.push_back(v ? PutOp(sh_->data + k, *v) : DeleteOp(sh_->data + k));
    }
    success.push_back(PutOp(slot.key, seq));
    json failure = json::array({{{"request_range", {{"key", Base64Encode(slot.key)}}}}});
    json req = {{"compare", compares}, {"success", success}, {"failure", failure}};
    bool maybe_applied = false;
    auto r = Post("/v3/kv/txn", req, &maybe_applied);
    if (!r.ok()) {
      if (maybe_applied && r.status().IsRetryable()) {
        return Status(Code::kOutcomeUnknown,
                      "etcd: commit outcome unknown: " + std::string(r.status().message()));
      }
      return r.status();
    }
    if (r->value("succeeded", false)) {
      slot.last_mod = HeaderRevision(*r);
      *revision = slot.last_mod;
      return Status::OK();
    }
    // Refused: the marker says whether an earlier send of this very commit applied.
    std::string value;
    int64_t mod = 0;
    auto resps = r->find("responses");
    if (resps != r->end() && resps->is_array() && !resps->empty()) {
      const json& rr = (*resps)[0]["response_range"];
      auto kvs = rr.find("kvs");
      if (kvs != rr.end() && kvs->is_array() && !kvs->empty()) {
        value = Field((*kvs)[0], "value");
        mod = Int((*kvs)[0], "mod_revision");
      }
    }
    slot.last_mod = mod;
    if (!value.empty() && value == seq) {
      *revision = mod;  // the earlier send applied, at the marker's revision
      return Status::OK();
    }
    return Conflict();
  }

  std::shared_ptr<EtcdShared> sh_;
  const bool read_only_;
  Deadline deadline_ = Deadline::Never();
  Clock* clock_ = nullptr;
  bool done_ = false;
  int64_t rev_ = 0;                                   // the revision of every read; 0 before
  std::map<std::string, int64_t, std::less<>> seen_;  // key read -> mod_revision (0: absent)
  bool cached_reads_ = false;  // some reads came from the version cache (or a belief)
  std::set<std::string, std::less<>> expected_absent_;       // ExpectAbsent
  std::vector<std::string> absent_hints_;                    // HintAbsent
  std::vector<std::pair<std::string, std::string>> ranges_;  // etcd keys [begin, end) scanned
  WriteBuffer writes_;
};

Status Number(const Uri& uri, const std::string& what, const std::string& s, int* out) {
  char* rest = nullptr;
  long v = std::strtol(s.c_str(), &rest, 10);
  if (s.empty() || *rest || v < 1 || v > 3600000) {
    return Status::InvalidArgument("etcd: bad " + what + " '" + s + "' in " + uri.Masked());
  }
  *out = static_cast<int>(v);
  return Status::OK();
}

}  // namespace

EtcdKv::EtcdKv(std::shared_ptr<EtcdShared> shared) : shared_(std::move(shared)) {}

EtcdKv::~EtcdKv() {
  // Best effort: drop this engine's commit markers (a crashed client leaves a few keys,
  // which Clear() and a later format of the prefix remove).
  json req = PrefixRange(shared_->marker_prefix);
  Clock* clock = SystemClock::Get();
  auto r = shared_->client.Post("/v3/kv/deleterange", req,
                                Deadline::After(*clock, std::chrono::milliseconds(1000)), clock);
  (void)r;  // deliberately dropped: a leftover marker is harmless
}

Result<std::unique_ptr<EtcdKv>> EtcdKv::Open(const EtcdKvOptions& opts) {
  RETURN_IF_ERROR(opts.Validate());
  auto sh = std::make_shared<EtcdShared>(opts);
  Clock* clock = SystemClock::Get();
  Deadline deadline = Deadline::After(*clock, std::chrono::milliseconds(opts.open_timeout_ms));
  // The layout marker and the first key under the prefix, in one atomic read.
  json probe = PrefixRange(opts.prefix);
  probe["limit"] = "1";
  probe["keys_only"] = true;
  json req = {{"success", json::array({{{"request_range", {{"key", Base64Encode(sh->layout_key)}}}},
                                       {{"request_range", probe}}})}};
  ASSIGN_OR_RETURN(json r, sh->client.Post("/v3/kv/txn", req, deadline, clock));
  auto first_kv = [&](size_t i) -> const json* {
    auto resps = r.find("responses");
    if (resps == r.end() || !resps->is_array() || resps->size() <= i) return nullptr;
    const json& rr = (*resps)[i]["response_range"];
    auto kvs = rr.find("kvs");
    return kvs != rr.end() && kvs->is_array() && !kvs->empty() ? &(*kvs)[0] : nullptr;
  };
  if (const json* layout_kv = first_kv(0)) {
    std::string layout = Field(*layout_kv, "value");
    if (layout != kLayout) {
      return Status::InvalidArgument(sh->client.Describe() + ": the prefix holds layout '" +
                                     layout + "', not '" + kLayout + "'");
    }
    sh->layout_marked = true;
  } else if (const json* any = first_kv(1)) {
    // Keys under the prefix but no marker: not ours; refused without writing anything.
    return Status::InvalidArgument(sh->client.Describe() +
                                   ": the prefix holds keys that are not a strata volume's "
                                   "(e.g. '" +
                                   Field(*any, "key") + "')");
  }
  return std::unique_ptr<EtcdKv>(new EtcdKv(std::move(sh)));
}

Result<std::unique_ptr<EtcdKv>> EtcdKv::OpenUrl(const std::string& url) {
  ASSIGN_OR_RETURN(Uri uri, ParseUri(url));
  if (uri.scheme != "etcd") return Status::InvalidArgument("not an etcd:// URL: " + uri.Masked());
  if (uri.hosts.empty()) return Status::InvalidArgument("etcd: no endpoints in " + uri.Masked());
  EtcdKvOptions opts;
  for (const auto& hp : uri.hosts) {
    std::string host = hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host;
    opts.endpoints.push_back(host + ":" + std::to_string(hp.port ? hp.port : 2379));
  }
  std::string path = uri.path.empty() ? "" : uri.path.substr(1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (!path.empty()) opts.prefix = path + "/";
  opts.user = uri.user;
  opts.password = uri.password;
  for (const auto& [k, v] : uri.query) {
    if (k == "cacert") {
      opts.ca_file = v;
      opts.tls = true;
    } else if (k == "cert") {
      opts.cert_file = v;
      opts.tls = true;
    } else if (k == "key") {
      opts.key_file = v;
    } else if (k == "tls") {
      opts.tls = v == "1" || v == "true";
    } else if (k == "connect_timeout_ms") {
      RETURN_IF_ERROR(Number(uri, k, v, &opts.connect_timeout_ms));
    } else if (k == "io_timeout_ms") {
      RETURN_IF_ERROR(Number(uri, k, v, &opts.io_timeout_ms));
    } else if (k == "open_timeout_ms") {
      RETURN_IF_ERROR(Number(uri, k, v, &opts.open_timeout_ms));
    } else if (k == "cache") {
      if (v == "0") {
        opts.cache_entries = 0;
      } else {
        RETURN_IF_ERROR(Number(uri, k, v, &opts.cache_entries));
      }
    } else {
      return Status::InvalidArgument("etcd: unknown parameter '" + k +
                                     "' (known: cacert, cert, key, tls, connect_timeout_ms, "
                                     "io_timeout_ms, open_timeout_ms, cache)");
    }
  }
  return Open(opts);
}

std::string EtcdKv::Describe() const { return shared_->client.Describe(); }

Result<std::unique_ptr<Transaction>> EtcdKv::Begin(bool read_only) {
  return std::unique_ptr<Transaction>(new EtcdTxn(shared_, read_only));
}

Status EtcdKv::Clear() {
  const std::string& p = shared_->client.options().prefix;
  json req = PrefixRange(p);
  Clock* clock = SystemClock::Get();
  auto r = shared_->client.Post(
      "/v3/kv/deleterange", req,
      Deadline::After(*clock, std::chrono::milliseconds(shared_->client.options().io_timeout_ms)),
      clock);
  RETURN_IF_ERROR(r.status());
  shared_->layout_marked.store(false, std::memory_order_release);
  return Status::OK();
}

Result<Durability> EtcdKv::GetDurability() {
  Clock* clock = SystemClock::Get();
  ASSIGN_OR_RETURN(
      json r, shared_->client.Post(
                  "/v3/cluster/member/list", json::object(),
                  Deadline::After(
                      *clock, std::chrono::milliseconds(shared_->client.options().io_timeout_ms)),
                  clock));
  size_t n = r.contains("members") && r["members"].is_array() ? r["members"].size() : 0;
  if (n <= 1) {
    return Durability{true,
                      "etcd with a single member: a commit is on its disk (fsync) before it is "
                      "acknowledged, but losing that machine loses the volume; run three members"};
  }
  return Durability{
      true, "etcd Raft over " + std::to_string(n) +
                " members: a commit is on the disks (fsync) of " + std::to_string(n / 2 + 1) +
                " before it is acknowledged; survives the loss of " + std::to_string((n - 1) / 2)};
}

void RegisterEtcdKv(KvRegistry& registry) {
  registry.Register("etcd", [](const std::string& url) -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, EtcdKv::OpenUrl(url));
    return std::shared_ptr<KvEngine>(std::move(kv));
  });
}

}  // namespace strata::kv
