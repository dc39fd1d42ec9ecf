#include "meta/kv/mem_kv.h"

#include <map>
#include <set>
#include <vector>

#include "common/clock.h"
#include "common/uri.h"
#include "meta/kv/write_buffer.h"

namespace strata::kv {

// The shared state behind one memkv store. All members GUARDED_BY(mu).
class MemStore {
 public:
  struct Entry {
    std::optional<std::string> value;  // nullopt: a tombstone
    uint64_t version = 0;              // sequence number of the commit that wrote it
  };

  std::mutex mu;
  std::map<std::string, Entry, std::less<>> data;
  uint64_t seq = 0;                // last commit's sequence number
  std::multiset<uint64_t> active;  // snapshots of running transactions
  size_t live = 0;
  size_t tombstones = 0;

  uint64_t BeginTxn() {
    std::lock_guard lock(mu);
    active.insert(seq);
    return seq;
  }
  void EndTxn(uint64_t start) {
    std::lock_guard lock(mu);
    active.erase(active.find(start));
  }

  // Writes one entry at `version`, keeping the live/tombstone counts. REQUIRES: mu held.
  void WriteLocked(const std::string& key, const std::optional<std::string>& value,
                   uint64_t version) {
    auto [it, inserted] = data.try_emplace(key);
    if (!inserted) (it->second.value ? live : tombstones)--;
    it->second = Entry{value, version};
    (value ? live : tombstones)++;
  }

