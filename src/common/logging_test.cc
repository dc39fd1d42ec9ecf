#include "common/logging.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace strata::logging {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata_log_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    // Back to the default (stderr, info) so other tests are unaffected.
    EXPECT_TRUE(InitLogging({}).ok());
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST(LogLevelTest, ParsesFlagValues) {
  EXPECT_EQ(*ParseLogLevel("debug"), Level::kDebug);
  EXPECT_EQ(*ParseLogLevel("INFO"), Level::kInfo);
  EXPECT_EQ(*ParseLogLevel("warn"), Level::kWarn);
  EXPECT_EQ(*ParseLogLevel("Warning"), Level::kWarn);
  EXPECT_EQ(*ParseLogLevel("error"), Level::kError);
  EXPECT_EQ(*ParseLogLevel("off"), Level::kOff);
  auto bad = ParseLogLevel("verbose");
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "unknown log level 'verbose' (expected debug, info, warn, error or off)");
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    EXPECT_EQ(*ParseLogLevel(LevelName(l)), l);
  }
}

TEST_F(LoggingTest, WritesFormattedLinesAtOrAboveTheLevel) {
  std::string path = dir_ + "/strata.log";
  ASSERT_TRUE(InitLogging({.level = Level::kInfo, .file = path}).ok());
  EXPECT_EQ(GetLevel(), Level::kInfo);
  LOG_DEBUG("hidden {}", 1);
  LOG_INFO("uploaded {} blocks to {}", 3, "s3://b");
  int line = __LINE__ - 1;
  LOG_WARN("slow: {:.1f} ms", 12.345);
  LOG_ERROR("failed: {}", "EIO");
  Flush();
  std::string text = Slurp(path);
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find(" info "), std::string::npos) << text;
  EXPECT_NE(text.find("logging_test.cc:" + std::to_string(line) + " uploaded 3 blocks to s3://b"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" warning "), std::string::npos) << text;
  EXPECT_NE(text.find("slow: 12.3 ms"), std::string::npos) << text;
  EXPECT_NE(text.find(" error "), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
}

TEST_F(LoggingTest, LevelCanChangeAtRunTime) {
  std::string path = dir_ + "/strata.log";
  ASSERT_TRUE(InitLogging({.level = Level::kError, .file = path}).ok());
  LOG_WARN("first warning");
  SetLevel(Level::kDebug);
  EXPECT_TRUE(Enabled(Level::kDebug));
  LOG_DEBUG("now visible");
  SetLevel(Level::kOff);
  LOG_ERROR("silenced");
  Flush();
  std::string text = Slurp(path);
  EXPECT_EQ(text.find("first warning"), std::string::npos);
  EXPECT_NE(text.find("now visible"), std::string::npos);
  EXPECT_EQ(text.find("silenced"), std::string::npos);
}

TEST_F(LoggingTest, RateLimitedSiteWritesOneLinePerIntervalAndCountsTheRest) {
  std::string path = dir_ + "/strata.log";
  ASSERT_TRUE(InitLogging({.level = Level::kInfo, .file = path}).ok());
  for (int i = 0; i < 50; i++) LOG_WARN_EVERY("store down: attempt {}", i);
  Flush();
  std::string text = Slurp(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("store down: attempt 0 (0 similar lines suppressed)"), std::string::npos)
      << text;

  RateLimiter rl(/*interval_ms=*/0);  // every call admitted, nothing dropped
  uint64_t dropped = 7;
  EXPECT_TRUE(rl.Admit(&dropped));
  EXPECT_EQ(dropped, 0u);
  RateLimiter slow(/*interval_ms=*/600000);
  EXPECT_TRUE(slow.Admit(&dropped));
  EXPECT_FALSE(slow.Admit(&dropped));
  EXPECT_FALSE(slow.Admit(&dropped));
}

TEST_F(LoggingTest, UnopenableFileIsAnIOError) {
  // spdlog creates missing parent directories, so make the parent a regular file.
  std::ofstream(dir_ + "/plainfile") << "x";
  Status s = InitLogging({.file = dir_ + "/plainfile/log"});
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find("plainfile/log"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace strata::logging
