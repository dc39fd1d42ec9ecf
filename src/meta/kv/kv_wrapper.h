// KvEngineWrapper and TransactionWrapper: forward every call to a target, so that a wrapper
// (fault injection in tests, counting) overrides only what it changes — as
// object::ObjectStoreWrapper does for stores. Forwarding everything matters: a wrapper that
// forgot SnapshotScan, Validate or SetDeadline would silently change the engine's semantics.
//
// Thread-safety: as the target's. Ownership: an engine wrapper shares its target; a
// transaction wrapper owns its target transaction.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "meta/kv/kv.h"

namespace strata::kv {

class TransactionWrapper : public Transaction {
 public:
  explicit TransactionWrapper(std::unique_ptr<Transaction> target) : t_(std::move(target)) {}
  Result<std::optional<std::string>> Get(std::string_view key) override { return t_->Get(key); }
  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    return t_->BatchGet(keys);
  }
  Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end,
                                     size_t limit) override {
    return t_->Scan(begin, end, limit);
  }
  Result<std::vector<KeyValue>> SnapshotScan(std::string_view begin, std::string_view end,
                                             size_t limit) override {
    return t_->SnapshotScan(begin, end, limit);
  }
  void Put(std::string_view key, std::string_view value) override { t_->Put(key, value); }
  void Delete(std::string_view key) override { t_->Delete(key); }
  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    return t_->Increment(key, deltas, erase_at_zero);
  }
  void HintAbsent(std::string_view key) override { t_->HintAbsent(key); }
  void ExpectAbsent(std::string_view key) override { t_->ExpectAbsent(key); }
  Status AddReadConflict(std::string_view key) override { return t_->AddReadConflict(key); }
  Status Validate() override { return t_->Validate(); }
  Status Commit() override { return t_->Commit(); }
  void SetDeadline(const Deadline& deadline, Clock* clock) override {
    t_->SetDeadline(deadline, clock);
  }

 protected:
  Transaction& target() { return *t_; }

 private:
  std::unique_ptr<Transaction> t_;
};

class KvEngineWrapper : public KvEngine {
 public:
  explicit KvEngineWrapper(std::shared_ptr<KvEngine> target) : target_(std::move(target)) {}
  std::string Describe() const override { return target_->Describe(); }
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override {
    return target_->Begin(read_only);
  }
  Status Clear() override { return target_->Clear(); }
  Status Sync() override { return target_->Sync(); }
  Result<Durability> GetDurability() override { return target_->GetDurability(); }
  // CommitGroup is NOT forwarded: a wrapper whose Begin wraps transactions would hand the
  // target transactions of a type it does not know. KvEngine's default (each one's own
  // Commit, through the wrapper) is correct for every wrapper; one that wants the target's
  // batching overrides CommitGroup and unwraps (kv/counting_kv.h does).
  int group_commit_slots() const override { return target_->group_commit_slots(); }
  bool SnapshotReads() const override { return target_->SnapshotReads(); }

 protected:
  KvEngine& target() const { return *target_; }

 private:
  std::shared_ptr<KvEngine> target_;
};

}  // namespace strata::kv
