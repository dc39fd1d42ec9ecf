// Writeback staging's foreground priority (cache/staging_tier.h "Foreground first"): while
// writers are staging, at most foreground_uploaders uploads run (never zero), and all of
// them run once the writers are idle, once staging passes its high-water mark, once the oldest
// block has waited max_lag, while a writer waits for room, and while WaitDrained waits.
// Uploads go to the real store tier over mem:// through a HookStore whose Put blocks on a
// gate, so the uploads in flight can be counted; time is a FakeClock.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cache/staging_tier.h"
#include "chunk/block_key.h"
#include "chunk/staging_drain.h"
#include "chunk/store_tier.h"
#include "chunk/test_volume.h"
#include "common/mem_env.h"

namespace strata::chunk {
namespace {

using cache::StagingOptions;
using cache::StagingTier;
using testing::HookStore;
using testing::RandomBytes;
using testing::TestVolume;

// Puts wait at the gate while it is closed; counts the Puts in flight and their peak.
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    in_++;
    peak_ = std::max(peak_, in_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    in_--;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  // Waits (real time, bounded) until exactly `n` Puts are in flight; returns how many are.
  int WaitInFlight(int n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return in_ == n; });
    return in_;
  }
  // How many are in flight after a moment in which more could have arrived.
  int SettledInFlight() {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mu_);
    return in_;
  }
  int peak() {
    std::lock_guard lock(mu_);
    return peak_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int in_ = 0, peak_ = 0;
  bool open_ = false;
};

class StagingPriorityTest : public ::testing::Test {
 protected:
  StagingPriorityTest()
      : hooked_(std::make_shared<HookStore>(vol_.mem_shared())),
        home_(hooked_, Compression::kNone) {
    hooked_->SetPutHook([this](const std::string&, const object::PutOptions&) { gate_.Enter(); });
  }
  ~StagingPriorityTest() override { gate_.Open(); }

