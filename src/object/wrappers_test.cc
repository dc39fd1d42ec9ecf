// PrefixStore, MetricsStore and FaultyStore over a real mem:// (or file://) store.
#include <gtest/gtest.h>
#include <unistd.h>

#include "object/faulty_store.h"
#include "object/file_store.h"
#include "object/mem_store.h"
#include "object/metrics_store.h"
#include "object/prefix_store.h"
#include "tests/support/process.h"

namespace strata::object {
namespace {

TEST(PrefixStoreTest, VolumesSharingAStoreSeeOnlyTheirKeys) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  auto a = PrefixStore::ForVolume(mem, "vola");
  auto b = PrefixStore::ForVolume(mem, "volb");
  ASSERT_TRUE(a.ok() && b.ok());
  std::unique_ptr<ObjectStore> va = std::move(*a), vb = std::move(*b);
  ASSERT_TRUE(va->Put("chunks/1", "one").ok());
  ASSERT_TRUE(va->Put("chunks/2", "two").ok());
  ASSERT_TRUE(va->Put("strata.uuid", "u").ok());
  ASSERT_TRUE(vb->Put("chunks/1", "other").ok());

  EXPECT_EQ(*mem->Get("vola/chunks/1"), "one");
  EXPECT_EQ(*vb->Get("chunks/1"), "other");
  auto head = va->Head("chunks/2");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->key, "chunks/2");

  ListOptions opts;
  opts.delimiter = "/";
  auto page = va->List(opts);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"chunks/"});
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "strata.uuid");

  ListOptions after;
  after.start_after = "chunks/1";
  after.limit = 1;
  page = va->List(after);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "chunks/2");
  EXPECT_TRUE(page->truncated);
  after.continuation = page->next_continuation;
  page = va->List(after);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "strata.uuid");
  EXPECT_FALSE(page->truncated);

  ASSERT_TRUE(va->Delete("chunks/1").ok());
  EXPECT_EQ(*vb->Get("chunks/1"), "other");
  EXPECT_EQ(PrefixStore::ForVolume(mem, "a/b").code(), Code::kInvalidArgument);
}

TEST(PrefixStoreTest, MultipartLandsUnderThePrefix) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  std::unique_ptr<ObjectStore> v = std::move(*PrefixStore::ForVolume(mem, "v"));
  auto id = v->CreateMultipart("big");
  ASSERT_TRUE(id.ok());
  auto e1 = v->UploadPart("big", *id, 1, "hello ");
  auto e2 = v->UploadPart("big", *id, 2, "world");
  ASSERT_TRUE(e1.ok() && e2.ok());
  ASSERT_TRUE(v->CompleteMultipart("big", *id, {{1, *e1, 6}, {2, *e2, 5}}).ok());
  EXPECT_EQ(*mem->Get("v/big"), "hello world");
}

// Sync reaches the target with the prefix added: on file://, "loop/k" under the volume is a
// path that cannot be opened (a symlink loop), while the same key without the prefix is
// simply missing, which Sync skips.
TEST(PrefixStoreTest, SyncAddsThePrefixToEveryKey) {
  std::string dir = testing::MakeTempDir("prefix-sync");
  auto file = FileStore::Open(dir);
  ASSERT_TRUE(file.ok());
  std::shared_ptr<ObjectStore> root = std::move(*file);
  auto opened = PrefixStore::ForVolume(root, "v");
  ASSERT_TRUE(opened.ok());
  ObjectStore* vol = opened->get();  // the interface, where Put's defaults live
  ASSERT_TRUE(vol->Put("present", "x").ok());
  ASSERT_EQ(::symlink("loop", (dir + "/v/loop").c_str()), 0);
  EXPECT_TRUE(root->Sync({"loop/k"}).ok());  // no such key at the root
  Status st = vol->Sync({"present", "loop/k"});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("v/loop/k"), std::string::npos) << st.ToString();
  EXPECT_TRUE(vol->Sync({"present", "absent"}).ok());
  testing::RemoveTree(dir);
}

TEST(MetricsStoreTest, CountsCallsErrorsBytesAndLatency) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  auto m = MetricsStore::Open(mem);
  ObjectStore& s = *m;
  ASSERT_TRUE(s.Put("a", std::string(1000, 'x')).ok());
  ASSERT_TRUE(s.Put("b", "12345").ok());
  ASSERT_TRUE(s.Get("a", 0, 100).ok());
  EXPECT_FALSE(s.Get("missing").ok());
  ASSERT_TRUE(s.List({}).ok());

  OpStats put = m->Snapshot(StoreOp::kPut);
  EXPECT_EQ(put.calls, 2u);
  EXPECT_EQ(put.errors, 0u);
  EXPECT_EQ(put.bytes, 1005u);
  OpStats get = m->Snapshot(StoreOp::kGet);
  EXPECT_EQ(get.calls, 2u);
  EXPECT_EQ(get.errors, 1u);
  EXPECT_EQ(get.bytes, 100u);
  EXPECT_EQ(m->Snapshot(StoreOp::kList).calls, 1u);
  EXPECT_EQ(m->Snapshot(StoreOp::kHead).calls, 0u);
  EXPECT_GT(get.LatencyQuantileUs(0.99), 0u);
  EXPECT_GE(get.LatencyQuantileUs(0.99), get.LatencyQuantileUs(0.5));
  EXPECT_EQ(m->Snapshot(StoreOp::kHead).LatencyQuantileUs(0.5), 0u);
  EXPECT_STREQ(StoreOpName(StoreOp::kUploadPart), "upload_part");
}

