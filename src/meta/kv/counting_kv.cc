#include "meta/kv/counting_kv.h"

namespace strata::kv {

class CountingTxn : public TransactionWrapper {
 public:
  CountingTxn(std::unique_ptr<Transaction> t, CountingKv* kv)
      : TransactionWrapper(std::move(t)), kv_(kv) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    kv_->reads_++;
    reads_++;
    return TransactionWrapper::Get(key);
  }
  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    kv_->reads_++;
    reads_++;
    return TransactionWrapper::BatchGet(keys);
  }
  Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end,
                                     size_t limit) override {
    kv_->reads_++;
    reads_++;
    return TransactionWrapper::Scan(begin, end, limit);
  }
  Result<std::vector<KeyValue>> SnapshotScan(std::string_view begin, std::string_view end,
                                             size_t limit) override {
    kv_->reads_++;
    reads_++;
    return TransactionWrapper::SnapshotScan(begin, end, limit);
  }
  void Put(std::string_view key, std::string_view value) override {
    wrote_ = true;
    TransactionWrapper::Put(key, value);
  }
  void Delete(std::string_view key) override {
    wrote_ = true;
    TransactionWrapper::Delete(key);
  }
  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    wrote_ = true;
    return TransactionWrapper::Increment(key, deltas, erase_at_zero);
  }
  Status Validate() override {
    // One read round trip is one snapshot: engines validate it without asking again.
    if (reads_ > 1) kv_->validates_++;
    return TransactionWrapper::Validate();
  }
  Status Commit() override {
    if (wrote_) kv_->commits_++;
    return TransactionWrapper::Commit();
  }

  bool wrote() const { return wrote_; }
  Transaction& inner() { return target(); }

 private:
  CountingKv* kv_;
  bool wrote_ = false;
  int reads_ = 0;
};

Result<std::unique_ptr<Transaction>> CountingKv::Begin(bool read_only) {
  ASSIGN_OR_RETURN(auto t, KvEngineWrapper::Begin(read_only));
  transactions_++;
  return std::unique_ptr<Transaction>(new CountingTxn(std::move(t), this));
}

std::vector<Status> CountingKv::CommitGroup(const std::vector<Transaction*>& txns) {
  std::vector<Transaction*> inner;
  uint64_t writers = 0;
  for (Transaction* t : txns) {
    auto* c = dynamic_cast<CountingTxn*>(t);
    if (c == nullptr) return KvEngine::CommitGroup(txns);  // not ours: one by one
    if (c->wrote()) writers++;
    inner.push_back(&c->inner());
  }
  if (writers > 0) commits_++;
  grouped_ += writers;
  return target().CommitGroup(inner);
}

RoundTripCounts CountingKv::counts() const {
  RoundTripCounts c;
  c.reads = reads_.load();
  c.validates = validates_.load();
  c.commits = commits_.load();
  c.grouped = grouped_.load();
  c.transactions = transactions_.load();
  return c;
}

void CountingKv::Reset() {
  reads_ = 0;
  validates_ = 0;
  commits_ = 0;
  grouped_ = 0;
  transactions_ = 0;
}

}  // namespace strata::kv
