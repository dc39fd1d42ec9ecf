// The KV conformance suite: what every KvEngine must do (kv.h), written once as value-
// parameterised GoogleTest cases. An engine's test binary links strata_kv_testing and
// instantiates the suite with a factory for its engine:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, KvConformanceTest,
//       ::testing::Values(KvEngineFactory{.name = "sqlite", .open = ...}), FactoryName);
//
// Each case opens a fresh engine through the factory and Clear()s it first, so a factory may
// hand out clients of one shared server or store.
//
// Thread-safety: test code; the contention cases use several threads on one engine.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "meta/kv/kv.h"

namespace strata::kv::conformance {

struct KvEngineFactory {
  std::string name;  // used in test names: letters, digits, '_'
  // Opens an engine (a new client of the store under test).
  std::function<Result<std::shared_ptr<KvEngine>>()> open;
  // When set and non-empty, every case is skipped with this reason (e.g. no redis-server).
  std::function<std::string()> skip_reason;
  // True when a read-write transaction excludes other read-write transactions until it ends
  // (SQLite with BEGIN IMMEDIATE): conflicts then cannot happen; the second waits instead.
  bool serializes_writers = false;
  // True when commits may fail with injected conflicts: cases that assert the outcome of one
  // particular Commit are skipped; everything through RunTxn must still hold.
  bool injects_conflicts = false;
  // True when the engine takes Transaction::ExpectAbsent (answers the read without asking and
  // checks it at commit): the case that a wrong belief costs a conflict, not a wrong answer.
  bool honors_expect_absent = false;
};

class KvConformanceTest : public ::testing::TestWithParam<KvEngineFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Another client of the same store (a second mount).
  std::shared_ptr<KvEngine> OpenAnother();

  std::shared_ptr<KvEngine> kv_;
};

void PrintTo(const KvEngineFactory& f, std::ostream* os);  // for GoogleTest messages

// One-key helpers, also for engine-specific tests: a transaction that puts key=value, and a
// read-only one that returns key's committed value ("<absent>" when missing).
Status PutOne(KvEngine& kv, const std::string& key, const std::string& value);
std::string Read(KvEngine& kv, const std::string& key);
std::string FactoryName(const ::testing::TestParamInfo<KvEngineFactory>& info);

}  // namespace strata::kv::conformance