// PutParts through the wrappers: the prefix is added, the put counted with the parts' total
// size, and a wrapper without its own PutParts (FaultyStore) still applies its Put's rules.
TEST(WrappersTest, PutPartsIsForwardedOrFallsBackToPut) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  std::shared_ptr<ObjectStore> metrics = MetricsStore::Open(mem);
  auto* counted = static_cast<MetricsStore*>(metrics.get());
  auto prefixed = PrefixStore::ForVolume(metrics, "vol");
  ASSERT_TRUE(prefixed.ok());
  ASSERT_TRUE((*prefixed)->PutParts("chunks/1", {"abc", "def"}, {}).ok());
  EXPECT_EQ(*mem->Get("vol/chunks/1"), "abcdef");
  EXPECT_EQ(counted->Snapshot(StoreOp::kPut).calls, 1u);
  EXPECT_EQ(counted->Snapshot(StoreOp::kPut).bytes, 6u);
  EXPECT_TRUE((*prefixed)->PutParts("", {"x"}, {}).Is(Code::kInvalidArgument));

  std::shared_ptr<FaultyStore> faulty = FaultyStore::Open(mem, {});
  faulty->AddRule({.ops = OpBit(StoreOp::kPut), .code = Code::kNoSpace});
  EXPECT_TRUE(faulty->PutParts("k", {"a", "b"}, {}).Is(Code::kNoSpace));
  EXPECT_TRUE(mem->Head("k").status().Is(Code::kNotFound));
}

// One Sync call counts once, however many keys; a failed one counts as an error.
TEST(MetricsStoreTest, CountsSyncCallsAndErrors) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  auto faults = std::shared_ptr<FaultyStore>(FaultyStore::Open(mem, {}));
  auto m = MetricsStore::Open(faults);
  ASSERT_TRUE(static_cast<ObjectStore&>(*m).Put("a", "1").ok());
  ASSERT_TRUE(m->Sync({"a", "b", "c"}).ok());
  ASSERT_TRUE(m->Sync({}).ok());
  FaultRule r;
  r.ops = OpBit(StoreOp::kSync);
  r.code = Code::kIOError;
  faults->AddRule(r);
  EXPECT_EQ(m->Sync({"a"}).code(), Code::kIOError);
  OpStats sync = m->Snapshot(StoreOp::kSync);
  EXPECT_EQ(sync.calls, 3u);
  EXPECT_EQ(sync.errors, 1u);
  EXPECT_EQ(sync.bytes, 0u);
  EXPECT_EQ(m->Snapshot(StoreOp::kPut).calls, 1u);  // Sync is not counted as anything else
  EXPECT_EQ(m->Snapshot(StoreOp::kGet).calls, 0u);
  EXPECT_STREQ(StoreOpName(StoreOp::kSync), "sync");
}

TEST(FaultyStoreTest, RulesHonourOpsSkipAndCount) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  FaultyStore::Options o;
  FaultRule r;
  r.ops = OpBit(StoreOp::kPut);
  r.code = Code::kIOError;
  r.skip = 1;
  r.count = 2;
  o.rules.push_back(r);
  auto f = FaultyStore::Open(mem, o);
  ObjectStore& s = *f;
  EXPECT_TRUE(s.Put("k1", "a").ok());  // skipped
  EXPECT_EQ(s.Put("k2", "b").code(), Code::kIOError);
  EXPECT_EQ(s.Put("k3", "c").code(), Code::kIOError);
  EXPECT_TRUE(s.Put("k4", "d").ok());                  // count exhausted
  EXPECT_TRUE(s.Get("k1").ok());                       // other ops untouched
  EXPECT_EQ(mem->Head("k2").code(), Code::kNotFound);  // a failed put changed nothing
  EXPECT_EQ(f->injected(), 2u);

  // A Sync fault fails the call, naming the operation and its first key; Put rules leave
  // Sync alone.
  EXPECT_TRUE(s.Sync({"k1"}).ok());
  FaultRule sync_rule;
  sync_rule.ops = OpBit(StoreOp::kSync);
  sync_rule.code = Code::kNoSpace;
  sync_rule.count = 1;
  f->AddRule(sync_rule);
  Status synced = s.Sync({"k1", "k4"});
  EXPECT_EQ(synced.code(), Code::kNoSpace);
  EXPECT_NE(synced.ToString().find("sync k1"), std::string::npos) << synced.ToString();
  EXPECT_TRUE(s.Sync({"k1", "k4"}).ok());
  EXPECT_EQ(f->injected(), 3u);

  f->AddRule(FaultRule::Throttle(OpBit(StoreOp::kList)));
  auto l = s.List({});
  EXPECT_EQ(l.code(), Code::kUnavailable);
  EXPECT_TRUE(l.status().IsRetryable());
  EXPECT_NE(l.status().ToString().find("503"), std::string::npos);
  f->ClearRules();
  EXPECT_TRUE(s.List({}).ok());

  FaultRule never;
  never.probability = 0;
  f->AddRule(never);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(s.Head("k1").ok());
}

TEST(FaultyStoreTest, ShortReadsReturnLessThanTheObject) {
  std::shared_ptr<ObjectStore> mem = MemStore::Open();
  std::string body(4096, 'z');
  ASSERT_TRUE(mem->Put("k", body).ok());
  FaultyStore::Options o;
  o.short_read_probability = 1.0;
  auto f = FaultyStore::Open(mem, o);
  ObjectStore& s = *f;
  for (int i = 0; i < 10; ++i) {
    auto got = s.Get("k");
    ASSERT_TRUE(got.ok());
    EXPECT_LT(got->size(), body.size());
    EXPECT_EQ(*got, body.substr(0, got->size()));
  }
  f->SetShortReadProbability(0);
  EXPECT_EQ(*s.Get("k"), body);
}

}  // namespace
}  // namespace strata::object
