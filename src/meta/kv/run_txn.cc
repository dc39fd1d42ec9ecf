// RunTxn: the one retry loop of the KV core (kv.h). Every metadata operation goes through it,
// so the policy lives here only: a time budget per call (RetryPolicy::budget, --meta-timeout),
// the one back-off helper (common/backoff.h), and retry exactly when Status::IsRetryable()
// says trying again may help.
//
// Two things make an operation cheap at a distance from the engine (issue 10):
//  - a per-transaction read cache (ReadCache below): a key read or written once is answered
//    locally for the rest of the attempt, so an operation can fetch everything it will need in
//    one BatchGet up front (a create: parent, entry, usage limits) and the helpers it calls
//    later cost no round trip;
//  - group commit (CommitQueue below): while group_commit_slots() commits are in flight on an
//    engine, later commits queue and the first of them, once a slot frees, commits the whole
//    queue in one KvEngine::CommitGroup call; each waiter gets its own Status, and one that
//    failed (a conflict) is retried by its own RunTxn loop alone. A lone commit never waits.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <set>

#include "common/bytes.h"
#include "common/logging.h"
#include "meta/kv/commit_observer.h"
#include "meta/kv/kv.h"
#include "meta/kv/kv_wrapper.h"

namespace strata::kv {

std::optional<std::string> ApplyIncrement(const std::optional<std::string>& value,
                                          const std::vector<int64_t>& deltas, bool erase_at_zero) {
  const size_t n = deltas.size();
  const bool usable = value && value->size() == 8 * n;
  std::string out;
  out.reserve(8 * n);
  bool all_zero = true;
  for (size_t i = 0; i < n; i++) {
    uint64_t v = usable ? GetU64BE(value->data() + 8 * i) : 0;
    v += static_cast<uint64_t>(deltas[i]);  // two's complement: wraps as int64 addition does
    if (v != 0) all_zero = false;
    PutU64BE(&out, v);
  }
  if (erase_at_zero && all_zero) return std::nullopt;
  return out;
}

Status Transaction::Increment(std::string_view key, const std::vector<int64_t>& deltas,
                              bool erase_at_zero) {
  if (deltas.empty()) return Status::InvalidArgument("increment without fields");
  ASSIGN_OR_RETURN(auto raw, Get(key));
  auto next = ApplyIncrement(raw, deltas, erase_at_zero);
  if (next) {
    Put(key, *next);
  } else if (raw) {
    Delete(key);
  }
  return Status::OK();
}

std::vector<Status> KvEngine::CommitGroup(const std::vector<Transaction*>& txns) {
  std::vector<Status> out;
  out.reserve(txns.size());
  for (Transaction* t : txns) out.push_back(t->Commit());
  return out;
}

// The group-commit queue of one engine. Waiters are queued in arrival order; whoever is at
// the front when a slot is free takes the whole queue (up to kMaxGroup) and commits it.
class CommitQueue {
 public:
  Status Commit(KvEngine& engine, Transaction& txn) {
    const int slots = engine.group_commit_slots();
    if (slots <= 0) return txn.Commit();
    Waiter me{&txn};
    std::unique_lock lock(mu_);
    queue_.push_back(&me);
    while (!me.done) {
      // Only a waiter still queued may lead (one already taken into a group waits for it).
      if (in_flight_ < slots && !queue_.empty() && queue_.front() == &me) {
        std::vector<Waiter*> group;
        while (!queue_.empty() && group.size() < kMaxGroup) {
          group.push_back(queue_.front());
          queue_.pop_front();
        }
        in_flight_++;
        lock.unlock();
        std::vector<Status> results;
        if (group.size() == 1) {
          results.push_back(txn.Commit());
        } else {
          std::vector<Transaction*> txns;
          txns.reserve(group.size());
          for (Waiter* w : group) txns.push_back(w->txn);
          results = engine.CommitGroup(txns);
          if (results.size() != group.size()) {
            results.assign(group.size(), Status::Internal("engine answered a commit group with "
                                                          "the wrong number of results"));
          }
        }
        lock.lock();
        in_flight_--;
        for (size_t i = 0; i < group.size(); i++) {
          group[i]->result = std::move(results[i]);
          group[i]->done = true;
        }
        cv_.notify_all();
        break;
      }
      cv_.wait(lock);
    }
    return std::move(me.result);
  }

