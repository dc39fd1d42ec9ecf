#include "tests/object/conformance.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "object/prefix_store.h"

namespace strata::object::conformance {

std::string ConformanceTargetName(const ::testing::TestParamInfo<ConformanceTarget>& info) {
  return info.param.name;
}

namespace {

// Deterministic bytes that differ from one offset to the next, so a misplaced range shows.
std::string Pattern(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (size_t i = 0; i < size; i += 4) {
    uint32_t v = rng();
    for (size_t j = 0; j < 4 && i + j < size; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

// Every key and common prefix under `opts`, following continuation tokens.
struct Listing {
  std::vector<std::string> keys;
  std::vector<std::string> prefixes;
  int pages = 0;
};
Listing ListAll(ObjectStore& store, ListOptions opts) {
  Listing out;
  while (true) {
    auto page = store.List(opts);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    ++out.pages;
    for (const auto& o : page->objects) out.keys.push_back(o.key);
    for (const auto& p : page->common_prefixes) out.prefixes.push_back(p);
    EXPECT_LE(static_cast<int>(page->objects.size() + page->common_prefixes.size()),
              std::min(opts.limit, 1000));
    if (!page->truncated) break;
    EXPECT_FALSE(page->next_continuation.empty());
    if (out.pages > 10000) {
      ADD_FAILURE() << "listing does not end";
      break;
    }
    opts.continuation = page->next_continuation;
  }
  return out;
}

std::string CaseName() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  return name.substr(0, name.find('/'));
}

std::string RandomTag() {
  std::random_device rd;
  return std::to_string(rd()) + std::to_string(rd());
}

// Puts keys from `threads` threads; returns false on the first failure.
bool PutMany(ObjectStore& store, const std::vector<std::string>& keys, int threads) {
  std::atomic<size_t> next{0};
  std::atomic<bool> ok{true};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < keys.size() && ok; i = next++) {
        Status s = store.Put(keys[i], "v");
        if (!s.ok()) {
          ADD_FAILURE() << keys[i] << ": " << s.ToString();
          ok = false;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return ok;
}

}  // namespace

void ObjectStoreConformance::SetUp() {
  const ConformanceTarget& target = GetParam();
  if (target.skip.count(CaseName())) {
    GTEST_SKIP() << target.name << " does not support " << CaseName();
  }
  auto opened = target.open();
  if (!opened.ok() && opened.code() == Code::kNotSupported) {
    GTEST_SKIP() << opened.status().ToString();
  }
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  raw_ = *opened;
  store_ = raw_;
  if (target.shared) {
    auto scoped = PrefixStore::Open(raw_, "conformance-" + RandomTag() + "-" + CaseName() + "/");
    ASSERT_TRUE(scoped.ok());
    store_ = std::move(*scoped);
  }
}

void ObjectStoreConformance::TearDown() {
  if (!store_ || !GetParam().shared) return;
  // Leave the shared store as we found it.
  Listing all = ListAll(*store_, ListOptions{});
  for (const auto& k : all.keys) EXPECT_TRUE(store_->Delete(k).ok()) << k;
}

// ---- round trips -------------------------------------------------------------------------

void RoundTrip(ObjectStore& store, size_t size) {
  std::string body = Pattern(size, static_cast<uint32_t>(size) + 1);
  std::string key = "rt/" + std::to_string(size);
  ASSERT_TRUE(store.Put(key, body).ok());
  auto got = store.Get(key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), size);
  EXPECT_TRUE(*got == body) << "body differs";
  auto head = store.Head(key);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, size);
}

TEST_P(ObjectStoreConformance, RoundTripEmpty) { RoundTrip(store(), 0); }
TEST_P(ObjectStoreConformance, RoundTripOneByte) { RoundTrip(store(), 1); }
TEST_P(ObjectStoreConformance, RoundTrip4MiB) { RoundTrip(store(), 4 << 20); }
TEST_P(ObjectStoreConformance, RoundTrip17MiB) { RoundTrip(store(), 17 << 20); }

TEST_P(ObjectStoreConformance, OverwriteReplacesWholeBody) {
  ASSERT_TRUE(store().Put("k", Pattern(1000, 1)).ok());
  ASSERT_TRUE(store().Put("k", "short").ok());
  EXPECT_EQ(*store().Get("k"), "short");
  EXPECT_EQ(store().Head("k")->size, 5u);
}

TEST_P(ObjectStoreConformance, RangedGetEdges) {
  const std::string body = Pattern(1000, 7);
  ASSERT_TRUE(store().Put("r", body).ok());
  struct Case {
    uint64_t off;
    int64_t len;
    std::string want;
  };
  const Case cases[] = {
      {0, 1, body.substr(0, 1)},        // first byte
      {0, 1000, body},                  // exactly all
      {0, -1, body},                    // to the end
      {999, 1, body.substr(999)},       // last byte
      {999, -1, body.substr(999)},      // last byte, open-ended
      {500, 10, body.substr(500, 10)},  // middle
      {990, 100, body.substr(990)},     // length past the end is clipped
      {0, 5000, body},                  // longer than the object
      {1000, -1, ""},                   // at the end
      {1000, 10, ""},                   // at the end with a length
      {4096, 1, ""},                    // far past the end
      {10, 0, ""},                      // empty range
  };
  for (const Case& c : cases) {
    auto got = store().Get("r", c.off, c.len);
    ASSERT_TRUE(got.ok()) << "off " << c.off << " len " << c.len << ": " << got.status().ToString();
    EXPECT_TRUE(*got == c.want) << "off " << c.off << " len " << c.len << ": got " << got->size()
                                << " bytes, want " << c.want.size();
  }
  ASSERT_TRUE(store().Put("empty", "").ok());
  auto got = store().Get("empty", 0, 10);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "");
}

TEST_P(ObjectStoreConformance, MissingKeyIsNotFound) {
  EXPECT_EQ(store().Get("no/such/key").code(), Code::kNotFound);
  EXPECT_EQ(store().Get("no/such/key", 10, 5).code(), Code::kNotFound);
  EXPECT_EQ(store().Head("no/such/key").code(), Code::kNotFound);
  ASSERT_TRUE(store().Put("no/such/key2", "x").ok());
  EXPECT_EQ(store().Get("no/such/key").code(), Code::kNotFound);
  EXPECT_EQ(store().Head("no/such").code(), Code::kNotFound);  // a prefix is not an object
}

TEST_P(ObjectStoreConformance, HeadReportsSize) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{4097}}) {
    std::string key = "h/" + std::to_string(size);
    ASSERT_TRUE(store().Put(key, Pattern(size, 3)).ok());
    auto head = store().Head(key);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->size, size);
    EXPECT_EQ(head->key, key);
  }
}

