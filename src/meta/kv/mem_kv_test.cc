// memkv: the conformance suite (plain, and with injected conflicts on 30% of commits), plus
// what is particular to memkv and the registry.
#include "meta/kv/mem_kv.h"

#include <gtest/gtest.h>

#include "meta/kv/testing/kv_conformance.h"

namespace strata::kv {
namespace {

using conformance::KvConformanceTest;
using conformance::KvEngineFactory;

KvEngineFactory MemFactory(std::string name, std::string url, bool inject) {
  KvEngineFactory f;
  f.name = std::move(name);
  f.open = [url]() -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, MemKv::OpenUrl(url));
    return std::shared_ptr<KvEngine>(std::move(kv));
  };
  f.injects_conflicts = inject;
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    MemKv, KvConformanceTest,
    ::testing::Values(MemFactory("memkv", "memkv://conformance", false),
                      MemFactory("memkv_injected", "memkv://conformance2?conflict_rate=0.3", true)),
    conformance::FactoryName);

TEST(MemKvTest, NamedStoresAreSharedPrivateOnesAreNot) {
  KvRegistry registry;
  RegisterMemKv(registry);
  auto a = registry.Open("memkv://shared-test");
  auto b = registry.Open("memkv://shared-test");
  auto p = registry.Open("memkv://");
  ASSERT_TRUE(a.ok() && b.ok() && p.ok());
  ASSERT_TRUE(RunTxn(**a, [](Transaction& t) {
                t.Put("k", "v");
                return Status::OK();
              }).ok());
  auto count = [](KvEngine& kv) {
    size_t n = 0;
    EXPECT_TRUE(RunTxn(kv, [&](Transaction& t) {
                  ASSIGN_OR_RETURN(auto v, t.Get("k"));
                  n = v ? 1 : 0;
                  return Status::OK();
                }).ok());
    return n;
  };
  EXPECT_EQ(count(**b), 1u);
  EXPECT_EQ(count(**p), 0u);
  EXPECT_EQ((*a)->Describe(), "memkv://shared-test");
  // The named store outlives its engines.
  a->reset();
  b->reset();
  auto c = registry.Open("memkv://shared-test");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(count(**c), 1u);
}

TEST(MemKvTest, BadUrlsAreRefusedWithTheReason) {
  auto bad_rate = MemKv::OpenUrl("memkv://?conflict_rate=2");
  EXPECT_TRUE(bad_rate.code() == Code::kInvalidArgument) << bad_rate.status().ToString();
  auto junk = MemKv::OpenUrl("memkv://x?conflict_rate=abc");
  EXPECT_EQ(junk.code(), Code::kInvalidArgument);
  auto unknown = MemKv::OpenUrl("memkv://x?colour=red");
  EXPECT_EQ(unknown.code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("colour"), std::string_view::npos);
  EXPECT_EQ(MemKv::OpenUrl("memkv://x/some/path").code(), Code::kInvalidArgument);
}

TEST(MemKvTest, EveryCommitConflictingMakesRunTxnGiveUpWithConflict) {
  auto kv = MemKv::OpenUrl("memkv://?conflict_rate=1");
  ASSERT_TRUE(kv.ok());
  int calls = 0;
  Status s = RunTxn(
      **kv,
      [&](Transaction& t) {
        calls++;
        t.Put("k", "v");
        return Status::OK();
      },
      TxnOptions{.max_retries = 4, .base_backoff_us = 1});
  EXPECT_TRUE(s.Is(Code::kConflict)) << s.ToString();
  EXPECT_EQ(calls, 5);
  EXPECT_EQ((*kv)->Size(), 0u);
}

TEST(MemKvTest, TombstonesAreCollectedAndDoNotCountAsKeys) {
  auto kv = MemKv::Open();
  ASSERT_TRUE(kv.ok());
  for (int round = 0; round < 3; round++) {
    ASSERT_TRUE(RunTxn(**kv, [](Transaction& t) {
                  for (int i = 0; i < 3000; i++) t.Put("k" + std::to_string(i), "v");
                  return Status::OK();
                }).ok());
    EXPECT_EQ((*kv)->Size(), 3000u);
    ASSERT_TRUE(RunTxn(**kv, [](Transaction& t) {
                  for (int i = 0; i < 3000; i++) t.Delete("k" + std::to_string(i));
                  return Status::OK();
                }).ok());
    EXPECT_EQ((*kv)->Size(), 0u);
  }
}

TEST(KvRegistryTest, UnknownSchemeListsKnownOnesMalformedUrlSaysWhy) {
  KvRegistry registry;
  RegisterMemKv(registry);
  auto unknown = registry.Open("mysql://host/db");
  ASSERT_EQ(unknown.code(), Code::kInvalidArgument);
  std::string msg(unknown.status().message());
  EXPECT_NE(msg.find("mysql"), std::string::npos) << msg;
  EXPECT_NE(msg.find("memkv://"), std::string::npos) << msg;
  auto malformed = registry.Open("no scheme here");
  EXPECT_EQ(malformed.code(), Code::kInvalidArgument) << malformed.status().ToString();
  EXPECT_EQ(registry.Open("").code(), Code::kInvalidArgument);
  auto ok = registry.Open("memkv://");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST(KvTest, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("abc"), "abd");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  EXPECT_EQ(PrefixEnd(""), "");
  EXPECT_EQ(PrefixEnd(std::string("\0", 1)), "\x01");
}

}  // namespace
}  // namespace strata::kv
