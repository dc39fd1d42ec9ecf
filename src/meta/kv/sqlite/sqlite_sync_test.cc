// SqliteKv::Sync does real work: every transaction committed before it is fsynced, also while
// a reader pins the WAL (a PASSIVE checkpoint then skipped its fsync and still said OK).
//
// The fsyncs are counted by a wrapper VFS (SQLite's own extension point, as LevelDB's
// EnvWrapper): registered as the default VFS for the test, it forwards every call to the real
// one and counts xSync per file kind. No call is faked.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstring>

#include "meta/kv/sqlite/sqlite_kv.h"
#include "meta/kv/testing/kv_conformance.h"
#include "tests/support/process.h"

namespace strata::kv {
namespace {

// ---- The counting VFS.
sqlite3_vfs* g_base = nullptr;
std::atomic<int> g_wal_syncs{0};

struct CountingFile {
  sqlite3_file base;   // must come first: SQLite sees this
  sqlite3_file* real;  // the real VFS's file, allocated right after this struct
  int kind;            // the file-kind bit of the open flags (SQLITE_OPEN_WAL, ...)
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<CountingFile*>(f)->real; }

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return Real(f)->pMethods->xRead(Real(f), b, n, o);
}
int Write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  return Real(f)->pMethods->xWrite(Real(f), b, n, o);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  int kind = reinterpret_cast<CountingFile*>(f)->kind;
  int rc = Real(f)->pMethods->xSync(Real(f), flags);
  if (rc == SQLITE_OK && kind == SQLITE_OPEN_WAL) g_wal_syncs++;
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int Unlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }

// Version 2: no memory-mapped I/O (xFetch), which SQLite then does not use.
const sqlite3_io_methods kMethods = {
    2,        Close,     Read,   Write,        Truncate, Sync,        FileSize,
    Lock,     Unlock,    CheckReservedLock,    FileControl,           SectorSize,
    DeviceCharacteristics, ShmMap, ShmLock, ShmBarrier, ShmUnmap, nullptr, nullptr};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* cf = reinterpret_cast<CountingFile*>(f);
  cf->real = reinterpret_cast<sqlite3_file*>(cf + 1);
  cf->kind = flags & 0x0FFFFF00;  // the SQLITE_OPEN_MAIN_DB / _WAL / ... bit
  int rc = g_base->xOpen(g_base, name, cf->real, flags, out_flags);
  cf->base.pMethods = cf->real->pMethods ? &kMethods : nullptr;
  return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
int Randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int Sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_base->xGetLastError(g_base, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

// Makes the counting VFS the default while it lives.
class CountingVfs {
 public:
  CountingVfs() {
    g_base = sqlite3_vfs_find(nullptr);
    std::memset(&vfs_, 0, sizeof(vfs_));
    vfs_.iVersion = 2;
    vfs_.szOsFile = static_cast<int>(sizeof(CountingFile)) + g_base->szOsFile;
    vfs_.mxPathname = g_base->mxPathname;
    vfs_.zName = "strata-counting";
    vfs_.xOpen = Open;
    vfs_.xDelete = Delete;
    vfs_.xAccess = Access;
    vfs_.xFullPathname = FullPathname;
    vfs_.xRandomness = Randomness;
    vfs_.xSleep = Sleep;
    vfs_.xCurrentTime = CurrentTime;
    vfs_.xGetLastError = GetLastError;
    vfs_.xCurrentTimeInt64 = CurrentTimeInt64;
    EXPECT_EQ(sqlite3_vfs_register(&vfs_, /*makeDflt=*/1), SQLITE_OK);
  }
  ~CountingVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(g_base, /*makeDflt=*/1);
  }

 private:
  sqlite3_vfs vfs_;
};

class SqliteSyncTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = strata::testing::MakeTempDir("strata-sqlite-sync"); }
  void TearDown() override { strata::testing::RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(SqliteSyncTest, SyncFsyncsCommitsAlsoWhileAReaderPinsTheWal) {
  CountingVfs counting;
  auto kv = SqliteKv::Open(dir_ + "/meta.db");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(conformance::PutOne(**kv, "a", "1").ok());
  int before = g_wal_syncs;
  ASSERT_TRUE((*kv)->Sync().ok());
  EXPECT_GT(g_wal_syncs, before) << "Sync did not fsync the WAL";

  // A reader holds a snapshot from before the next commit (it pins the WAL there).
  auto reader = (*kv)->Begin(/*read_only=*/true);
  ASSERT_TRUE(reader.ok());
  auto seen = (*reader)->Get("a");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->value_or("<absent>"), "1");

  ASSERT_TRUE(conformance::PutOne(**kv, "b", "2").ok());
  before = g_wal_syncs;
  ASSERT_TRUE((*kv)->Sync().ok());  // does not wait for the reader, and does not skip
  EXPECT_GT(g_wal_syncs, before) << "Sync skipped the fsync while a reader pinned the WAL";

  // The reader's snapshot is unchanged; everything committed is readable.
  auto later = (*reader)->Get("b");
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->has_value());
  ASSERT_TRUE((*reader)->Commit().ok());
  EXPECT_EQ(conformance::Read(**kv, "a"), "1");
  EXPECT_EQ(conformance::Read(**kv, "b"), "2");
}

}  // namespace
}  // namespace strata::kv