// Sync (the fsync level of DESIGN.md §6 for objects already stored): OK for present and
// missing keys alike, and it changes nothing a reader can see.
TEST_P(ObjectStoreConformance, SyncKeepsObjectsAndSkipsMissingKeys) {
  const std::string body = Pattern(70000, 9);
  ASSERT_TRUE(store().Put("s/a", body).ok());
  ASSERT_TRUE(store().Put("s/dir/b", "").ok());
  ASSERT_TRUE(store().Put("s/deleted", "x").ok());
  ASSERT_TRUE(store().Delete("s/deleted").ok());
  Status st = store().Sync({"s/a", "s/dir/b", "s/never", "s/deleted", "s/dir/missing"});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(store().Sync({}).ok());
  EXPECT_TRUE(store().Sync({"s/a", "s/a"}).ok());  // twice in one call is fine
  EXPECT_TRUE(*store().Get("s/a") == body);
  EXPECT_EQ(*store().Get("s/dir/b"), "");
  EXPECT_EQ(store().Head("s/never").code(), Code::kNotFound);  // nothing was created
  EXPECT_EQ(store().Head("s/deleted").code(), Code::kNotFound);
  EXPECT_EQ(ListAll(store(), {}).keys, (std::vector<std::string>{"s/a", "s/dir/b"}));
}

TEST_P(ObjectStoreConformance, DeleteMissingIsOk) { EXPECT_TRUE(store().Delete("never/was").ok()); }

