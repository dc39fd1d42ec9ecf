// The transactional key-value core under the metadata layer (DESIGN.md §5), after 3FS's
// IKVEngine/WithTransaction: engines implement only KvEngine + Transaction; all POSIX logic is
// written once above it.
//
// Semantics every engine provides:
//  - A Transaction is optimistic and serializable in effect: reads see a consistent snapshot
//    plus the transaction's own earlier writes; Commit() fails with kConflict when anything it
//    read (keys returned by Get/BatchGet, and ranges returned by Scan) was changed by another
//    committed transaction since. Writes are buffered until Commit().
//  - Keys and values are arbitrary bytes; keys order by unsigned byte comparison.
//  - kConflict, kUnavailable and kTimeout are retryable; RunTxn retries them.
//
// Thread-safety: a KvEngine is shared by all threads; a Transaction belongs to one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"

namespace strata::kv {

struct KeyValue {
  std::string key;
  std::string value;
};

class Transaction {
 public:
  virtual ~Transaction() = default;

  // nullopt when the key is absent.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // One round trip where the engine allows it; results in the order of `keys`.
  virtual Result<std::vector<std::optional<std::string>>> BatchGet(
      const std::vector<std::string>& keys) = 0;
  // Pairs with begin <= key < end in ascending order, at most `limit` (limit > 0). An empty
  // `end` means no upper bound. To stream a large range, call again with begin = last key +
  // '\0'. The scanned range (up to the last key returned, or to `end` when fewer than `limit`
  // came back) joins the read set.
  virtual Result<std::vector<KeyValue>> Scan(std::string_view begin, std::string_view end,
                                             size_t limit) = 0;
  // Like Scan, but does not add the range to the read set (for listings that tolerate change,
  // e.g. readdir pages). Engines may implement it as Scan.
  virtual Result<std::vector<KeyValue>> SnapshotScan(std::string_view begin, std::string_view end,
                                                     size_t limit) {
    return Scan(begin, end, limit);
  }

  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;

  // Adds deltas[i] to the i-th 8-byte big-endian signed field of the value at `key` (an absent
  // value, or one of another length, counts as deltas.size() zero fields) WITHOUT reading it:
  // the key does not join the read set, so two transactions incrementing one counter never
  // conflict on it (usage counters). With erase_at_zero, a result of all zero fields deletes
  // the key. A later Get/BatchGet/Scan of the key in this transaction sees the result (the
  // key then joins the read set, as any read). REQUIRES: deltas not empty.
  // Default: Get + Put, correct on every engine (the key joins the read set); engines that can
  // add at commit time override it (memkv, Redis).
  virtual Status Increment(std::string_view key, const std::vector<int64_t>& deltas,
                           bool erase_at_zero);

  // A hint from a caller that knows `key` is absent when this transaction commits (a new
  // inode's chunk list: inode ids are never reused). An engine with a cache of what it read
  // (Redis's version cache) may then answer a later read-write transaction's read of the key
  // as "absent" without a round trip; that read is checked at its commit like any other, so
  // a wrong hint costs a conflict and a retry, never a wrong answer. Default: ignored.
  virtual void HintAbsent(std::string_view key) { (void)key; }

  // A belief of the caller that `key` is absent now (meta/dir_names_cache.h: a name this
  // client's own commits say is not in a directory), unlike HintAbsent not known for sure. An
  // engine whose commit checks every read (Redis: the versions in its commit script) may
  // answer this transaction's read of the key as "absent" without a round trip: a wrong
  // belief then fails the commit with a conflict, and the caller must not repeat it on the
  // retry. Default: ignored (the read asks the engine).
  virtual void ExpectAbsent(std::string_view key) { (void)key; }

  // Adds the key to the read set without reading it (so a concurrent change conflicts).
  virtual Status AddReadConflict(std::string_view key) {
    auto r = Get(key);
    return r.status();
  }

  // Checks, without committing, that everything read so far is still current: kConflict when
  // not. RunTxn calls it when fn fails with a non-retryable error, so an error decided on reads
  // that were not one consistent snapshot is retried instead of returned. Engines whose reads
  // are always one snapshot return OK.
  virtual Status Validate() { return Status::OK(); }

  // Applies the buffered writes atomically. kConflict when the read set changed.
  // A read-only transaction commits trivially. After Commit (either result) the object is done.
  virtual Status Commit() = 0;

