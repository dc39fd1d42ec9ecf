// LateReplyKv (tests only): a KvEngineWrapper that answers each commit a random 0-2 ms after
// the engine applied it, so commits of several threads report back out of the order they were
// applied in, as over a network. Used by the commit-observer tests (meta/dir_attr_cache_test,
// meta/dir_names_cache_test).
//
// Thread-safety: as the target's; the delay generator has its own mutex.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "meta/kv/kv_wrapper.h"

namespace strata::kv::testing {

class LateReplyKv : public KvEngineWrapper {
 public:
  LateReplyKv(std::shared_ptr<KvEngine> target, uint32_t seed)
      : KvEngineWrapper(std::move(target)), rng_(seed) {}
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override {
    ASSIGN_OR_RETURN(auto inner, target().Begin(read_only));
    return std::unique_ptr<Transaction>(new Txn(std::move(inner), this));
  }

 private:
  class Txn : public TransactionWrapper {
   public:
    Txn(std::unique_ptr<Transaction> t, LateReplyKv* kv)
        : TransactionWrapper(std::move(t)), kv_(kv) {}
    Status Commit() override {
      Status s = TransactionWrapper::Commit();
      std::this_thread::sleep_for(std::chrono::microseconds(kv_->Delay()));
      return s;
    }

   private:
    LateReplyKv* kv_;
  };
  int Delay() {
    std::lock_guard lock(mu_);
    return std::uniform_int_distribution<int>(0, 2000)(rng_);
  }
  std::mutex mu_;
  std::mt19937 rng_;
};

}  // namespace strata::kv::testing
