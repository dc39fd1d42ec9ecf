#include "meta/kv/testing/kv_conformance.h"

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "common/bytes.h"

namespace strata::kv::conformance {

Status PutOne(KvEngine& kv, const std::string& key, const std::string& value) {
  return RunTxn(kv, [&](Transaction& t) {
    t.Put(key, value);
    return Status::OK();
  });
}

// The committed value of `key`, read in a read-only transaction ("<absent>" when missing).
std::string Read(KvEngine& kv, const std::string& key) {
  std::string out;
  Status s = RunTxn(
      kv,
      [&](Transaction& t) {
        out.clear();
        ASSIGN_OR_RETURN(auto v, t.Get(key));
        out = v ? *v : "<absent>";
        return Status::OK();
      },
      TxnOptions{.read_only = true});
  if (!s.ok()) return "<error " + s.ToString() + ">";
  return out;
}

namespace {

using ::testing::TestParamInfo;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    ::strata::Status _s = (expr);                           \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                     \
  do {                                                      \
    ::strata::Status _s = (expr);                           \
    EXPECT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

// Every committed pair of [begin, end), streamed in pages of `page`.
std::vector<KeyValue> ScanAll(KvEngine& kv, const std::string& begin, const std::string& end,
                              size_t page) {
  std::vector<KeyValue> all;
  Status s = RunTxn(
      kv,
      [&](Transaction& t) {
        all.clear();
        std::string cursor = begin;
        while (true) {
          ASSIGN_OR_RETURN(auto kvs, t.Scan(cursor, end, page));
          for (auto& p : kvs) all.push_back(p);
          if (kvs.size() < page) return Status::OK();
          cursor = kvs.back().key + '\0';
        }
      },
      TxnOptions{.read_only = true});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return all;
}

std::string Key(uint32_t i) {
  std::string k = "s";
  PutU32BE(&k, i);
  return k;
}

Status Increment(Transaction& t, const std::string& key) {
  ASSIGN_OR_RETURN(auto v, t.Get(key));
  t.Put(key, std::to_string(v ? std::stoll(*v) + 1 : 1));
  return Status::OK();
}

}  // namespace

void KvConformanceTest::SetUp() {
  const auto& f = GetParam();
  if (f.skip_reason) {
    std::string why = f.skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  kv_ = OpenAnother();
  ASSERT_NE(kv_, nullptr);
  ASSERT_OK(kv_->Clear());
}

void KvConformanceTest::TearDown() { kv_.reset(); }

std::shared_ptr<KvEngine> KvConformanceTest::OpenAnother() {
  auto kv = GetParam().open();
  EXPECT_TRUE(kv.ok()) << kv.status().ToString();
  return kv.ok() ? *kv : nullptr;
}

std::string FactoryName(const TestParamInfo<KvEngineFactory>& info) { return info.param.name; }

void PrintTo(const KvEngineFactory& f, std::ostream* os) { *os << f.name; }

TEST_P(KvConformanceTest, PutGetOverwriteDelete) {
  EXPECT_EQ(Read(*kv_, "a"), "<absent>");
  ASSERT_OK(PutOne(*kv_, "a", "1"));
  EXPECT_EQ(Read(*kv_, "a"), "1");
  ASSERT_OK(PutOne(*kv_, "a", "two"));
  EXPECT_EQ(Read(*kv_, "a"), "two");
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) {
    t.Delete("a");
    t.Delete("never-existed");
    return Status::OK();
  }));
  EXPECT_EQ(Read(*kv_, "a"), "<absent>");
  // An empty value is a value, not an absence.
  ASSERT_OK(PutOne(*kv_, "e", ""));
  EXPECT_EQ(Read(*kv_, "e"), "");
  // Another client sees committed data.
  auto other = OpenAnother();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Read(*other, "e"), "");
}

