#include "csi/secrets.h"

#include <gtest/gtest.h>

#include "csi/errors.h"
#include "csi/options.h"
#include "csi/volume_dirs.h"

namespace strata::csi {
namespace {

client::Registries Builtins() {
  client::Registries r;
  client::RegisterBuiltins(r);
  return r;
}

TEST(Secrets, MetaUrlAndKeys) {
  auto reg = Builtins();
  bool bad = true;
  auto s = ParseSecrets(
      {{"metaurl", "redis://:pw1234@10.0.0.1:6379/2"}, {"access_key", "AK"}, {"secret-key", "SK"}},
      reg, &bad);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(bad);
  EXPECT_EQ(s->meta_url, "redis://:pw1234@10.0.0.1:6379/2");
  EXPECT_EQ(s->masked_url.find("pw1234"), std::string::npos);
  ASSERT_EQ(s->env.size(), 2u);
  EXPECT_EQ(s->env[0].first, "AWS_ACCESS_KEY_ID");
  EXPECT_EQ(s->env[1].second, "SK");
  EXPECT_EQ(Scrub("failed: redis://:pw1234@10.0.0.1:6379/2 said pw1234", *s),
            "failed: **** said ****");
}

TEST(Secrets, MissingOrBad) {
  auto reg = Builtins();
  bool bad = false;
  auto s = ParseSecrets({}, reg, &bad);
  EXPECT_TRUE(s.status().Is(Code::kInvalidArgument));
  EXPECT_FALSE(bad) << "a missing metaurl is a bad request, not a bad volume";
  s = ParseSecrets({{"metaurl", "nosuch://host/x"}}, reg, &bad);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(bad);
  s = ParseSecrets({{"metaurl", "memkv://"}, {"access-key", "AK"}}, reg, &bad);
  EXPECT_TRUE(s.status().Is(Code::kInvalidArgument));
  EXPECT_FALSE(bad);
}

TEST(Errors, CodesAtTheEdge) {
  EXPECT_EQ(ToGrpc(Status::OK()).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(ToGrpcCode(Code::kInvalidArgument), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcCode(Code::kNotFound), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcCode(Code::kAlreadyExists), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ToGrpcCode(Code::kUnavailable), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcCode(Code::kNotDir), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcCode(Code::kIOError), grpc::StatusCode::INTERNAL);
  auto g = ToGrpc(Status::NotFound("no such volume"));
  EXPECT_EQ(g.error_message(), "no such volume");
}

TEST(Options, EndpointModeNode) {
  CsiOptions o;
  o.endpoint = "unix:///run/csi/csi.sock";
  o.node_id = "n1";
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(*o.SocketPath(), "/run/csi/csi.sock");
  o.endpoint = "tcp://0.0.0.0:1";
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));
  o.endpoint = "unix://relative.sock";
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));
  o.endpoint = "unix:///run/csi.sock";
  o.node_id.clear();
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));
  o.mode = Mode::kController;
  EXPECT_TRUE(o.Validate().ok()) << "the controller needs no node id";
  EXPECT_TRUE(ParseMode("nodes").status().Is(Code::kInvalidArgument));
}

TEST(VolumePath, Normalised) {
  EXPECT_EQ(*NormalizeVolumePath("/a//b/./c/"), "a/b/c");
  EXPECT_EQ(*NormalizeVolumePath(""), "");
  EXPECT_TRUE(NormalizeVolumePath("a/../b").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(NormalizeVolumePath("/.trash/x").status().Is(Code::kInvalidArgument));
  EXPECT_EQ(*NormalizeVolumePath("a/.trash"), "a/.trash");  // only the root's is the trash
  EXPECT_TRUE(NormalizeVolumePath(std::string(256, 'x')).status().Is(Code::kNameTooLong));
}

}  // namespace
}  // namespace strata::csi
