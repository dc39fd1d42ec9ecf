// RunTxn: the one retry loop of the KV core (kv.h). Every metadata operation goes through it,
// so the policy lives here only: a time budget per call (RetryPolicy::budget, --meta-timeout),
// the one back-off helper (common/backoff.h), and retry exactly when Status::IsRetryable()
// says trying again may help.
#include <algorithm>
#include <chrono>

#include "common/logging.h"
#include "meta/kv/kv.h"

namespace strata::kv {

Status RetryPolicy::Validate() const {
  if (budget.count() <= 0) return Status::InvalidArgument("metadata timeout must be positive");
  if (clock == nullptr) return Status::InvalidArgument("retry policy needs a clock");
  return backoff.Validate();
}

namespace {

void Count(Counter* c) {
  if (c) c->Inc();
}

}  // namespace

Status RunTxn(KvEngine& engine, const std::function<Status(Transaction&)>& fn,
              const TxnOptions& opts) {
  const RetryPolicy& policy = engine.retry_policy();
  const std::shared_ptr<const TxnMetrics> metrics = engine.txn_metrics();
  const TxnMetrics& m = *metrics;
  Clock* clock = policy.clock;
  BackoffPolicy bp = policy.backoff;
  if (opts.base_backoff_us >= 0) bp.initial = std::chrono::microseconds(opts.base_backoff_us);
  if (opts.max_backoff_us >= 0) bp.max = std::chrono::microseconds(opts.max_backoff_us);
  if (bp.max < bp.initial) bp.max = bp.initial;
  Deadline deadline = opts.deadline ? *opts.deadline : Deadline::After(*clock, policy.budget);
  Backoff backoff(bp, clock, deadline);
  const int64_t start = clock->MonotonicNanos();
  Count(m.transactions);
  auto finish = [&](Status s, bool engine_error) {
    if (m.latency) m.latency->Observe(static_cast<double>(clock->MonotonicNanos() - start) / 1e9);
    if (engine_error && !s.ok()) Count(m.failures);
    return s;
  };

  Status last;
  for (int attempt = 0;; attempt++) {
    if (attempt > 0) {
      bool out_of_attempts = opts.max_retries >= 0 && attempt > opts.max_retries;
      if (out_of_attempts || !backoff.Wait()) {
        Status s = backoff.GiveUp(last, "transaction on " + engine.Describe());
        if (!last.Is(Code::kConflict)) {
          LOG_WARN_EVERY("metadata: {}", s.ToString());
        } else {
          LOG_WARN_EVERY("metadata: conflicts outlasted the retries: {}", s.ToString());
        }
        return finish(std::move(s), true);
      }
      Count(m.retries);
    }
    auto txn = engine.Begin(opts.read_only);
    if (!txn.ok()) {
      if (!txn.status().IsRetryable()) return finish(txn.status(), true);
      last = txn.status();
      continue;
    }
    (*txn)->SetDeadline(deadline, clock);
    Status s = fn(**txn);
    if (!s.ok()) {
      if (s.IsRetryable()) {
        if (s.Is(Code::kConflict)) Count(m.conflicts);
        last = std::move(s);
        continue;
      }
      // fn decided on what it read: if those reads were not one consistent snapshot (an engine
      // that reads outside a snapshot), the error may be an artefact of a concurrent change.
      Status v = (*txn)->Validate();
      if (v.Is(Code::kConflict)) {
        Count(m.conflicts);
        last = std::move(v);
        continue;
      }
      return finish(std::move(s), false);  // a failed validation of another kind says nothing
    }
    s = (*txn)->Commit();
    if (s.ok()) return finish(std::move(s), false);
    if (s.Is(Code::kOutcomeUnknown) && opts.idempotent) {
      LOG_WARN_EVERY("metadata: {}; re-running the idempotent transaction", s.ToString());
      last = std::move(s);
      continue;
    }
    if (!s.IsRetryable()) return finish(std::move(s), true);
    if (s.Is(Code::kConflict)) Count(m.conflicts);
    last = std::move(s);
  }
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c != 0xff) {
      c++;
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace strata::kv