 private:
  static constexpr size_t kMaxGroup = 256;
  struct Waiter {
    Transaction* txn;
    Status result;
    bool done = false;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiter*> queue_;  // GUARDED_BY(mu_)
  int in_flight_ = 0;          // GUARDED_BY(mu_)
};

Status CommitThroughQueue(KvEngine& engine, Transaction& txn) {
  std::call_once(engine.commit_queue_once_,
                 [&] { engine.commit_queue_ = std::make_shared<CommitQueue>(); });
  return engine.commit_queue_->Commit(engine, txn);
}

void KvEngine::AddCommitObserver(std::shared_ptr<CommitObserver> observer) {
  std::lock_guard lock(observers_mu_);
  auto next = std::make_shared<CommitObservers>(*commit_observers_.load());
  next->push_back(std::move(observer));
  commit_observers_.store(std::move(next));
}

void KvEngine::RemoveCommitObserver(const CommitObserver* observer) {
  std::lock_guard lock(observers_mu_);
  auto next = std::make_shared<CommitObservers>(*commit_observers_.load());
  std::erase_if(*next, [&](const auto& o) { return o.get() == observer; });
  commit_observers_.store(std::move(next));
}

Status RetryPolicy::Validate() const {
  if (budget.count() <= 0) return Status::InvalidArgument("metadata timeout must be positive");
  if (clock == nullptr) return Status::InvalidArgument("retry policy needs a clock");
  return backoff.Validate();
}

namespace {

void Count(Counter* c) {
  if (c) c->Inc();
}

// The read cache of one attempt: every key read or written through it is answered from here
// afterwards (reads see the transaction's own writes, as the engine would answer). The engine
// has the key in its read set already, so nothing is lost for conflict detection. Increment
// drops the key (the engine alone knows the sum). Scans go to the engine.
// It also notes the writes of keys the engine's commit observers watch (commit_observer.h),
// and whether each was read from the engine first.
class ReadCache : public TransactionWrapper {
 public:
  ReadCache(std::unique_ptr<Transaction> t, const CommitObservers& observers)
      : TransactionWrapper(std::move(t)), observers_(observers) {}
  Transaction& engine_txn() { return target(); }

  // The watched writes of this attempt, in key order.
  std::vector<CommitObserver::Write> WatchedWrites() const {
    std::vector<CommitObserver::Write> out;
    out.reserve(watched_.size());
    for (const auto& [k, w] : watched_) out.push_back(w);
    return out;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    auto it = known_.find(key);
    if (it != known_.end()) return it->second;
    ASSIGN_OR_RETURN(auto v, target().Get(key));
    Fetched(key);
    known_.emplace(std::string(key), v);
    return v;
  }
  Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out(keys.size());
    std::vector<std::string> missing;
    std::vector<size_t> where;
    for (size_t i = 0; i < keys.size(); i++) {
      auto it = known_.find(keys[i]);
      if (it != known_.end()) {
        out[i] = it->second;
      } else {
        missing.push_back(keys[i]);
        where.push_back(i);
      }
    }
    if (missing.empty()) return out;
    ASSIGN_OR_RETURN(auto got, missing.size() == 1
                                   ? Result<std::vector<std::optional<std::string>>>(
                                         SingleGet(missing[0]))
                                   : target().BatchGet(missing));
    for (size_t j = 0; j < where.size(); j++) {
      Fetched(missing[j]);
      known_.insert_or_assign(missing[j], got[j]);
      out[where[j]] = std::move(got[j]);
    }
    return out;
  }
  void Put(std::string_view key, std::string_view value) override {
    Wrote(key, std::optional<std::string>(std::in_place, value));
    known_.insert_or_assign(std::string(key), std::optional<std::string>(std::in_place, value));
    target().Put(key, value);
  }
  void Delete(std::string_view key) override {
    Wrote(key, std::nullopt);
    known_.insert_or_assign(std::string(key), std::nullopt);
    target().Delete(key);
  }
  // The caller knows the key is absent (kv.h): reads of it answer so, and a watched key counts
  // as read, absent (commit_observer.h).
  void HintAbsent(std::string_view key) override {
    if (!observers_.empty() && Watched(key) && !known_.count(key)) {
      known_.emplace(std::string(key), std::nullopt);
      Fetched(key);
    }
    target().HintAbsent(key);
  }
  Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                   bool erase_at_zero) override {
    auto it = known_.find(key);
    if (it != known_.end()) known_.erase(it);
    return target().Increment(key, deltas, erase_at_zero);
  }

