// Sessions and open files on every engine: an unlinked open file keeps its data until the last
// close, an expired session's locks and sustained inodes are released by a live client (by
// explicit cleanup and by the elected background cleaner), heartbeats renew the record.
//
// Time is a FakeClock per client (MetaOptions::clock): a client's background thread runs a
// round only when the test advances that client's clock, so there are no real-time waits. A
// client whose clock is never advanced is a stalled one: its record stops being renewed.
// After an Advance the round runs on the client's own thread; Eventually() waits (in real
// time, typically microseconds) for what it did to become visible.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/logging.h"
#include "meta/internal.h"
#include "tests/meta/file_helpers.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

using std::chrono::seconds;

constexpr int kHeartbeat = 12;
constexpr int kExpiry = 60;

// Polls `cond` until it holds; gives up after 10 s of real time (reached only when the code
// under test is broken, never on a pass).
bool Eventually(const std::function<bool()>& cond) {
  const auto give_up = std::chrono::steady_clock::now() + seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

int64_t Unix(const Clock& c) { return c.NowNanos() / 1000000000; }

// An engine that can be made to fail every transaction with a disk error (as a metadata
// server that lost its disk would), and otherwise passes everything to the real one.
class FailingKv : public kv::KvEngine {
 public:
  explicit FailingKv(std::shared_ptr<kv::KvEngine> target) : target_(std::move(target)) {}
  void set_failing(bool on) { failing_ = on; }
  std::string Describe() const override { return target_->Describe(); }
  Result<std::unique_ptr<kv::Transaction>> Begin(bool read_only) override {
    if (failing_) return Status::IOError("metadata disk failed");
    return target_->Begin(read_only);
  }
  Status Clear() override { return target_->Clear(); }

 private:
  std::shared_ptr<kv::KvEngine> target_;
  std::atomic<bool> failing_{false};
};

// Logs to a file for the scope of a test, then back to stderr.
class LogCapture {
 public:
  LogCapture()
      : path_((std::filesystem::temp_directory_path() /
               ("strata-sessions-log-" + std::to_string(::getpid()) + ".log"))
                  .string()) {
    EXPECT_TRUE(logging::InitLogging({.level = logging::Level::kInfo, .file = path_}).ok());
  }
  ~LogCapture() {
    EXPECT_TRUE(logging::InitLogging({}).ok());
    std::filesystem::remove(path_);
  }
  std::string Text() {
    logging::Flush();
    std::stringstream text;
    text << std::ifstream(path_).rdbuf();
    return text.str();
  }

 private:
  std::string path_;
};

class SessionsTest : public MetaTest {
 protected:
  // A new clock at the common start time (2024-01-01T00:00:00Z), owned by the fixture so
  // it outlives the clients on it.
  FakeClock* NewClock() { return &clocks_.emplace_back(); }

  // A client with a session on `clock` (a fresh one when null).
  std::unique_ptr<Meta> Client(const std::string& host, FakeClock* clock = nullptr,
                               bool background_jobs = false) {
    MetaOptions o;
    o.heartbeat_seconds = kHeartbeat;
    o.session_expiry_seconds = kExpiry;
    o.background_jobs = background_jobs;
    o.clock = clock ? clock : NewClock();
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

  // The stored expiry of session sid (0 when it has no record).
  int64_t ExpiryOf(uint64_t sid) {
    auto list = meta().ListSessions();
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (!list.ok()) return 0;
    for (const auto& s : *list) {
      if (s.id == sid) return s.expire_unix;
    }
    return 0;
  }

  // Advances `clock` by `d` once its client's thread waits on it, then waits until that
  // client's heartbeat of the new time is stored (the round has run).
  void AdvanceOneRound(FakeClock& clock, Meta& client, seconds d) {
    clock.WaitForSleepers(1);
    clock.Advance(d);
    const int64_t want = Unix(clock) + kExpiry;
    ASSERT_TRUE(Eventually([&] { return ExpiryOf(client.session_id()) == want; }))
        << "no heartbeat after advancing the clock";
  }

  std::deque<FakeClock> clocks_;
};

TEST_P(SessionsTest, SessionsAreListedAndRemovedOnClose) {
  FakeClock* clock = NewClock();
  auto a = Client("alpha", clock);
  auto b = Client("beta", clock);
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
    EXPECT_EQ(s.expire_unix, Unix(*clock) + kExpiry);  // the client's clock, not the wall's
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

// Explicit cleanup at a given time: a session counts as expired only after its expiry.
TEST_P(SessionsTest, ExpiredSessionCleanupReleasesLocksAndSustainedInodes) {
  FakeClock* clock = NewClock();
  const int64_t start = Unix(*clock);
  auto dead = Client("dead", clock);
  auto live = Client("live", NewClock());
  ASSERT_TRUE(dead && live);
  Ino f = MustCreate(kRootIno, "f");
  Ino g = MustCreate(kRootIno, "g");
  Slice s = MustWrite(*dead, f, 0, 0, 100);
  ASSERT_TRUE(dead->OpenFile(Root(), f, O_RDWR).ok());
  ASSERT_TRUE(dead->Unlink(Root(), kRootIno, "f").ok());
  ASSERT_TRUE(dead->Flock(Root(), g, 1, LockType::kWrite, false).ok());
  ASSERT_TRUE(dead->SetLk(Root(), g, 1, LockRange{LockType::kWrite, 0, 99, 5}, false).ok());
  EXPECT_EQ(live->Flock(Root(), g, 9, LockType::kRead, false).code(), Code::kWouldBlock);
  // At its expiry the session is still valid; one second later it is not.
  EXPECT_EQ(*live->CleanupExpiredSessions(start), 0);
  EXPECT_EQ(*live->CleanupExpiredSessions(start + kExpiry), 0);
  EXPECT_EQ(*live->CleanupExpiredSessions(start + kExpiry + 1), 1);
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

// An operator can tell from the log which client's session was cleaned up and how stale it was.
TEST_P(SessionsTest, CleanupIsLoggedWithTheSessionItsHostAndItsAge) {
  FakeClock* clock = NewClock();
  auto dead = Client("deadhost", clock);
  auto live = Client("live");
  ASSERT_TRUE(dead && live);
  const uint64_t sid = dead->session_id();
  LogCapture log;
  auto cleaned = live->CleanupExpiredSessions(Unix(*clock) + kExpiry + 5);
  ASSERT_TRUE(cleaned.ok()) << cleaned.status().ToString();
  EXPECT_EQ(*cleaned, 1);
  const std::string text = log.Text();
  EXPECT_NE(text.find("cleaned up expired session " + std::to_string(sid)), std::string::npos)
      << text;
  EXPECT_NE(text.find("host deadhost"), std::string::npos) << text;
  EXPECT_NE(text.find("expired 5 s ago"), std::string::npos) << text;
}

// A heartbeat that fails is logged with the session, its host and how long ago the record was
// last renewed (the client keeps going; the next heartbeat retries).
TEST_P(SessionsTest, FailedHeartbeatIsLoggedWithTheTimeSinceTheLastGoodOne) {
  auto engine = std::make_shared<FailingKv>(OpenEngine());
  FakeClock* clock = NewClock();
  MetaOptions o;
  o.heartbeat_seconds = kHeartbeat;
  o.session_expiry_seconds = kExpiry;
  o.background_jobs = false;
  o.clock = clock;
  auto m = Meta::Open(engine, o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  SessionInfo info;
  info.host = "flakyhost";
  ASSERT_TRUE((*m)->NewSession(info).ok());
  const uint64_t sid = (*m)->session_id();
  LogCapture log;
  engine->set_failing(true);
  clock->WaitForSleepers(1);
  clock->Advance(seconds(kHeartbeat));
  const std::string want = "session " + std::to_string(sid) +
                           " (host flakyhost): heartbeat failed, last renewed 12 s ago";
  EXPECT_TRUE(Eventually([&] { return log.Text().find(want) != std::string::npos; })) << log.Text();
  clock->WaitForSleepers(1);  // the round is over
  engine->set_failing(false);
  // The next heartbeat works again and renews the record.
  clock->Advance(seconds(kHeartbeat));
  EXPECT_TRUE(Eventually([&] { return ExpiryOf(sid) == Unix(*clock) + kExpiry; }));
  EXPECT_NE(log.Text().find("metadata disk failed"), std::string::npos);
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

// The background thread of a live client, elected as cleaner, cleans up a stalled client's
// session by itself once that session's expiry has passed on the live client's clock, and
// not before.
TEST_P(SessionsTest, ElectedCleanerRemovesAbandonedSessionAfterItsExpiry) {
  auto dead = Client("dead");  // its clock never moves: no heartbeat after registering
  Ino f = MustCreate(kRootIno, "f");
  Slice s = MustWrite(*dead, f, 0, 0, 100);
  ASSERT_TRUE(dead->OpenFile(Root(), f, O_RDWR).ok());
  ASSERT_TRUE(dead->Unlink(Root(), kRootIno, "f").ok());
  ASSERT_TRUE(dead->Flock(Root(), kRootIno, 1, LockType::kWrite, false).ok());
  FakeClock* clock = NewClock();
  auto live = Client("live", clock, /*background_jobs=*/true);
  ASSERT_TRUE(live);

  // One heartbeat period later: a round ran (live's heartbeat is stored), dead is not expired.
  AdvanceOneRound(*clock, *live, seconds(kHeartbeat));
  EXPECT_EQ(meta().ListSessions()->size(), 2u);
  EXPECT_EQ(Garbage(meta()).count(s.id), 0u);
  EXPECT_EQ(live->Flock(Root(), kRootIno, 2, LockType::kWrite, false).code(), Code::kWouldBlock);

  // Past dead's expiry (registered at the start, expiring 60 s later): the next round cleans
  // it up, and the deleted-file job of the same round releases its sustained file's data.
  AdvanceOneRound(*clock, *live, seconds(kExpiry - kHeartbeat + 1));
  ASSERT_TRUE(Eventually([&] { return Garbage(meta()).count(s.id) > 0; }))
      << "the cleaner neither released the sustained inode nor its data";
  auto list = meta().ListSessions();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, live->session_id());
  EXPECT_TRUE(live->Flock(Root(), kRootIno, 2, LockType::kWrite, false).ok());
}

// A client that keeps heartbeating is never cleaned up, however long it lives, while a cleaner
// runs beside it on the same clock.
TEST_P(SessionsTest, HeartbeatsKeepASessionAlivePastItsFirstExpiry) {
  FakeClock* clock = NewClock();
  auto a = Client("a", clock);
  auto cleaner = Client("cleaner", clock, /*background_jobs=*/true);
  ASSERT_TRUE(a && cleaner);
  for (int round = 0; round < 8; round++) {  // 96 s: past the first expiry (60 s)
    clock->WaitForSleepers(2);
    clock->Advance(seconds(kHeartbeat));
    const int64_t want = Unix(*clock) + kExpiry;
    ASSERT_TRUE(Eventually([&] {
      return ExpiryOf(a->session_id()) == want && ExpiryOf(cleaner->session_id()) == want;
    })) << "round "
        << round;
  }
  EXPECT_EQ(meta().ListSessions()->size(), 2u);
}

// A client whose session record was removed (it stalled past its expiry and was cleaned)
// re-registers at its next heartbeat, keeping its id.
TEST_P(SessionsTest, HeartbeatRenewsAndRecreatesTheRecord) {
  FakeClock* clock = NewClock();
  auto m = Client("alpha", clock);
  ASSERT_TRUE(m);
  const uint64_t sid = m->session_id();
  ASSERT_TRUE(kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
                txn.Delete(schema::SessionKey(sid));
                return Status::OK();
              }).ok());
  EXPECT_EQ(ExpiryOf(sid), 0);
  AdvanceOneRound(*clock, *m, seconds(kHeartbeat));
  auto list = meta().ListSessions();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, sid);
}

// A cache group member's peer address, group and weight are in its record, and a heartbeat
// that recreates a cleaned record writes them again (the other members find it by them).
TEST_P(SessionsTest, CacheGroupFieldsSurviveAHeartbeatThatRecreatesTheRecord) {
  FakeClock* clock = NewClock();
  MetaOptions o;
  o.heartbeat_seconds = kHeartbeat;
  o.session_expiry_seconds = kExpiry;
  o.background_jobs = false;
  o.clock = clock;
  auto m = OpenClient(o);
  ASSERT_TRUE(m);
  SessionInfo info;
  info.host = "gpu7";
  info.cache_group = "train";
  info.peer_address = "10.1.2.3:7070";
  info.cache_weight = 5ULL << 40;
  ASSERT_TRUE(m->NewSession(info).ok());
  const uint64_t sid = m->session_id();
  auto check = [&] {
    auto list = meta().ListSessions();
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].cache_group, "train");
    EXPECT_EQ((*list)[0].peer_address, "10.1.2.3:7070");
    EXPECT_EQ((*list)[0].cache_weight, 5ULL << 40);
  };
  check();
  ASSERT_TRUE(kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
                txn.Delete(schema::SessionKey(sid));
                return Status::OK();
              }).ok());
  AdvanceOneRound(*clock, *m, seconds(kHeartbeat));
  check();
}

