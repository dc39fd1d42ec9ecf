#include "object/registry.h"

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace strata::object {
namespace {

StoreRegistry LocalRegistry() {
  StoreRegistry r;
  RegisterLocalStores(r);
  return r;
}

TEST(StoreRegistryTest, UnknownSchemeListsKnownOnes) {
  StoreRegistry r = LocalRegistry();
  auto store = r.Open("gopher://host/bucket");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), Code::kInvalidArgument);
  std::string msg = store.status().ToString();
  EXPECT_NE(msg.find("gopher"), std::string::npos) << msg;
  EXPECT_NE(msg.find("file://"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mem://"), std::string::npos) << msg;
}

TEST(StoreRegistryTest, MalformedUrlIsInvalidArgument) {
  StoreRegistry r = LocalRegistry();
  auto store = r.Open("no-scheme-here");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), Code::kInvalidArgument);
}

TEST(StoreRegistryTest, NamedMemStoresAreSharedUnnamedAreNot) {
  StoreRegistry r = LocalRegistry();
  auto a = r.Open("mem://shared");
  auto b = r.Open("mem://shared");
  auto c = r.Open("mem://");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE((*a)->Put("k", "v").ok());
  auto got = (*b)->Get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "v");
  EXPECT_EQ((*c)->Get("k").code(), Code::kNotFound);
  // Another registry does not see this registry's named stores.
  StoreRegistry other = LocalRegistry();
  auto d = other.Open("mem://shared");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->Get("k").code(), Code::kNotFound);
}

TEST(StoreRegistryTest, FileUrlOpensDirectoryAndRejectsHost) {
  StoreRegistry r = LocalRegistry();
  std::string dir = testing::MakeTempDir("registry");
  auto store = r.Open("file://" + dir + "/sub");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("x/y", "data").ok());
  EXPECT_EQ((*store)->Describe(), "file://" + dir + "/sub");
  auto bad = r.Open("file://relative/dir");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().ToString().find("file:///"), std::string::npos);
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace strata::object