TEST_P(KvConformanceTest, BinaryKeysAndValuesOrderByUnsignedBytes) {
  const std::vector<std::string> keys = {std::string("\0", 1),
                                         std::string("\0\0", 2),
                                         std::string("a\0b", 3),
                                         "a",
                                         "ab",
                                         "\x7f",
                                         "\x80",
                                         "\xff",
                                         "\xff\xff",
                                         std::string("\xff\0", 2)};
  const std::string value("v\0\xff\r\n", 5);
  for (const auto& k : keys) ASSERT_OK(PutOne(*kv_, k, value + k));
  std::map<std::string, std::string> expected;  // std::string compares as unsigned bytes
  for (const auto& k : keys) expected[k] = value + k;
  auto all = ScanAll(*kv_, std::string("\0", 1), "", 3);
  ASSERT_EQ(all.size(), expected.size());
  size_t i = 0;
  for (const auto& [k, v] : expected) {
    EXPECT_EQ(all[i].key, k) << "position " << i;
    EXPECT_EQ(all[i].value, v);
    i++;
  }
  for (const auto& k : keys) EXPECT_EQ(Read(*kv_, k), value + k);
  // A bounded range with binary bounds: [a, \x80) holds a, a\0b, ab, \x7f.
  auto mid = ScanAll(*kv_, "a", "\x80", 100);
  ASSERT_EQ(mid.size(), 4u);
  EXPECT_EQ(mid[0].key, "a");
  EXPECT_EQ(mid[1].key, std::string("a\0b", 3));
  EXPECT_EQ(mid[3].key, "\x7f");
}

TEST_P(KvConformanceTest, BatchGetKeepsOrderAndSeesOwnWrites) {
  ASSERT_OK(PutOne(*kv_, "b1", "x"));
  ASSERT_OK(PutOne(*kv_, "b3", "z"));
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) {
    t.Put("b2", "own");
    t.Delete("b3");
    ASSIGN_OR_RETURN(auto vs, t.BatchGet({"b3", "b1", "missing", "b2", "b1"}));
    EXPECT_EQ(vs.size(), 5u);
    if (vs.size() != 5) return Status::OK();
    EXPECT_FALSE(vs[0].has_value());
    EXPECT_EQ(vs[1].value_or("<absent>"), "x");
    EXPECT_FALSE(vs[2].has_value());
    EXPECT_EQ(vs[3].value_or("<absent>"), "own");
    EXPECT_EQ(vs[4].value_or("<absent>"), "x");
    ASSIGN_OR_RETURN(auto none, t.BatchGet({}));
    EXPECT_TRUE(none.empty());
    return Status::OK();
  }));
}

TEST_P(KvConformanceTest, ScanLimitsBoundsAndStreaming) {
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) {
    for (uint32_t i = 0; i < 100; i++) t.Put(Key(i), std::to_string(i));
    t.Put("r", "before");  // outside the "s" range on both sides
    t.Put("t", "after");
    return Status::OK();
  }));
  for (size_t page : {1u, 7u, 100u, 1000u}) {
    auto all = ScanAll(*kv_, "s", "t", page);
    ASSERT_EQ(all.size(), 100u) << "page " << page;
    for (uint32_t i = 0; i < 100; i++) {
      EXPECT_EQ(all[i].key, Key(i));
      EXPECT_EQ(all[i].value, std::to_string(i));
    }
  }
  ASSERT_OK(RunTxn(
      *kv_,
      [](Transaction& t) {
        ASSIGN_OR_RETURN(auto few, t.Scan(Key(10), Key(20), 5));  // begin inclusive
        EXPECT_EQ(few.size(), 5u);
        if (!few.empty()) {
          EXPECT_EQ(few.front().key, Key(10));
        }
        ASSIGN_OR_RETURN(auto rest, t.Scan(Key(15), Key(20), 50));  // end exclusive
        EXPECT_EQ(rest.size(), 5u);
        if (!rest.empty()) {
          EXPECT_EQ(rest.back().key, Key(19));
        }
        ASSIGN_OR_RETURN(auto empty, t.Scan(Key(20), Key(20), 5));
        EXPECT_TRUE(empty.empty());
        ASSIGN_OR_RETURN(auto snap, t.SnapshotScan("s", PrefixEnd("s"), 1000));
        EXPECT_EQ(snap.size(), 100u);
        ASSIGN_OR_RETURN(auto tail, t.Scan("s\xff", "", 10));  // "" end: to the last key
        EXPECT_EQ(tail.size(), 1u);
        if (!tail.empty()) {
          EXPECT_EQ(tail[0].key, "t");
        }
        return Status::OK();
      },
      TxnOptions{.read_only = true}));
}

