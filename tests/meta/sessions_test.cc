// Sessions and open files on every engine: an unlinked open file keeps its data until the last
// close, an expired session's locks and sustained inodes are released by a live client (by
// explicit cleanup and by the elected background cleaner).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "meta/internal.h"
#include "tests/meta/file_helpers.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class SessionsTest : public MetaTest {
 protected:
  // A client with a session whose background thread stays quiet during the test.
  std::unique_ptr<Meta> Client(const std::string& host) {
    MetaOptions o;
    o.heartbeat_seconds = 3600;
    o.session_expiry_seconds = 7200;
    o.background_jobs = false;
    auto m = OpenClient(o);
    if (!m) return nullptr;
    SessionInfo info;
    info.host = host;
    info.mount_point = "/mnt/" + host;
    info.pid = 42;
    info.version = "test";
    Status s = m->NewSession(info);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return m;
  }

  // Makes session sid look abandoned: its heartbeat expiry moves into the past.
  void ExpireSession(uint64_t sid) {
    Status s = kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
      ASSIGN_OR_RETURN(auto raw, txn.Get(schema::SessionKey(sid)));
      if (!raw) return Status::NotFound("no session");
      std::string v = *raw;
      auto at = v.find("\"expire\":");
      if (at == std::string::npos) return Status::Corruption("no expire field");
      auto end = v.find_first_of(",}", at);
      v = v.substr(0, at) + "\"expire\":1000" + v.substr(end);
      txn.Put(schema::SessionKey(sid), v);
      return Status::OK();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

TEST_P(SessionsTest, SessionsAreListedAndRemovedOnClose) {
  auto a = Client("alpha");
  auto b = Client("beta");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->session_id(), 0u);
  EXPECT_NE(a->session_id(), b->session_id());
  auto list = meta().ListSessions();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  for (const auto& s : *list) {
    EXPECT_TRUE(s.host == "alpha" || s.host == "beta");
    EXPECT_EQ(s.mount_point, "/mnt/" + s.host);
    EXPECT_EQ(s.pid, 42u);
    EXPECT_GT(s.expire_unix, internal::Now().sec + 3600);
  }
  EXPECT_EQ(a->NewSession(SessionInfo{}).code(), Code::kAlreadyExists);
  ASSERT_TRUE(a->CloseSession().ok());
  EXPECT_EQ(a->session_id(), 0u);
  list = meta().ListSessions();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].host, "beta");
}

TEST_P(SessionsTest, UnlinkWhileOpenKeepsDataUntilLastClose) {
  auto m = Client("alpha");
  ASSERT_TRUE(m);
  Ino f = MustCreate(kRootIno, "f");
  Slice s = MustWrite(*m, f, 0, 0, 4096);
  ASSERT_TRUE(m->OpenFile(Root(), f, O_RDWR).ok());
  ASSERT_TRUE(m->OpenFile(Root(), f, O_RDONLY).ok());
  ASSERT_TRUE(m->Unlink(Root(), kRootIno, "f").ok());
  EXPECT_EQ(m->Lookup(Root(), kRootIno, "f").code(), Code::kNotFound);
  auto attr = m->GetAttr(f);
  ASSERT_TRUE(attr.ok()) << "an open unlinked file keeps its attributes";
  EXPECT_EQ(attr->nlink, 0u);
  EXPECT_EQ(*m->ProcessDeletedFiles(10), 0);
  EXPECT_EQ(View(*m, f, 0).size(), 1u);
  // Still writable through the open handle.
  MustWrite(*m, f, 0, 4096, 10);
  ASSERT_TRUE(m->CloseFile(f).ok());
  EXPECT_TRUE(m->GetAttr(f).ok());  // one open left
  EXPECT_EQ(DeletedFiles(engine()), 0u);
  ASSERT_TRUE(m->CloseFile(f).ok());
  EXPECT_EQ(m->GetAttr(f).code(), Code::kNotFound);
  EXPECT_EQ(DeletedFiles(engine()), 1u);
  EXPECT_EQ(*m->ProcessDeletedFiles(10), 1);
  EXPECT_TRUE(Garbage(*m).count(s.id));
  EXPECT_EQ(m->CloseFile(f).code(), Code::kBadHandle);
  // Usage stayed exact although the unlinked file grew while open.
  EXPECT_EQ(m->GetStatFs(Root(), kRootIno)->used_bytes, 0u);
  EXPECT_EQ(m->GetDirUsage(kRootIno)->bytes, 0);
}

TEST_P(SessionsTest, UnlinkOfClosedFileReleasesAtOnce) {
  auto m = Client("alpha");
  Ino f = MustCreate(kRootIno, "f");
  MustWrite(*m, f, 0, 0, 10);
  ASSERT_TRUE(m->OpenFile(Root(), f, O_RDONLY).ok());
  ASSERT_TRUE(m->CloseFile(f).ok());
  ASSERT_TRUE(m->Unlink(Root(), kRootIno, "f").ok());
  EXPECT_EQ(m->GetAttr(f).code(), Code::kNotFound);
  EXPECT_EQ(DeletedFiles(engine()), 1u);
}

TEST_P(SessionsTest, OpenChecksAccessByFlags) {
  auto m = Client("alpha");
  Ino f = MustCreate(kRootIno, "f", 0640, User(1000, 100));
  Ino d = MustMkdir(kRootIno, "d");
  EXPECT_TRUE(m->OpenFile(User(1000, 100), f, O_RDWR).ok());
  EXPECT_TRUE(m->OpenFile(User(2000, 100), f, O_RDONLY).ok());  // group may read
  EXPECT_EQ(m->OpenFile(User(2000, 100), f, O_WRONLY).code(), Code::kPermissionDenied);
  EXPECT_EQ(m->OpenFile(User(2000, 100), f, O_RDONLY | O_TRUNC).code(), Code::kPermissionDenied);
  EXPECT_EQ(m->OpenFile(User(3000, 300), f, O_RDONLY).code(), Code::kPermissionDenied);
  EXPECT_TRUE(m->OpenFile(Root(), d, O_RDONLY).ok());
  EXPECT_EQ(m->OpenFile(Root(), d, O_RDWR).code(), Code::kIsDir);
  EXPECT_EQ(m->OpenFile(Root(), 987654, O_RDONLY).code(), Code::kNotFound);
}

