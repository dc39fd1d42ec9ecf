// The conformance suite on the S3 backend against a real S3-compatible server (s3rver on a
// free loopback port, tests/support/s3rver.h), plus what only S3 has: credentials refused with
// 403, a bucket that does not exist, an unreachable endpoint, keys that need escaping
// (including '+', which s3rver turns into a space when it arrives unescaped), multipart Put
// of large bodies, key prefixes in the URL, presigned URLs and the registry's schemes.
//
// s3rver lacks ListParts, ListMultipartUploads and AbortMultipartUpload (it answers 405), does
// not check upload ids, and is not atomic under concurrent PUTs of one key: only the cases
// needing those are skipped, by name, and only for s3rver. It also cannot route keys with
// "//" in them, so the escaping test here avoids that key. It does not check
// signatures; src/object/s3/sigv4_test.cc proves signing against botocore instead.
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "object/registry.h"
#include "object/s3/http_client.h"
#include "object/s3/s3_store.h"
#include "tests/object/conformance.h"
#include "tests/support/process.h"
#include "tests/support/s3rver.h"

namespace strata::object::conformance {
namespace {

using strata::testing::S3rver;

// One server for the whole binary, started on first use (cases of other backends in this
// binary never pay for it) and stopped by PID when the binary exits.
Result<S3rver*> SharedServer() {
  static std::once_flag once;
  static std::unique_ptr<S3rver> server;
  static Status failure;
  std::call_once(once, [] {
    auto started = S3rver::Start("strata-conformance");
    if (started.ok()) {
      server = std::move(*started);
    } else {
      failure = started.status();
    }
  });
  if (!server) return failure;
  return server.get();
}

StoreOptions S3rverOptions() {
  StoreOptions o;
  o.access_key = S3rver::kAccessKey;
  o.secret_key = S3rver::kSecretKey;
  o.region = S3rver::kRegion;
  o.connect_timeout_ms = 2000;
  o.request_timeout_ms = 60000;
  return o;
}

Result<std::unique_ptr<s3::S3Store>> OpenS3Url(const std::string& url,
                                               const StoreOptions& opts = S3rverOptions()) {
  ASSIGN_OR_RETURN(Uri uri, ParseUri(url));
  return s3::S3Store::Open(uri, opts);
}

Result<std::shared_ptr<ObjectStore>> OpenS3() {
  ASSIGN_OR_RETURN(S3rver * server, SharedServer());
  ASSIGN_OR_RETURN(auto store, OpenS3Url(server->bucket_url()));
  return std::shared_ptr<ObjectStore>(std::move(store));
}

INSTANTIATE_TEST_SUITE_P(
    S3, ObjectStoreConformance,
    ::testing::Values(ConformanceTarget{
        "s3rver",
        OpenS3,
        // ListParts, AbortMultipartUpload: s3rver answers 405. MultipartUnknownUpload: it
        // accepts parts for an upload id it never issued. ConcurrentPutsSameKey: it writes
        // objects in place, so a concurrent GET sees mixed or truncated bodies (checked by
        // hand: the torn bodies come from the server with a correct length).
        {"MultipartListParts", "MultipartAbort", "MultipartUnknownUpload",
         "ConcurrentPutsSameKey"},
        /*shared=*/true}),
    ConformanceTargetName);

// ---- S3-only behaviour ---------------------------------------------------------------------

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = SharedServer();
    if (!server.ok() && server.code() == Code::kNotSupported) {
      GTEST_SKIP() << server.status().ToString();
    }
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *server;
    // Each test works under its own prefix of the shared bucket.
    prefix_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
  }
  std::unique_ptr<s3::S3Store> Open(const StoreOptions& opts = S3rverOptions()) {
    auto s = OpenS3Url(server_->bucket_url(), opts);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  S3rver* server_ = nullptr;
  std::string prefix_;
};

TEST_F(S3StoreTest, UnknownAccessKeyIsPermissionDeniedSaying403) {
  StoreOptions o = S3rverOptions();
  o.access_key = "NOT-A-KNOWN-KEY";
  auto store = Open(o);
  ASSERT_TRUE(store);
  Status put = store->Put(prefix_ + "k", "v");
  EXPECT_EQ(put.code(), Code::kPermissionDenied) << put.ToString();
  EXPECT_NE(put.message().find("403"), std::string_view::npos) << put.ToString();
  EXPECT_FALSE(put.IsRetryable());
  auto list = store->List(ListOptions{});
  EXPECT_EQ(list.code(), Code::kPermissionDenied) << list.status().ToString();
}

TEST_F(S3StoreTest, MissingBucketIsAClearNotFound) {
  auto store = OpenS3Url(server_->endpoint() + "/no-such-bucket");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Status put = (*store)->Put("k", "v");
  EXPECT_EQ(put.code(), Code::kNotFound) << put.ToString();
  EXPECT_NE(put.message().find("bucket no-such-bucket does not exist"), std::string_view::npos)
      << put.ToString();
  auto list = (*store)->List(ListOptions{});
  EXPECT_EQ(list.code(), Code::kNotFound);
  EXPECT_NE(list.status().message().find("does not exist"), std::string_view::npos)
      << list.status().ToString();
}

TEST(S3UnreachableTest, NothingListeningFailsWithUnavailableNamingTheEndpoint) {
  const int port = strata::testing::FreePort();
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
  StoreOptions o = S3rverOptions();
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 3000;
  auto store = OpenS3Url(endpoint + "/bucket", o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Status put = (*store)->Put("k", "v");
  EXPECT_EQ(put.code(), Code::kUnavailable) << put.ToString();
  EXPECT_TRUE(put.IsRetryable());
  EXPECT_NE(put.message().find("127.0.0.1:" + std::to_string(port)), std::string_view::npos)
      << put.ToString();
  EXPECT_EQ((*store)->Get("k").code(), Code::kUnavailable);
  EXPECT_EQ((*store)->Head("k").code(), Code::kUnavailable);
}

TEST_F(S3StoreTest, KeysNeedingEscapingRoundTripAndStayDistinct) {
  auto store = Open();
  ASSERT_TRUE(store);
  // "a+b" and "a b" must be two objects: a '+' sent unescaped reaches s3rver as a space.
  const std::vector<std::string> keys = {
      "a+b",          "a b",           "plus+/and space/x", "eq=sign",   "tilde~star*",
      "ünï/日本語 +", "paren(1)!'$,;:@&", "percent%2B",        "emoji 😀"};
  for (const auto& k : keys) {
    ASSERT_TRUE(store->Put(prefix_ + k, "body of " + k).ok()) << k;
  }
  for (const auto& k : keys) {
    auto got = store->Get(prefix_ + k);
    ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
    EXPECT_EQ(*got, "body of " + k) << k;
  }
  ListOptions o;
  o.prefix = prefix_;
  auto page = store->List(o);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  std::vector<std::string> listed;
  for (const auto& obj : page->objects) listed.push_back(obj.key.substr(prefix_.size()));
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listed, want);
  // start-after and prefix with characters that need escaping in the query string.
  o.prefix = prefix_ + "a";
  o.start_after = prefix_ + "a b";
  page = store->List(o);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, prefix_ + "a+b");
  for (const auto& k : keys) EXPECT_TRUE(store->Delete(prefix_ + k).ok()) << k;
}