TEST_P(KvConformanceTest, ReadYourWritesBeforeCommitOnly) {
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) {
    for (uint32_t i = 0; i < 20; i++) t.Put(Key(i), "old");
    return Status::OK();
  }));
  std::atomic<bool> checked_other{false};
  ASSERT_OK(RunTxn(*kv_, [&](Transaction& t) {
    t.Put(Key(3), "new");
    t.Delete(Key(4));
    t.Put(Key(100), "added");
    for (uint32_t i = 10; i < 20; i++) t.Delete(Key(i));  // hides a whole stored page
    ASSIGN_OR_RETURN(auto v3, t.Get(Key(3)));
    EXPECT_EQ(v3.value_or("<absent>"), "new");
    ASSIGN_OR_RETURN(auto v4, t.Get(Key(4)));
    EXPECT_FALSE(v4.has_value());
    ASSIGN_OR_RETURN(auto page, t.Scan(Key(0), Key(200), 5));
    EXPECT_EQ(page.size(), 5u);
    if (page.size() == 5) {
      EXPECT_EQ(page[3].key, Key(3));
      EXPECT_EQ(page[3].value, "new");
      EXPECT_EQ(page[4].key, Key(5));  // Key(4) deleted
    }
    ASSIGN_OR_RETURN(auto tail, t.Scan(Key(9), Key(200), 5));
    EXPECT_EQ(tail.size(), 2u);  // 9, then 10..19 deleted, then 100
    if (tail.size() == 2) {
      EXPECT_EQ(tail[0].key, Key(9));
      EXPECT_EQ(tail[1].key, Key(100));
      EXPECT_EQ(tail[1].value, "added");
    }
    // Nobody else sees the pending writes (readers never wait for a writer).
    if (!checked_other) {
      checked_other = true;
      std::string seen;
      std::thread reader([&] { seen = Read(*kv_, Key(3)); });
      reader.join();
      EXPECT_EQ(seen, "old");
    }
    return Status::OK();
  }));
  EXPECT_EQ(Read(*kv_, Key(3)), "new");
  EXPECT_EQ(Read(*kv_, Key(4)), "<absent>");
  EXPECT_EQ(ScanAll(*kv_, Key(0), Key(1000), 4).size(), 20u - 1 - 10 + 1);
}

TEST_P(KvConformanceTest, ReadModifyWriteOfOneKeyNeverLosesAnUpdate) {
  if (GetParam().injects_conflicts) GTEST_SKIP() << "asserts one Commit's outcome";
  ASSERT_OK(PutOne(*kv_, "n", "0"));
  auto t1 = kv_->Begin(false);
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  auto v = (*t1)->Get("n");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->value_or(""), "0");
  // A second client increments the same key meanwhile.
  auto other = OpenAnother();
  ASSERT_NE(other, nullptr);
  Status other_status;
  std::thread second(
      [&] { other_status = RunTxn(*other, [](Transaction& t) { return Increment(t, "n"); }); });
  if (!GetParam().serializes_writers) second.join();  // it commits while t1 is open
  (*t1)->Put("n", "1");
  Status s = (*t1)->Commit();
  if (GetParam().serializes_writers) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    second.join();  // it waited for t1 and then read t1's value
    EXPECT_OK(other_status);
    EXPECT_EQ(Read(*kv_, "n"), "2");
  } else {
    EXPECT_TRUE(s.Is(Code::kConflict)) << s.ToString();
    EXPECT_TRUE(s.IsRetryable());
    EXPECT_OK(other_status);
    EXPECT_EQ(Read(*kv_, "n"), "1");
  }
}