  // A tombstone is needed only by a transaction whose snapshot predates it; once every
  // running transaction began after it, it can go. REQUIRES: mu held.
  void CollectTombstonesLocked() {
    if (tombstones < 1024 || tombstones < live / 2) return;
    uint64_t oldest = active.empty() ? seq : *active.begin();
    for (auto it = data.begin(); it != data.end();) {
      if (!it->second.value && it->second.version <= oldest) {
        it = data.erase(it);
        tombstones--;
      } else {
        ++it;
      }
    }
  }
};

namespace {

Status Changed(std::string_view what) {
  return Status::Conflict("memkv: " + std::string(what) + " changed since the transaction began");
}

class MemKvTxn : public Transaction {
 public:
  MemKvTxn(std::shared_ptr<MemStore> store, bool read_only, bool inject_conflict,
           std::chrono::microseconds latency)
      : store_(std::move(store)),
        start_(store_->BeginTxn()),
        read_only_(read_only),
        inject_conflict_(inject_conflict),
        latency_(latency) {}
  ~MemKvTxn() override { store_->EndTxn(start_); }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    RETURN_IF_ERROR(CheckOpen());
    if (auto* w = writes_.Find(key)) return *w;
    Travel();
    std::lock_guard lock(store_->mu);
    return ReadOneLocked(key);
  }

  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    bool all_buffered = true;
    for (const auto& key : keys) all_buffered = all_buffered && writes_.Find(key) != nullptr;
    if (!all_buffered) Travel();
    std::lock_guard lock(store_->mu);
    for (const auto& key : keys) {
      ASSIGN_OR_RETURN(auto v, ReadOneLocked(key));
      out.push_back(std::move(v));
    }
    return out;
  }

  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    RETURN_IF_ERROR(CheckOpen());
    return writes_.AddIncrement(key, deltas, erase_at_zero);
  }

  // The commit's checks and writes. REQUIRES: store_->mu held; the transaction is open.
  Status CommitLocked() {
    done_ = true;
    if (read_only_ && !writes_.empty()) {
      return Status::Internal("memkv: write in a read-only transaction");
    }
    if (inject_conflict_) return Status::Conflict("memkv: injected conflict");
    // Every read already saw the snapshot `start_` (a newer version failed the read), so a
    // transaction without writes is serializable at start_ as it stands.
    if (writes_.empty()) return Status::OK();
    for (const auto& key : read_keys_) {
      auto it = store_->data.find(key);
      if (it != store_->data.end() && it->second.version > start_) return Changed("a read key");
    }
    for (const auto& [b, e] : read_ranges_) {
      for (auto it = store_->data.lower_bound(b);
           it != store_->data.end() && (e.empty() || it->first < e); ++it) {
        if (it->second.version > start_) return Changed("a scanned range");
      }
    }
    uint64_t version = ++store_->seq;
    for (const auto& [key, value] : writes_.entries()) store_->WriteLocked(key, value, version);
    // Blind increments add to whatever is stored now (they read nothing, so never conflict).
    for (const auto& [key, inc] : writes_.increments()) {
      auto it = store_->data.find(key);
      std::optional<std::string> now = it == store_->data.end() ? std::nullopt : it->second.value;
      auto next = ApplyIncrement(now, inc.deltas, inc.erase_at_zero);
      if (next || now) store_->WriteLocked(key, next, version);
    }
    store_->CollectTombstonesLocked();
    return Status::OK();
  }
  bool has_writes() const { return !writes_.empty(); }
  Status CheckOpen() const {
    return done_ ? Status::Internal("memkv: transaction used after Commit") : Status::OK();
  }
  const std::shared_ptr<MemStore>& store() const { return store_; }

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

  Status AddReadConflict(std::string_view key) override {
    RETURN_IF_ERROR(CheckOpen());
    read_keys_.emplace(key);
    return Status::OK();
  }

  Status Commit() override {
    RETURN_IF_ERROR(CheckOpen());
    if (!writes_.empty()) Travel();
    std::lock_guard lock(store_->mu);
    return CommitLocked();
  }

  // The injected latency of one round trip (MemKvOptions::latency_us).
  void Travel() const {
    if (latency_.count() > 0) SystemClock::Get()->SleepFor(latency_);
  }

 private:
  // A read of `key` that sees this transaction's writes and increments. REQUIRES: mu held.
  Result<std::optional<std::string>> ReadOneLocked(std::string_view key) {
    if (auto* w = writes_.Find(key)) return *w;
    auto inc = writes_.TakeIncrement(key);
    ASSIGN_OR_RETURN(auto v, ReadLocked(key));
    if (!inc) return v;
    writes_.Materialize(std::string(key), v, *inc);
    return *writes_.Find(key);
  }

  // REQUIRES: store_->mu held.
  Result<std::optional<std::string>> ReadLocked(std::string_view key) {
    read_keys_.emplace(key);
    auto it = store_->data.find(key);
    if (it == store_->data.end()) return std::optional<std::string>();
    if (it->second.version > start_) return Changed("a key");
    return it->second.value;
  }

  Result<std::vector<KeyValue>> DoScan(std::string_view begin, std::string_view end, size_t limit,
                                       bool record) {
    RETURN_IF_ERROR(CheckOpen());
    Travel();
    {
      // Pending increments inside the range become ordinary writes (read, then added).
      std::lock_guard lock(store_->mu);
      for (auto& [key, inc] : writes_.TakeIncrementsIn(begin, end)) {
        ASSIGN_OR_RETURN(auto v, ReadLocked(key));
        writes_.Materialize(key, v, inc);
      }
    }
    auto fetch = [&](std::string_view b, std::string_view e,
                     size_t n) -> Result<std::vector<KeyValue>> {
      std::vector<KeyValue> page;
      std::lock_guard lock(store_->mu);
      for (auto it = store_->data.lower_bound(b);
           it != store_->data.end() && (e.empty() || it->first < e) && page.size() < n; ++it) {
        if (it->second.version > start_) return Changed("a scanned range");
        if (it->second.value) page.push_back({it->first, *it->second.value});
      }
      if (record) {
        read_ranges_.emplace_back(std::string(b),
                                  page.size() == n ? page.back().key + '\0' : std::string(e));
      }
      return page;
    };
    return writes_.MergedScan(begin, end, limit, fetch);
  }

  std::shared_ptr<MemStore> store_;
  const uint64_t start_;
  const bool read_only_;
  const bool inject_conflict_;
  const std::chrono::microseconds latency_;
  bool done_ = false;
  WriteBuffer writes_;
  std::set<std::string, std::less<>> read_keys_;
  std::vector<std::pair<std::string, std::string>> read_ranges_;  // [begin, end), "" = no end
};

// The process-wide table of named stores (see mem_kv.h). Stores are never removed.
struct NamedStores {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<MemStore>> stores;
};
NamedStores& Named() {
  static NamedStores* named = new NamedStores;  // never destroyed: engines may outlive main
  return *named;
}

}  // namespace

Status MemKvOptions::Validate() const {
  if (!(conflict_rate >= 0 && conflict_rate <= 1)) {
    return Status::InvalidArgument("memkv: conflict_rate must be within [0, 1]");
  }
  if (latency_us < 0 || latency_us > 10000000) {
    return Status::InvalidArgument("memkv: latency_us must be within [0, 10000000]");
  }
  if (group_commit_slots < 0 || group_commit_slots > 1024) {
    return Status::InvalidArgument("memkv: group_commit must be within [0, 1024]");
  }
  return Status::OK();
}