TEST_P(ObjectStoreConformance, DeleteRemoves) {
  ASSERT_TRUE(store().Put("d/k", "x").ok());
  ASSERT_TRUE(store().Put("d/other", "y").ok());
  ASSERT_TRUE(store().Delete("d/k").ok());
  EXPECT_EQ(store().Get("d/k").code(), Code::kNotFound);
  EXPECT_EQ(*store().Get("d/other"), "y");
  EXPECT_TRUE(store().Delete("d/k").ok());  // twice is fine
  EXPECT_EQ(ListAll(store(), {}).keys, std::vector<std::string>{"d/other"});
}

// ---- listing -------------------------------------------------------------------------------

TEST_P(ObjectStoreConformance, ListPrefix) {
  for (const char* k : {"b/1", "a/2", "ab", "a/1", "a0"}) ASSERT_TRUE(store().Put(k, k).ok());
  ListOptions o;
  o.prefix = "a/";
  EXPECT_EQ(ListAll(store(), o).keys, (std::vector<std::string>{"a/1", "a/2"}));
  o.prefix = "a";
  EXPECT_EQ(ListAll(store(), o).keys, (std::vector<std::string>{"a/1", "a/2", "a0", "ab"}));
  o.prefix = "";
  EXPECT_EQ(ListAll(store(), o).keys, (std::vector<std::string>{"a/1", "a/2", "a0", "ab", "b/1"}));
  auto page = store().List(ListOptions{.prefix = "a/"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].size, 3u);
  EXPECT_FALSE(page->truncated);
}

// S3 lets "a" and "a/1" coexist. A directory-backed store (file://, like MinIO's fs mode)
// cannot, and skips this case; the data path never needs it (DESIGN.md §4 block keys).
TEST_P(ObjectStoreConformance, ObjectAndPrefixOfSameName) {
  ASSERT_TRUE(store().Put("same", "object").ok());
  ASSERT_TRUE(store().Put("same/child", "child").ok());
  EXPECT_EQ(*store().Get("same"), "object");
  EXPECT_EQ(*store().Get("same/child"), "child");
  ListOptions o;
  o.delimiter = "/";
  Listing l = ListAll(store(), o);
  EXPECT_EQ(l.keys, std::vector<std::string>{"same"});
  EXPECT_EQ(l.prefixes, std::vector<std::string>{"same/"});
}

TEST_P(ObjectStoreConformance, ListDelimiter) {
  for (const char* k : {"top", "dir1/x", "dir1/y", "dir2/sub/z", "dir2/w", "dir10/q"}) {
    ASSERT_TRUE(store().Put(k, "v").ok());
  }
  ListOptions o;
  o.delimiter = "/";
  Listing l = ListAll(store(), o);
  EXPECT_EQ(l.keys, std::vector<std::string>{"top"});
  EXPECT_EQ(l.prefixes, (std::vector<std::string>{"dir1/", "dir10/", "dir2/"}));
  o.prefix = "dir2/";
  l = ListAll(store(), o);
  EXPECT_EQ(l.keys, std::vector<std::string>{"dir2/w"});
  EXPECT_EQ(l.prefixes, std::vector<std::string>{"dir2/sub/"});
  o.prefix = "dir1";
  l = ListAll(store(), o);
  EXPECT_TRUE(l.keys.empty());
  EXPECT_EQ(l.prefixes, (std::vector<std::string>{"dir1/", "dir10/"}));
}

TEST_P(ObjectStoreConformance, ListStartAfter) {
  std::vector<std::string> keys;
  for (int i = 0; i < 10; ++i) keys.push_back("s/k" + std::to_string(i));
  ASSERT_TRUE(PutMany(store(), keys, 2));
  ListOptions o;
  o.prefix = "s/";
  o.start_after = "s/k4";
  EXPECT_EQ(ListAll(store(), o).keys, std::vector<std::string>(keys.begin() + 5, keys.end()));
  o.start_after = "s/k45";  // not a key: starts at the next one
  EXPECT_EQ(ListAll(store(), o).keys, std::vector<std::string>(keys.begin() + 5, keys.end()));
  o.start_after = "s/k9";
  EXPECT_TRUE(ListAll(store(), o).keys.empty());
  o.start_after = "r";  // before the prefix: no effect
  EXPECT_EQ(ListAll(store(), o).keys, keys);
}