TEST_P(KvConformanceTest, PhantomInScannedRangeConflictsOutsideDoesNot) {
  if (GetParam().injects_conflicts) GTEST_SKIP() << "asserts one Commit's outcome";
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) {
    for (const char* k : {"d/a", "d/c", "d/e", "d/g"}) t.Put(k, "x");
    return Status::OK();
  }));
  auto other = OpenAnother();
  ASSERT_NE(other, nullptr);
  // Runs `insert` from another client while a transaction that scanned [from, to) with
  // `limit` is open; returns that transaction's Commit status.
  auto race = [&](std::string from, std::string to, size_t limit, std::string insert) {
    auto t1 = kv_->Begin(false);
    EXPECT_TRUE(t1.ok());
    if (!t1.ok()) return t1.status();
    auto seen = (*t1)->Scan(from, to, limit);
    EXPECT_TRUE(seen.ok());
    Status other_status;
    std::thread second([&] { other_status = PutOne(*other, insert, "new"); });
    if (!GetParam().serializes_writers) second.join();
    (*t1)->Put("count", std::to_string(seen.ok() ? seen->size() : 0));
    Status s = (*t1)->Commit();
    if (GetParam().serializes_writers) second.join();
    EXPECT_OK(other_status);
    return s;
  };
  Status inside = race("d/", "d0", 100, "d/b");
  Status appended = race("d/", "d0", 100, "d/z");  // after the last key, still inside
  Status outside = race("d/", "d0", 100, "e/b");
  // The scan stopped at its limit (d/a, d/b, d/c): an insert beyond the last key returned is
  // outside the read set.
  Status past_limit = race("d/", "d0", 3, "d/d");
  if (GetParam().serializes_writers) {
    EXPECT_OK(inside);
    EXPECT_OK(appended);
  } else {
    EXPECT_TRUE(inside.Is(Code::kConflict)) << inside.ToString();
    EXPECT_TRUE(appended.Is(Code::kConflict)) << appended.ToString();
  }
  EXPECT_OK(outside);
  EXPECT_OK(past_limit);
  // SnapshotScan does not join the read set.
  if (!GetParam().serializes_writers) {
    auto t1 = kv_->Begin(false);
    ASSERT_TRUE(t1.ok());
    ASSERT_TRUE((*t1)->SnapshotScan("d/", "d0", 100).ok());
    ASSERT_OK(PutOne(*other, "d/f", "new"));
    (*t1)->Put("count", "x");
    EXPECT_OK((*t1)->Commit());
  }
}

TEST_P(KvConformanceTest, DeletedReadKeyConflicts) {
  if (GetParam().injects_conflicts || GetParam().serializes_writers) {
    GTEST_SKIP() << "asserts one optimistic Commit's outcome";
  }
  ASSERT_OK(PutOne(*kv_, "gone", "x"));
  auto t1 = kv_->Begin(false);
  ASSERT_TRUE(t1.ok());
  ASSERT_TRUE((*t1)->Get("gone").ok());
  ASSERT_TRUE((*t1)->Get("absent").ok());
  ASSERT_OK(RunTxn(*OpenAnother(), [](Transaction& t) {
    t.Delete("gone");
    return Status::OK();
  }));
  (*t1)->Put("other", "y");
  EXPECT_TRUE((*t1)->Commit().Is(Code::kConflict));
  // A key read as absent and then created conflicts too.
  auto t2 = kv_->Begin(false);
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE((*t2)->Get("absent").ok());
  ASSERT_OK(PutOne(*OpenAnother(), "absent", "now"));
  (*t2)->Put("other", "z");
  EXPECT_TRUE((*t2)->Commit().Is(Code::kConflict));
  EXPECT_EQ(Read(*kv_, "other"), "<absent>");
}

TEST_P(KvConformanceTest, RunTxnUnderContentionCountsExactly) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&, i] {
      auto kv = i % 2 ? OpenAnother() : kv_;  // two clients, like two mounts
      if (!kv) return failures++, void();
      for (int j = 0; j < kIncrements; j++) {
        Status s = RunTxn(*kv, [&](Transaction& t) {
          RETURN_IF_ERROR(Increment(t, "counter"));
          return Increment(t, "counter/" + std::to_string(i));
        });
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Read(*kv_, "counter"), std::to_string(kThreads * kIncrements));
  for (int i = 0; i < kThreads; i++) {
    EXPECT_EQ(Read(*kv_, "counter/" + std::to_string(i)), std::to_string(kIncrements));
  }
}

TEST_P(KvConformanceTest, FailedFnAppliesNothingAndReturnsItsError) {
  int calls = 0;
  Status s = RunTxn(*kv_, [&](Transaction& t) {
    calls++;
    t.Put("half", "done");
    return Status::NotFound("the user's error");
  });
  EXPECT_TRUE(s.Is(Code::kNotFound)) << s.ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Read(*kv_, "half"), "<absent>");
  // A retryable error from fn is retried up to max_retries, then reported.
  calls = 0;
  s = RunTxn(
      *kv_, [&](Transaction&) { return ++calls < 3 ? Status::Conflict("again") : Status::OK(); },
      TxnOptions{.max_retries = 50, .base_backoff_us = 10});
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (GetParam().injects_conflicts) {
    EXPECT_GE(calls, 3);  // an injected commit conflict adds attempts
  } else {
    EXPECT_EQ(calls, 3);
  }
  calls = 0;
  s = RunTxn(
      *kv_, [&](Transaction&) { return ++calls, Status::Unavailable("down"); },
      TxnOptions{.max_retries = 2, .base_backoff_us = 10});
  EXPECT_TRUE(s.Is(Code::kUnavailable)) << s.ToString();
  EXPECT_EQ(calls, 3);
}