 private:
  bool Watched(std::string_view key) const {
    for (const auto& o : observers_) {
      if (o->Watches(key)) return true;
    }
    return false;
  }
  // A read of `key` reached the engine.
  void Fetched(std::string_view key) {
    if (!observers_.empty() && Watched(key)) fetched_.emplace(key);
  }
  // Before known_ takes the written value: the first write of a key keeps what was read.
  void Wrote(std::string_view key, std::optional<std::string> value) {
    if (observers_.empty() || !Watched(key)) return;
    auto [it, first] = watched_.try_emplace(std::string(key));
    CommitObserver::Write& w = it->second;
    if (first) {
      w.key = std::string(key);
      w.read = fetched_.count(w.key) > 0;
      if (w.read) {
        auto k = known_.find(key);
        if (k != known_.end()) w.before = k->second;
      }
    }
    w.value = std::move(value);
  }

  Result<std::vector<std::optional<std::string>>> SingleGet(const std::string& key) {
    ASSIGN_OR_RETURN(auto v, target().Get(key));
    std::vector<std::optional<std::string>> out;
    out.push_back(std::move(v));
    return out;
  }

  std::map<std::string, std::optional<std::string>, std::less<>> known_;
  const CommitObservers& observers_;
  std::set<std::string, std::less<>> fetched_;              // watched keys read from the engine
  std::map<std::string, CommitObserver::Write> watched_;  // watched keys written
};

// Commits through the queue, telling the engine's observers about the watched writes.
Status CommitObserved(KvEngine& engine, const CommitObservers& observers, ReadCache& cache) {
  if (observers.empty()) return CommitThroughQueue(engine, cache.engine_txn());
  std::vector<CommitObserver::Write> writes = cache.WatchedWrites();
  if (writes.empty()) return CommitThroughQueue(engine, cache.engine_txn());
  std::vector<uint64_t> tickets;
  tickets.reserve(observers.size());
  for (const auto& o : observers) tickets.push_back(o->Committing(writes));
  Status s = CommitThroughQueue(engine, cache.engine_txn());
  for (size_t i = 0; i < observers.size(); i++) observers[i]->Committed(tickets[i], s, writes);
  return s;
}

}  // namespace

Status RunTxn(KvEngine& engine, const std::function<Status(Transaction&)>& fn,
              const TxnOptions& opts) {
  const RetryPolicy& policy = engine.retry_policy();
  const std::shared_ptr<const TxnMetrics> metrics = engine.txn_metrics();
  const std::shared_ptr<const CommitObservers> observers = engine.commit_observers();
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
    auto begun = engine.Begin(opts.read_only);
    if (!begun.ok()) {
      if (!begun.status().IsRetryable()) return finish(begun.status(), true);
      last = begun.status();
      continue;
    }
    (*begun)->SetDeadline(deadline, clock);
    ReadCache cache(std::move(*begun), *observers);
    ReadCache* txn = &cache;
    Status s = fn(cache);
    if (!s.ok()) {
      if (s.IsRetryable()) {
        if (s.Is(Code::kConflict)) Count(m.conflicts);
        last = std::move(s);
        continue;
      }
      // fn decided on what it read: if those reads were not one consistent snapshot (an engine
      // that reads outside a snapshot), the error may be an artefact of a concurrent change.
      Status v = txn->Validate();
      if (v.Is(Code::kConflict)) {
        Count(m.conflicts);
        last = std::move(v);
        continue;
      }
      return finish(std::move(s), false);  // a failed validation of another kind says nothing
    }
    // The engine's own transaction goes to the queue (CommitGroup wants the engine's type).
    s = CommitObserved(engine, *observers, cache);
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