TEST_P(ObjectStoreConformance, ListEmpty) {
  ASSERT_TRUE(store().Put("present", "v").ok());
  auto page = store().List(ListOptions{.prefix = "absent/"});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->objects.empty());
  EXPECT_TRUE(page->common_prefixes.empty());
  EXPECT_FALSE(page->truncated);
}

TEST_P(ObjectStoreConformance, ListPaginationOver1000Keys) {
  constexpr int kKeys = 1100;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "p/%05d", i);
    keys.push_back(buf);
  }
  ASSERT_TRUE(PutMany(store(), keys, 8));
  ListOptions o;
  o.prefix = "p/";
  auto first = store().List(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->objects.size(), 1000u);
  EXPECT_TRUE(first->truncated);
  Listing all = ListAll(store(), o);
  EXPECT_EQ(all.pages, 2);
  EXPECT_EQ(all.keys, keys);
  o.limit = 250;
  all = ListAll(store(), o);
  EXPECT_EQ(all.pages, 5);
  EXPECT_EQ(all.keys, keys);
}

TEST_P(ObjectStoreConformance, ListDelimiterPagination) {
  std::vector<std::string> keys, want_prefixes, want_keys;
  for (int d = 0; d < 12; ++d) {
    std::string dir = "q/d" + std::to_string(10 + d) + "/";
    want_prefixes.push_back(dir);
    keys.push_back(dir + "a");
    keys.push_back(dir + "b/c");
  }
  for (int f = 0; f < 5; ++f) want_keys.push_back("q/f" + std::to_string(f));
  keys.insert(keys.end(), want_keys.begin(), want_keys.end());
  ASSERT_TRUE(PutMany(store(), keys, 4));
  ListOptions o;
  o.prefix = "q/";
  o.delimiter = "/";
  o.limit = 5;
  Listing l = ListAll(store(), o);
  EXPECT_EQ(l.prefixes, want_prefixes);  // each exactly once, across page boundaries
  EXPECT_EQ(l.keys, want_keys);
  EXPECT_EQ(l.pages, 4);
}

// ---- multipart -----------------------------------------------------------------------------

constexpr size_t kPartSize = 5 << 20;  // S3's minimum for every part but the last

TEST_P(ObjectStoreConformance, MultipartComplete) {
  auto id = store().CreateMultipart("mp/obj");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  std::string p1 = Pattern(kPartSize, 11), p2 = Pattern(1024, 12);
  auto e1 = store().UploadPart("mp/obj", *id, 1, p1);
  auto e2 = store().UploadPart("mp/obj", *id, 2, p2);
  ASSERT_TRUE(e1.ok() && e2.ok()) << e1.status().ToString() << e2.status().ToString();
  EXPECT_EQ(store().Head("mp/obj").code(), Code::kNotFound);  // invisible until completed
  ASSERT_TRUE(
      store().CompleteMultipart("mp/obj", *id, {{1, *e1, p1.size()}, {2, *e2, p2.size()}}).ok());
  auto got = store().Get("mp/obj");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == p1 + p2);
  EXPECT_EQ(store().Head("mp/obj")->size, p1.size() + p2.size());
  auto tail = store().Get("mp/obj", kPartSize - 2, 4);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, p1.substr(kPartSize - 2) + p2.substr(0, 2));
}

TEST_P(ObjectStoreConformance, MultipartPartsUploadedOutOfOrder) {
  auto id = store().CreateMultipart("mp/ooo");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  std::string p1 = Pattern(kPartSize, 21), p2 = Pattern(333, 22);
  auto e2 = store().UploadPart("mp/ooo", *id, 2, p2);
  auto e1 = store().UploadPart("mp/ooo", *id, 1, p1);
  ASSERT_TRUE(e1.ok() && e2.ok());
  ASSERT_TRUE(
      store().CompleteMultipart("mp/ooo", *id, {{1, *e1, p1.size()}, {2, *e2, p2.size()}}).ok());
  EXPECT_TRUE(*store().Get("mp/ooo") == p1 + p2);
}