TEST_P(SessionsTest, ExpiredSessionCleanupReleasesLocksAndSustainedInodes) {
  auto dead = Client("dead");
  auto live = Client("live");
  ASSERT_TRUE(dead && live);
  Ino f = MustCreate(kRootIno, "f");
  Ino g = MustCreate(kRootIno, "g");
  Slice s = MustWrite(*dead, f, 0, 0, 100);
  ASSERT_TRUE(dead->OpenFile(Root(), f, O_RDWR).ok());
  ASSERT_TRUE(dead->Unlink(Root(), kRootIno, "f").ok());
  ASSERT_TRUE(dead->Flock(Root(), g, 1, LockType::kWrite, false).ok());
  ASSERT_TRUE(dead->SetLk(Root(), g, 1, LockRange{LockType::kWrite, 0, 99, 5}, false).ok());
  EXPECT_EQ(live->Flock(Root(), g, 9, LockType::kRead, false).code(), Code::kWouldBlock);
  // Nothing has expired yet: cleanup does nothing.
  EXPECT_EQ(*live->CleanupExpiredSessions(internal::Now().sec), 0);
  ExpireSession(dead->session_id());
  EXPECT_EQ(*live->CleanupExpiredSessions(internal::Now().sec), 1);
  // The dead client's locks are gone, its sustained inode became a deleted file.
  EXPECT_TRUE(live->Flock(Root(), g, 9, LockType::kWrite, false).ok());
  EXPECT_TRUE(live->SetLk(Root(), g, 9, LockRange{LockType::kWrite, 0, 10, 6}, false).ok());
  EXPECT_EQ(live->GetAttr(f).code(), Code::kNotFound);
  EXPECT_EQ(*live->ProcessDeletedFiles(10), 1);
  EXPECT_EQ(Garbage(*live), (std::set<uint64_t>{s.id}));
  auto list = live->ListSessions();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, live->session_id());
}

TEST_P(SessionsTest, ClosingASessionReleasesItsSustainedInodesAndLocks) {
  auto a = Client("a");
  auto b = Client("b");
  Ino f = MustCreate(kRootIno, "f");
  MustWrite(*a, f, 0, 0, 100);
  ASSERT_TRUE(a->OpenFile(Root(), f, O_RDONLY).ok());
  ASSERT_TRUE(a->Unlink(Root(), kRootIno, "f").ok());
  ASSERT_TRUE(a->Flock(Root(), kRootIno, 3, LockType::kWrite, false).ok());
  ASSERT_TRUE(a->CloseSession().ok());
  EXPECT_EQ(DeletedFiles(engine()), 1u);
  EXPECT_TRUE(b->Flock(Root(), kRootIno, 3, LockType::kWrite, false).ok());
}

// The background thread of a live client, elected as cleaner, cleans an abandoned session by
// itself (heartbeat every second here).
TEST_P(SessionsTest, ElectedCleanerRemovesAbandonedSession) {
  auto dead = Client("dead");
  Ino f = MustCreate(kRootIno, "f");
  Slice s = MustWrite(*dead, f, 0, 0, 100);
  ASSERT_TRUE(dead->OpenFile(Root(), f, O_RDWR).ok());
  ASSERT_TRUE(dead->Unlink(Root(), kRootIno, "f").ok());
  ASSERT_TRUE(dead->Flock(Root(), kRootIno, 1, LockType::kWrite, false).ok());
  ExpireSession(dead->session_id());
  MetaOptions o;
  o.heartbeat_seconds = 1;
  o.session_expiry_seconds = 3;
  auto live = OpenClient(o);
  ASSERT_TRUE(live->NewSession(SessionInfo{}).ok());
  bool cleaned = false;
  for (int i = 0; i < 300 && !cleaned; i++) {  // up to 30 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cleaned = Garbage(meta()).count(s.id) > 0;
  }
  ASSERT_TRUE(cleaned) << "the cleaner neither released the sustained inode nor its data";
  auto list = meta().ListSessions();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, live->session_id());
  EXPECT_GT((*list)[0].expire_unix, 0);
  EXPECT_TRUE(live->Flock(Root(), kRootIno, 2, LockType::kWrite, false).ok());
}

// A client whose session record was removed (it stalled past its expiry and was cleaned)
// re-registers at its next heartbeat, keeping its id.
TEST_P(SessionsTest, HeartbeatRenewsAndRecreatesTheRecord) {
  MetaOptions o;
  o.heartbeat_seconds = 1;
  o.session_expiry_seconds = 30;
  o.background_jobs = false;
  auto m = OpenClient(o);
  ASSERT_TRUE(m->NewSession(SessionInfo{}).ok());
  const uint64_t sid = m->session_id();
  ASSERT_TRUE(kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
                txn.Delete(schema::SessionKey(sid));
                return Status::OK();
              }).ok());
  bool back = false;
  for (int i = 0; i < 300 && !back; i++) {  // up to 30 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto list = meta().ListSessions();
    ASSERT_TRUE(list.ok());
    back = list->size() == 1 && (*list)[0].id == sid;
  }
  EXPECT_TRUE(back);
}

STRATA_META_INSTANTIATE(SessionsTest);

}  // namespace
}  // namespace strata::meta::testing