TEST_F(S3StoreTest, LargePutGoesThroughMultipartAndReadsBackWhole) {
  auto base = Open();
  ASSERT_TRUE(base);
  s3::S3Config cfg = base->config();
  cfg.multipart_threshold = 6u << 20;  // small, so the test stays small
  cfg.part_size = 5u << 20;
  auto store = s3::S3Store::Open(cfg);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string body(11u << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131) >> 7);
  PutOptions po;
  po.metadata = {{"Origin", "conformance"}};
  ASSERT_TRUE((*store)->Put(prefix_ + "big", body, po).ok());
  auto head = (*store)->Head(prefix_ + "big");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, body.size());
  auto got = (*store)->Get(prefix_ + "big");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == body) << "multipart body differs";
  // A range across the part boundary.
  auto cross = (*store)->Get(prefix_ + "big", (5u << 20) - 3, 6);
  ASSERT_TRUE(cross.ok());
  EXPECT_EQ(*cross, body.substr((5u << 20) - 3, 6));
  EXPECT_TRUE((*store)->Delete(prefix_ + "big").ok());
}

TEST_F(S3StoreTest, PutPartsStoresThePiecesAsOneObject) {
  // The block path: payload and trailer sent as one PUT without a joined copy; and past the
  // multipart threshold, joined and sent in parts.
  auto base = Open();
  ASSERT_TRUE(base);
  s3::S3Config cfg = base->config();
  cfg.multipart_threshold = 6u << 20;
  cfg.part_size = 5u << 20;
  auto store = s3::S3Store::Open(cfg);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (size_t payload_size : {size_t{4u << 20} + 1, size_t{7u << 20}}) {
    std::string payload(payload_size, '\0');
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131) >> 7);
    const std::string trailer = "strata-trailer";
    const std::string key = prefix_ + "blk" + std::to_string(payload_size);
    PutOptions po;
    po.metadata = {{"Origin", "conformance"}};
    Status st = (*store)->PutParts(key, {payload, "", trailer}, po);
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto head = (*store)->Head(key);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->size, payload.size() + trailer.size());
    auto got = (*store)->Get(key);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == payload + trailer) << "body differs for " << payload_size;
    EXPECT_TRUE((*store)->Delete(key).ok());
  }
  // No pieces at all is an empty object.
  ASSERT_TRUE((*store)->PutParts(prefix_ + "empty", {}).ok());
  auto empty = (*store)->Get(prefix_ + "empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, "");
  EXPECT_EQ((*store)->PutParts("", {"x"}).code(), Code::kInvalidArgument);
}

