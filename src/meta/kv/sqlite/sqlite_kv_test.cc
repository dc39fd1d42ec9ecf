// SqliteKv: the conformance suite on a database file in a temporary directory, plus what is
// particular to SQLite: URL and file errors, several engines on one file, and durability of a
// committed transaction across a SIGKILL.
#include "meta/kv/sqlite/sqlite_kv.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "meta/kv/testing/kv_conformance.h"
#include "tests/support/process.h"

namespace strata::kv {
namespace {

using conformance::KvConformanceTest;
using conformance::KvEngineFactory;

// One temporary directory for the whole binary, removed at exit.
class TempDirEnv : public ::testing::Environment {
 public:
  static const std::string& Dir() {
    static const std::string dir = strata::testing::MakeTempDir("strata-sqlite-kv");
    return dir;
  }
  void TearDown() override { strata::testing::RemoveTree(Dir()); }
};
[[maybe_unused]] ::testing::Environment* const kTempDirEnv =
    ::testing::AddGlobalTestEnvironment(new TempDirEnv);

KvEngineFactory SqliteFactory() {
  KvEngineFactory f;
  f.name = "sqlite";
  f.open = []() -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, SqliteKv::OpenUrl("sqlite3://" + TempDirEnv::Dir() + "/meta.db"));
    return std::shared_ptr<KvEngine>(std::move(kv));
  };
  f.serializes_writers = true;
  return f;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, KvConformanceTest, ::testing::Values(SqliteFactory()),
                         conformance::FactoryName);

class SqliteKvTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = strata::testing::MakeTempDir("strata-sqlite-kv-unit"); }
  void TearDown() override { strata::testing::RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(SqliteKvTest, BadPathsAndFilesGiveClearErrors) {
  auto missing = SqliteKv::OpenUrl("sqlite3://" + dir_ + "/no/such/dir/meta.db");
  EXPECT_EQ(missing.code(), Code::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("does not exist"), std::string_view::npos);

  auto directory = SqliteKv::Open(dir_);
  EXPECT_EQ(directory.code(), Code::kInvalidArgument) << directory.status().ToString();

  std::string junk = dir_ + "/junk.db";
  std::ofstream(junk) << std::string(8192, 'x');
  auto not_db = SqliteKv::Open(junk);
  EXPECT_EQ(not_db.code(), Code::kCorruption) << not_db.status().ToString();
  EXPECT_NE(not_db.status().message().find("not a SQLite database"), std::string_view::npos);

  EXPECT_EQ(SqliteKv::OpenUrl("sqlite3://host/meta.db").code(), Code::kInvalidArgument);
  EXPECT_EQ(SqliteKv::OpenUrl("sqlite3://" + dir_ + "/m.db?sync=maybe").code(),
            Code::kInvalidArgument);
  EXPECT_EQ(SqliteKv::OpenUrl("sqlite3://" + dir_ + "/m.db?cache=big").code(),
            Code::kInvalidArgument);
}

TEST_F(SqliteKvTest, RegistryOpensItAndDataPersistsAcrossEngines) {
  KvRegistry registry;
  RegisterSqliteKv(registry);
  std::string url = "sqlite3://" + dir_ + "/meta.db?sync=full";
  {
    auto a = registry.Open(url);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ((*a)->Describe(), "sqlite3://" + dir_ + "/meta.db");
    ASSERT_TRUE(conformance::PutOne(**a, std::string("k\0", 2), "v").ok());
    auto b = registry.Open(url);  // a second mount of the same file
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(conformance::Read(**b, std::string("k\0", 2)), "v");
    ASSERT_TRUE((*a)->Sync().ok());
  }
  auto again = SqliteKv::Open(dir_ + "/meta.db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(conformance::Read(**again, std::string("k\0", 2)), "v");
}

TEST_F(SqliteKvTest, CommittedTransactionSurvivesSigkill) {
  std::string path = dir_ + "/killed.db";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child commits, then dies without closing anything (synchronous=NORMAL).
    auto kv = SqliteKv::Open(path);
    if (!kv.ok() || !conformance::PutOne(**kv, "survivor", "yes").ok()) _exit(1);
    auto txn = (*kv)->Begin(false);  // and one left open, never committed
    if (txn.ok()) (*txn)->Put("uncommitted", "no");
    kill(getpid(), SIGKILL);
    _exit(2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
  auto kv = SqliteKv::Open(path);
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(conformance::Read(**kv, "survivor"), "yes");
  EXPECT_EQ(conformance::Read(**kv, "uncommitted"), "<absent>");
}

TEST_F(SqliteKvTest, WriteInReadOnlyTransactionFailsCommit) {
  auto kv = SqliteKv::Open(dir_ + "/ro.db");
  ASSERT_TRUE(kv.ok());
  auto t = (*kv)->Begin(true);
  ASSERT_TRUE(t.ok());
  (*t)->Put("x", "y");
  EXPECT_FALSE((*t)->Commit().ok());
  EXPECT_EQ(conformance::Read(**kv, "x"), "<absent>");
}

}  // namespace
}  // namespace strata::kv
