#include "client/options_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strata::client {
namespace {

TEST(OptionsJsonTest, ShowsTheOptionsAndMasksThePassword) {
  ClientOptions o;
  o.meta_url = "redis://:hunter2@127.0.0.1:6379/3";
  o.writer.buffer_size = 64 << 20;
  o.volume.mount_point = "/mnt/x";
  std::string text = OptionsJson(o, "vol", "https://user:s3cr3t@host/bucket");
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  auto j = nlohmann::json::parse(text);
  EXPECT_NE(j["meta_url"].get<std::string>().find("****"), std::string::npos);
  EXPECT_EQ(j["volume"], "vol");
  EXPECT_EQ(j["mount_point"], "/mnt/x");
  EXPECT_EQ(j["writer"]["buffer_size"], 64 << 20);
  EXPECT_EQ(j["reader"]["local_readahead_max"], o.reader.local_readahead_max);
  EXPECT_EQ(j["reader"]["local_readahead_after"], o.reader.local_readahead_after);
  EXPECT_EQ(j["version"], 1);
}

TEST(OptionsJsonTest, AnUnparsableUrlIsNotShown) {
  ClientOptions o;
  o.meta_url = "::not a url with pass::";
  auto j = nlohmann::json::parse(OptionsJson(o, "", ""));
  EXPECT_EQ(j["meta_url"], "****");
}

}  // namespace
}  // namespace strata::client
