// RunTxn: the one retry loop of the KV core (kv.h). Every metadata operation goes through it,
// so the policy lives here only: bounded attempts, jittered exponential back-off, and retry
// exactly when Status::IsRetryable() says trying again may help.
#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <thread>

#include "meta/kv/kv.h"

namespace strata::kv {
namespace {

// Sleeps a random time in [d/2, d] where d = base * 2^(attempt-1), capped at max. Half of the
// delay is fixed so that retries keep their order of magnitude; the random half spreads
// colliding transactions apart.
void Backoff(int attempt, const TxnOptions& opts, std::optional<std::minstd_rand>& rng) {
  if (opts.base_backoff_us <= 0) return;
  if (!rng) rng.emplace(std::random_device{}());  // only transactions that retry pay for this
  int64_t d = opts.base_backoff_us;
  for (int i = 1; i < attempt && d < opts.max_backoff_us; i++) d *= 2;
  d = std::min<int64_t>(d, std::max(opts.max_backoff_us, opts.base_backoff_us));
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  std::this_thread::sleep_for(std::chrono::microseconds(jitter(*rng)));
}

}  // namespace

Status RunTxn(KvEngine& engine, const std::function<Status(Transaction&)>& fn,
              const TxnOptions& opts) {
  Status last;
  std::optional<std::minstd_rand> rng;
  const int attempts = 1 + std::max(0, opts.max_retries);
  for (int attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) Backoff(attempt, opts, rng);
    auto txn = engine.Begin(opts.read_only);
    if (!txn.ok()) {
      if (!txn.status().IsRetryable()) return txn.status();
      last = txn.status();
      continue;
    }
    Status s = fn(**txn);
    if (!s.ok()) {
      if (s.IsRetryable()) {
        last = std::move(s);
        continue;
      }
      // fn decided on what it read: if those reads were not one consistent snapshot (an engine
      // that reads outside a snapshot), the error may be an artefact of a concurrent change.
      Status v = (*txn)->Validate();
      if (v.Is(Code::kConflict)) {
        last = std::move(v);
        continue;
      }
      return s;  // a failed validation of another kind says nothing about s: report s
    }
    s = (*txn)->Commit();
    if (s.ok() || !s.IsRetryable()) return s;
    last = std::move(s);
  }
  return last.WithContext("transaction gave up after " + std::to_string(attempts) + " attempts");
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