  // The time by which every call of this transaction must have answered: engines that wait
  // on a network bound each wait by it (and by their own per-reply timeout), answering
  // kTimeout/kUnavailable when it passes. RunTxn sets it right after Begin. Default: ignored
  // (in-process engines never wait long).
  virtual void SetDeadline(const Deadline& deadline, Clock* clock) {
    (void)deadline;
    (void)clock;
  }
};

// How long and how RunTxn retries, per engine (set by the composition root from --meta-timeout;
// the defaults suit tools and tests). Every transaction gets `budget` from its first attempt:
// past it RunTxn gives up with kUnavailable (EIO at the FUSE edge) naming the last error, so
// a stopped engine costs a caller at most about `budget`, never minutes.
struct RetryPolicy {
  std::chrono::milliseconds budget{30000};
  BackoffPolicy backoff{std::chrono::microseconds(200), std::chrono::milliseconds(200), 0.5};
  Clock* clock = SystemClock::Get();  // not owned; must outlive the engine's transactions
  Status Validate() const;
};

// Where RunTxn counts what it does (the composition root points these into its registry;
// null members count nothing). `owner` keeps the registry holding the series alive for as
// long as the engine may count into them (several clients may share one engine).
struct TxnMetrics {
  std::shared_ptr<const void> owner;
  Counter* transactions = nullptr;  // RunTxn calls
  Counter* conflicts = nullptr;     // attempts that ended in kConflict
  Counter* retries = nullptr;       // attempts after the first
  Counter* failures = nullptr;      // RunTxn calls that returned an error of the engine (not of fn)
  Histogram* latency = nullptr;     // seconds per RunTxn call, retries included
};

// Per-call overrides of the engine's RetryPolicy. Fields left at their "unset" value take the
// policy's.
struct TxnOptions {
  int max_retries = -1;        // attempts after the first; -1: bounded by the deadline only
  int base_backoff_us = -1;    // -1: policy.backoff.initial
  int max_backoff_us = -1;     // -1: policy.backoff.max
  std::optional<Deadline> deadline;  // nullopt: policy.budget from the first attempt
  bool read_only = false;      // engines may use a cheaper snapshot and skip Commit work
  // fn detects its own earlier application (e.g. a slice id already in the chunk list), so a
  // commit whose outcome is unknown (kOutcomeUnknown: the reply was lost) may be run again:
  // the re-run finds it applied and changes nothing. Otherwise kOutcomeUnknown is returned.
  bool idempotent = false;
};

// What a committed transaction survives on this engine (DESIGN.md §6), for `strata status`
// and for the warnings of format and mount.
struct Durability {
  bool survives_restart = true;  // committed data survives a restart/crash of the server
  std::string detail;            // how, in words an operator can act on
};

class CommitQueue;     // run_txn.cc
class CommitObserver;  // commit_observer.h
using CommitObservers = std::vector<std::shared_ptr<CommitObserver>>;

class KvEngine {
 public:
  virtual ~KvEngine() = default;
  // e.g. "sqlite3:///var/lib/strata/meta.db" (no password).
  virtual std::string Describe() const = 0;
  virtual Result<std::unique_ptr<Transaction>> Begin(bool read_only) = 0;
  // Removes every key (tests, `strata destroy`).
  virtual Status Clear() = 0;
  // Makes every transaction committed so far survive a power loss (fsync; DESIGN.md §6). Engines
  // whose commits are already durable when they return do nothing.
  virtual Status Sync() { return Status::OK(); }
  // How durable commits are (may ask the server: kUnavailable when it cannot be reached).
  virtual Result<Durability> GetDurability() { return Durability{true, "durable on commit"}; }
  // Whether one read-only transaction sees one snapshot for as long as it lives, however many
  // reads it makes and whatever commits meanwhile (SQLite's WAL read transaction): then a long
  // reader such as `strata dump` is consistent in one pass. false: reads of one transaction may
  // straddle commits (a check of its own is needed).
  virtual bool SnapshotReads() const { return false; }

  // Group commit (DESIGN.md §6): commits each transaction of `txns` (all begun on this engine,
  // each with fn already run) as if each had called its own Commit(), and returns one Status
  // per transaction in the same order. Each transaction stays atomic and is validated on its
  // own: a conflict in one does not fail the others, and a transaction later in the group sees
  // the writes of earlier ones (it conflicts if it read what they wrote). Engines that can
  // send several commits in one round trip override it (Redis: one script for the group,
  // memkv: one lock); the default commits them one after the other, which is correct on every
  // engine. RunTxn calls it with the commits that arrived while earlier ones were in flight.
  // After the call every transaction of the group is done (as after Commit).
  virtual std::vector<Status> CommitGroup(const std::vector<Transaction*>& txns);
  // How many commit calls (Commit or CommitGroup) RunTxn keeps in flight on this engine at
  // once; commits arriving while that many are in flight wait and go together in the next
  // CommitGroup. 0 turns group commit off (each RunTxn commits on its own). Engines where a
  // commit is a network round trip return a small number; the default (0) suits engines whose
  // commits serialise anyway (SQLite holds its write lock from Begin).
  virtual int group_commit_slots() const { return 0; }