// The trash hour comes from the client's clock, and the elected cleaner empties an hour
// directory once trash_days have passed on that clock.
TEST_P(SessionsTest, TrashHourAndItsExpiryFollowTheClock) {
  VolumeFormat fmt = DefaultFormat();
  fmt.trash_days = 1;
  Reformat(fmt);
  FakeClock* clock = NewClock();
  clock->Advance(std::chrono::hours(5) + std::chrono::minutes(30));  // 2024-01-01 05:30 UTC
  auto m = Client("alpha", clock, /*background_jobs=*/true);
  ASSERT_TRUE(m);
  Ino f = MustCreate(kRootIno, "f");
  MustWrite(*m, f, 0, 0, 10);
  ASSERT_TRUE(m->Unlink(Root(), kRootIno, "f").ok());
  auto hour = m->Lookup(Root(), kTrashIno, "2024-01-01-05");
  ASSERT_TRUE(hour.ok()) << hour.status().ToString();
  EXPECT_EQ(m->Readdir(Root(), hour->ino, "", 10, false)->entries.size(), 1u);

  // A day later the hour is not over for a day yet (it ends at 06:00): kept.
  AdvanceOneRound(*clock, *m, std::chrono::hours(24));
  EXPECT_TRUE(m->Lookup(Root(), kTrashIno, "2024-01-01-05").ok());
  // Past 2024-01-02 06:00: the next round removes it.
  AdvanceOneRound(*clock, *m, std::chrono::hours(1));
  EXPECT_TRUE(Eventually(
      [&] { return m->Lookup(Root(), kTrashIno, "2024-01-01-05").code() == Code::kNotFound; }));
}

STRATA_META_INSTANTIATE(SessionsTest);

}  // namespace
}  // namespace strata::meta::testing