  StagingOptions Options() {
    StagingOptions o;
    o.dir = "/stage";
    o.volume_uuid = "uuid-1";
    o.env = &env_;
    o.clock = &clock_;
    o.uploaders = 6;
    o.foreground_uploaders = 2;
    o.foreground_window = std::chrono::milliseconds(250);
    o.max_lag = std::chrono::seconds(5);
    return o;
  }
  std::unique_ptr<StagingTier> Open(const StagingOptions& o) {
    auto t = StagingTier::Open(o, &home_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }
  static std::string Key(uint64_t id, uint32_t len) { return BlockKey("vol/", id, 0, len); }
  void Stage(StagingTier& t, uint64_t first, int n, uint32_t len = 10000) {
    for (int i = 0; i < n; i++) {
      ASSERT_TRUE(t.Write(Key(first + i, len), RandomBytes(len, first + i), false, {}).ok());
    }
  }
  void Drain(StagingTier& t) {
    gate_.Open();
    DrainStaging(t, clock_);
  }

  TestVolume vol_;
  Gate gate_;
  std::shared_ptr<HookStore> hooked_;
  MemEnv env_;
  FakeClock clock_;
  StoreTier home_;
};

// While a writer has just staged, two uploads run, not six and not none; once it has been
// idle for the window, all six.
TEST_F(StagingPriorityTest, UploadsAreHeldBackWhileWritersStageThenRunAtFullSpeed) {
  auto t = Open(Options());
  Stage(*t, 1, 10);
  EXPECT_EQ(gate_.WaitInFlight(2), 2);
  EXPECT_EQ(gate_.SettledInFlight(), 2);  // held back, but making progress
  EXPECT_EQ(t->stats().uploading, 2u);
  EXPECT_GE(t->stats().held_back, 1u);
  clock_.Advance(std::chrono::milliseconds(100));  // still within the window
  EXPECT_EQ(gate_.SettledInFlight(), 2);
  clock_.Advance(std::chrono::milliseconds(200));  // 300 ms idle > 250 ms
  EXPECT_EQ(gate_.WaitInFlight(6), 6);
  EXPECT_EQ(gate_.peak(), 6);
  Drain(*t);
  EXPECT_EQ(t->stats().uploaded_total, 10u);
  for (uint64_t i = 1; i <= 10; i++) EXPECT_TRUE(vol_.mem()->Head(Key(i, 10000)).ok());
}

// A new write while uploads run at full speed brings the limit back: the uploads in flight
// finish, and no new one starts while more than two run.
TEST_F(StagingPriorityTest, AWriteAfterIdlingBringsThePriorityBack) {
  auto o = Options();
  o.uploaders = 4;
  auto t = Open(o);
  Stage(*t, 1, 3);
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(gate_.WaitInFlight(3), 3);    // idle: every queued block is being uploaded
  Stage(*t, 10, 5);                       // a writer again
  EXPECT_EQ(gate_.SettledInFlight(), 3);  // not four: three are in flight, more than two
  EXPECT_EQ(t->stats().uploading, 3u);
  Drain(*t);
  EXPECT_EQ(t->stats().uploaded_total, 8u);
}

// Staged bytes at the high-water mark of the limit: full speed although the writer is active.
TEST_F(StagingPriorityTest, AboveTheHighWaterMarkUploadsRunAtFullSpeed) {
  auto o = Options();
  o.limit = 1 << 20;
  o.high_water = 0.5;
  auto t = Open(o);
  Stage(*t, 1, 4, 100000);  // 400 KB: below 512 KiB
  EXPECT_EQ(gate_.WaitInFlight(2), 2);
  EXPECT_EQ(gate_.SettledInFlight(), 2);
  Stage(*t, 10, 2, 100000);  // 600 KB: above
  EXPECT_EQ(gate_.WaitInFlight(6), 6);
  Drain(*t);
}

// The oldest queued block has waited max_lag past its due time: full speed, writers or not.
TEST_F(StagingPriorityTest, AnUploadIsHeldBackAtMostMaxLag) {
  auto o = Options();
  o.max_lag = std::chrono::seconds(2);
  auto t = Open(o);
  Stage(*t, 1, 8);
  EXPECT_EQ(gate_.WaitInFlight(2), 2);
  // The writer keeps writing (each write inside the window) for longer than the lag bound.
  for (int i = 0; i < 9; i++) {
    clock_.Advance(std::chrono::milliseconds(200));
    Stage(*t, 100 + i, 1);
  }
  EXPECT_EQ(gate_.SettledInFlight(), 2);  // 1.8 s: still held back
  clock_.Advance(std::chrono::milliseconds(200));
  Stage(*t, 200, 1);  // 2.0 s after the first blocks were due
  EXPECT_EQ(gate_.WaitInFlight(6), 6);
  Drain(*t);
  EXPECT_EQ(t->stats().uploaded_total, 18u);
}

// sync-staging's wait (WaitDrained) gets every upload slot even while a writer is active.
TEST_F(StagingPriorityTest, WaitDrainedUploadsAtFullSpeed) {
  auto t = Open(Options());
  Stage(*t, 1, 10);
  EXPECT_EQ(gate_.WaitInFlight(2), 2);
  std::atomic<bool> drained{false};
  std::thread waiter([&] {
    EXPECT_EQ(t->WaitDrained(std::chrono::seconds(30)).blocks, 0u);
    drained = true;
  });
  EXPECT_EQ(gate_.WaitInFlight(6), 6);  // the clock did not move: the writer counts as active
  EXPECT_FALSE(drained.load());
  gate_.Open();
  waiter.join();
  EXPECT_TRUE(drained.load());
  // The waiter is gone: a writer is held back again.
  gate_.Close();
  Stage(*t, 20, 5);
  EXPECT_EQ(gate_.WaitInFlight(2), 2);
  EXPECT_EQ(gate_.SettledInFlight(), 2);
  Drain(*t);
}

// A writer waiting for room gets every upload slot: back-pressure is never slowed by the
// priority meant for it.
TEST_F(StagingPriorityTest, AWriterWaitingForRoomGetsFullSpeedUploads) {
  auto o = Options();
  o.limit = 1 << 20;
  o.high_water = 1.0;  // the mark alone would not lift the limit
  auto t = Open(o);
  Stage(*t, 1, 10, 100000);  // 1,000,000 of 1,048,576 bytes
  EXPECT_EQ(gate_.WaitInFlight(2), 2);
  EXPECT_EQ(gate_.SettledInFlight(), 2);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    EXPECT_TRUE(t->Write(Key(50, 100000), RandomBytes(100000, 50), false, {}).ok());
    done = true;
  });
  EXPECT_EQ(gate_.WaitInFlight(6), 6);
  EXPECT_EQ(t->stats().waits, 1u);
  EXPECT_FALSE(done.load());
  gate_.Open();
  writer.join();
  EXPECT_EQ(t->stats().fallbacks, 0u);  // staged once uploads made room
  Drain(*t);
}

// --uploads-while-writing equal to --max-uploads: no priority at all.
TEST_F(StagingPriorityTest, EqualLimitsMeanNoPriority) {
  auto o = Options();
  o.foreground_uploaders = o.uploaders;
  auto t = Open(o);
  Stage(*t, 1, 10);
  EXPECT_EQ(gate_.WaitInFlight(6), 6);
  EXPECT_EQ(t->stats().held_back, 0u);
  Drain(*t);
}

TEST_F(StagingPriorityTest, BadOptionsAreRefused) {
  auto o = Options();
  o.foreground_uploaders = 0;
  EXPECT_TRUE(StagingTier::Open(o, &home_).status().Is(Code::kInvalidArgument));
  o = Options();
  o.high_water = 0;
  EXPECT_TRUE(StagingTier::Open(o, &home_).status().Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace strata::chunk