TEST_P(KvConformanceTest, LargeValuesAndManyKeysInOneTxn) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 131 % 251);
  ASSERT_OK(RunTxn(*kv_, [&](Transaction& t) {
    t.Put("big", big);
    for (uint32_t i = 0; i < 2000; i++) t.Put(Key(i), "v");
    return Status::OK();
  }));
  EXPECT_TRUE(Read(*kv_, "big") == big);
  EXPECT_EQ(ScanAll(*kv_, "s", "t", 500).size(), 2000u);
}

TEST_P(KvConformanceTest, ClearRemovesEverything) {
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) {
    for (uint32_t i = 0; i < 50; i++) t.Put(Key(i), "v");
    t.Put(std::string("\0", 1), "z");
    t.Put("\xff\xff", "z");
    return Status::OK();
  }));
  ASSERT_OK(kv_->Clear());
  EXPECT_TRUE(ScanAll(*kv_, "", "", 10).empty());
  EXPECT_EQ(Read(*kv_, Key(1)), "<absent>");
  ASSERT_OK(PutOne(*kv_, "after", "clear"));  // still usable
  EXPECT_EQ(Read(*kv_, "after"), "clear");
  ASSERT_OK(kv_->Sync());
}

TEST_P(KvConformanceTest, TransactionIsDoneAfterCommit) {
  auto t = kv_->Begin(true);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Get("x").ok());
  Status s = (*t)->Commit();
  EXPECT_TRUE(s.ok() || (GetParam().injects_conflicts && s.Is(Code::kConflict))) << s.ToString();
  EXPECT_FALSE((*t)->Get("x").ok());
  EXPECT_FALSE(kv_->Describe().empty());
}

}  // namespace strata::kv::conformance

