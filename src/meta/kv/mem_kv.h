// MemKv: the in-process KvEngine (memkv://) for tests and tools. Optimistic and serializable:
// every key carries the sequence number of the commit that last wrote it (deletes leave a
// versioned tombstone); a transaction reads as of the sequence number current when it began
// and fails a read with kConflict as soon as it meets anything newer, so what it saw is always
// one snapshot; Commit re-checks its read keys and scanned ranges and applies its writes under
// one lock. Tombstones are dropped once no running transaction could still need them.
//
// Optional fault injection for tests: with conflict_rate = p, each Commit fails with kConflict
// (applying nothing) with probability p, which proves that callers retry correctly.
//
// URLs: `memkv://` opens a private store that lives as long as its engine. `memkv://NAME`
// opens the process-wide store called NAME, created on first use and kept until the process
// exits, so that two engines (two "clients", or `format` then `mount` in one test) share data.
// That table of named stores is the one process-wide table in the KV code. Query parameters:
// conflict_rate=0.3, seed=N (0 = random), latency_us=N, group_commit=N (slots; 0 = off) — all
// per engine, not per store.
//
// Increments (Transaction::Increment) are applied at commit over the latest stored value and
// join no read set. CommitGroup commits a group under one lock.
//
// Thread-safety: the engine and its stores may be used from any thread; a Transaction belongs
// to one thread. Errors: kConflict (retryable); kInternal when a transaction is misused
// (used after Commit, or a write in a read-only transaction).
#pragma once

#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "meta/kv/kv.h"

namespace strata::kv {

class MemStore;  // mem_kv.cc

struct MemKvOptions {
  double conflict_rate = 0;  // probability in [0, 1] that a Commit fails with injected kConflict
  uint64_t seed = 0;         // seed of the injection RNG; 0 picks a random one
  // Injected latency of one round trip (µs), slept by every read that reaches the store and
  // every commit with writes (once per CommitGroup), so that tests see what a distant engine
  // does to concurrency (group commit). 0: none.
  int64_t latency_us = 0;
  // KvEngine::group_commit_slots (commits RunTxn keeps in flight before grouping); 0: off.
  int group_commit_slots = 2;
  Status Validate() const;
};

class MemKv : public KvEngine {
 public:
  // A new private store.
  static Result<std::unique_ptr<MemKv>> Open(const MemKvOptions& opts = {});
  // The process-wide store `name` (created on first use). REQUIRES: name not empty.
  static Result<std::unique_ptr<MemKv>> OpenNamed(const std::string& name,
                                                  const MemKvOptions& opts = {});
  // memkv://[NAME][?conflict_rate=P&seed=N]
  static Result<std::unique_ptr<MemKv>> OpenUrl(const std::string& url);

  ~MemKv() override;
  std::string Describe() const override;
  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  Status Clear() override;
  // The group under one lock (one injected round trip), each commit checked on its own.
  std::vector<Status> CommitGroup(const std::vector<Transaction*>& txns) override;
  int group_commit_slots() const override { return opts_.group_commit_slots; }
  Result<Durability> GetDurability() override {
    return Durability{false, "in process memory: nothing survives the process (tests only)"};
  }

  // Number of stored keys (tombstones excluded); for tests and `status`.
  size_t Size() const;

 private:
  // True when the transaction about to begin shall fail its Commit with an injected conflict.
  bool InjectConflict();

  MemKv(std::shared_ptr<MemStore> store, std::string name, const MemKvOptions& opts);

  std::shared_ptr<MemStore> store_;
  std::string name_;
  MemKvOptions opts_;
  std::mutex rng_mu_;
  std::minstd_rand rng_;  // GUARDED_BY(rng_mu_)
};

}  // namespace strata::kv
