// Storage URL -> endpoint, bucket, region, addressing style and credentials; no network.
#include "object/s3/s3_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <unistd.h>

namespace strata::object::s3 {
namespace {

// A fake environment: only what the test puts in it.
EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Uri Parse(const std::string& url) {
  auto r = ParseUri(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().ToString();
  return r.ok() ? *r : Uri{};
}

StoreOptions Keys() {
  StoreOptions o;
  o.access_key = "AK";
  o.secret_key = "SK";
  return o;
}

TEST(S3ConfigTest, AwsBucketIsVirtualHostedInItsRegion) {
  auto c = ParseS3Config(Parse("s3://my-bucket"), Keys(), Env({{"AWS_REGION", "eu-west-3"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const S3Endpoint& ep = c->endpoint;
  EXPECT_EQ(ep.BaseUrl(), "https://my-bucket.s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(ep.PathFor("a b/c"), "/a b/c");
  EXPECT_EQ(ep.PathFor(""), "/");
  EXPECT_EQ(ep.region, "eu-west-3");
  EXPECT_EQ(ep.Describe(), "s3://my-bucket (https://my-bucket.s3.eu-west-3.amazonaws.com)");
}

TEST(S3ConfigTest, DefaultRegionAndDottedBucketUsesPathStyle) {
  auto c = ParseS3Config(Parse("s3://logs.example.com"), Keys(), Env({}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->endpoint.region, "us-east-1");
  EXPECT_EQ(c->endpoint.BaseUrl(), "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(c->endpoint.PathFor("k"), "/logs.example.com/k");
}

TEST(S3ConfigTest, RegionPrecedence) {
  StoreOptions o = Keys();
  o.region = "ap-south-1";
  auto from_opts = ParseS3Config(Parse("s3://b1b"), o, Env({{"AWS_REGION", "x"}}));
  ASSERT_TRUE(from_opts.ok());
  EXPECT_EQ(from_opts->endpoint.region, "ap-south-1");
  auto from_url = ParseS3Config(Parse("s3://b1b?region=auto"), o, Env({}));
  ASSERT_TRUE(from_url.ok());
  EXPECT_EQ(from_url->endpoint.region, "auto");
  auto from_default_env =
      ParseS3Config(Parse("s3://b1b"), Keys(), Env({{"AWS_DEFAULT_REGION", "sa-east-1"}}));
  ASSERT_TRUE(from_default_env.ok());
  EXPECT_EQ(from_default_env->endpoint.region, "sa-east-1");
}

TEST(S3ConfigTest, HttpEndpointIsPathStyleWithPortAndPrefix) {
  auto c = ParseS3Config(Parse("http://127.0.0.1:9000/bucket/vol/one/"), Keys(), Env({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const S3Endpoint& ep = c->endpoint;
  EXPECT_EQ(ep.bucket, "bucket");
  EXPECT_EQ(ep.prefix, "vol/one/");
  EXPECT_EQ(ep.HostHeader(), "127.0.0.1:9000");
  EXPECT_EQ(ep.BaseUrl(), "http://127.0.0.1:9000");
  EXPECT_EQ(ep.PathFor("vol/one/k"), "/bucket/vol/one/k");
  EXPECT_EQ(ep.PathFor(""), "/bucket");
  EXPECT_EQ(ep.Describe(), "http://127.0.0.1:9000/bucket/vol/one");
}

TEST(S3ConfigTest, HttpsDefaultPortIsNotInHostAndVirtualHostedOption) {
  auto c = ParseS3Config(
      Parse("https://acct.r2.cloudflarestorage.com:443/data?virtual-hosted=true&region=auto"),
      Keys(), Env({}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->endpoint.HostHeader(), "data.acct.r2.cloudflarestorage.com");
  EXPECT_EQ(c->endpoint.PathFor("k"), "/k");
  EXPECT_EQ(c->endpoint.region, "auto");
}

TEST(S3ConfigTest, BadUrlsNameTheProblem) {
  auto no_bucket = ParseS3Config(Parse("http://127.0.0.1:9000/"), Keys(), Env({}));
  EXPECT_EQ(no_bucket.code(), Code::kInvalidArgument);
  EXPECT_NE(no_bucket.status().message().find("no bucket"), std::string_view::npos);
  auto bad_option = ParseS3Config(Parse("s3://bucket?colour=red"), Keys(), Env({}));
  EXPECT_EQ(bad_option.code(), Code::kInvalidArgument);
  EXPECT_NE(bad_option.status().message().find("colour"), std::string_view::npos);
  auto bad_bool = ParseS3Config(Parse("s3://bucket?virtual-hosted=maybe"), Keys(), Env({}));
  EXPECT_EQ(bad_bool.code(), Code::kInvalidArgument);
  auto bad_name = ParseS3Config(Parse("http://h/bu%20cket"), Keys(), Env({}));
  EXPECT_EQ(bad_name.code(), Code::kInvalidArgument);
}

TEST(S3ConfigTest, CredentialsFromOptionsWinOverEnvironment) {
  StoreOptions o = Keys();
  o.session_token = "TOK";
  auto c = ResolveCredentials(o, Env({{"AWS_ACCESS_KEY_ID", "E"}, {"AWS_SECRET_ACCESS_KEY", "F"}}),
                              "s3://b");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key, "AK");
  EXPECT_EQ(c->secret_key, "SK");
  EXPECT_EQ(c->session_token, "TOK");
}

TEST(S3ConfigTest, CredentialsFromEnvironment) {
  auto c = ResolveCredentials(StoreOptions{},
                              Env({{"AWS_ACCESS_KEY_ID", "E"},
                                   {"AWS_SECRET_ACCESS_KEY", "F"},
                                   {"AWS_SESSION_TOKEN", "G"}}),
                              "s3://b");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key, "E");
  EXPECT_EQ(c->secret_key, "F");
  EXPECT_EQ(c->session_token, "G");
}

TEST(S3ConfigTest, MissingCredentialsIsAClearError) {
  auto c = ResolveCredentials(StoreOptions{}, Env({{"HOME", "/nonexistent-home"}}), "s3://b");
  ASSERT_EQ(c.code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("no credentials for s3://b"), std::string_view::npos);
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID"), std::string_view::npos);
  StoreOptions half;
  half.access_key = "AK";
  EXPECT_EQ(ResolveCredentials(half, Env({}), "s3://b").code(), Code::kInvalidArgument);
}

class CredentialsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/strata_s3_creds_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(CredentialsFileTest, ColonForm) {
  Write("ACCESS123:se/cr+et=\n");
  StoreOptions o;
  o.credentials_file = path_;
  auto c = ResolveCredentials(o, Env({}), "s3://b");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key, "ACCESS123");
  EXPECT_EQ(c->secret_key, "se/cr+et=");
}

TEST_F(CredentialsFileTest, IniProfiles) {
  Write("[default]\naws_access_key_id = D1\naws_secret_access_key = D2\n\n"
        "[profile work]\naws_access_key_id=W1\naws_secret_access_key=W2\naws_session_token=W3\n");
  StoreOptions o;
  o.credentials_file = path_;
  auto d = ResolveCredentials(o, Env({}), "s3://b");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->access_key, "D1");
  EXPECT_EQ(d->secret_key, "D2");
  auto w = ResolveCredentials(o, Env({{"AWS_PROFILE", "work"}}), "s3://b");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->access_key, "W1");
  EXPECT_EQ(w->session_token, "W3");
  // The shared file is found through AWS_SHARED_CREDENTIALS_FILE when nothing else is set.
  auto shared = ResolveCredentials(StoreOptions{}, Env({{"AWS_SHARED_CREDENTIALS_FILE", path_}}),
                                   "s3://b");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->access_key, "D1");
}

TEST_F(CredentialsFileTest, UnreadableOrEmptyFileIsAnError) {
  StoreOptions o;
  o.credentials_file = path_ + ".missing";
  EXPECT_EQ(ResolveCredentials(o, Env({}), "s3://b").code(), Code::kInvalidArgument);
  Write("[other]\naws_access_key_id=X\n");
  o.credentials_file = path_;
  auto c = ResolveCredentials(o, Env({}), "s3://b");
  EXPECT_EQ(c.code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("[default]"), std::string_view::npos);
}

}  // namespace
}  // namespace strata::object::s3