namespace strata::kv::conformance {
namespace {

std::string Fields(std::initializer_list<int64_t> fields) {
  std::string s;
  for (int64_t f : fields) PutU64BE(&s, static_cast<uint64_t>(f));
  return s;
}

}  // namespace

TEST_P(KvConformanceTest, BlindIncrementsAddUpAndAreSeenByLaterReads) {
  // Concurrent increments of one counter from two clients all land.
  constexpr int kThreads = 6;
  constexpr int kEach = 20;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&, i] {
      auto kv = i % 2 ? OpenAnother() : kv_;
      for (int j = 0; j < kEach && kv; j++) {
        EXPECT_OK(RunTxn(*kv, [&](Transaction& t) {
          t.Put("other/" + std::to_string(i), "x");
          return t.Increment("usage", {10, -1}, false);
        }));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Read(*kv_, "usage"), Fields({10 * kThreads * kEach, -kThreads * kEach}));
  // Inside one transaction: increments of one key add, a read sees the sum over the stored
  // value, a Put replaces a pending increment, an all-zero result with erase deletes.
  ASSERT_OK(RunTxn(*kv_, [&](Transaction& t) {
    RETURN_IF_ERROR(t.Increment("u2", {5}, true));
    RETURN_IF_ERROR(t.Increment("u2", {2}, true));
    ASSIGN_OR_RETURN(auto v, t.Get("u2"));
    EXPECT_EQ(v, std::optional<std::string>(Fields({7})));
    RETURN_IF_ERROR(t.Increment("u3", {1}, false));
    t.Put("u3", "replaced");
    RETURN_IF_ERROR(t.Increment("usage", {-10 * kThreads * kEach, kThreads * kEach}, true));
    RETURN_IF_ERROR(t.Increment("u4", {3}, false));
    ASSIGN_OR_RETURN(auto page, t.Scan("u", "v", 10));
    EXPECT_EQ(page.size(), 3u);  // u2, u3, u4 (usage is deleted)
    return Status::OK();
  }));
  EXPECT_EQ(Read(*kv_, "u2"), Fields({7}));
  EXPECT_EQ(Read(*kv_, "u3"), "replaced");
  EXPECT_EQ(Read(*kv_, "u4"), Fields({3}));
  EXPECT_EQ(Read(*kv_, "usage"), "<absent>");
  // A value of another size counts as zeros.
  ASSERT_OK(PutOne(*kv_, "odd", "abc"));
  ASSERT_OK(RunTxn(*kv_, [](Transaction& t) { return t.Increment("odd", {-4}, false); }));
  EXPECT_EQ(Read(*kv_, "odd"), Fields({-4}));
}

TEST_P(KvConformanceTest, CommitGroupGivesEachTransactionItsOwnResult) {
  if (GetParam().injects_conflicts || GetParam().serializes_writers) {
    GTEST_SKIP() << "holds several read-write transactions open at once";
  }
  ASSERT_OK(PutOne(*kv_, "x", "0"));
  auto a = kv_->Begin(false);
  auto b = kv_->Begin(false);
  auto c = kv_->Begin(false);
  auto d = kv_->Begin(false);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  // a and b both read x and write it: the first in the group wins, the second conflicts.
  ASSERT_TRUE((*a)->Get("x").ok());
  (*a)->Put("x", "a");
  ASSERT_TRUE((*b)->Get("x").ok());
  (*b)->Put("x", "b");
  (*b)->Put("b-only", "lost");
  // c writes elsewhere, d only increments: neither is hurt by the conflict of b.
  (*c)->Put("y", "c");
  ASSERT_OK((*d)->Increment("n", {1}, false));
  std::vector<Status> r = kv_->CommitGroup({a->get(), b->get(), c->get(), d->get()});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_OK(r[0]);
  EXPECT_TRUE(r[1].Is(Code::kConflict)) << r[1].ToString();
  EXPECT_OK(r[2]);
  EXPECT_OK(r[3]);
  EXPECT_EQ(Read(*kv_, "x"), "a");
  EXPECT_EQ(Read(*kv_, "b-only"), "<absent>");
  EXPECT_EQ(Read(*kv_, "y"), "c");
  EXPECT_EQ(Read(*kv_, "n"), Fields({1}));
  // Every transaction of the group is done.
  EXPECT_FALSE((*c)->Commit().ok());
}

// ExpectAbsent: right, the commit lands without the read; wrong, the first attempt conflicts
// and the second (without the belief, as Meta retries) reads the other client's value.
TEST_P(KvConformanceTest, AWrongAbsentBeliefCostsAConflictNotAWrongAnswer) {
  if (!GetParam().honors_expect_absent || GetParam().injects_conflicts) {
    GTEST_SKIP() << "the engine ignores ExpectAbsent";
  }
  std::shared_ptr<KvEngine> other = OpenAnother();
  ASSERT_OK(PutOne(*other, "taken", "theirs"));
  int attempts = 0;
  ASSERT_OK(RunTxn(*kv_, [&](Transaction& t) -> Status {
    attempts++;
    t.ExpectAbsent("free");
    ASSIGN_OR_RETURN(auto v, t.Get("free"));
    if (v) return Status::Internal("'free' should read absent");
    t.Put("free", "mine");
    return Status::OK();
  }));
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(Read(*other, "free"), "mine");
  attempts = 0;
  std::string seen;
  ASSERT_OK(RunTxn(*kv_, [&](Transaction& t) -> Status {
    if (attempts++ == 0) t.ExpectAbsent("taken");
    ASSIGN_OR_RETURN(auto v, t.Get("taken"));
    seen = v.value_or("<absent>");
    if (!v) t.Put("taken", "mine");
    return Status::OK();
  }));
  EXPECT_EQ(attempts, 2) << "the wrong belief should have failed the first commit";
  EXPECT_EQ(seen, "theirs");
  EXPECT_EQ(Read(*other, "taken"), "theirs");
}

TEST_P(KvConformanceTest, GroupCommitThroughRunTxnKeepsEveryUpdate) {
  // Many threads on one engine: commits queue and go in groups; conflicts inside a group are
  // retried alone; the counts stay exact.
  constexpr int kThreads = 16;
  constexpr int kEach = 15;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; j++) {
        EXPECT_OK(RunTxn(*kv_, [&](Transaction& t) {
          RETURN_IF_ERROR(Increment(t, "shared"));
          return Increment(t, "own/" + std::to_string(i));
        }));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Read(*kv_, "shared"), std::to_string(kThreads * kEach));
  for (int i = 0; i < kThreads; i++) {
    EXPECT_EQ(Read(*kv_, "own/" + std::to_string(i)), std::to_string(kEach));
  }
}

}  // namespace strata::kv::conformance