MemKv::MemKv(std::shared_ptr<MemStore> store, std::string name, const MemKvOptions& opts)
    : store_(std::move(store)),
      name_(std::move(name)),
      opts_(opts),
      rng_(opts.seed ? opts.seed : std::random_device{}()) {}

MemKv::~MemKv() = default;

Result<std::unique_ptr<MemKv>> MemKv::Open(const MemKvOptions& opts) {
  RETURN_IF_ERROR(opts.Validate());
  return std::unique_ptr<MemKv>(new MemKv(std::make_shared<MemStore>(), "", opts));
}

Result<std::unique_ptr<MemKv>> MemKv::OpenNamed(const std::string& name, const MemKvOptions& opts) {
  RETURN_IF_ERROR(opts.Validate());
  if (name.empty()) return Status::InvalidArgument("memkv: empty store name");
  auto& named = Named();
  std::lock_guard lock(named.mu);
  auto& store = named.stores[name];
  if (!store) store = std::make_shared<MemStore>();
  return std::unique_ptr<MemKv>(new MemKv(store, name, opts));
}

Result<std::unique_ptr<MemKv>> MemKv::OpenUrl(const std::string& url) {
  ASSIGN_OR_RETURN(Uri uri, ParseUri(url));
  if (uri.scheme != "memkv") return Status::InvalidArgument("not a memkv:// URL: " + url);
  if (!uri.path.empty() && uri.path != "/") {
    return Status::InvalidArgument("memkv: a URL has no path (memkv://NAME): " + url);
  }
  MemKvOptions opts;
  for (const auto& [k, v] : uri.query) {
    char* rest = nullptr;
    if (k == "conflict_rate") {
      opts.conflict_rate = std::strtod(v.c_str(), &rest);
    } else if (k == "seed") {
      opts.seed = std::strtoull(v.c_str(), &rest, 10);
    } else if (k == "latency_us") {
      opts.latency_us = std::strtol(v.c_str(), &rest, 10);
    } else if (k == "group_commit") {
      opts.group_commit_slots = static_cast<int>(std::strtol(v.c_str(), &rest, 10));
    } else {
      return Status::InvalidArgument(
          "memkv: unknown parameter '" + k +
          "' (known: conflict_rate, seed, latency_us, group_commit)");
    }
    if (v.empty() || *rest != '\0') {
      return Status::InvalidArgument("memkv: bad value for " + k + ": '" + v + "'");
    }
  }
  if (uri.host.empty()) return Open(opts);
  return OpenNamed(uri.host, opts);
}

std::string MemKv::Describe() const { return "memkv://" + name_; }

Result<std::unique_ptr<Transaction>> MemKv::Begin(bool read_only) {
  return std::unique_ptr<Transaction>(new MemKvTxn(store_, read_only, InjectConflict(),
                                                   std::chrono::microseconds(opts_.latency_us)));
}

std::vector<Status> MemKv::CommitGroup(const std::vector<Transaction*>& txns) {
  std::vector<MemKvTxn*> mine;
  for (Transaction* t : txns) {
    auto* m = dynamic_cast<MemKvTxn*>(t);
    if (m == nullptr || m->store() != store_) return KvEngine::CommitGroup(txns);
    mine.push_back(m);
  }
  // One round trip for the group, then each commit in turn under one lock.
  if (!mine.empty()) mine[0]->Travel();
  std::vector<Status> out;
  out.reserve(mine.size());
  std::lock_guard lock(store_->mu);
  for (MemKvTxn* m : mine) {
    Status open = m->CheckOpen();
    out.push_back(open.ok() ? m->CommitLocked() : open);
  }
  return out;
}

bool MemKv::InjectConflict() {
  if (opts_.conflict_rate <= 0) return false;
  std::lock_guard lock(rng_mu_);
  return std::uniform_real_distribution<double>(0, 1)(rng_) < opts_.conflict_rate;
}

Status MemKv::Clear() {
  std::lock_guard lock(store_->mu);
  uint64_t version = ++store_->seq;
  for (auto& [key, entry] : store_->data) {
    if (entry.value) store_->WriteLocked(key, std::nullopt, version);
  }
  store_->CollectTombstonesLocked();
  return Status::OK();
}

size_t MemKv::Size() const {
  std::lock_guard lock(store_->mu);
  return store_->live;
}

void RegisterMemKv(KvRegistry& registry) {
  registry.Register("memkv", [](const std::string& url) -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, MemKv::OpenUrl(url));
    return std::shared_ptr<KvEngine>(std::move(kv));
  });
}

}  // namespace strata::kv
