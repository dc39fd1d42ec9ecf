// The listing walk and ETags over a real Volume (memkv + mem://), as the gateway sees it.
#include "gateway/listing.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "meta/kv/mem_kv.h"
#include "vfs/test_client.h"

namespace strata::gateway {
namespace {

class ListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = kv::MemKv::Open();
    ASSERT_TRUE(e.ok());
    engine_ = std::shared_ptr<kv::KvEngine>(std::move(*e));
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "test-uuid";
    f.storage_url = "mem://gateway-listing";
    f.block_size = 64 << 10;
    ASSERT_TRUE(meta::Meta::Format(*engine_, f, false).ok());
    auto c = vfs::testing::OpenTestClient(engine_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    auto fs = ObjectFs::Open(client_.get(), meta::Context{});
    ASSERT_TRUE(fs.ok());
    fs_ = std::move(*fs);
    ASSERT_TRUE(fs_->CreateBucket("bkt").ok());
    bucket_ = *fs_->Bucket("bkt");
  }

  void Put(const std::string& key, const std::string& data) {
    auto k = std::get<KeyPath>(ParseKey(key));
    auto dir = fs_->MakeDirs(bucket_, k.dirs);
    ASSERT_TRUE(dir.ok());
    if (k.folder) return;
    auto cr = client_->Create(ctx_, *dir, k.name, 0644, O_WRONLY);
    ASSERT_TRUE(cr.ok()) << key;
    ASSERT_TRUE(client_->Write(ctx_, cr->entry.ino, cr->open.fh, 0, data).ok());
    ASSERT_TRUE(client_->Flush(ctx_, cr->entry.ino, cr->open.fh, 0).ok());
    ASSERT_TRUE(client_->Release(cr->entry.ino, cr->open.fh).ok());
  }

  std::vector<std::string> Keys(const ListQuery& q, ListPage* page_out = nullptr) {
    auto page = ListKeys(*fs_, bucket_, q, {});
    EXPECT_TRUE(page.ok());
    std::vector<std::string> out;
    for (auto& o : page->objects) out.push_back(o.key);
    for (auto& p : page->prefixes) out.push_back(p + "(prefix)");
    if (page_out) *page_out = *page;
    return out;
  }

  std::shared_ptr<kv::KvEngine> engine_;
  vfs::testing::TestClient client_;
  std::unique_ptr<ObjectFs> fs_;
  Ino bucket_ = 0;
  meta::Context ctx_;
};

TEST_F(ListingTest, KeysComeInS3OrderAcrossDirectories) {
  for (const char* k : {"a/x", "a-b", "a", "ab/c", "b/d/e", "b/d-f"}) {
    if (std::string(k) == "a") continue;  // "a" is a directory here
    Put(k, k);
  }
  // '-' (0x2d) sorts before '/' (0x2f): "a-b" < "a/x" < "ab/c".
  EXPECT_EQ(Keys({}), (std::vector<std::string>{"a-b", "a/x", "ab/c", "b/d-f", "b/d/e"}));
  ListQuery d;
  d.delimiter = "/";
  EXPECT_EQ(Keys(d), (std::vector<std::string>{"a-b", "a/(prefix)", "ab/(prefix)", "b/(prefix)"}));
  ListQuery p;
  p.prefix = "b/d";
  EXPECT_EQ(Keys(p), (std::vector<std::string>{"b/d-f", "b/d/e"}));
}

TEST_F(ListingTest, PagesResumeAfterTheMarker) {
  std::vector<std::string> all;
  for (int i = 0; i < 7; ++i) {
    std::string k = "d" + std::to_string(i % 3) + "/f" + std::to_string(i);
    Put(k, "x");
    all.push_back(k);
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> got;
  ListQuery q;
  q.max_keys = 2;
  while (true) {
    ListPage page;
    auto keys = Keys(q, &page);
    got.insert(got.end(), keys.begin(), keys.end());
    if (!page.truncated) break;
    q.after = page.last;
  }
  EXPECT_EQ(got, all);
}

TEST_F(ListingTest, EtagIsTheMd5AndFollowsContent) {
  Put("f", "hello");
  auto k = std::get<KeyPath>(ParseKey("f"));
  auto o = fs_->LookupObject(bucket_, k);
  ASSERT_TRUE(o.ok());
  auto e1 = fs_->Etag(o->ino, o->attr);
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(*e1, "5d41402abc4b2a76b9719d911017c592");  // md5("hello")
  Put("f", "hello, world");  // same file written again (O_WRONLY without O_TRUNC: overwrite)
  o = fs_->LookupObject(bucket_, k);
  auto e2 = fs_->Etag(o->ino, o->attr);
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(*e2, "e4d7f1b4ed2e42d15898f4b27b019da4");  // md5("hello, world")
}

}  // namespace
}  // namespace strata::gateway
