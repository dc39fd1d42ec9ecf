// The fixture of the metadata conformance suite (tests/meta): a formatted volume on one of
// the engines, a Meta client on it, and helpers to open more clients on the same data.
//
// Use it from any file of the suite:
//   class FilesTest : public strata::meta::testing::MetaTest {};
//   TEST_P(FilesTest, Something) { ... meta().Mknod(Root(), ...) ... }
//   STRATA_META_INSTANTIATE(FilesTest);
//
// Engines (the test parameter): "memkv", "memkv_conflicts" (30% of commits fail with an
// injected kConflict, so every operation's retry path runs), "sqlite" (a temporary file),
// "redis" (a redis-server started once per test process on a free loopback port, stopped by
// PID at exit; the test is skipped when redis-server is not installed), "etcd" (one etcd
// member per test process), "postgres" (one PostgreSQL per test process); both skipped when
// not installed.
//
// Thread-safety: a fixture belongs to its test; Meta clients it returns are thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "meta/kv/kv.h"
#include "meta/meta.h"

namespace strata::meta::testing {

class MetaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Settings used at format time; a test may override before calling Reformat().
  VolumeFormat DefaultFormat() const;

  // The first client (opened in SetUp, no session).
  Meta& meta() { return *meta_; }
  kv::KvEngine& engine() { return *engine_; }
  std::shared_ptr<kv::KvEngine> shared_engine() { return engine_; }

  // A new engine object on the same data (a second "machine"): its own connections/handles.
  std::shared_ptr<kv::KvEngine> OpenEngine();
  // A new independent client on its own engine object.
  std::unique_ptr<Meta> OpenClient(const MetaOptions& opts = {});

  // Clears the engine and formats it again with `f`, reopening meta().
  void Reformat(const VolumeFormat& f);

  static Context Root() { return Context{}; }
  static Context User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
    Context c;
    c.uid = uid;
    c.gid = gid;
    c.groups = std::move(groups);
    return c;
  }

  // Convenience wrappers that fail the test on error.
  Ino MustMkdir(Ino parent, const std::string& name, uint32_t mode = 0755,
                const Context& ctx = Root());
  Ino MustCreate(Ino parent, const std::string& name, uint32_t mode = 0644,
                 const Context& ctx = Root());
  Attr MustGetAttr(Ino ino);
  // Every name in the directory, paging through Readdir with small pages.
  std::vector<std::string> ListNames(Ino dir, size_t page = 7);

  // Checks the namespace invariants by reading every A..., U... and C... record: each entry
  // points at an existing inode of the entry's type; nlink equals the links found (2 + subdirs
  // for directories); attr.parent and hard-link parent records agree with the entries; every
  // inode except the root is reachable from the root (no orphans, no cycles; the trash and
  // inodes listed in `allowed_orphans` excepted); per-directory usage inodes equal the entry
  // count and the volume's usedInodes equals the number of inodes. Failures are reported with
  // ADD_FAILURE naming the inode.
  void ExpectConsistent(const std::vector<Ino>& allowed_orphans = {});

  std::string url_;  // the engine URL; OpenEngine opens it again
  std::string temp_dir_;
  std::shared_ptr<kv::KvEngine> engine_;
  std::unique_ptr<Meta> meta_;
};

// Engine names for INSTANTIATE_TEST_SUITE_P.
std::vector<std::string> AllEngines();

#define STRATA_META_INSTANTIATE(Suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(Engines, Suite,                                              \
                           ::testing::ValuesIn(::strata::meta::testing::AllEngines()), \
                           [](const auto& info) { return info.param; })

}  // namespace strata::meta::testing