  // The retry policy of RunTxn for this engine. Set it before sharing the engine between
  // threads (the composition root does, right after opening it).
  const RetryPolicy& retry_policy() const { return retry_policy_; }
  void set_retry_policy(const RetryPolicy& policy) { retry_policy_ = policy; }
  // May be called while transactions run (the last client to open the engine counts).
  std::shared_ptr<const TxnMetrics> txn_metrics() const { return txn_metrics_.load(); }
  void set_txn_metrics(TxnMetrics m) {
    txn_metrics_.store(std::make_shared<const TxnMetrics>(std::move(m)));
  }
  // Observers of the writes RunTxn commits through this engine object (commit_observer.h):
  // a client registers its caches of what it wrote. May be called while transactions run;
  // Remove waits for nothing (a commit already under way may still call the observer, which
  // the shared_ptr keeps alive).
  void AddCommitObserver(std::shared_ptr<CommitObserver> observer);
  void RemoveCommitObserver(const CommitObserver* observer);
  std::shared_ptr<const CommitObservers> commit_observers() const {
    return commit_observers_.load();
  }

 private:
  RetryPolicy retry_policy_;
  std::atomic<std::shared_ptr<const TxnMetrics>> txn_metrics_{std::make_shared<const TxnMetrics>()};
  std::mutex observers_mu_;  // serialises Add/RemoveCommitObserver
  std::atomic<std::shared_ptr<const CommitObservers>> commit_observers_{
      std::make_shared<const CommitObservers>()};
  // RunTxn's group-commit queue for this engine (run_txn.cc), made on first use.
  friend Status CommitThroughQueue(KvEngine& engine, Transaction& txn);
  std::once_flag commit_queue_once_;
  std::shared_ptr<CommitQueue> commit_queue_;
};


// THE retry loop. Runs fn in a fresh transaction and commits it; on a retryable error from fn
// or Commit, backs off (common/backoff.h: jittered, exponential, capped) and runs fn again
// until the deadline (engine.retry_policy().budget unless opts say otherwise) or
// opts.max_retries. Giving up on a retryable error returns kUnavailable "gave up on
// transaction after N attempts in Xs: <last error>"; a conflict storm or an engine outage
// that outlasts the budget is logged (warn, rate-limited).
// fn must be safe to re-run: it describes reads and writes, it keeps no effects outside the
// transaction except through variables it resets at its start.
Status RunTxn(KvEngine& engine, const std::function<Status(Transaction&)>& fn,
              const TxnOptions& opts = {});

// Opens an engine from a metadata URL (memkv://, sqlite3://, redis://). kInvalidArgument for a
// malformed URL or unknown scheme; kUnavailable when the server cannot be reached (bounded time).
using KvFactory = std::function<Result<std::shared_ptr<KvEngine>>(const std::string& url)>;
class KvRegistry {
 public:
  void Register(const std::string& scheme, KvFactory factory);
  Result<std::shared_ptr<KvEngine>> Open(const std::string& url) const;
  // The checks of Open without opening anything: kInvalidArgument for a malformed URL or an
  // unregistered scheme (the message lists the registered ones).
  Status Check(const std::string& url) const;

 private:
  std::vector<std::pair<std::string, KvFactory>> factories_;
};
void RegisterMemKv(KvRegistry& registry);     // memkv:// (meta/kv)
void RegisterSqliteKv(KvRegistry& registry);  // sqlite3:// (meta/kv/sqlite)
void RegisterRedisKv(KvRegistry& registry);   // redis://  (meta/kv/redis)
void RegisterEtcdKv(KvRegistry& registry);    // etcd://   (meta/kv/etcd)
void RegisterPostgresKv(KvRegistry& registry);  // postgres:// (meta/kv/postgres)

// Increment's arithmetic, for engines that apply increments themselves: `value` (nullopt =
// absent) read as deltas.size() 8-byte big-endian signed fields (zeros when its length
// differs), each field plus its delta; nullopt when erase_at_zero and every field is 0.
std::optional<std::string> ApplyIncrement(const std::optional<std::string>& value,
                                          const std::vector<int64_t>& deltas, bool erase_at_zero);

// Commits `txn` through the engine's group-commit queue (see KvEngine::CommitGroup): alone at
// once while fewer than group_commit_slots() commits are in flight, else with the commits
// that queued meanwhile. Returns what txn.Commit() would. RunTxn uses it.
Status CommitThroughQueue(KvEngine& engine, Transaction& txn);

// The smallest key greater than every key that starts with `prefix` ("" when there is none,
// i.e. the prefix is all 0xff bytes: then "" as a Scan end means no upper bound, as wanted).
std::string PrefixEnd(std::string_view prefix);

}  // namespace strata::kv
