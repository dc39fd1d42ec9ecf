// ListFromCursor's argument checks and token handling (the paging itself is exercised on
// every backend by tests/object's conformance suite).
#include "object/key_listing.h"

#include <gtest/gtest.h>

#include "object/mem_store.h"

namespace strata::object {
namespace {

TEST(KeyListingTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("a/"), "a0");
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

TEST(KeyListingTest, BadLimitAndTokenAreInvalidArgument) {
  std::unique_ptr<ObjectStore> store = MemStore::Open();
  ASSERT_TRUE(store->Put("k", "v").ok());
  ListOptions o;
  o.limit = 0;
  EXPECT_EQ(store->List(o).code(), Code::kInvalidArgument);
  o.limit = 10;
  o.continuation = "garbage";
  EXPECT_EQ(store->List(o).code(), Code::kInvalidArgument);
}

TEST(KeyListingTest, LimitAboveThousandIsClipped) {
  std::unique_ptr<ObjectStore> store = MemStore::Open();
  for (int i = 0; i < 1005; ++i) ASSERT_TRUE(store->Put("k" + std::to_string(10000 + i), "").ok());
  ListOptions o;
  o.limit = 5000;
  auto page = store->List(o);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), 1000u);
  EXPECT_TRUE(page->truncated);
}

TEST(KeyListingTest, PageEndingOnCommonPrefixResumesAfterIt) {
  std::unique_ptr<ObjectStore> store = MemStore::Open();
  for (const char* k : {"a/1", "a/2", "a/3", "b", "c/1"}) ASSERT_TRUE(store->Put(k, "").ok());
  ListOptions o;
  o.delimiter = "/";
  o.limit = 1;
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = store->List(o);
    ASSERT_TRUE(page.ok());
    for (auto& p : page->common_prefixes) seen.push_back(p);
    for (auto& obj : page->objects) seen.push_back(obj.key);
    if (!page->truncated) break;
    o.continuation = page->next_continuation;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a/", "b", "c/"}));
}

}  // namespace
}  // namespace strata::object