TEST_F(S3StoreTest, UrlPrefixConfinesKeys) {
  auto scoped = OpenS3Url(server_->bucket_url() + "/" + prefix_ + "vol");
  ASSERT_TRUE(scoped.ok()) << scoped.status().ToString();
  ASSERT_TRUE((*scoped)->Put("dir/file", "x").ok());
  auto whole = Open();
  ASSERT_TRUE(whole);
  auto raw = whole->Get(prefix_ + "vol/dir/file");
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(*raw, "x");
  ListOptions o;
  o.delimiter = "/";
  auto page = (*scoped)->List(o);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"dir/"});
  EXPECT_TRUE((*scoped)->Delete("dir/file").ok());
}

TEST_F(S3StoreTest, PresignedGetFetchesTheObject) {
  auto store = Open();
  ASSERT_TRUE(store);
  const std::string key = prefix_ + "shared file+1.txt";
  ASSERT_TRUE(store->Put(key, "shared body").ok());
  auto url = store->PresignGet(key, 300);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_NE(url->find("X-Amz-Signature="), std::string::npos);
  auto http = s3::HttpClient::Open(s3::HttpClientOptions{});
  ASSERT_TRUE(http.ok());
  s3::HttpRequest req;
  req.method = "GET";
  req.url = *url;
  auto resp = (*http)->Perform(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200) << resp->body;
  EXPECT_EQ(resp->body, "shared body");
  EXPECT_EQ(store->PresignGet(key, 0).code(), Code::kInvalidArgument);
  EXPECT_TRUE(store->Delete(key).ok());
}

TEST_F(S3StoreTest, RegistryOpensHttpAndS3Schemes) {
  StoreRegistry registry;
  RegisterS3Stores(registry);
  auto store = registry.Open(server_->bucket_url(), S3rverOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put(prefix_ + "via-registry", "r").ok());
  EXPECT_EQ(*(*store)->Get(prefix_ + "via-registry"), "r");
  EXPECT_TRUE((*store)->Delete(prefix_ + "via-registry").ok());
  // s3:// opens without any request; Describe names the AWS endpoint and no secret.
  auto aws = registry.Open("s3://strata-example-bucket?region=eu-west-1", S3rverOptions());
  ASSERT_TRUE(aws.ok()) << aws.status().ToString();
  EXPECT_EQ((*aws)->Describe(),
            "s3://strata-example-bucket (https://strata-example-bucket.s3.eu-west-1.amazonaws.com)");
  EXPECT_EQ((*aws)->Describe().find(S3rver::kSecretKey), std::string::npos);
}

TEST_F(S3StoreTest, ServerWithoutListPartsSaysNotSupported) {
  // Documents the s3rver gap the skipped conformance cases rely on; a real S3 lists parts.
  auto store = Open();
  ASSERT_TRUE(store);
  auto id = store->CreateMultipart(prefix_ + "mp");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto parts = store->ListParts(prefix_ + "mp", *id);
  EXPECT_EQ(parts.code(), Code::kNotSupported) << parts.status().ToString();
}

}  // namespace
}  // namespace strata::object::conformance