TEST_P(ObjectStoreConformance, MultipartListParts) {
  auto id = store().CreateMultipart("mp/lp");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  std::string p1 = Pattern(kPartSize, 31), p2 = Pattern(77, 32);
  auto e1 = store().UploadPart("mp/lp", *id, 1, p1);
  auto e2 = store().UploadPart("mp/lp", *id, 2, p2);
  ASSERT_TRUE(e1.ok() && e2.ok());
  auto parts = store().ListParts("mp/lp", *id);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].number, 1);
  EXPECT_EQ((*parts)[0].size, p1.size());
  EXPECT_EQ((*parts)[0].etag, *e1);
  EXPECT_EQ((*parts)[1].number, 2);
  EXPECT_EQ((*parts)[1].size, p2.size());
  EXPECT_EQ((*parts)[1].etag, *e2);
  EXPECT_TRUE(store().CompleteMultipart("mp/lp", *id, *parts).ok());
  EXPECT_TRUE(*store().Get("mp/lp") == p1 + p2);
}

TEST_P(ObjectStoreConformance, MultipartAbort) {
  auto id = store().CreateMultipart("mp/ab");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(store().UploadPart("mp/ab", *id, 1, "data").ok());
  ASSERT_TRUE(store().AbortMultipart("mp/ab", *id).ok());
  EXPECT_EQ(store().UploadPart("mp/ab", *id, 2, "more").code(), Code::kNotFound);
  EXPECT_EQ(store().ListParts("mp/ab", *id).code(), Code::kNotFound);
  EXPECT_EQ(store().Head("mp/ab").code(), Code::kNotFound);
  EXPECT_TRUE(ListAll(store(), {}).keys.empty());
}

TEST_P(ObjectStoreConformance, MultipartUnknownUpload) {
  EXPECT_EQ(store().UploadPart("mp/x", "no-such-upload", 1, "d").code(), Code::kNotFound);
  EXPECT_FALSE(store().CompleteMultipart("mp/x", "no-such-upload", {{1, "etag", 1}}).ok());
  EXPECT_EQ(store().Head("mp/x").code(), Code::kNotFound);
}

// ---- awkward keys and concurrency ----------------------------------------------------------

TEST_P(ObjectStoreConformance, KeysWithSpacesAndUnicode) {
  const std::vector<std::string> keys = {
      "dir with spaces/file name.txt", "ünïcødé/日本語.bin", "emoji/😀",         "tilde~and-dash",
      "percent%20not-escaped",         "q?uery&amp=1",       "semi;colon,comma"};
  for (const auto& k : keys) ASSERT_TRUE(store().Put(k, "body:" + k).ok()) << k;
  for (const auto& k : keys) {
    auto got = store().Get(k);
    ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
    EXPECT_EQ(*got, "body:" + k);
    EXPECT_EQ(store().Head(k)->size, 5 + k.size()) << k;
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ListAll(store(), {}).keys, sorted);
  ListOptions o;
  o.prefix = "ünïcødé/";
  EXPECT_EQ(ListAll(store(), o).keys, std::vector<std::string>{"ünïcødé/日本語.bin"});
  for (const auto& k : keys) EXPECT_TRUE(store().Delete(k).ok()) << k;
  EXPECT_TRUE(ListAll(store(), {}).keys.empty());
}

TEST_P(ObjectStoreConformance, ConcurrentPutsSameKey) {
  constexpr int kWriters = 4;
  constexpr int kRounds = 5;
  constexpr size_t kSize = 256 << 10;
  std::vector<std::string> bodies;
  for (int w = 0; w < kWriters; ++w)
    bodies.push_back(std::string(kSize, static_cast<char>('A' + w)));
  ASSERT_TRUE(store().Put("same", bodies[0]).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done) {
      auto got = store().Get("same");
      if (!got.ok() || got->size() != kSize ||
          std::count(got->begin(), got->end(), (*got)[0]) != static_cast<long>(kSize)) {
        ++torn;
      }
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int r = 0; r < kRounds; ++r) {
        if (!store().Put("same", bodies[w]).ok()) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(torn, 0) << "a reader saw a missing, partial or mixed body";
  auto final_body = store().Get("same");
  ASSERT_TRUE(final_body.ok());
  EXPECT_NE(std::find(bodies.begin(), bodies.end(), *final_body), bodies.end());
}

}  // namespace strata::object::conformance
