// FaultyStore: a wrapper for tests that makes a real store misbehave on purpose, the way
// LevelDB's fault-injection Env does: injected errors (per operation, with a probability, a
// limit on how many, after letting some calls through), added latency, short reads (a Get
// that returns fewer bytes than the object holds, with an OK status) and throttling (S3's
// "503 SlowDown", reported as kUnavailable). Everything it does not inject reaches the
// target unchanged, so the data behind it stays real.
//
// Rules are checked in the order added; the first that fires decides the error. An injected
// error happens before the target is called, so a failed Put changes nothing (and a failed
// Sync, one call for all its keys, syncs none of them).
//
// Thread-safety: all methods may be called concurrently (rule state is locked).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "object/object_store.h"
#include "object/store_op.h"

namespace strata::object {

struct FaultRule {
  uint32_t ops = kAllOps;  // OpBit(...) mask of the operations it applies to
  Code code = Code::kUnavailable;
  std::string message = "injected fault";
  double probability = 1.0;  // chance that a matching call fails
  int count = -1;            // inject at most this many times; -1: no limit
  int skip = 0;              // let the first `skip` matching calls through untouched

  // S3 throttling: kUnavailable "503 SlowDown".
  static FaultRule Throttle(uint32_t ops = kAllOps, double probability = 1.0, int count = -1);
};

class FaultyStore : public ObjectStoreWrapper {
 public:
  struct Options {
    std::vector<FaultRule> rules;
    std::chrono::milliseconds latency{0};  // added before every call
    double short_read_probability = 0;     // chance that a Get returns a truncated body
    uint64_t seed = 1;                     // for reproducible runs
    Clock* clock = nullptr;                // sleeps for `latency`; nullptr: SystemClock
  };

  static std::unique_ptr<FaultyStore> Open(std::shared_ptr<ObjectStore> target, Options options);

  // Changes the behaviour while in use (a test turns faults on and off mid-run).
  void AddRule(FaultRule rule);
  void ClearRules();
  void SetShortReadProbability(double p);
  // Faults injected so far (errors and short reads).
  uint64_t injected() const;

  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<ListResult> List(const ListOptions& opts) override;
  Result<std::string> CreateMultipart(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view data) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartInfo>& parts) override;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                          const std::string& upload_id) override;
  Status Sync(const std::vector<std::string>& keys) override;

 private:
  struct RuleState {
    FaultRule rule;
    int seen = 0;      // matching calls so far
    int injected = 0;  // errors injected by this rule
  };
  FaultyStore(std::shared_ptr<ObjectStore> target, Options options);
  // Sleeps for the configured latency, then returns the injected error or OK.
  Status Before(StoreOp op, const std::string& key);

  Clock* clock_;
  mutable std::mutex mu_;
  std::vector<RuleState> rules_;       // guarded by mu_
  std::chrono::milliseconds latency_;  // guarded by mu_
  double short_read_probability_;      // guarded by mu_
  std::mt19937_64 rng_;                // guarded by mu_
  uint64_t injected_ = 0;              // guarded by mu_
};

}  // namespace strata::object
