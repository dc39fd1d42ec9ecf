// RetryStore: retries operations that failed with a retryable error (Status::IsRetryable():
// kUnavailable such as 503 SlowDown or a reset connection, kTimeout, kConflict), with the one
// back-off helper (common/backoff.h) in "full jitter" mode: each wait is uniform in
// [0, min(max, initial * 2^n)].
// Every other error (kNotFound, kPermissionDenied/403, kInvalidArgument, kNoSpace, ...) is
// returned at once: retrying cannot fix it.
//
// When it gives up it logs one line (warn, rate-limited per process) and returns kUnavailable
// (EIO at the FUSE edge) for a last kUnavailable/kTimeout, the last code otherwise, saying
// what, how many attempts and how long: "Unavailable: gave up on put vol/x after 5 attempts
// in 3.2s: Unavailable: 503 SlowDown". Each retry is logged at debug level.
//
// Timeouts: a call in flight cannot be cancelled from outside safely, so the per-try timeout
// belongs to the backend's transport (StoreOptions::request_timeout_ms for s3://, which
// reports kTimeout and is then retried here). RetryStore bounds the whole operation instead:
// no new attempt starts after `total_timeout` has passed since the first.
//
// Multipart caveat: CompleteMultipart is retried too; if a first attempt succeeded on the
// server but its reply was lost, the retry reports kNotFound (the upload is gone).
//
// Thread-safety: all methods may be called concurrently (each call has its own back-off).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "common/clock.h"
#include "object/object_store.h"

namespace strata::object {

class RetryStore : public ObjectStoreWrapper {
 public:
  struct Options {
    int max_attempts = 10;                            // first try included; >= 1 (--io-retries)
    std::chrono::milliseconds initial_backoff{100};   // cap of the first wait
    std::chrono::milliseconds max_backoff{5000};      // cap of any wait
    std::chrono::milliseconds total_timeout{60000};   // no wait past this (--io-timeout)
    Clock* clock = nullptr;                           // nullptr: SystemClock::Get()
    uint64_t seed = 0;                                // jitter seed; 0: random
    Status Validate() const;
  };

  static Result<std::unique_ptr<RetryStore>> Open(std::shared_ptr<ObjectStore> target,
                                                  const Options& options);

  std::string Describe() const override;
  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override;
  Result<BlockBuffer> GetBuffer(const std::string& key) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const PutOptions& opts) override;
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

  // Number of retries made so far (attempts beyond the first), for metrics and tests.
  uint64_t retries() const { return retries_.load(); }

 private:
  RetryStore(std::shared_ptr<ObjectStore> target, const Options& options);

  // Runs `attempt` until it returns a non-retryable Status or the budget is spent.
  Status Run(const std::string& what, const std::function<Status()>& attempt);
  Options options_;
  Clock* clock_;
  std::atomic<uint64_t> seq_{0};  // varies the fixed seed between calls
  std::atomic<uint64_t> retries_{0};
};

}  // namespace strata::object
